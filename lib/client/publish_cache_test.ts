import assert from "node:assert/strict";
import { hashSubject, PublishCache } from "./publish_cache.ts";
import type { MatchResult } from "../router/sublist.ts";
import type { Subscription } from "../delivery/subscription.ts";

const enc = new TextEncoder();

function fakeResult(tag: string): MatchResult<Subscription> {
  return { plain: [], queues: [], tag } as unknown as MatchResult<Subscription>;
}

/** Looks `subject` up inside a larger buffer (as the parser hands it over), caching misses. */
function lookup(cache: PublishCache, subject: string, gen = 1, epoch = 0) {
  const buf = enc.encode(`PUB ${subject} 0\r\n`);
  const s = 4;
  const e = 4 + subject.length;
  const h = hashSubject(buf, s, e);
  const hit = cache.get(buf, s, e, h, gen, epoch);
  if (hit) return { hit: true, subject: hit.subject, result: hit.result };
  cache.put(buf, s, e, h, subject, fakeResult(subject), true, gen, epoch);
  return { hit: false, subject, result: fakeResult(subject) };
}

Deno.test("PublishCache: a repeated subject hits with its own subject and result", () => {
  const c = new PublishCache();
  assert.equal(lookup(c, "a.b").hit, false);
  const again = lookup(c, "a.b");
  assert.equal(again.hit, true);
  assert.equal(again.subject, "a.b");
  assert.equal((again.result as unknown as { tag: string }).tag, "a.b");
  assert.equal(lookup(c, "a.c").hit, false, "another subject is not a hit");
});

Deno.test("PublishCache: a new sublist generation or epoch never returns the old entry", () => {
  const c = new PublishCache();
  lookup(c, "x.y", 1, 0);
  assert.equal(lookup(c, "x.y", 2, 0).hit, false);
  assert.equal(lookup(c, "x.y", 2, 0).hit, true);
  assert.equal(lookup(c, "x.y", 2, 1).hit, false);
});

Deno.test("PublishCache: stays small for a few subjects, grows when 100 subjects cycle", () => {
  const few = new PublishCache();
  for (let round = 0; round < 100; round++) {
    for (let k = 0; k < 8; k++) lookup(few, `few.${k}`);
  }
  assert.equal(few.size, 32);

  const many = new PublishCache();
  for (let round = 0; round < 50; round++) {
    for (let k = 0; k < 100; k++) lookup(many, `bench.${k}.${k}`);
  }
  assert.ok(many.size > 32, `did not grow: ${many.size}`);
  assert.ok(many.size <= 512);
  let hits = 0;
  for (let k = 0; k < 100; k++) {
    const r = lookup(many, `bench.${k}.${k}`);
    if (r.hit) {
      hits++;
      assert.equal(r.subject, `bench.${k}.${k}`, "a hit returned another subject");
    }
  }
  assert.ok(hits >= 90, `only ${hits}/100 hits once grown`);
});

Deno.test("PublishCache: entries reused across subjects of other lengths stay exact", () => {
  const c = new PublishCache();
  const subjects = Array.from({ length: 2000 }, (_, i) => `s.${"x".repeat(i % 90)}.${i}`);
  for (const s of subjects) {
    const r = lookup(c, s);
    assert.equal(r.subject, s);
  }
  for (const s of subjects.slice(-50)) assert.equal(lookup(c, s).subject, s);
});

Deno.test("PublishCache: subjects over 128 bytes are not cached", () => {
  const c = new PublishCache();
  const long = "l." + "z".repeat(200);
  lookup(c, long);
  assert.equal(lookup(c, long).hit, false);
});

Deno.test("PublishCache: 100 cycling subjects, matching or not, all hit once it has grown", () => {
  // The wildcard benchmark's two sets: two ways per set missed 8% and 26% of them.
  for (
    const subject of [
      (k: number) => `bench.${k}.${k}`,
      (k: number) => `bench.${20_000 + k}.${20_000 + k}`,
    ]
  ) {
    const c = new PublishCache();
    for (let round = 0; round < 50; round++) for (let k = 0; k < 100; k++) lookup(c, subject(k));
    let misses = 0;
    for (let round = 0; round < 10; round++) {
      for (let k = 0; k < 100; k++) {
        const r = lookup(c, subject(k));
        if (!r.hit) misses++;
        else assert.equal(r.subject, subject(k), "a hit returned another subject");
      }
    }
    assert.equal(misses, 0, `${subject(0)}...: ${misses} misses of 1,000 (${c.size} slots)`);
  }
});

Deno.test("PublishCache: 200 cycling subjects of six shapes all hit once it has grown", () => {
  // Four ways from the home slot missed 1-3% of some of these sets (each miss is a
  // decode and a sublist lookup): eight ways miss none.
  const shapes = [
    (k: number) => `bench.${k}.${k}`,
    (k: number) => `bench.${20_000 + k}.${20_000 + k}`,
    (k: number) => `sensor.${k}.temp`,
    (k: number) => `orders.eu.${1000 + k}`,
    (k: number) => `a.${k * 7}`,
    (k: number) => `svc.req.${k}.x.y.z`,
  ];
  for (const count of [100, 200]) {
    for (const subject of shapes) {
      const c = new PublishCache();
      for (let round = 0; round < 50; round++) {
        for (let k = 0; k < count; k++) lookup(c, subject(k));
      }
      let misses = 0;
      for (let round = 0; round < 10; round++) {
        for (let k = 0; k < count; k++) {
          const r = lookup(c, subject(k));
          if (!r.hit) misses++;
          else assert.equal(r.subject, subject(k), "a hit returned another subject");
        }
      }
      assert.equal(misses, 0, `${count} x ${subject(0)}...: ${misses} misses (${c.size} slots)`);
    }
  }
});

Deno.test("hashSubject() depends on every byte, the tail bytes included", () => {
  const seen = new Set<number>();
  const base = enc.encode("abcdefghijk"); // 11 bytes: two 4-byte steps and a 3-byte tail
  seen.add(hashSubject(base, 0, base.length));
  for (let i = 0; i < base.length; i++) {
    const changed = base.slice();
    changed[i] = changed[i]! ^ 1;
    seen.add(hashSubject(changed, 0, changed.length));
  }
  assert.equal(seen.size, base.length + 1, "flipping one bit of a byte left the hash unchanged");
  // Same bytes at another offset of a larger buffer: same hash; another length: another hash.
  const framed = enc.encode("PUB abcdefghijk 0");
  assert.equal(hashSubject(framed, 4, 15), hashSubject(base, 0, base.length));
  for (let n = 1; n < base.length; n++) {
    assert.notEqual(hashSubject(base, 0, n), hashSubject(base, 0, base.length), `prefix of ${n}`);
  }
});
