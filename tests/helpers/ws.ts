/**
 * A frame-level WebSocket client for exact bytes: it sends the upgrade
 * request it is told to (or a valid one), reads the HTTP answer, then sends
 * frames of any shape (masked or not, any opcode, RSV bits) and reads the
 * server's frames, inflating compressed ones.
 *
 * @module
 */
import { inflateRawSync } from "node:zlib";
import { ServerProcess, waitFor } from "./server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One frame from the server. */
export interface ServerFrame {
  opcode: number;
  fin: boolean;
  rsv1: boolean;
  /** Payload as sent (compressed when rsv1). */
  raw: Uint8Array;
  /** Payload text (inflated when rsv1). */
  text: string;
}

export interface PeerOptions {
  /** Offer permessage-deflate. */
  deflate?: boolean;
  /** Extra header lines (`Name: value`). */
  headers?: string[];
  /** The whole request instead of a valid one. */
  request?: string;
}

export class WsPeer {
  readonly conn: Deno.Conn;
  /** The HTTP answer head (through the blank line), or everything when no 101 came. */
  response = "";
  frames: ServerFrame[] = [];
  closed = false;
  #buf = new Uint8Array(0);
  #upgraded = false;
  #reader: Promise<void>;
  #taken = 0;

  private constructor(conn: Deno.Conn) {
    this.conn = conn;
    this.#reader = this.#read();
  }

  /** Connects and sends the request; resolves once the HTTP answer (or the close) is in. */
  static async connect(port: number, opts: PeerOptions = {}): Promise<WsPeer> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const peer = new WsPeer(conn);
    const request = opts.request ?? [
      "GET / HTTP/1.1",
      `Host: 127.0.0.1:${port}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Version: 13",
      ...(opts.deflate ? ["Sec-WebSocket-Extensions: permessage-deflate"] : []),
      ...(opts.headers ?? []),
      "",
      "",
    ].join("\r\n");
    await peer.send(encoder.encode(request));
    await waitFor(
      () => peer.#upgraded || peer.closed || peer.response.includes("\r\n\r\n"),
      5000,
      "HTTP answer",
    );
    return peer;
  }

  get upgraded(): boolean {
    return this.#upgraded;
  }

  async send(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  /** Sends one frame; masked with a fixed key unless `mask: false`. */
  async sendFrame(
    opcode: number,
    payload: Uint8Array | string,
    o: { mask?: boolean; fin?: boolean; rsv1?: boolean; rsv2?: boolean } = {},
  ): Promise<void> {
    await this.send(frame(opcode, payload, o));
  }

  /** The next frame's text (waits for it). */
  async nextText(timeoutMs = 5000): Promise<string> {
    await waitFor(() => this.frames.length > this.#taken, timeoutMs, "a frame");
    return this.frames[this.#taken++].text;
  }

  /** Frames from the next unread one until `done(concatenated text)` holds. */
  async collectUntil(done: (text: string) => boolean, timeoutMs = 5000): Promise<ServerFrame[]> {
    const start = this.#taken;
    await waitFor(
      () => done(this.frames.slice(start).map((f) => f.text).join("")),
      timeoutMs,
      "frames",
    );
    this.#taken = this.frames.length;
    return this.frames.slice(start);
  }

  /**
   * Waits for the server to end the connection. Returns the close frame's
   * status and text, or null when the TCP connection ended without one.
   */
  async closeFrame(timeoutMs = 5000): Promise<{ status: number; reason: string } | null> {
    await waitFor(() => this.closed, timeoutMs, "connection end");
    const c = this.frames.find((f) => f.opcode === 8);
    if (!c) return null;
    const status = c.raw.length >= 2 ? (c.raw[0] << 8) | c.raw[1] : 0;
    return { status, reason: decoder.decode(c.raw.subarray(2)) };
  }

  async close(): Promise<void> {
    try {
      this.conn.close();
    } catch { /* already closed */ }
    await this.#reader;
  }

  async #read(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await this.conn.read(chunk);
        if (n === null) break;
        const next = new Uint8Array(this.#buf.length + n);
        next.set(this.#buf);
        next.set(chunk.subarray(0, n), this.#buf.length);
        this.#buf = next;
        this.#parse();
      }
    } catch { /* reset counts as closed */ }
    if (!this.#upgraded) this.response = new TextDecoder("latin1").decode(this.#buf);
    this.closed = true;
  }

  #parse(): void {
    if (!this.#upgraded) {
      const text = new TextDecoder("latin1").decode(this.#buf);
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return;
      this.response = text.slice(0, end + 4);
      if (!this.response.startsWith("HTTP/1.1 101")) return;
      this.#upgraded = true;
      this.#buf = this.#buf.slice(end + 4);
    }
    while (this.#buf.length >= 2) {
      const b = this.#buf;
      let len = b[1] & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = (b[2] << 8) | b[3];
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(new DataView(b.buffer, b.byteOffset + 2, 8).getBigUint64(0));
        at = 10;
      }
      if (b.length < at + len) return;
      const raw = b.slice(at, at + len);
      const rsv1 = (b[0] & 0x40) !== 0;
      const opcode = b[0] & 0x0f;
      const plain = rsv1
        ? inflateRawSync(new Uint8Array([...raw, 0x00, 0x00, 0xff, 0xff]), { finishFlush: 2 })
        : raw;
      this.frames.push({
        opcode,
        fin: (b[0] & 0x80) !== 0,
        rsv1,
        raw,
        text: decoder.decode(plain),
      });
      this.#buf = b.slice(at + len);
    }
  }
}

/** Encodes a client frame. */
export function frame(
  opcode: number,
  payload: Uint8Array | string,
  o: { mask?: boolean; fin?: boolean; rsv1?: boolean; rsv2?: boolean; length?: number } = {},
): Uint8Array {
  const body = typeof payload === "string" ? encoder.encode(payload) : payload;
  const mask = o.mask ?? true;
  const n = o.length ?? body.length;
  const head: number[] = [
    ((o.fin ?? true) ? 0x80 : 0) | (o.rsv1 ? 0x40 : 0) | (o.rsv2 ? 0x20 : 0) | opcode,
  ];
  const m = mask ? 0x80 : 0;
  if (n < 126) head.push(m | n);
  else if (n < 65536) head.push(m | 126, n >> 8, n & 0xff);
  else {
    head.push(m | 127);
    const big = new Uint8Array(8);
    new DataView(big.buffer).setBigUint64(0, BigInt(n));
    head.push(...big);
  }
  const key = [0x12, 0x34, 0x56, 0x78];
  if (mask) head.push(...key);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  for (let i = 0; i < body.length; i++) {
    out[head.length + i] = mask ? body[i] ^ key[i & 3] : body[i];
  }
  return out;
}

/** Starts a server with a WebSocket listener and returns it with the listener's port. */
export async function startWithWebSocket(
  reference: boolean,
  block: string,
  extra = "",
): Promise<{ server: ServerProcess; wsPort: number }> {
  const server = await ServerProcess.start({
    reference,
    config: `${extra}\nwebsocket { listen: "127.0.0.1:-1", ${block} }\n`,
  });
  await server.waitForLog(/Listening for websocket clients on wss?:\/\/\S+:(\d+)/);
  const m = /Listening for websocket clients on wss?:\/\/\S+:(\d+)/.exec(server.logs.text)!;
  return { server, wsPort: Number(m[1]) };
}
