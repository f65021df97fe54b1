/**
 * Raw-socket helpers for the load generator: connect, handshake, write in
 * full, read with a deadline. No NATS client library, so the client side costs
 * as little as possible and measures the server rather than a client.
 *
 * @module
 */
import { MsgScanner } from "./msg_scanner.ts";

/** User and password sent in CONNECT (the bcrypt workload). */
export interface Creds {
  user: string;
  pass: string;
}

/**
 * TLS for a client: the server sends INFO in plain text, then the client
 * upgrades (nats-server 2.9's order), trusting `ca` (PEM text).
 */
export interface TlsClient {
  ca: string;
  /**
   * Handshake first, INFO over TLS (the `tlsceiling` sinks: `Deno.listenTls`
   * cannot send plain text before its handshake).
   */
  first?: boolean;
}

const encoder = new TextEncoder();

/** Encodes protocol text (control lines only, never per message on hot paths). */
export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** The CONNECT line: verbose off so no `+OK` per message, optional credentials. */
export function connectLine(creds?: Creds): string {
  const o: Record<string, unknown> = { verbose: false, pedantic: false, name: "bench" };
  if (creds !== undefined) {
    o.user = creds.user;
    o.pass = creds.pass;
  }
  return `CONNECT ${JSON.stringify(o)}\r\n`;
}

/** Writes all of `buf`: a socket write may take only part of it. */
export async function writeAll(conn: Deno.Conn, buf: Uint8Array): Promise<void> {
  let off = 0;
  while (off < buf.length) off += await conn.write(buf.subarray(off));
}

/**
 * Reads into `buf` and feeds `scanner` until `done()` holds, the peer closes,
 * or `deadlineAt` (a `performance.now()` value) passes; on a deadline the
 * connection is closed so the pending read does not linger.
 *
 * @throws {Error} on timeout, on EOF before `done()`, or on a `-ERR` line.
 */
export async function readUntil(
  conn: Deno.Conn,
  io: { scanner: MsgScanner; buf: Uint8Array },
  done: () => boolean,
  deadlineAt: number,
): Promise<void> {
  while (!done()) {
    if (io.scanner.errors.length > 0) throw new Error(`server said: ${io.scanner.errors[0]}`);
    const left = deadlineAt - performance.now();
    if (left <= 0) {
      conn.close();
      throw new Error("timed out waiting for the server");
    }
    const n = await readWithin(conn, io.buf, left);
    if (n === null) {
      const why = io.scanner.errors[0];
      throw new Error(
        why === undefined ? "connection closed by the server" : `server said: ${why}`,
      );
    }
    io.scanner.feed(io.buf, n);
  }
  if (io.scanner.errors.length > 0) throw new Error(`server said: ${io.scanner.errors[0]}`);
}

/** One read that gives up after `ms`, closing the connection then (throws on timeout). */
export async function readWithin(
  conn: Deno.Conn,
  buf: Uint8Array,
  ms: number,
): Promise<number | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const read = conn.read(buf);
  // The read rejects once the timeout closes the socket; that is expected.
  read.catch(() => {});
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  try {
    const r = await Promise.race([read, timeout]);
    if (r === "timeout") {
      conn.close();
      throw new Error("timed out waiting for the server");
    }
    return r;
  } finally {
    clearTimeout(timer);
  }
}

/** A connected, handshaken raw client. */
export interface RawClient {
  conn: Deno.Conn;
  scanner: MsgScanner;
  buf: Uint8Array;
}

/**
 * Connects to 127.0.0.1:`port`, sends CONNECT, the `extra` protocol text and a
 * PING, and waits for the PONG, so everything in `extra` (SUBs) is in force.
 *
 * @throws {Error} when the server refuses (e.g. `-ERR 'Authorization Violation'`).
 */
export async function rawConnect(
  port: number,
  opts: {
    creds?: Creds;
    extra?: string;
    scanner?: MsgScanner;
    timeoutMs?: number;
    bufSize?: number;
    tls?: TlsClient;
  },
): Promise<RawClient> {
  const deadline = performance.now() + (opts.timeoutMs ?? 10_000);
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
  let conn: Deno.Conn = tcp;
  const client: RawClient = {
    conn,
    scanner: opts.scanner ?? new MsgScanner(),
    buf: new Uint8Array(opts.bufSize ?? 4096),
  };
  try {
    tcp.setNoDelay(true);
    if (opts.tls !== undefined) {
      if (opts.tls.first !== true) await readInfoLine(tcp, deadline);
      conn = await Deno.startTls(tcp, { hostname: "localhost", caCerts: [opts.tls.ca] });
      client.conn = conn;
    }
    await writeAll(conn, bytes(connectLine(opts.creds) + (opts.extra ?? "") + "PING\r\n"));
    const target = client.scanner.pongs + 1;
    await readUntil(conn, client, () => client.scanner.pongs >= target, deadline);
    return client;
  } catch (e) {
    closeQuietly(conn);
    throw e;
  }
}

/**
 * Reads the plain-text INFO line before a TLS upgrade, byte by byte so that
 * nothing after its LF is consumed (the server sends nothing more until the
 * handshake, but this does not rely on it).
 */
async function readInfoLine(conn: Deno.Conn, deadlineAt: number): Promise<void> {
  const one = new Uint8Array(1);
  let len = 0;
  while (true) {
    const n = await readWithin(conn, one, Math.max(1, deadlineAt - performance.now()));
    if (n === null) throw new Error("connection closed by the server before INFO");
    if (one[0] === 10) break;
    if (++len > 64 * 1024) throw new Error("INFO line too long");
  }
}

/** Sends PING and waits for its PONG: the server has processed all earlier input. */
export async function flush(client: RawClient, timeoutMs = 10_000): Promise<void> {
  const target = client.scanner.pongs + 1;
  await writeAll(client.conn, bytes("PING\r\n"));
  await readUntil(
    client.conn,
    client,
    () => client.scanner.pongs >= target,
    performance.now() + timeoutMs,
  );
}

/** Closes a connection that may already be closed (by a deadline or the peer). */
export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch (e) {
    if (!(e instanceof Deno.errors.BadResource)) throw e;
  }
}
