/**
 * Test helpers for faults a hostile network produces: TCP resets (a socket
 * closed with SO_LINGER 0, which Deno's own sockets cannot do; libc through
 * FFI here, Linux only) and a TCP proxy that can stop forwarding both ways so
 * the server sees a peer that vanished without a FIN.
 *
 * @module
 */
import { waitFor } from "./server.ts";

const AF_INET = 2;
const SOCK_STREAM = 1;
const SOL_SOCKET = 1;
const SO_LINGER = 13;
const SO_RCVTIMEO = 20;

type Libc = Deno.DynamicLibrary<{
  socket: { parameters: ["i32", "i32", "i32"]; result: "i32" };
  connect: { parameters: ["i32", "buffer", "u32"]; result: "i32"; nonblocking: true };
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"]; result: "i32" };
  send: { parameters: ["i32", "buffer", "usize", "i32"]; result: "isize"; nonblocking: true };
  recv: { parameters: ["i32", "buffer", "usize", "i32"]; result: "isize"; nonblocking: true };
  close: { parameters: ["i32"]; result: "i32" };
}>;

let libc: Libc | null = null;

function lib(): Libc {
  libc ??= Deno.dlopen("libc.so.6", {
    socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
    connect: { parameters: ["i32", "buffer", "u32"], result: "i32", nonblocking: true },
    setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
    send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize", nonblocking: true },
    recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize", nonblocking: true },
    close: { parameters: ["i32"], result: "i32" },
  }) as Libc;
  return libc;
}

/** True when libc can be loaded (the reset helpers need it). */
export function hasLibc(): boolean {
  try {
    lib();
    return true;
  } catch {
    return false;
  }
}

function sockaddr(host: string, port: number): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint16(0, AF_INET, true);
  v.setUint16(2, port, false);
  host.split(".").forEach((octet, i) => b[4 + i] = Number(octet));
  return b;
}

/** A TCP connection made with libc so that it can be closed with a reset. */
export class ResettableSocket {
  readonly fd: number;
  #closed = false;

  private constructor(fd: number) {
    this.fd = fd;
  }

  /** Connects to 127.0.0.1:`port` (or `host`); reads time out after `readTimeoutMs`. */
  static async connect(port: number, host = "127.0.0.1", readTimeoutMs = 3000) {
    const c = lib().symbols;
    const fd = c.socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw new Error("socket() failed");
    const tv = new BigInt64Array([
      BigInt(Math.floor(readTimeoutMs / 1000)),
      BigInt((readTimeoutMs % 1000) * 1000),
    ]);
    c.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, new Uint8Array(tv.buffer), 16);
    // SO_LINGER {on, 0 s}: close() sends RST instead of FIN.
    c.setsockopt(fd, SOL_SOCKET, SO_LINGER, new Uint8Array(new Int32Array([1, 0]).buffer), 8);
    if (await c.connect(fd, sockaddr(host, port), 16) !== 0) {
      c.close(fd);
      throw new Error(`connect to ${host}:${port} failed`);
    }
    return new ResettableSocket(fd);
  }

  /** Sends `text`; false if the send failed. */
  async send(text: string | Uint8Array): Promise<boolean> {
    const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
    return await lib().symbols.send(this.fd, bytes, BigInt(bytes.length), 0) ===
      BigInt(bytes.length);
  }

  /** Reads once; null on EOF, error or timeout. */
  async read(max = 4096): Promise<Uint8Array | null> {
    const buf = new Uint8Array(max);
    const n = Number(await lib().symbols.recv(this.fd, buf, BigInt(max), 0));
    return n > 0 ? buf.subarray(0, n) : null;
  }

  /** Closes with a TCP reset. */
  reset(): void {
    if (this.#closed) return;
    this.#closed = true;
    lib().symbols.close(this.fd);
  }
}

/**
 * Opens `count` connections to `port` and resets each at once, before the
 * server is likely to have accepted it (a port scanner or health check).
 */
export async function resetStorm(port: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) (await ResettableSocket.connect(port)).reset();
}

/**
 * Connects, waits until the server has sent something (proof it accepted the
 * connection) or, for listeners that wait for the peer, sends `hello` first,
 * then resets.
 */
export async function resetAfterAccept(
  port: number,
  opts: { hello?: string; expectBytes?: boolean } = {},
): Promise<void> {
  const s = await ResettableSocket.connect(port);
  try {
    if (opts.hello !== undefined) await s.send(opts.hello);
    if (opts.expectBytes ?? true) {
      const got = await s.read();
      if (got === null) throw new Error(`nothing received from port ${port} before the reset`);
    }
  } finally {
    s.reset();
  }
}

/**
 * A TCP proxy in the test process: forwards 127.0.0.1:`port` to a target.
 * {@linkcode FreezingProxy.freeze} stops the connections open at that moment
 * from forwarding anything in either direction while their sockets stay open,
 * so the server sees a peer that is gone without a FIN or RST (a half-open
 * connection). Connections made later are forwarded normally (a reconnect).
 */
export class FreezingProxy {
  readonly port: number;
  /** Connections frozen so far. */
  frozen = 0;
  #listener: Deno.Listener;
  #live = new Set<{ frozen: boolean }>();
  #conns = new Set<Deno.Conn>();
  #done: Promise<void>;

  constructor(targetPort: number, targetHost = "127.0.0.1") {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#done = this.#serve(targetHost, targetPort);
  }

  async #serve(host: string, port: number): Promise<void> {
    while (true) {
      let inbound: Deno.Conn;
      try {
        inbound = await this.#listener.accept();
      } catch {
        return;
      }
      let outbound: Deno.Conn;
      try {
        outbound = await Deno.connect({ hostname: host, port });
      } catch {
        inbound.close();
        continue;
      }
      this.#conns.add(inbound);
      this.#conns.add(outbound);
      const pair = { frozen: false };
      this.#live.add(pair);
      this.#pump(inbound, outbound, pair);
      this.#pump(outbound, inbound, pair);
    }
  }

  async #pump(from: Deno.Conn, to: Deno.Conn, pair: { frozen: boolean }): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await from.read(buf);
        if (n === null) break;
        // Frozen: swallow, neither forward nor close (no FIN reaches the other side).
        if (pair.frozen) continue;
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
      }
    } catch { /* closed */ }
    if (!pair.frozen) {
      this.#live.delete(pair);
      // closeWrite() is asynchronous: its rejection must be caught here too.
      await Promise.resolve().then(() => to.closeWrite()).catch(() => {/* already closed */});
    }
  }

  /** Stops forwarding on every open connection, both ways; their sockets stay open. */
  freeze(): void {
    for (const pair of this.#live) {
      pair.frozen = true;
      this.frozen++;
    }
    this.#live.clear();
  }

  async close(): Promise<void> {
    try {
      this.#listener.close();
    } catch { /* closed */ }
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await this.#done;
  }
}

/** Polls `url` until it answers 200 (the listener still serves). */
export async function waitForHttpOk(url: string, timeoutMs = 5000): Promise<void> {
  await waitFor(
    async () => {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await r.body?.cancel();
      return r.ok;
    },
    timeoutMs,
    `${url} to answer 200`,
  );
}
