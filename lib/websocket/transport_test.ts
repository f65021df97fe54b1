import { deepEqual, equal, ok } from "node:assert/strict";
import { inflateRawSync } from "node:zlib";
import type { Transport } from "../conn/transport.ts";
import { ClosedReason } from "../conn/closed_reason.ts";
import type { Upgrade } from "./handshake.ts";
import { closeStatusFor, WebSocketTransport } from "./transport.ts";

/** Keeps every write as bytes. */
class Capture implements Transport {
  readonly remoteAddress = "127.0.0.1";
  readonly remotePort = 40000;
  writes: Uint8Array[] = [];
  closed = false;
  onData: (chunk: Uint8Array) => void = () => {};
  start(onData: (chunk: Uint8Array) => void): void {
    this.onData = onData;
  }
  write(data: Uint8Array): Promise<void> {
    this.writes.push(data.slice());
    return Promise.resolve();
  }
  pause(): void {}
  resume(): void {}
  close(): void {
    this.closed = true;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.writes.reduce((n, w) => n + w.length, 0));
    let off = 0;
    for (const w of this.writes) {
      out.set(w, off);
      off += w.length;
    }
    return out;
  }
}

interface Frame {
  op: number;
  fin: boolean;
  rsv1: boolean;
  payload: Uint8Array;
}

function parseFrames(b: Uint8Array): Frame[] {
  const out: Frame[] = [];
  let i = 0;
  while (i < b.length) {
    let len = b[i + 1] & 0x7f;
    let at = i + 2;
    if (len === 126) {
      len = (b[i + 2] << 8) | b[i + 3];
      at = i + 4;
    } else if (len === 127) {
      len = Number(new DataView(b.buffer, b.byteOffset + i + 2, 8).getBigUint64(0));
      at = i + 10;
    }
    out.push({
      op: b[i] & 0x0f,
      fin: (b[i] & 0x80) !== 0,
      rsv1: (b[i] & 0x40) !== 0,
      payload: b.slice(at, at + len),
    });
    i = at + len;
  }
  return out;
}

function upgrade(o: Partial<Upgrade>): Upgrade {
  return {
    response: new Uint8Array(0),
    compress: false,
    noMasking: false,
    browser: false,
    noCompressedFragments: false,
    ...o,
  };
}

function opened(o: Partial<Upgrade>): { ws: WebSocketTransport; inner: Capture } {
  const inner = new Capture();
  const ws = new WebSocketTransport(inner, { maxInflated: 1 << 20 });
  ws.open(() => {}, () => {});
  ws.accept(upgrade(o));
  ws.start(() => {}, () => {});
  return { ws, inner };
}

/** Bytes that deflate does not shrink. */
function noise(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

Deno.test("WebSocketTransport: one binary frame per write, small or big", async () => {
  const { ws, inner } = opened({});
  await ws.write(new TextEncoder().encode("PONG\r\n"));
  await ws.write(noise(100_000));
  const frames = parseFrames(inner.bytes());
  deepEqual(frames.map((f) => [f.op, f.fin, f.rsv1, f.payload.length]), [
    [2, true, false, 6],
    [2, true, false, 100_000],
  ]);
});

Deno.test("WebSocketTransport: browsers get complete binary frames of at most 4 KiB", async () => {
  const { ws, inner } = opened({ browser: true });
  const data = noise(10_000);
  await ws.write(data);
  const frames = parseFrames(inner.bytes());
  deepEqual(frames.map((f) => [f.op, f.fin, f.payload.length]), [
    [2, true, 4096],
    [2, true, 4096],
    [2, true, 1808],
  ]);
  deepEqual(new Uint8Array(frames.flatMap((f) => [...f.payload])), data);
});

Deno.test("WebSocketTransport: compression above 64 bytes, fragmented for browsers but Safari", async () => {
  for (
    const [o, fragmented] of [[{ browser: true }, true], [{
      browser: true,
      noCompressedFragments: true,
    }, false], [{}, false]] as const
  ) {
    const { ws, inner } = opened({ compress: true, ...o });
    await ws.write(new TextEncoder().encode("x".repeat(64))); // not compressed
    const data = noise(20_000);
    await ws.write(data);
    const frames = parseFrames(inner.bytes());
    equal(frames[0].rsv1, false);
    const rest = frames.slice(1);
    equal(rest[0].op, 2);
    equal(rest[0].rsv1, true);
    ok(rest.slice(1).every((f) => f.op === 0 && !f.rsv1), "continuations");
    equal(rest.at(-1)!.fin, true);
    ok(rest.slice(0, -1).every((f) => !f.fin));
    equal(rest.length > 1, fragmented, JSON.stringify(o));
    const joined = new Uint8Array([...rest.flatMap((f) => [...f.payload]), 0, 0, 0xff, 0xff]);
    deepEqual(new Uint8Array(inflateRawSync(joined, { finishFlush: 2 })), data);
  }
});

Deno.test("WebSocketTransport: close frame by reason after what is queued; none for read errors", async () => {
  equal(closeStatusFor(ClosedReason.ReadError), null);
  equal(closeStatusFor(ClosedReason.SlowConsumerPendingBytes), null);
  equal(closeStatusFor(ClosedReason.ServerShutdown), 1001);
  equal(closeStatusFor(ClosedReason.MaxPayloadExceeded), 1009);
  equal(closeStatusFor(ClosedReason.AuthenticationTimeout), 1008);
  const { ws, inner } = opened({});
  const w = ws.write(new TextEncoder().encode("-ERR 'Authentication Timeout'\r\n"));
  ws.closing(ClosedReason.AuthenticationTimeout);
  ws.close();
  await w;
  await new Promise((r) => setTimeout(r, 10));
  const frames = parseFrames(inner.bytes());
  equal(frames.length, 2);
  equal(frames[1].op, 8);
  equal((frames[1].payload[0] << 8) | frames[1].payload[1], 1008);
  equal(new TextDecoder().decode(frames[1].payload.subarray(2)), "Authentication Timeout");
  equal(inner.closed, true);
});

Deno.test("WebSocketTransport: pings answered, a close frame echoed then the end reported", async () => {
  const inner = new Capture();
  const ws = new WebSocketTransport(inner, { maxInflated: 1 << 20 });
  ws.open(() => {}, () => {});
  ws.accept(upgrade({}));
  const ends: Array<Error | undefined> = [];
  ws.start(() => {}, (e) => ends.push(e));
  // Masked ping "hi" with a zero key, then a close 1000.
  inner.onData(
    new Uint8Array([0x89, 0x82, 0, 0, 0, 0, 0x68, 0x69, 0x88, 0x82, 0, 0, 0, 0, 3, 0xe8]),
  );
  await new Promise((r) => setTimeout(r, 10));
  const frames = parseFrames(inner.bytes());
  deepEqual(frames.map((f) => [f.op, [...f.payload]]), [[10, [0x68, 0x69]], [8, [3, 0xe8]]]);
  deepEqual(ends, [undefined]);
});

Deno.test("WebSocketTransport: a write with none in flight reaches the socket at once", async () => {
  // A flush in the middle of a parsed chunk must start its write before the chunk
  // is done, as with a plain transport (else a WebSocket reader's backlog grows).
  const { ws, inner } = opened({});
  const w = ws.write(new TextEncoder().encode("MSG a 1 1\r\nx\r\n"));
  equal(inner.writes.length, 1, "written synchronously");
  // A second one waits for the first (frames never interleave).
  const w2 = ws.write(new TextEncoder().encode("PONG\r\n"));
  equal(inner.writes.length, 1);
  await w;
  await w2;
  equal(inner.writes.length, 2);
});
