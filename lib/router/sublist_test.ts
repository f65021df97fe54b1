import assert from "node:assert/strict";
import {
  CACHE_MAX,
  CACHE_SWEEP_TO,
  type MatchResult,
  SCANS_BEFORE_DROP,
  Sublist,
} from "./sublist.ts";
import { prng } from "./_test_util.ts";
import { classifySubject, SubjectKind } from "./subject.ts";

/** A subscription as the server would hold it, told apart by `id` in assertions. */
class TestSub {
  constructor(
    readonly subject: string,
    readonly queue: string | null,
    readonly id: string,
  ) {}
}

let nextId = 0;
function sub(subject: string, queue: string | null = null): TestSub {
  return new TestSub(subject, queue, `${subject}${queue === null ? "" : `|${queue}`}#${nextId++}`);
}

/** Plain ids sorted; queue groups as sorted `name: ids` lines; order-independent. */
function describe(result: MatchResult<TestSub>): { plain: string[]; queues: string[] } {
  return {
    plain: result.plain.map((s) => s.id).sort(),
    queues: result.queues.map((group) => {
      const names = new Set(group.map((s) => s.queue));
      assert.equal(names.size, 1, "a queue group mixes queue names");
      assert.ok(group.length > 0, "empty queue group in result");
      return `${group[0]?.queue}: ${group.map((s) => s.id).sort().join(" ")}`;
    }).sort(),
  };
}

/** Subjects of the plain subs in a result, sorted (readable expectations). */
function plainSubjects(result: MatchResult<TestSub>): string[] {
  return result.plain.map((s) => s.subject).sort();
}

interface Variant {
  readonly label: string;
  readonly cache: boolean;
}

const VARIANTS: readonly Variant[] = [
  { label: "cache", cache: true },
  { label: "no cache", cache: false },
];

