import { deepStrictEqual, equal, ok } from "node:assert/strict";
import {
  agePoolForTests,
  Outbound,
  pooledOutboundBytes,
  takeBackloggedDestination,
} from "./outbound.ts";
import type { Transport } from "./transport.ts";

/** A transport whose writes complete only when the test says so. */
function manualTransport() {
  const writes: { data: Uint8Array; done: () => void; fail: (e: Error) => void }[] = [];
  const t: Transport & { writes: typeof writes; closed: boolean } = {
    remoteAddress: "127.0.0.1",
    remotePort: 1,
    writes,
    closed: false,
    start() {},
    write(data: Uint8Array) {
      return new Promise<void>((done, fail) => writes.push({ data: data.slice(), done, fail }));
    },
    pause() {},
    resume() {},
    close() {
      this.closed = true;
    },
  };
  return t;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (s: string) => new TextEncoder().encode(s);
const turn = () => new Promise((r) => setTimeout(r, 0));

Deno.test("Outbound coalesces appends into one write and queues the rest behind it", async () => {
  const t = manualTransport();
  const out = new Outbound(t, () => {});
  out.append(bytes("a"));
  out.append(bytes("b"));
  out.flush();
  out.flush(); // a second flush while writing starts nothing
  equal(t.writes.length, 1);
  equal(text(t.writes[0]!.data), "ab");
  out.append(bytes("c"));
  equal(out.pending, 3);
  t.writes[0]!.done();
  await turn();
  equal(t.writes.length, 2, "what came during the write goes next");
  equal(text(t.writes[1]!.data), "c");
  t.writes[1]!.done();
  await turn();
  equal(out.pending, 0);
});

Deno.test("Outbound writes a big buffer in 1 MiB slices, and each slice wakes stalled producers", async () => {
  const t = manualTransport();
  const out = new Outbound(t, () => {});
  const big = new Uint8Array(2.5 * 1024 * 1024).fill(0x61);
  out.append(big);
  let released = 0;
  out.addStallWaiter({ release: () => released++ });
  out.flush();
  equal(t.writes[0]!.data.length, 1024 * 1024);
  t.writes[0]!.done();
  await turn();
  equal(released, 1, "the first slice is progress");
  equal(out.pending, big.length - 1024 * 1024);
  equal(t.writes[1]!.data.length, 1024 * 1024);
  t.writes[1]!.done();
  await turn();
  equal(t.writes[2]!.data.length, big.length - 2 * 1024 * 1024);
  t.writes[2]!.done();
  await turn();
  equal(out.pending, 0);
  equal(released, 1, "a waiter is released once");
});

Deno.test("Outbound marks itself the destination to wait on, the fullest one winning", () => {
  const small = new Outbound(manualTransport(), () => {});
  const large = new Outbound(manualTransport(), () => {});
  small.append(new Uint8Array(10));
  large.append(new Uint8Array(20));
  small.markBacklogged();
  large.markBacklogged();
  small.markBacklogged();
  equal(takeBackloggedDestination(), large);
  equal(takeBackloggedDestination(), null, "taking clears it");
});

Deno.test("Outbound.discard() releases stalled producers and forgets the mark", () => {
  const out = new Outbound(manualTransport(), () => {});
  out.append(new Uint8Array(4));
  out.markBacklogged();
  let released = false;
  out.addStallWaiter({ release: () => released = true });
  out.discard();
  ok(released);
  equal(takeBackloggedDestination(), null);
  equal(out.pending, 0);
});

Deno.test("Outbound reports a failed write and releases its waiters", async () => {
  const t = manualTransport();
  const errors: string[] = [];
  const out = new Outbound(t, (e) => errors.push(e.message));
  out.append(bytes("x"));
  let released = false;
  out.addStallWaiter({ release: () => released = true });
  out.flush();
  t.writes[0]!.fail(new Error("broken pipe"));
  await turn();
  deepStrictEqual(errors, ["broken pipe"]);
  ok(released);
  equal(out.writing, false);
});

Deno.test("Outbound.drain() resolves when written, or after its timeout for a peer that never reads", async () => {
  const t = manualTransport();
  const out = new Outbound(t, () => {});
  out.append(bytes("bye"));
  let drained = false;
  const d = out.drain(60_000).then(() => drained = true);
  await turn();
  equal(drained, false);
  t.writes[0]!.done();
  await d;
  ok(drained);

  const stuck = new Outbound(manualTransport(), () => {});
  stuck.append(bytes("never read"));
  const start = performance.now();
  await stuck.drain(30);
  ok(performance.now() - start >= 25, "waited for the timeout");
});

/** Like manualTransport, but keeps the very arrays written (to see which buffer went out). */
function referenceTransport() {
  const writes: { data: Uint8Array; done: () => void }[] = [];
  const t: Transport & { writes: typeof writes } = {
    remoteAddress: "127.0.0.1",
    remotePort: 1,
    writes,
    start() {},
    write: (data: Uint8Array) => new Promise<void>((done) => writes.push({ data, done })),
    pause() {},
    resume() {},
    close() {},
  };
  return t;
}

Deno.test("Outbound gives a written buffer back for any connection to reuse, keeping none itself", async () => {
  const t = referenceTransport();
  const first = new Outbound(t, () => {});
  first.append(bytes("INFO {}\r\n"));
  first.flush();
  const written = t.writes[0]!.data.buffer;
  t.writes[0]!.done();
  await turn();
  equal(first.pending, 0);
  equal(first.buf.length, 0, "an idle connection holds no outbound buffer");
  const second = new Outbound(manualTransport(), () => {});
  second.append(bytes("PONG\r\n"));
  equal(second.buf.buffer, written, "the next connection to write reuses it");
  equal(text(second.buf.subarray(0, second.len)), "PONG\r\n");
});

Deno.test("Outbound keeps a backlog as 1 MiB chunks written in order, never one regrown buffer", async () => {
  const t = referenceTransport();
  const out = new Outbound(t, () => {});
  out.append(bytes("first"));
  out.flush(); // in flight: everything below queues behind it
  const message = new Uint8Array(1000);
  const total = 3500;
  for (let i = 0; i < total; i++) {
    message.fill(i & 0xff);
    out.append(message);
    ok(out.buf.length <= 1024 * 1024, `buffer grew to ${out.buf.length} bytes`);
  }
  equal(out.pending, 5 + total * 1000);
  const got: number[] = [];
  for (let w = 0; w < t.writes.length; w++) {
    const data = t.writes[w]!.data;
    if (w > 0) {
      ok(data.length <= 1024 * 1024, `write ${w} is ${data.length} bytes`);
      for (let k = 0; k < data.length; k += 1000) got.push(data[k]!);
    }
    t.writes[w]!.done();
    await turn();
  }
  equal(got.length, total, "every message written once");
  ok(got.every((v, i) => v === (i & 0xff)), "in order");
  ok(t.writes.length >= 5, "the backlog went out as several chunks");
  equal(out.pending, 0);
});

Deno.test("Outbound wakes stalled producers at each MiB of a long backlog, not only at its end", async () => {
  const t = referenceTransport();
  const out = new Outbound(t, () => {});
  out.append(bytes("x"));
  out.flush();
  for (let i = 0; i < 4 * 1024; i++) out.append(new Uint8Array(1024));
  t.writes[0]!.done(); // the 1-byte batch: its end is progress
  await turn();
  let released = 0;
  out.addStallWaiter({ release: () => released++ });
  // The next batch is four 1 MiB chunks (the last a byte short of full):
  // each chunk is a MiB of progress and wakes the waiters of its time.
  t.writes[1]!.done();
  await turn();
  equal(released, 1);
  out.addStallWaiter({ release: () => released++ });
  t.writes[2]!.done();
  await turn();
  equal(released, 2);
});

/** Writes a backlog of `chunks` MiB through one Outbound and completes every write. */
async function cycleBacklog(chunks: number): Promise<void> {
  const t = referenceTransport();
  const out = new Outbound(t, () => {});
  out.append(bytes("first"));
  out.flush(); // in flight: the backlog below queues behind it as 1 MiB chunks
  const message = new Uint8Array(64 * 1024);
  for (let i = 0; i < chunks * 16; i++) out.append(message);
  for (let w = 0; w < t.writes.length; w++) {
    t.writes[w]!.done();
    await turn();
  }
  equal(out.pending, 0);
}

Deno.test("the outbound pool keeps cycling chunks while backlogs last, and gives them back once idle", async () => {
  const MiB = 1024 * 1024;
  await cycleBacklog(24);
  const busy = pooledOutboundBytes();
  ok(busy > 4 * MiB, `a cycling backlog keeps its chunks for reuse: ${busy} bytes pooled`);
  ok(busy <= 64 * MiB, `at most the busy size: ${busy}`);
  // A chunk taken now is one of those, not a new allocation.
  await cycleBacklog(1);
  ok(pooledOutboundBytes() >= busy - MiB, "the next backlog reused the pool");

  // Two seconds without a chunk taken: the next small take trims the pool.
  agePoolForTests(2_001);
  const small = new Outbound(referenceTransport(), () => {});
  small.append(bytes("PONG\r\n"));
  ok(pooledOutboundBytes() <= 4 * MiB, `trimmed to the resting size: ${pooledOutboundBytes()}`);

  // Released while idle (no chunk taken for two seconds), chunks past the resting size go.
  const t = referenceTransport();
  const out = new Outbound(t, () => {});
  out.append(bytes("first"));
  out.flush();
  const message = new Uint8Array(64 * 1024);
  for (let i = 0; i < 12 * 16; i++) out.append(message);
  agePoolForTests(2_001);
  for (let w = 0; w < t.writes.length; w++) {
    t.writes[w]!.done();
    await turn();
  }
  ok(pooledOutboundBytes() <= 4 * MiB, `idle releases stay within 4 MiB: ${pooledOutboundBytes()}`);
});
