import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { formatStall, InboundPump, ReadBlock, stallMs, type StallWaiter } from "./inbound.ts";
import type { Transport } from "./transport.ts";

/** A transport that only records pause/resume. */
function fakeTransport(): Transport & { paused: boolean; pauses: number } {
  return {
    remoteAddress: "127.0.0.1",
    remotePort: 1,
    paused: false,
    pauses: 0,
    start() {},
    write: () => Promise.resolve(),
    pause() {
      this.paused = true;
      this.pauses++;
    },
    resume() {
      this.paused = false;
    },
    close() {},
  };
}

/** An owner whose parser records chunks and stops at a `|` (an async CONNECT). */
function owner(onStop?: (pump: InboundPump) => void) {
  const parsed: string[] = [];
  const o = {
    isClosed: false,
    timedOut: [] as number[],
    parsed,
    pump: null as InboundPump | null,
    parseChunk(chunk: Uint8Array): number {
      const text = new TextDecoder().decode(chunk);
      const bar = text.indexOf("|");
      parsed.push(bar < 0 ? text : text.slice(0, bar + 1));
      if (bar < 0) return -1;
      onStop?.(o.pump!);
      return bar + 1;
    },
    logPrefix: "test",
    server: {
      options: { maxPending: 64 * 1024 * 1024 },
      log: {
        debug(msg: string) {
          const m = /^test - Timed out of fast producer stall \((\d+)ms\)$/.exec(msg);
          if (m) o.timedOut.push(Number(m[1]));
        },
      },
    },
  };
  return o;
}

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("stallMs() follows nats-server's schedule: 100 ms at half, +100 ms per tenth, 1 s at the limit", () => {
  const max = 64 * 1024 * 1024;
  equal(stallMs(max / 2, max), 100);
  equal(stallMs(max / 2 + max / 20, max), 200);
  equal(stallMs(max / 2 + (max / 20) * 5, max), 600);
  equal(stallMs(max - 1, max), 1000);
  equal(stallMs(max, max), 1000);
  equal(stallMs(max * 3, max), 1000);
});

Deno.test("formatStall() prints durations as nats-server's debug line", () => {
  equal(formatStall(100), "100ms");
  equal(formatStall(1000), "1s");
  equal(formatStall(1500), "1500ms");
});

Deno.test("InboundPump keeps chunks that arrive while blocked, in order, and parses them on unblock", () => {
  const t = fakeTransport();
  const o = owner();
  const pump = new InboundPump(o, t);
  pump.onData(bytes("a"));
  pump.block(ReadBlock.Auth);
  ok(t.paused);
  const reused = bytes("b");
  pump.onData(reused);
  reused[0] = 0x7a; // the transport reuses its buffer: the pump must have copied
  pump.onData(bytes("c"));
  deepStrictEqual(o.parsed, ["a"]);
  pump.unblock(ReadBlock.Auth);
  deepStrictEqual(o.parsed, ["a", "b", "c"]);
  equal(t.paused, false);
});

Deno.test("InboundPump resumes only when every reason is lifted", () => {
  const t = fakeTransport();
  const o = owner();
  const pump = new InboundPump(o, t);
  pump.block(ReadBlock.Auth);
  pump.block(ReadBlock.Stall);
  pump.onData(bytes("x"));
  pump.unblock(ReadBlock.Stall);
  ok(t.paused);
  deepStrictEqual(o.parsed, []);
  pump.unblock(ReadBlock.Auth);
  deepStrictEqual(o.parsed, ["x"]);
  equal(t.pauses, 1);
});

Deno.test("InboundPump puts the rest of a chunk after an async CONNECT first in line", () => {
  const t = fakeTransport();
  const o = owner((pump) => pump.block(ReadBlock.Auth));
  const pump = new InboundPump(o, t);
  o.pump = pump;
  pump.onData(bytes("CONNECT|rest"));
  pump.onData(bytes("later"));
  deepStrictEqual(o.parsed, ["CONNECT|"]);
  pump.unblock(ReadBlock.Auth);
  deepStrictEqual(o.parsed, ["CONNECT|", "rest", "later"]);
});

Deno.test("InboundPump.stall() waits for the gate's release, or times out and reports it", async () => {
  const t = fakeTransport();
  const o = owner();
  const pump = new InboundPump(o, t);
  let waiter: StallWaiter | null = null;
  pump.stall({ addStallWaiter: (w) => waiter = w }, 10_000);
  ok(pump.stalled && t.paused);
  pump.onData(bytes("held"));
  deepStrictEqual(o.parsed, []);
  waiter!.release();
  ok(!pump.stalled && !t.paused);
  deepStrictEqual(o.parsed, ["held"]);
  deepStrictEqual(o.timedOut, []);

  pump.stall({ addStallWaiter: () => {} }, 20);
  ok(pump.stalled);
  const deadline = Date.now() + 5000;
  while (pump.stalled && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  ok(!pump.stalled);
  deepStrictEqual(o.timedOut, [20]);
});

Deno.test("InboundPump.close() stops a running stall timer", () => {
  const t = fakeTransport();
  const o = owner();
  const pump = new InboundPump(o, t);
  pump.stall({ addStallWaiter: () => {} }, 60_000);
  o.isClosed = true;
  pump.close(); // the test's timer sanitizer fails if the timer were left running
  pump.onData(bytes("ignored"));
  deepStrictEqual(o.parsed, []);
});