/** One behaviour suite, registered once per variant (nats-server sublist_test.go style). */
function sublistSuite(variant: Variant): void {
  const make = () => new Sublist<TestSub>({ cache: variant.cache });
  const test = (name: string, fn: () => void) => Deno.test(`${name} [${variant.label}]`, fn);

  test("Sublist.insert() rejects invalid subjects and queue names", () => {
    const list = make();
    for (const subject of ["", "foo.", ".foo", "foo..bar", "foo.>.bar", "foo bar", "a\tb"]) {
      assert.equal(list.insert(sub(subject)), false, JSON.stringify(subject));
    }
    assert.equal(list.insert(sub("foo", "")), false);
    assert.equal(list.insert(sub("foo", "a b")), false);
    assert.equal(list.count, 0);
    assert.equal(list.generation, 0);
    assert.equal(list.stats().numInserts, 0);
    assert.deepEqual(list.all(), []);
    assert.deepEqual(plainSubjects(list.match("foo")), []);
  });

  test("Sublist.match() returns plain subscriptions of a literal subject", () => {
    const list = make();
    const a = sub("foo.bar");
    const b = sub("foo.bar");
    assert.ok(list.insert(a));
    assert.ok(list.insert(b));
    assert.ok(list.insert(sub("foo.baz")));
    assert.ok(list.insert(sub("foo")));
    assert.ok(list.insert(sub("foo.bar.baz")));
    assert.equal(list.count, 5);
    assert.deepEqual(describe(list.match("foo.bar")).plain, [a.id, b.id].sort());
    assert.deepEqual(list.match("foo.bar").queues, []);
    assert.deepEqual(plainSubjects(list.match("foo")), ["foo"]);
    assert.deepEqual(plainSubjects(list.match("bar")), []);
  });

  test("Sublist.match() matches `*` at every position", () => {
    const list = make();
    const patterns = ["*.b.c", "a.*.c", "a.b.*", "*.*.c", "*.b.*", "a.*.*", "*.*.*"];
    for (const pattern of patterns) list.insert(sub(pattern));
    for (const pattern of ["*", "*.*", "*.*.*.*", "a.*", "*.c", "x.*.c", "a.*.x"]) {
      list.insert(sub(pattern));
    }
    assert.deepEqual(plainSubjects(list.match("a.b.c")), [...patterns].sort());
    assert.deepEqual(plainSubjects(list.match("z")), ["*"]);
    assert.deepEqual(plainSubjects(list.match("a.c")), ["*.*", "*.c", "a.*"]);
  });

  test("Sublist.match() matches `>` at every position", () => {
    const list = make();
    for (const pattern of [">", "a.>", "a.b.>", "a.b.c.>", "*.>", "*.b.>", "a.*.>", "x.>"]) {
      list.insert(sub(pattern));
    }
    assert.deepEqual(plainSubjects(list.match("a")), [">"]);
    assert.deepEqual(plainSubjects(list.match("a.b")), ["*.>", ">", "a.>"]);
    assert.deepEqual(
      plainSubjects(list.match("a.b.c")),
      ["*.>", "*.b.>", ">", "a.*.>", "a.>", "a.b.>"],
    );
    assert.deepEqual(
      plainSubjects(list.match("a.b.c.d")),
      ["*.>", "*.b.>", ">", "a.*.>", "a.>", "a.b.>", "a.b.c.>"],
    );
  });

  test("Sublist.match() combines literal, `*` and `>` subscriptions", () => {
    const list = make();
    for (const pattern of ["foo.bar", "foo.*", "foo.>", "*.bar", ">", "foo.bar.>", "*.*.baz"]) {
      list.insert(sub(pattern));
    }
    assert.deepEqual(
      plainSubjects(list.match("foo.bar")),
      ["*.bar", ">", "foo.*", "foo.>", "foo.bar"],
    );
    assert.deepEqual(
      plainSubjects(list.match("foo.bar.baz")),
      ["*.*.baz", ">", "foo.>", "foo.bar.>"],
    );
  });

  test("Sublist.match() returns one array per queue group", () => {
    const list = make();
    const q1a = sub("orders.new", "q1");
    const q1b = sub("orders.*", "q1");
    const q1c = sub("orders.>", "q1");
    const q2a = sub("orders.new", "q2");
    const q2b = sub("orders.new", "q2");
    const q3 = sub(">", "q3");
    const plain = sub("orders.new");
    for (const s of [q1a, q1b, q1c, q2a, q2b, q3, plain, sub("orders.old", "q1")]) {
      assert.ok(list.insert(s));
    }
    const result = describe(list.match("orders.new"));
    assert.deepEqual(result.plain, [plain.id]);
    assert.deepEqual(result.queues, [
      `q1: ${[q1a.id, q1b.id, q1c.id].sort().join(" ")}`,
      `q2: ${[q2a.id, q2b.id].sort().join(" ")}`,
      `q3: ${q3.id}`,
    ]);
  });

  test("Sublist.match() keeps one group per name when only one node matches", () => {
    const list = make();
    const members = Array.from({ length: 50 }, () => sub("jobs", "workers"));
    for (const member of members) list.insert(member);
    list.insert(sub("jobs", "audit"));
    const result = list.match("jobs");
    assert.equal(result.plain.length, 0);
    assert.equal(result.queues.length, 2);
    const workers = result.queues.find((group) => group[0]?.queue === "workers");
    assert.deepEqual(workers?.map((s) => s.id).sort(), members.map((s) => s.id).sort());
  });

  test("Sublist.match() takes published wildcard tokens literally", () => {
    const list = make();
    for (const pattern of ["a.*", "a.>", "a.b", "*.*"]) list.insert(sub(pattern));
    assert.deepEqual(plainSubjects(list.match("a.*")), ["*.*", "a.*", "a.>"]);
    assert.deepEqual(plainSubjects(list.match("a.>")), ["*.*", "a.*", "a.>"]);
  });

  test("Sublist.match() matches nothing for subjects with empty tokens", () => {
    const list = make();
    list.insert(sub(">"));
    list.insert(sub("*.*"));
    for (const subject of ["", ".", "a.", ".a", "a..b"]) {
      const result = list.match(subject);
      assert.equal(result.plain.length + result.queues.length, 0, JSON.stringify(subject));
      assert.equal(list.hasInterest(subject), false, JSON.stringify(subject));
    }
  });

  test("Sublist.insert() of the same object twice is a no-op", () => {
    const list = make();
    const plain = sub("foo");
    const queued = sub("foo", "q");
    assert.ok(list.insert(plain));
    assert.ok(list.insert(queued));
    const generation = list.generation;
    assert.equal(list.insert(plain), false);
    assert.equal(list.insert(queued), false);
    assert.equal(list.count, 2);
    assert.equal(list.generation, generation);
    assert.equal(list.stats().numInserts, 2);
    const result = list.match("foo");
    assert.equal(result.plain.length, 1);
    assert.equal(result.queues[0]?.length, 1);
  });

  test("Sublist keeps plain subscriptions right as a subject goes from one to many and back", () => {
    const list = make();
    const [a, b, c] = [sub("foo.*"), sub("foo.*"), sub("foo.*")];
    const ids = () => list.match("foo.x").plain.map((s) => s.id);
    assert.ok(list.insert(a));
    assert.equal(list.insert(a), false, "duplicate of the lone subscription");
    assert.ok(list.remove(a));
    assert.deepEqual(ids(), []);
    assert.equal(list.remove(a), false);
    assert.ok(list.insert(a));
    assert.ok(list.insert(b));
    assert.equal(list.insert(a), false, "duplicate after the second subscription");
    assert.equal(list.insert(b), false);
    assert.ok(list.insert(c));
    assert.deepEqual(ids(), [a.id, b.id, c.id], "subscription order");
    assert.ok(list.remove(a));
    assert.ok(list.remove(c));
    assert.deepEqual(ids(), [b.id]);
    assert.ok(list.insert(a));
    assert.deepEqual(ids(), [b.id, a.id]);
    assert.deepEqual(list.all().map((s) => s.id).sort(), [a.id, b.id].sort());
    assert.ok(list.remove(b));
    assert.ok(list.remove(a));
    assert.equal(list.count, 0);
    assert.deepEqual(list.all(), []);
    assert.equal(list.hasInterest("foo.x"), false);
  });

  test("Sublist.remove() removes one subscription and reports absent ones", () => {
    const list = make();
    const a = sub("foo.bar");
    const b = sub("foo.bar");
    const q1 = sub("foo.*", "q");
    const q2 = sub("foo.*", "q");
    for (const s of [a, b, q1, q2]) list.insert(s);
    assert.equal(list.remove(sub("foo.bar")), false, "equal subject, other object");
    assert.equal(list.remove(sub("nope.x")), false);
    assert.equal(list.remove(sub("foo.bar", "q")), false);
    assert.equal(list.remove(sub("foo..bar")), false);
    assert.equal(list.count, 4);

    assert.ok(list.remove(a));
    assert.equal(list.remove(a), false, "second remove");
    assert.deepEqual(describe(list.match("foo.bar")).plain, [b.id]);
    assert.ok(list.remove(q1));
    assert.deepEqual(describe(list.match("foo.bar")).queues, [`q: ${q2.id}`]);
    assert.ok(list.remove(q2));
    assert.deepEqual(list.match("foo.bar").queues, [], "empty group disappears");
    assert.ok(list.remove(b));
    assert.equal(list.count, 0);
    assert.deepEqual(list.all(), []);
    assert.equal(list.hasInterest("foo.bar"), false);
    assert.equal(list.stats().numRemoves, 4);
  });

  test("Sublist.remove() prunes empty branches and keeps the rest reachable", () => {
    const list = make();
    const deep = sub("a.b.c.d");
    const mid = sub("a.b");
    const wild = sub("a.*.c.>");
    for (const s of [deep, mid, wild]) list.insert(s);
    assert.ok(list.remove(deep));
    assert.deepEqual(plainSubjects(list.match("a.b.c.d")), ["a.*.c.>"]);
    assert.deepEqual(plainSubjects(list.match("a.b")), ["a.b"]);
    assert.ok(list.remove(wild));
    assert.deepEqual(plainSubjects(list.match("a.b.c.d")), []);
    // Re-inserting into pruned paths works.
    assert.ok(list.insert(deep));
    assert.ok(list.insert(wild));
    assert.deepEqual(plainSubjects(list.match("a.b.c.d")), ["a.*.c.>", "a.b.c.d"]);
  });

  test("Sublist.match() results are not changed by later inserts and removes", () => {
    const list = make();
    const a = sub("foo");
    const b = sub("*");
    const q = sub("foo", "q");
    list.insert(a);
    list.insert(b);
    list.insert(q);
    const before = list.match("foo");
    const snapshot = describe(before);
    list.remove(a);
    list.remove(q);
    list.insert(sub("foo"));
    list.insert(sub("foo", "q"));
    list.insert(sub(">", "q"));
    assert.deepEqual(describe(before), snapshot);
  });

  test("Sublist.match() sees literal inserts and removes on cached subjects", () => {
    const list = make();
    assert.deepEqual(plainSubjects(list.match("a.b")), []);
    list.match("a.c");
    const literal = sub("a.b");
    list.insert(literal);
    assert.deepEqual(plainSubjects(list.match("a.b")), ["a.b"]);
    const queued = sub("a.b", "q");
    list.insert(queued);
    assert.deepEqual(describe(list.match("a.b")).queues, [`q: ${queued.id}`]);
    list.remove(literal);
    assert.deepEqual(plainSubjects(list.match("a.b")), []);
    list.remove(queued);
    assert.deepEqual(list.match("a.b").queues, []);
    assert.deepEqual(plainSubjects(list.match("a.c")), []);
  });

  test("Sublist.match() sees wildcard inserts and removes on cached subjects", () => {
    const list = make();
    const subjects = ["a.b", "a.c", "a.b.c", "x.y", "a"];
    for (const subject of subjects) list.match(subject);
    const star = sub("a.*");
    const full = sub("a.>");
    const all = sub(">", "q");
    list.insert(star);
    assert.deepEqual(plainSubjects(list.match("a.b")), ["a.*"]);
    assert.deepEqual(plainSubjects(list.match("a.c")), ["a.*"]);
    assert.deepEqual(plainSubjects(list.match("a.b.c")), []);
    list.insert(full);
    assert.deepEqual(plainSubjects(list.match("a.b")), ["a.*", "a.>"]);
    assert.deepEqual(plainSubjects(list.match("a.b.c")), ["a.>"]);
    list.insert(all);
    for (const subject of subjects) assert.equal(list.match(subject).queues.length, 1, subject);
    list.remove(star);
    assert.deepEqual(plainSubjects(list.match("a.b")), ["a.>"]);
    list.remove(full);
    list.remove(all);
    for (const subject of subjects) {
      const result = list.match(subject);
      assert.equal(result.plain.length + result.queues.length, 0, subject);
    }
  });

  test("Sublist invalidates only cache entries the changed subject can match", () => {
    const list = make();
    const expected = (n: number) => (variant.cache ? n : 0);
    for (const subject of ["a.b", "a.c", "a.b.c", "x.y"]) list.match(subject);
    assert.equal(list.stats().numCache, expected(4));
    list.insert(sub("a.b"));
    assert.equal(list.stats().numCache, expected(3), "a literal insert drops one key");
    list.insert(sub("q.r"));
    assert.equal(list.stats().numCache, expected(3), "no key for an uncached subject");
    list.insert(sub("a.*"));
    assert.equal(list.stats().numCache, expected(2), "a.* drops a.c (a.b already gone)");
    list.insert(sub("*.*.>"));
    assert.equal(list.stats().numCache, expected(1), "*.*.> drops a.b.c");
    assert.deepEqual(plainSubjects(list.match("x.y")), []);
    assert.equal(list.stats().numCache, expected(1));
  });

  test("Sublist.match() works with `__proto__` and `constructor` tokens", () => {
    const list = make();
    const tokens = ["__proto__", "constructor", "prototype", "hasOwnProperty", "toString"];
    for (const token of tokens) {
      assert.ok(list.insert(sub(token)));
      assert.ok(list.insert(sub(`${token}.${token}`)));
      assert.ok(list.insert(sub(`*.${token}`, token)));
    }
    for (const token of tokens) {
      assert.deepEqual(plainSubjects(list.match(token)), [token]);
      const nested = describe(list.match(`${token}.${token}`));
      assert.equal(nested.plain.length, 1);
      assert.deepEqual(nested.queues.map((line) => line.split(":")[0]), [token]);
      assert.equal(list.hasInterest(`x.${token}`), true);
    }
    assert.deepEqual(plainSubjects(list.match("valueOf")), []);
    assert.equal(list.hasInterest("__proto__.x"), false);
    assert.equal(list.count, tokens.length * 3);
  });

  test("Sublist.generation increases on every successful insert and remove", () => {
    const list = make();
    const a = sub("a");
    assert.equal(list.generation, 0);
    list.insert(a);
    assert.equal(list.generation, 1);
    list.insert(a);
    list.insert(sub("a..b"));
    assert.equal(list.generation, 1, "failed inserts leave it alone");
    list.match("a");
    assert.equal(list.generation, 1, "match leaves it alone");
    list.remove(a);
    assert.equal(list.generation, 2);
    list.remove(a);
    assert.equal(list.generation, 2, "failed removes leave it alone");
  });

  test("Sublist.all() lists every subscription once", () => {
    const list = make();
    const subs = [
      sub("a"),
      sub("a"),
      sub("a.b"),
      sub("a.*"),
      sub("a.>"),
      sub(">"),
      sub("a", "q"),
      sub("a", "q"),
      sub("a", "r"),
      sub("*.b", "q"),
    ];
    for (const s of subs) list.insert(s);
    assert.deepEqual(list.all().map((s) => s.id).sort(), subs.map((s) => s.id).sort());
  });

  test("Sublist.hasInterest() agrees with match()", () => {
    const list = make();
    list.insert(sub("a.*.c", "q"));
    list.insert(sub("b.>"));
    list.insert(sub("c"));
    const table: [string, boolean][] = [
      ["a.b.c", true],
      ["a.b", false],
      ["b", false],
      ["b.x", true],
      ["b.x.y", true],
      ["c", true],
      ["c.d", false],
      ["d", false],
    ];
    for (const [subject, expected] of table) {
      assert.equal(list.hasInterest(subject), expected, subject);
      list.match(subject); // now (maybe) cached: must answer the same
      assert.equal(list.hasInterest(subject), expected, `${subject} after match`);
    }
  });

  test("Sublist.stats() counts inserts, removes, matches, hits and fanout", () => {
    const list = make();
    const a = sub("foo");
    list.insert(a);
    list.insert(sub("foo"));
    list.insert(sub("foo", "q"));
    list.insert(sub("foo", "q"));
    list.insert(sub("*", "r"));
    list.insert(sub("bar"));
    list.remove(a);
    list.match("foo"); // fanout 1 plain + 2 groups = 3
    list.match("foo");
    list.match("bar"); // fanout 1 plain + 1 group (r) = 2
    list.match("bar");
    const stats = list.stats();
    assert.equal(stats.numSubscriptions, 5);
    assert.equal(stats.numInserts, 6);
    assert.equal(stats.numRemoves, 1);
    assert.equal(stats.numMatches, 4);
    if (variant.cache) {
      assert.equal(stats.numCache, 2);
      assert.equal(stats.cacheHitRate, 0.5);
      assert.equal(stats.maxFanout, 3);
      assert.equal(stats.avgFanout, 2.5);
    } else {
      assert.equal(stats.numCache, 0);
      assert.equal(stats.cacheHitRate, 0);
      assert.equal(stats.maxFanout, 0);
      assert.equal(stats.avgFanout, 0);
    }
    assert.deepEqual(new Sublist<TestSub>({ cache: variant.cache }).stats(), {
      numSubscriptions: 0,
      numCache: 0,
      numInserts: 0,
      numRemoves: 0,
      numMatches: 0,
      cacheHitRate: 0,
      maxFanout: 0,
      avgFanout: 0,
    });
  });

  test("Sublist cache stays bounded and correct past its limit", () => {
    const list = make();
    list.insert(sub("s.*"));
    list.insert(sub("s.7"));
    for (let i = 0; i < CACHE_MAX * 3; i++) {
      const subject = `s.${i}`;
      assert.equal(list.match(subject).plain.length, i === 7 ? 2 : 1, subject);
      assert.ok(list.stats().numCache <= CACHE_MAX);
    }
    if (variant.cache) {
      // Full at CACHE_MAX, swept to CACHE_SWEEP_TO, then filled again by the rest.
      const afterSweeps = CACHE_SWEEP_TO +
        ((CACHE_MAX * 3 - CACHE_MAX) % (CACHE_MAX - CACHE_SWEEP_TO));
      assert.equal(list.stats().numCache, afterSweeps);
    }
    assert.deepEqual(plainSubjects(list.match("s.7")), ["s.*", "s.7"]);
  });

  test("Sublist.match() sees every change at a node holding plain and queue subscriptions", () => {
    // One node's snapshots (plain list, queue lists, the whole result) are rebuilt
    // after any change there: each step changes one kind and matches in between,
    // through the node alone (`a.b`) and merged with a wildcard node (`a.*`).
    const list = make();
    const star = sub("a.*");
    list.insert(star);
    const plain1 = sub("a.b");
    const plain2 = sub("a.b");
    const q1 = sub("a.b", "q");
    const q2 = sub("a.b", "q");
    const r1 = sub("a.b", "r");
    const want = (plain: TestSub[], queues: TestSub[][]) => ({
      plain: plain.map((s) => s.id).sort(),
      queues: queues.map((g) => `${g[0]!.queue}: ${g.map((s) => s.id).sort().join(" ")}`).sort(),
    });
    const steps: [() => void, TestSub[], TestSub[][]][] = [
      [() => list.insert(plain1), [plain1], []],
      [() => list.insert(q1), [plain1], [[q1]]],
      [() => list.insert(plain2), [plain1, plain2], [[q1]]],
      [() => list.insert(q2), [plain1, plain2], [[q1, q2]]],
      [() => list.insert(r1), [plain1, plain2], [[q1, q2], [r1]]],
      [() => list.remove(plain1), [plain2], [[q1, q2], [r1]]],
      [() => list.remove(q1), [plain2], [[q2], [r1]]],
      [() => list.remove(plain2), [], [[q2], [r1]]],
      [() => list.remove(r1), [], [[q2]]],
      [() => list.insert(plain1), [plain1], [[q2]]],
      [() => list.remove(q2), [plain1], []],
    ];
    for (const [change, plain, queues] of steps) {
      const before = list.match("a.b"); // cached (or snapshot built) before the change
      const beforeCopy = describe(before);
      change();
      assert.deepEqual(describe(list.match("a.b")), want([star, ...plain], queues));
      assert.deepEqual(describe(list.match("a.b")), want([star, ...plain], queues), "again");
      assert.deepEqual(describe(before), beforeCopy, "an earlier result changed");
      list.remove(star);
      assert.deepEqual(describe(list.match("a.b")), want(plain, queues), "node alone");
      list.insert(star);
    }
  });

  test("Sublist invalidates every cached subject a wildcard change matches, and keeps the rest", () => {
    // Tokens that are prefixes and suffixes of each other (`b`, `ab`, `bab`), so a
    // quick test on a pattern's leading or trailing literal tokens that compared
    // characters rather than whole tokens would keep a stale entry; every subject
    // of up to three tokens is cached, and all are checked after every change.
    const random = prng(0x5EED + (variant.cache ? 1 : 0));
    const tokens = ["a", "b", "ab", "bab", "ba"];
    const subjects: string[] = [];
    for (const x of tokens) {
      subjects.push(x);
      for (const y of tokens) {
        subjects.push(`${x}.${y}`);
        for (const z of tokens) subjects.push(`${x}.${y}.${z}`);
      }
    }
    const pick = () => tokens[Math.floor(random() * tokens.length)] as string;
    const pattern = () => {
      const length = 1 + Math.floor(random() * 3);
      const parts: string[] = [];
      for (let i = 0; i < length; i++) {
        const roll = random();
        parts.push(roll < 0.3 ? "*" : roll < 0.4 && i === length - 1 ? ">" : pick());
      }
      return parts.join(".");
    };
    const list = make();
    const live: TestSub[] = [];
    for (const subject of subjects) list.match(subject);
    for (let step = 0; step < 150; step++) {
      if (live.length > 0 && random() < 0.4) {
        const victim = live.splice(Math.floor(random() * live.length), 1)[0] as TestSub;
        assert.ok(list.remove(victim));
      } else {
        const added = sub(pattern(), random() < 0.2 ? "q" : null);
        assert.ok(list.insert(added));
        live.push(added);
      }
      for (const subject of subjects) {
        assert.deepEqual(
          describe(list.match(subject)),
          describe(bruteResult(new Set(live), subject)),
          `step ${step}: ${subject}`,
        );
      }
    }
  });

  test("Sublist drops its cache after SCANS_BEFORE_DROP wildcard changes with no lookup", () => {
    const list = make();
    const expected = (n: number) => (variant.cache ? n : 0);
    for (const subject of ["a.b", "a.c", "x.y", "x.z"]) list.match(subject);
    list.insert(sub("a.*"));
    assert.equal(list.stats().numCache, expected(2), "the first change scans: x.y, x.z kept");
    for (let i = 1; i < SCANS_BEFORE_DROP; i++) list.insert(sub(`q${i}.*`));
    assert.equal(list.stats().numCache, expected(2), "so do the next ones, up to the limit");
    list.insert(sub("q.*"));
    assert.equal(list.stats().numCache, 0, "the one after, with no lookup between, drops all");
    for (const subject of ["a.b", "x.y", "x.z"]) list.match(subject);
    for (let i = 0; i < 2 * SCANS_BEFORE_DROP; i++) {
      list.insert(sub(`b${i}.*`));
      list.match("x.y");
    }
    assert.equal(list.stats().numCache, expected(3), "changes with lookups between scan");
    assert.deepEqual(plainSubjects(list.match("a.b")), ["a.*"]);
  });

  test("Sublist keeps no stale cached result across bursts of changes with no lookup between", () => {
    // Past SCANS_BEFORE_DROP wildcard changes with no match() between, the
    // whole cache is dropped instead of scanned (a SUB or UNSUB burst). Bursts
    // of 1 to 2.5 x SCANS_BEFORE_DROP changes (wildcard, literal, queue; inserts
    // and removes) run with no lookup inside, then every subject, all cached
    // before the burst, is checked against a brute-force matcher, looked up
    // twice (miss, hit).
    const random = prng(0xB0257 + (variant.cache ? 1 : 0));
    const tokens = ["a", "b", "ab"];
    const subjects: string[] = [];
    for (const x of tokens) {
      for (const y of tokens) {
        subjects.push(`${x}.${y}`);
        for (const z of tokens) subjects.push(`${x}.${y}.${z}`);
      }
    }
    const pattern = () => {
      const length = 2 + Math.floor(random() * 2);
      const parts: string[] = [];
      for (let i = 0; i < length; i++) {
        const roll = random();
        const token = tokens[Math.floor(random() * tokens.length)] as string;
        parts.push(roll < 0.35 ? "*" : roll < 0.45 && i === length - 1 ? ">" : token);
      }
      return parts.join(".");
    };
    const list = make();
    const live: TestSub[] = [];
    let bursts = 0;
    for (let round = 0; round < 80; round++) {
      for (const subject of subjects) {
        const want = describe(bruteResult(new Set(live), subject));
        assert.deepEqual(describe(list.match(subject)), want, `round ${round}: ${subject}`);
        assert.deepEqual(describe(list.match(subject)), want, `round ${round}: ${subject} again`);
      }
      const changes = 1 + Math.floor(random() * SCANS_BEFORE_DROP * 2.5);
      if (changes > SCANS_BEFORE_DROP) bursts++;
      for (let c = 0; c < changes; c++) {
        if (live.length > 0 && random() < 0.4) {
          const victim = live.splice(Math.floor(random() * live.length), 1)[0] as TestSub;
          assert.ok(list.remove(victim));
        } else {
          const added = sub(pattern(), random() < 0.3 ? (random() < 0.5 ? "q" : "r") : null);
          assert.ok(list.insert(added));
          live.push(added);
        }
      }
    }
    assert.ok(bursts > 25, `only ${bursts} bursts past the limit`);
  });

  test("Sublist.match() agrees with a brute-force matcher under random churn", () => {
    randomCrossCheck(make(), 0xC0FFEE + (variant.cache ? 1 : 0));
  });
}

