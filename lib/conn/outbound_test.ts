import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { Outbound, takeBackloggedDestination } from "./outbound.ts";
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
