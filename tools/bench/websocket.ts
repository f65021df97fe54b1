/**
 * WebSocket pub/sub 1:1, 128 B: a publisher and a subscriber on the
 * `websocket` port (no_tls), speaking frames over raw sockets: the publisher
 * writes one masked binary frame per 64 KiB batch of PUBs (the bytes are
 * built once), the subscriber reads the server's frames and counts MSG bytes.
 *
 * @module
 */
import type { Measured } from "./report.ts";
import { ratioAtLeast } from "./report.ts";
import type { ServerSpec } from "./servers.ts";
import { freePort } from "./servers.ts";
import {
  type BenchContext,
  maxPublishMs,
  n,
  scaled,
  withServer,
  type Workload,
} from "./workload.ts";

const SIZE = 128;
const SUBJECT = "bench.ws";
const BATCH_BYTES = 64 * 1024;
const encoder = new TextEncoder();
const KEY = [0x37, 0xfa, 0x21, 0x3d];

/** One masked client frame carrying `payload`. */
function clientFrame(payload: Uint8Array): Uint8Array {
  const len = payload.length;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = new Uint8Array(head + 4 + len);
  out[0] = 0x82;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65536) {
    out[1] = 0x80 | 126;
    out[2] = len >> 8;
    out[3] = len & 0xff;
  } else {
    out[1] = 0x80 | 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(len));
  }
  out.set(KEY, head);
  for (let i = 0; i < len; i++) out[head + 4 + i] = payload[i] ^ KEY[i & 3];
  return out;
}

async function writeAll(conn: Deno.Conn, buf: Uint8Array): Promise<void> {
  let off = 0;
  while (off < buf.length) off += await conn.write(buf.subarray(off));
}

/** A connected WebSocket client that counts the payload bytes of server frames. */
class WsClient {
  readonly conn: Deno.Conn;
  /** Payload bytes received since the last reset. */
  bytes = 0;
  text = "";
  /** Keep the text of frames (handshake and sync), off while counting MSGs. */
  keepText = true;
  #pending = new Uint8Array(0);
  #frameLeft = 0;
  #reader: Promise<void>;

  private constructor(conn: Deno.Conn) {
    this.conn = conn;
    this.#reader = this.#read();
  }

  static async open(port: number): Promise<WsClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    const c = new WsClient(conn);
    await writeAll(
      conn,
      encoder.encode(
        `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          "Sec-WebSocket-Key: YmVuY2htYXJrLWtleS0xMg==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      ),
    );
    await c.until(() => c.text.includes("INFO "), 10_000);
    return c;
  }

  async send(text: string): Promise<void> {
    await writeAll(this.conn, clientFrame(encoder.encode(text)));
  }

  async until(cond: () => boolean, ms: number): Promise<void> {
    const end = performance.now() + ms;
    while (!cond()) {
      if (performance.now() > end) throw new Error("websocket bench: timed out");
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  async sync(): Promise<void> {
    const before = this.text.split("PONG").length;
    this.keepText = true;
    await this.send("PING\r\n");
    await this.until(() => this.text.split("PONG").length > before, 10_000);
  }

  async #read(): Promise<void> {
    const buf = new Uint8Array(256 * 1024);
    let upgraded = false;
    try {
      while (true) {
        const got = await this.conn.read(buf);
        if (got === null) return;
        let chunk = buf.subarray(0, got);
        if (!upgraded) {
          const head = new TextDecoder().decode(chunk);
          const end = head.indexOf("\r\n\r\n");
          if (end < 0) continue;
          upgraded = true;
          chunk = chunk.subarray(end + 4);
        }
        this.#frames(chunk);
      }
    } catch {
      // closed
    }
  }

  /** Walks frame headers; payload bytes are counted (and kept as text while syncing). */
  #frames(input: Uint8Array): void {
    let data = input;
    if (this.#pending.length > 0) {
      const joined = new Uint8Array(this.#pending.length + input.length);
      joined.set(this.#pending);
      joined.set(input, this.#pending.length);
      data = joined;
      this.#pending = new Uint8Array(0);
    }
    let i = 0;
    while (i < data.length) {
      if (this.#frameLeft > 0) {
        const take = Math.min(this.#frameLeft, data.length - i);
        this.bytes += take;
        if (this.keepText) this.text += new TextDecoder().decode(data.subarray(i, i + take));
        this.#frameLeft -= take;
        i += take;
        continue;
      }
      if (data.length - i < 2) break;
      let len = data[i + 1] & 0x7f;
      let head = 2;
      if (len === 126) {
        if (data.length - i < 4) break;
        len = (data[i + 2] << 8) | data[i + 3];
        head = 4;
      } else if (len === 127) {
        if (data.length - i < 10) break;
        len = Number(new DataView(data.buffer, data.byteOffset + i + 2, 8).getBigUint64(0));
        head = 10;
      }
      i += head;
      this.#frameLeft = len;
    }
    if (i < data.length) this.#pending = data.slice(i);
  }

  async close(): Promise<void> {
    try {
      this.conn.close();
    } catch { /* closed */ }
    await this.#reader;
  }
}

/** pub/sub 1:1 over WebSocket frames. */
export const wsPubSub: Workload = {
  name: "ws",
  figures: [{
    id: "ws.pubsub",
    label: "WebSocket pub/sub 1:1 128 B (msgs/s)",
    format: "rate",
    target: ratioAtLeast(0.5),
  }],
  run: async (spec: ServerSpec, ctx: BenchContext): Promise<Map<string, Measured>> => {
    const wsPort = freePort();
    const config = await Deno.makeTempFile({ prefix: "bench-ws-", suffix: ".conf" });
    await Deno.writeTextFile(config, `websocket { listen: "127.0.0.1:${wsPort}", no_tls: true }\n`);
    try {
      return await withServer(spec, { config }, async () => {
        const sub = await WsClient.open(wsPort);
        const pub = await WsClient.open(wsPort);
        try {
          await sub.send(`CONNECT {"verbose":false}\r\nSUB ${SUBJECT} 1\r\n`);
          await sub.sync();
          await pub.send('CONNECT {"verbose":false}\r\n');
          await pub.sync();
          const one = `PUB ${SUBJECT} ${SIZE}\r\n${"x".repeat(SIZE)}\r\n`;
          const perBatch = Math.floor(BATCH_BYTES / one.length);
          const batch = clientFrame(encoder.encode(one.repeat(perBatch)));
          const msgLen = `MSG ${SUBJECT} 1 ${SIZE}\r\n`.length + SIZE + 2;
          const count = scaled(ctx, 2_000_000, 100_000, 20_000);
          sub.keepText = false;
          sub.bytes = 0;
          const start = performance.now();
          const stopAt = start + maxPublishMs(ctx);
          let sent = 0;
          while (sent < count && performance.now() < stopAt) {
            await writeAll(pub.conn, batch);
            sent += perBatch;
          }
          const expected = sent * msgLen;
          const end = performance.now() + 10_000;
          while (sub.bytes < expected && performance.now() < end) {
            await new Promise((r) => setTimeout(r, 2));
          }
          const seconds = (performance.now() - start) / 1000;
          const delivered = Math.floor(sub.bytes / msgLen);
          const note = `${n(sent)} sent, ${n(delivered)}/${n(sent)} delivered in ${
            seconds.toFixed(2)
          } s${delivered < sent ? `, LOST ${n(sent - delivered)}` : ""}`;
          return new Map<string, Measured>([["ws.pubsub", { value: delivered / seconds, note }]]);
        } finally {
          await pub.close();
          await sub.close();
        }
      });
    } finally {
      await Deno.remove(config).catch(() => {});
    }
  },
};