for (const variant of VARIANTS) sublistSuite(variant);

Deno.test("Sublist.match() returns the same object for a cached subject", () => {
  const list = new Sublist<TestSub>();
  list.insert(sub("a.*"));
  list.insert(sub("a.b"));
  const first = list.match("a.b");
  assert.equal(list.match("a.b"), first);
  list.insert(sub("x"));
  assert.equal(list.match("a.b"), first, "an unrelated literal insert keeps the entry");
  list.insert(sub("a.>"));
  assert.notEqual(list.match("a.b"), first);
});

Deno.test("Sublist without cache never reports cache hits", () => {
  const list = new Sublist<TestSub>({ cache: false });
  list.insert(sub("a"));
  for (let i = 0; i < 10; i++) list.match("a");
  assert.equal(list.stats().cacheHitRate, 0);
  assert.equal(list.stats().numCache, 0);
  assert.equal(list.stats().numMatches, 10);
});

/** Token-array reference matcher, independent of the code under test. */
function bruteMatch(literal: readonly string[], pattern: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === ">") return literal.length > i;
    if (i >= literal.length) return false;
    if (pattern[i] !== "*" && pattern[i] !== literal[i]) return false;
  }
  return literal.length === pattern.length;
}

/** What match() must return, computed by scanning every live subscription. */
function bruteResult(live: Iterable<TestSub>, subject: string): MatchResult<TestSub> {
  const literal = subject.split(".");
  const plain: TestSub[] = [];
  const groups = new Map<string, TestSub[]>();
  for (const s of live) {
    if (!bruteMatch(literal, s.subject.split("."))) continue;
    if (s.queue === null) plain.push(s);
    else {
      const group = groups.get(s.queue) ?? [];
      group.push(s);
      groups.set(s.queue, group);
    }
  }
  return { plain, queues: [...groups.values()] };
}

