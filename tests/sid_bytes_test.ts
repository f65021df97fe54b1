/**
 * The sid of a SUB comes back in every MSG byte for byte. An ASCII sid's
 * bytes are made from its string on the first delivery; any other sid keeps
 * the bytes it came with (lib/delivery/subscription.ts). Same input to
 * nats-server, same bytes expected.
 */
import assert from "node:assert/strict";
import { ServerProcess } from "./helpers/server.ts";
import { missing } from "./helpers/requires.ts";

const encoder = new TextEncoder();

function concat(...parts: (string | number[] | Uint8Array)[]): Uint8Array {
  const chunks = parts.map((p) =>
    typeof p === "string" ? encoder.encode(p) : p instanceof Uint8Array ? p : new Uint8Array(p)
  );
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

const SIDS: [string, Uint8Array][] = [
  ["ASCII", encoder.encode("s42")],
  ["UTF-8", new Uint8Array([0xc3, 0xa9, 0x31])],
  ["invalid UTF-8", new Uint8Array([0xff, 0xfe, 0x41])],
  ["100 ASCII bytes", encoder.encode("x".repeat(100))],
];

/** Subscribes with every sid (in one write, with 300 more ASCII sids in between), publishes once. */
async function deliveries(port: number): Promise<Uint8Array> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const parts: (string | Uint8Array)[] = ['CONNECT {"verbose":false,"pedantic":false}\r\n'];
    for (const [, sid] of SIDS) {
      parts.push("SUB sid.test ", sid, "\r\n");
      for (let i = 0; i < 100; i++) parts.push(`SUB other.${i} f${i}\r\n`);
    }
    parts.push("PUB sid.test 2\r\nhi\r\nPING\r\n");
    const request = concat(...parts);
    for (let off = 0; off < request.length;) off += await conn.write(request.subarray(off));
    let got: Uint8Array = new Uint8Array(0);
    const buf = new Uint8Array(65536);
    const deadline = Date.now() + 5000;
    while (!new TextDecoder("latin1").decode(got).includes("PONG\r\n")) {
      assert.ok(Date.now() < deadline, "no PONG in 5 s");
      const n = await conn.read(buf);
      if (n === null) break;
      got = concat(got, buf.subarray(0, n));
    }
    // From the first MSG to the PONG.
    const text = new TextDecoder("latin1").decode(got);
    return got.subarray(text.indexOf("MSG "), text.indexOf("PONG\r\n"));
  } finally {
    conn.close();
  }
}

/**
 * The MSGs, sorted (the order among plain subscriptions is not defined), each
 * as text decoded one character per byte (windows-1252 maps distinct bytes to
 * distinct characters, so equal texts mean equal bytes).
 */
function records(bytes: Uint8Array): string[] {
  const text = new TextDecoder("latin1").decode(bytes);
  return text.split("MSG ").filter((r) => r !== "").map((r) => "MSG " + r).sort();
}

function expected(): string[] {
  return records(concat(...SIDS.flatMap(([, sid]) => ["MSG sid.test ", sid, " 2\r\nhi\r\n"])));
}

Deno.test("a SUB's sid comes back byte for byte in MSG, ASCII or not", async () => {
  const server = await ServerProcess.start({});
  try {
    assert.deepEqual(records(await deliveries(server.port)), expected());
  } finally {
    await server.stop();
  }
});

Deno.test({
  name: "a SUB's sid comes back as nats-server sends it",
  ignore: missing("nats-server"),
  fn: async () => {
    const server = await ServerProcess.start({ reference: true });
    try {
      assert.deepEqual(records(await deliveries(server.port)), expected());
    } finally {
      await server.stop();
    }
  },
});
