import { deepEqual, equal } from "node:assert/strict";
import { deflateRawSync } from "node:zlib";
import {
  closePayload,
  closeReply,
  encodeHeader,
  FrameDecoder,
  type FrameHandler,
  headerLength,
  Opcode,
} from "./frame.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A masked client frame. */
function clientFrame(
  op: number,
  payload: Uint8Array | string,
  o: { fin?: boolean; rsv1?: boolean; key?: number[] } = {},
): Uint8Array {
  const body = typeof payload === "string" ? enc.encode(payload) : payload;
  const key = o.key ?? [0xa1, 0xb2, 0xc3, 0xd4];
  const n = body.length;
  const head = [((o.fin ?? true) ? 0x80 : 0) | (o.rsv1 ? 0x40 : 0) | op];
  if (n < 126) head.push(0x80 | n);
  else if (n < 65536) head.push(0x80 | 126, n >> 8, n & 0xff);
  else head.push(0x80 | 127, 0, 0, 0, 0, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  const out = new Uint8Array(head.length + 4 + n);
  out.set(head);
  out.set(key, head.length);
  for (let i = 0; i < n; i++) out[head.length + 4 + i] = body[i] ^ key[i & 3];
  return out;
}

function recorder() {
  const events: string[] = [];
  let data = "";
  const h: FrameHandler = {
    onPayload: (b) => data += dec.decode(b),
    onControl: (op, p) => events.push(`ctl ${op} ${dec.decode(p)}`),
    onProtocolError: (m) => events.push(`error ${m}`),
    onFatal: (m) => events.push(`fatal ${m}`),
  };
  return { h, events, data: () => data };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

Deno.test("FrameDecoder: data frames unmasked in place, split at every byte and joined", () => {
  const big = "y".repeat(70_000);
  const stream = concat([
    clientFrame(Opcode.Binary, "PUB a 5\r\nhel", { fin: false }),
    clientFrame(Opcode.Continuation, "lo\r\n", { fin: true, key: [1, 2, 3, 4] }),
    clientFrame(Opcode.Ping, "p!"),
    clientFrame(Opcode.Text, "x".repeat(300)),
    clientFrame(Opcode.Binary, big),
  ]);
  const expected = "PUB a 5\r\nhello\r\n" + "x".repeat(300) + big;
  // Whole, then cut at each offset of the first 400 bytes, then in 7-byte pieces.
  const cuts = [[stream.length], ...Array.from({ length: 400 }, (_, i) => [i + 1]), [7]];
  for (const [step] of cuts) {
    const r = recorder();
    const d = new FrameDecoder(r.h, { mask: true, maxInflated: 1 << 20 });
    const copy = stream.slice();
    if (step === stream.length) d.decode(copy);
    else if (step === 7) {
      for (let i = 0; i < copy.length; i += 7) d.decode(copy.subarray(i, i + 7));
    } else {
      d.decode(copy.subarray(0, step));
      d.decode(copy.subarray(step));
    }
    equal(r.data(), expected, `cut ${step}`);
    deepEqual(r.events, ["ctl 9 p!"], `cut ${step}`);
  }
});

Deno.test("FrameDecoder: nats-server's protocol errors, data before them delivered", () => {
  const cases: Array<[Uint8Array, string]> = [
    [Uint8Array.from("\x82\x06PING\r\n", (c) => c.charCodeAt(0)), "mask bit missing"],
    [
      clientFrame(Opcode.Ping, "x".repeat(126)),
      "control frame length bigger than maximum allowed of 125 bytes",
    ],
    [clientFrame(Opcode.Ping, "x", { fin: false }), "control frame does not have final bit set"],
    [clientFrame(3, "x"), "unknown opcode 3"],
    [clientFrame(Opcode.Continuation, "x"), "invalid continuation frame"],
    [
      concat([clientFrame(Opcode.Binary, "a", { fin: false }), clientFrame(Opcode.Binary, "b")]),
      "new message started before final frame for previous message was received",
    ],
  ];
  for (const [bytes, message] of cases) {
    const r = recorder();
    const d = new FrameDecoder(r.h, { mask: true, maxInflated: 1 << 20 });
    d.decode(
      concat([clientFrame(Opcode.Binary, "PING\r\n"), bytes, clientFrame(Opcode.Binary, "no")]),
    );
    equal(r.data().startsWith("PING\r\n"), true, message);
    equal(r.data().includes("no"), false, message);
    deepEqual(r.events, [`error ${message}`]);
    equal(d.stopped, true);
  }
});

Deno.test("FrameDecoder: unmasked frames when the client asked for no masking", () => {
  const r = recorder();
  const d = new FrameDecoder(r.h, { mask: false, maxInflated: 1 << 20 });
  d.decode(Uint8Array.from("\x82\x06PING\r\n", (c) => c.charCodeAt(0)));
  equal(r.data(), "PING\r\n");
});

Deno.test("FrameDecoder: compressed messages inflated, fragments joined, bad input fatal", () => {
  const text = "SUB x 1\r\n".repeat(50);
  const z = deflateRawSync(enc.encode(text), { finishFlush: 2 });
  const body = z.subarray(0, z.length - 4);
  const half = body.length >> 1;
  const r = recorder();
  const d = new FrameDecoder(r.h, { mask: true, maxInflated: 1 << 20 });
  d.decode(concat([
    clientFrame(Opcode.Binary, body.subarray(0, half), { fin: false, rsv1: true }),
    clientFrame(Opcode.Continuation, body.subarray(half)),
    clientFrame(Opcode.Binary, "PING\r\n"),
  ]));
  equal(r.data(), text + "PING\r\n");
  const bad = recorder();
  const d2 = new FrameDecoder(bad.h, { mask: true, maxInflated: 1 << 20 });
  d2.decode(clientFrame(Opcode.Binary, "not deflate at all", { rsv1: true }));
  equal(bad.events.length, 1);
  equal(bad.events[0].startsWith("fatal flate: "), true, bad.events[0]);
  // A bomb beyond the limit is fatal too.
  const bomb = deflateRawSync(new Uint8Array(100_000), { finishFlush: 2 });
  const small = recorder();
  new FrameDecoder(small.h, { mask: true, maxInflated: 1000 }).decode(
    clientFrame(Opcode.Binary, bomb.subarray(0, bomb.length - 4), { rsv1: true }),
  );
  equal(small.events[0]?.startsWith("fatal "), true);
});

Deno.test("close payloads: echo, 1005, 1007 for bad UTF-8, long texts cut with ...", () => {
  deepEqual([...closeReply(new Uint8Array([3, 0xe8, 0x62]))], [3, 0xe8, 0x62]);
  deepEqual([...closeReply(new Uint8Array([]))], [3, 0xed]);
  deepEqual([...closeReply(new Uint8Array([3]))], [3, 0xed]);
  const bad = closeReply(new Uint8Array([3, 0xe8, 0xff]));
  equal((bad[0] << 8) | bad[1], 1007);
  equal(dec.decode(bad.subarray(2)), "invalid utf8 body in close frame");
  const long = closePayload(1002, "z".repeat(200));
  equal(long.length, 125);
  equal(dec.decode(long.subarray(2)), "z".repeat(120) + "...");
});

Deno.test("encodeHeader: 7-bit, 16-bit and 64-bit lengths, flags", () => {
  for (
    const [len, size] of [[0, 2], [125, 2], [126, 4], [65535, 4], [65536, 10], [2 ** 33 + 5, 10]]
  ) {
    const b = new Uint8Array(10);
    equal(encodeHeader(b, 0, Opcode.Binary, true, len === 126, len), size);
    equal(headerLength(len), size);
    equal(b[0], 0x82 | (len === 126 ? 0x40 : 0));
    if (size === 4) equal((b[2] << 8) | b[3], len);
    if (size === 10) {
      equal(new DataView(b.buffer).getBigUint64(2), BigInt(len));
    }
  }
});