/**
 * Random inserts and removes over a small token alphabet (so patterns overlap a
 * lot), checking random subjects, including repeats that hit the cache, after
 * every operation.
 */
function randomCrossCheck(list: Sublist<TestSub>, seed: number): void {
  const random = prng(seed);
  const tokens = ["a", "b", "c", "__proto__"];
  const pickToken = () => tokens[Math.floor(random() * tokens.length)] as string;
  const randomPattern = () => {
    const length = 1 + Math.floor(random() * 4);
    const parts: string[] = [];
    for (let i = 0; i < length; i++) {
      const roll = random();
      if (roll < 0.15) parts.push("*");
      else if (roll < 0.22 && i === length - 1) parts.push(">");
      else parts.push(pickToken());
    }
    return parts.join(".");
  };
  const randomSubject = () => {
    const length = 1 + Math.floor(random() * 4);
    return Array.from({ length }, pickToken).join(".");
  };
  const queues = [null, null, null, "q1", "q2"];
  const live = new Set<TestSub>();
  const liveList: TestSub[] = [];
  const subjects = Array.from({ length: 40 }, randomSubject);

  for (let step = 0; step < 1500; step++) {
    if (liveList.length > 0 && random() < 0.4) {
      const index = Math.floor(random() * liveList.length);
      const victim = liveList[index] as TestSub;
      liveList[index] = liveList[liveList.length - 1] as TestSub;
      liveList.pop();
      live.delete(victim);
      assert.ok(list.remove(victim), `remove ${victim.id}`);
    } else {
      const queue = queues[Math.floor(random() * queues.length)] ?? null;
      const added = sub(randomPattern(), queue);
      assert.ok(list.insert(added), `insert ${added.id}`);
      live.add(added);
      liveList.push(added);
    }
    assert.equal(list.count, live.size);
    for (let probe = 0; probe < 4; probe++) {
      const subject = subjects[Math.floor(random() * subjects.length)] as string;
      const expected = describe(bruteResult(live, subject));
      assert.deepEqual(describe(list.match(subject)), expected, `step ${step}: ${subject}`);
      const interested = expected.plain.length + expected.queues.length > 0;
      assert.equal(list.hasInterest(subject), interested, `step ${step}: ${subject}`);
    }
  }
  assert.deepEqual(list.all().map((s) => s.id).sort(), [...live].map((s) => s.id).sort());
}

