/**
 * The SharedArrayBuffer ring the Worker TLS sink hands plaintext through:
 * bytes come out in order across the wrap, a full ring takes no more, and a
 * producer on another thread (a real Worker) gets every byte through.
 *
 * @module
 */
import assert from "node:assert/strict";
import { RingFeeder, SabRing } from "./sab_ring.ts";

function drain(ring: SabRing): number[] {
  const out: number[] = [];
  let n = 0;
  for (const v of ring.readable()) {
    out.push(...v);
    n += v.length;
  }
  ring.consume(n);
  return out;
}

Deno.test("SabRing keeps order across the wrap and refuses bytes past its capacity", () => {
  const b = SabRing.buffers(8);
  const producer = new SabRing(b.ctl, b.data);
  const consumer = new SabRing(b.ctl, b.data);
  assert.deepEqual(consumer.readable(), []);
  assert.equal(producer.push(Uint8Array.of(1, 2, 3, 4, 5, 6)), 6);
  assert.deepEqual(drain(consumer), [1, 2, 3, 4, 5, 6]);
  // Write position 6: the next 7 bytes wrap after two.
  assert.equal(producer.push(Uint8Array.of(7, 8, 9, 10, 11, 12, 13)), 7);
  assert.equal(consumer.readable().length, 2);
  assert.equal(producer.push(Uint8Array.of(14, 15, 16)), 1, "one byte of space was left");
  assert.equal(producer.push(Uint8Array.of(99)), 0, "a full ring takes nothing");
  assert.deepEqual(drain(consumer), [7, 8, 9, 10, 11, 12, 13, 14]);
  assert.throws(() => new SabRing(new SharedArrayBuffer(8), new SharedArrayBuffer(6)), RangeError);
});

Deno.test("SabRing positions wrap past 2^31 without losing count", () => {
  const b = SabRing.buffers(16);
  const ctl = new Int32Array(b.ctl);
  ctl[0] = 0x7ffffffc; // write and read positions just below the Int32 wrap
  ctl[1] = 0x7ffffffc;
  const ring = new SabRing(b.ctl, b.data);
  assert.equal(ring.push(Uint8Array.from({ length: 10 }, (_, i) => i)), 10);
  assert.deepEqual(drain(ring), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(ctl[0], ctl[1]);
  assert.ok(ctl[0]! < 0, "the position wrapped to a negative Int32");
});

Deno.test("SabRing carries 2 MiB from a Worker in order through a 64 KiB ring", async () => {
  const b = SabRing.buffers(64 * 1024);
  const total = 2 * 1024 * 1024;
  const src = `
    import { SabRing } from ${JSON.stringify(new URL("./sab_ring.ts", import.meta.url).href)};
    self.onmessage = async (e) => {
      const ring = new SabRing(e.data.ctl, e.data.data);
      const chunk = new Uint8Array(5000);
      let sent = 0;
      while (sent < ${total}) {
        const n = Math.min(chunk.length, ${total} - sent);
        for (let i = 0; i < n; i++) chunk[i] = (sent + i) % 251;
        let off = 0;
        while (off < n) {
          const r = ring.readPos();
          const k = ring.push(chunk.subarray(off, n), r);
          off += k;
          if (off < n) await ring.spaceFrom(r);
        }
        sent += n;
      }
    };`;
  const url = URL.createObjectURL(new Blob([src], { type: "application/javascript" }));
  const worker = new Worker(url, { type: "module" });
  try {
    worker.postMessage(b);
    const ring = new SabRing(b.ctl, b.data);
    let got = 0;
    const deadline = performance.now() + 20_000;
    while (got < total) {
      assert.ok(performance.now() < deadline, `only ${got} of ${total} bytes within 20 s`);
      const views = ring.readable();
      if (views.length === 0) {
        await Promise.race([ring.dataAfter(), new Promise((r) => setTimeout(r, 100))]);
        continue;
      }
      let n = 0;
      for (const v of views) {
        for (let i = 0; i < v.length; i++) {
          if (v[i] !== (got + n + i) % 251) assert.fail(`byte ${got + n + i} out of order`);
        }
        n += v.length;
      }
      ring.consume(n);
      got += n;
    }
    assert.equal(got, total);
  } finally {
    worker.terminate();
    URL.revokeObjectURL(url);
  }
});

Deno.test("RingFeeder keeps chunks that arrive while it waits for space, in order", async () => {
  const b = SabRing.buffers(8);
  const ring = new SabRing(b.ctl, b.data);
  let pauses = 0;
  let resumed!: () => void;
  const done = new Promise<void>((r) => resumed = r);
  const feeder = new RingFeeder(ring, () => pauses++, () => resumed());
  assert.equal(feeder.feed(Uint8Array.of(1, 2, 3, 4, 5, 6)), true);
  assert.equal(feeder.feed(Uint8Array.of(7, 8, 9, 10)), false, "only two bytes fit");
  // A read the socket had under way when it was told to stop: kept behind the rest.
  assert.equal(feeder.feed(Uint8Array.of(11, 12)), false);
  assert.equal(pauses, 1);
  const got: number[] = [];
  while (got.length < 12) {
    await new Promise((r) => setTimeout(r, 1));
    got.push(...drain(ring));
  }
  await done;
  assert.deepEqual(got, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  assert.equal(pauses, 1);
});
