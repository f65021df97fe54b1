/**
 * Byte transports under a connection. Plain TCP uses Deno's native sockets
 * read into one reused, adaptively sized buffer (the fastest path measured;
 * docs/architecture.md); TLS (and anything else that needs `node:tls`) uses `node:net`
 * sockets. Both give the connection the same four operations.
 *
 * @module
 */
import type { Socket } from "node:net";
import { setImmediate } from "node:timers";
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

/**
 * Fairness: bytes one connection may read and parse before it lets the event
 * loop turn ({@link nextTurn}). In Deno 2.9 a `conn.read()` on a socket that
 * already holds data resolves without going back to the event loop, so a
 * client publishing flat out kept its read loop running in microtasks while
 * timers and every other socket waited (measured: event-loop lag 100-200 ms, a
 * bystander's request/reply median 1.4 s; docs/performance.md). nats-server
 * gets the same interleaving from one goroutine per connection.
 */
export const READ_TURN_BUDGET = 64 * 1024;

/**
 * How often (ms of continuous work) a yielding connection lets the process
 * sleep briefly instead of taking the next turn at once; see {@link nextTurn}.
 * Each sleep costs up to a millisecond of idle time: at a fixed 5 ms it took
 * 40% off a lone publisher's pub/sub rate (1.20 M to 0.70 M msgs/s,
 * `deno task bench --only pubsub`) when nobody else needed the turn. So the
 * short interval applies while another connection read something within
 * {@link ACTIVE_OTHERS_MS}; otherwise sleeps come every {@link IDLE_POLL_MS}.
 */
const BUSY_POLL_MS = 5;
const IDLE_POLL_MS = 80;
/**
 * How long one read by another connection keeps the short interval. A
 * bystander doing request/reply reads once per round trip; backing off after
 * a single silent interval instead tripled its median under a flood (5 to 18 ms,
 * tests/fairness_test.ts).
 */
const ACTIVE_OTHERS_MS = 250;
let lastPoll = -Infinity;
let othersActiveAt = -Infinity;
/** Transports started and not yet ended: with one, there is nobody to be fair to. */
let live = 0;
/**
 * Who read since the last turn was taken: null for nobody, the transport if it
 * was one, {@link SEVERAL} if more than one.
 */
let readers: object | null = null;
/** {@link readers} of the window before, which ended at {@link lastTurnAt}. */
let prevReaders: object | null = null;
let lastTurnAt = -Infinity;
const SEVERAL = {};

/** Records a read by `transport`, so {@link nextTurn} knows whether others still want turns. */
export function noteRead(transport: object): void {
  if (readers !== transport) readers = readers === null ? transport : SEVERAL;
}

/**
 * Resolves on a later turn of the event loop. Mostly that is `setImmediate`
 * (about 10 us), but while the loop always has work, Deno 2.9 notices that
 * other sockets became readable only now and then (measured: 20-80 ms per hop
 * for a bystander behind a flat-out publisher). A zero timer makes the loop
 * wait for I/O readiness, which it does at once when another socket has
 * bytes and in about a millisecond otherwise; one every 5 ms brought the
 * bystander to ~1 ms (docs/performance.md). While the other connections stay
 * silent the sleeps are rarer (see {@link BUSY_POLL_MS}); a read by another
 * connection brings them back to every 5 ms. A lone connection skips the wait.
 *
 * Reads by `transport` itself never count as another's, also those from
 * before it first used up its budget (its CONNECT and PING: counting them
 * kept a fresh publisher on the 5 ms interval for its first 250 ms with nobody
 * else talking: 16 idle waits of about 2.5 ms in its first 200 ms, not 2-3).
 *
 * @param transport The connection that used up its budget.
 */
export function nextTurn(transport: object): Promise<void> {
  if (live > 1 && turnWaits(transport, performance.now())) {
    return new Promise((resolve) => setTimeout(resolve, 0));
  }
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The bookkeeping of {@link nextTurn} apart from the connection count:
 * whether the turn `transport` takes at `now` (ms) should be an idle wait.
 * Exported for tests.
 */
export function turnWaits(transport: object, now: number): boolean {
  // Two floods taking turns each read in the window that ends at the other's
  // turn, so the window before counts too, unless it ended long ago (a flow
  // that finished: then it would be the new publisher's own CONNECT that
  // counted, or a dead connection's reads).
  const before = now - lastTurnAt < BUSY_POLL_MS ? prevReaders : null;
  if ((readers !== null && readers !== transport) || (before !== null && before !== transport)) {
    othersActiveAt = now;
  }
  prevReaders = readers;
  readers = null;
  lastTurnAt = now;
  const every = now - othersActiveAt < ACTIVE_OTHERS_MS ? BUSY_POLL_MS : IDLE_POLL_MS;
  if (now - lastPoll < every) return false;
  lastPoll = now;
  return true;
}

/**
 * Forgets the turn bookkeeping (not the count of live transports), as at
 * process start. For tests: the bookkeeping is per process, so without this a
 * test's idle waits depend on what earlier tests in the same process did.
 */
export function resetTurnBookkeeping(): void {
  lastPoll = -Infinity;
  othersActiveAt = -Infinity;
  readers = null;
  prevReaders = null;
  lastTurnAt = -Infinity;
}

/** A `Deno.Conn` read with `conn.read()` into one buffer that grows and shrinks with the load. */
export class DenoTransport implements Transport {
  readonly remoteAddress: string;
  readonly remotePort: number;
  #conn: Deno.Conn;
  #closed = false;
  #paused = false;
  #resume: (() => void) | null = null;
  #maxRead: number;
  /** Whether the event loop turned since the read budget was last counted from zero. */
  #turned = false;
  readonly #markTurned = () => {
    this.#turned = true;
  };

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
    live++;
    this.#readLoop(onData).finally(() => live--).then(
      () => onClose(),
      (e) => onClose(e as Error),
    );
  }

  async #readLoop(onData: (chunk: Uint8Array) => void): Promise<void> {
    // Idle connections must stay small (target: well under 40 KiB each), busy ones
    // need big reads (16 KiB reads cost ~35% throughput): start small, double when
    // a read fills the buffer, halve after a run of short reads.
    let buf = new Uint8Array(MIN_READ);
    let shortReads = 0;
    let sinceTurn = 0;
    this.#countFromZero();
    while (!this.#closed) {
      if (this.#paused) await new Promise<void>((r) => this.#resume = r);
      if (sinceTurn >= READ_TURN_BUDGET) {
        sinceTurn = 0;
        // The budget is per turn: a connection whose reads waited for the
        // event loop meanwhile (request/reply, a few bytes per turn) owes no
        // turn. Counted across turns, every ~1,300 requests of 48 B took a
        // zero timer (about 1 ms) in nextTurn() (docs/performance.md).
        if (!this.#turned) await nextTurn(this);
        this.#countFromZero();
        if (this.#closed) return;
        if (this.#paused) continue;
      }
      let n: number | null;
      try {
        n = await this.#conn.read(buf);
      } catch (e) {
        if (this.#closed) return;
        throw e;
      }
      if (n === null) return;
      noteRead(this);
      sinceTurn += n;
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

  /**
   * Starts counting the read budget: an immediate queued now runs only once
   * the event loop turns, which a read loop resolving in microtasks never lets
   * it do.
   */
  #countFromZero(): void {
    this.#turned = false;
    setImmediate(this.#markTurned);
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
    live++;
    this.socket.on("data", (chunk: Uint8Array) => {
      noteRead(this);
      onData(chunk);
    });
    this.socket.on("error", (e: Error) => error = e);
    this.socket.on("close", () => {
      live--;
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