Deno.test("Sublist: plain matches come in nats-server's order (the literal before * at the last token)", () => {
  // nats-server walks each level `>` first, then the `*` branch, then the
  // literal one; at the last token it adds the literal node before the `*`
  // node. A client with two of these subscriptions gets each message in that
  // order of sids (tests/pub_run_fuzz_test.ts compares the bytes).
  const subs = new Sublist<TestSub>();
  for (const s of ["a.b.*", "a.b.c", "a.*.c", "*.b.c", "a.>", ">", "*.*.*"]) subs.insert(sub(s));
  assert.deepEqual(subs.match("a.b.c").plain.map((s) => s.subject), [
    ">",
    "*.*.*",
    "*.b.c",
    "a.>",
    "a.*.c",
    "a.b.c",
    "a.b.*",
  ]);
  const two = new Sublist<TestSub>();
  for (const s of ["f.*", "f.a"]) two.insert(sub(s));
  assert.deepEqual(two.match("f.a").plain.map((s) => s.subject), ["f.a", "f.*"]);
});

Deno.test("Sublist.insertClassified() with classifySubject()'s kind acts as insert(), cache included", () => {
  const subjects = ["a.b", "a.*", "*.b", "a.>", ">", "a..b", "a.>.b", "a b", "", "x.y.z", "x.*.z"];
  const probes = ["a.b", "a.c", "x.y.z", "x.q.z", "b", "a.b.c"];
  // The reference has no cache: what a cached result must still say after each change.
  const plain = new Sublist<TestSub>({ cache: false });
  const classified = new Sublist<TestSub>();
  for (const p of probes) classified.match(p); // fill the cache
  for (const subject of subjects) {
    const one = sub(subject);
    const other = new TestSub(one.subject, null, one.id);
    assert.equal(
      classified.insertClassified(other, classifySubject(subject)),
      plain.insert(one),
      subject,
    );
    // Every cached result a change affects is dropped, literal or wildcard.
    for (const p of probes) {
      assert.deepEqual(describe(classified.match(p)), describe(plain.match(p)), `${subject} ${p}`);
    }
  }
  assert.equal(classified.count, plain.count);
  assert.equal(classified.insertClassified(sub("q.r"), SubjectKind.Invalid), false);
  assert.equal(classified.count, plain.count);
});

