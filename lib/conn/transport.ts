/**
 * Byte transports under a connection. Plain TCP uses Deno's native sockets
 * read into one reused, adaptively sized buffer (the fastest path measured;
 * docs/architecture.md); TLS (and anything else that needs `node:tls`) uses `node:net`
 * sockets. Both give the connection the same four operations.
 *
 * @module
 */
import type { Socket } from "node:net";
import type { CertIdentity } from "../server/auth_api.ts";

/** TLS facts about a connection, for logs, /connz and verify_and_map. */
export interface TlsState {
  version: string;
  cipher: string;
  peerCert?: CertIdentity;
  peerCertSubject?: string;
  peerCertDer?: Uint8Array;
  /** The certificates after the peer's own, as it presented them (intermediates), leaf side first. */
  peerChainDer?: Uint8Array[];
}

export interface Transport {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The client's address as a proxy reported it (WebSocket `X-Forwarded-For`), for log lines. */
  readonly forwardedFor?: string;
  /** Starts delivering chunks. A chunk is only valid during the call. */
  start(onData: (chunk: Uint8Array) => void, onClose: (error?: Error) => void): void;
  /** Resolves when `data` is written and its buffer may be reused. */
  write(data: Uint8Array): Promise<void>;
  /** Stops reading (back-pressure while a CONNECT is being authenticated). */
  pause(): void;
  resume(): void;
  /**
   * The connection is about to close for `reason` (a closed-reason text): a
   * framing transport (WebSocket) sends its own goodbye after what is queued.
   */
  closing?(reason: string): void;
  close(): void;
}

const MIN_READ = 512;
const MAX_READ = 256 * 1024;

/** A `Deno.Conn` read with `conn.read()` into one buffer that grows and shrinks with the load. */
export class DenoTransport implements Transport {
  readonly remoteAddress: string;
  readonly remotePort: number;
  #conn: Deno.Conn;
  #closed = false;
  #paused = false;
  #resume: (() => void) | null = null;
  #maxRead: number;

  /**
   * @param maxRead largest read; the server keeps it at most a quarter of
   * max_pending, because one read's fan-out lands in subscribers' buffers
   * before any write can complete, and must not by itself make a slow consumer.
   */
  constructor(conn: Deno.Conn, maxRead = MAX_READ) {
    this.#conn = conn;
    this.#maxRead = Math.max(MIN_READ, Math.min(MAX_READ, maxRead));
    const addr = conn.remoteAddr as Deno.NetAddr;
    this.remoteAddress = addr.hostname;
    this.remotePort = addr.port;
    if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
  }

  start(onData: (chunk: Uint8Array) => void, onClose: (error?: Error) => void): void {
    this.#readLoop(onData).then(() => onClose(), (e) => onClose(e as Error));
  }

  async #readLoop(onData: (chunk: Uint8Array) => void): Promise<void> {
    // Idle connections must stay small (target: well under 40 KiB each), busy ones
    // need big reads (16 KiB reads cost ~35% throughput): start small, double when
    // a read fills the buffer, halve after a run of short reads.
    let buf = new Uint8Array(MIN_READ);
    let shortReads = 0;
    while (!this.#closed) {
      if (this.#paused) await new Promise<void>((r) => this.#resume = r);
      let n: number | null;
      try {
        n = await this.#conn.read(buf);
      } catch (e) {
        if (this.#closed) return;
        throw e;
      }
      if (n === null) return;
      onData(buf.subarray(0, n));
      if (n === buf.length && buf.length * 2 <= this.#maxRead) {
        buf = new Uint8Array(buf.length * 2);
        shortReads = 0;
      } else if (n < buf.length >> 2 && buf.length > MIN_READ && ++shortReads > 16) {
        buf = new Uint8Array(buf.length >> 1);
        shortReads = 0;
      }
    }
  }

  async write(data: Uint8Array): Promise<void> {
    let off = 0;
    while (off < data.length) off += await this.#conn.write(data.subarray(off));
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    const r = this.#resume;
    this.#resume = null;
    r?.();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.resume();
    try {
      this.#conn.close();
    } catch {
      // already closed by the peer
    }
  }
}

/** A `node:net` (or `node:tls`) socket: the path for TLS connections. */
export class NodeTransport implements Transport {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly socket: Socket;
  #closed = false;

  constructor(socket: Socket, remote?: { address: string; port: number }) {
    this.socket = socket;
    this.remoteAddress = remote?.address ?? socket.remoteAddress ?? "";
    this.remotePort = remote?.port ?? socket.remotePort ?? 0;
    socket.setNoDelay(true);
  }

  start(onData: (chunk: Uint8Array) => void, onClose: (error?: Error) => void): void {
    let error: Error | undefined;
    this.socket.on("data", onData);
    this.socket.on("error", (e: Error) => error = e);
    this.socket.on("close", () => {
      this.#closed = true;
      onClose(error);
    });
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("socket closed"));
    return new Promise((resolve, reject) => {
      this.socket.write(data, (e?: Error | null) => e ? reject(e) : resolve());
    });
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.socket.destroy();
  }
}