Deno.test("Sublist.insert() checks subjects and queue names as classifySubject() does, and an invalid one leaves no node behind", () => {
  const tokens = ["a", "b", "*", ">", "", "a b", "\f", "c\td", "\n", "x\r"];
  const subjects: string[] = [];
  for (const t1 of tokens) {
    subjects.push(t1);
    for (const t2 of tokens) {
      subjects.push(`${t1}.${t2}`);
      for (const t3 of tokens) subjects.push(`${t1}.${t2}.${t3}`);
    }
  }
  const probes = ["a", "a.b", "a.a.b", "b.a", "a.b.b", "b.b.b"];
  let refused = 0;
  for (const queue of [null, "q", "bad q"]) {
    for (const subject of subjects) {
      const list = new Sublist<TestSub>();
      const reference = new Sublist<TestSub>({ cache: false });
      for (const base of ["a.b", "a.*.b", "b"]) {
        const kept = sub(base);
        list.insert(kept);
        reference.insert(kept);
      }
      for (const p of probes) list.match(p); // fill the cache
      const nodes = list.nodeCount();
      const valid = classifySubject(subject) !== SubjectKind.Invalid &&
        (queue === null || queue !== "bad q");
      const one = sub(subject, queue);
      assert.equal(list.insert(one), valid, `${JSON.stringify(subject)} ${queue}`);
      if (valid) {
        reference.insertClassified(one, classifySubject(subject));
        for (const p of probes) {
          assert.deepEqual(
            describe(list.match(p)),
            describe(reference.match(p)),
            `${subject} ${p}`,
          );
        }
        assert.ok(list.remove(one));
      } else {
        refused++;
        assert.equal(list.count, 3);
      }
      assert.equal(list.nodeCount(), nodes, `nodes left by ${JSON.stringify(subject)} ${queue}`);
    }
  }
  assert.ok(refused > subjects.length * 2);
});
