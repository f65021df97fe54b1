/**
 * The inbound side of a connection (client or route): chunks from the
 * transport go to the parser unless reading is blocked, in which case they
 * wait in a backlog and the transport is paused.
 *
 * Two things block reading:
 * - an asynchronous CONNECT check (bcrypt runs in a worker): the rest of the
 *   chunk after CONNECT must not be parsed before the verdict;
 * - flow control: a destination this connection delivered to has more than
 *   half of max_pending owed to its peer. nats-server makes a fast producer
 *   wait on such a destination (a "stall"), so a healthy consumer slower than
 *   its publisher slows the publisher down instead of being cut as a slow
 *   consumer. One thread cannot wait, so the producer stops reading instead:
 *   TCP back-pressure then reaches the publishing application. The wait ends
 *   when the destination's write completes (it made progress), when it
 *   closes, or after a bounded time, so a stuck consumer cannot freeze a
 *   publisher: it is still cut by max_pending or write_deadline.
 *
 * @module
 */
import { takeBackloggedDestination } from "./outbound.ts";
import type { Transport } from "./transport.ts";

/** Why reading is blocked; several reasons may hold at once. */
export const ReadBlock = {
  /** A CONNECT is being checked asynchronously. */
  Auth: 1,
  /** Waiting for a destination to drain (flow control). */
  Stall: 2,
} as const;
export type ReadBlock = typeof ReadBlock[keyof typeof ReadBlock];

/** What the pump drives. */
export interface InboundOwner {
  readonly isClosed: boolean;
  /**
   * Parses one chunk and writes what it produced. Returns the offset where
   * parsing stopped early (an asynchronous CONNECT check began), or a negative
   * number when the whole chunk was consumed. The rest is parsed once reading
   * is unblocked.
   */
  parseChunk(chunk: Uint8Array): number;
  /** `host:port - cid:N` style prefix for the stall time-out debug line. */
  readonly logPrefix: string;
  readonly server: {
    readonly options: { readonly maxPending: number };
    readonly log: { debug(msg: string): void };
  };
}

/** Something a producer can wait on: an outbound buffer over its stall threshold. */
export interface StallGate {
  /** Calls `waiter.release()` once the destination has made progress or closed. */
  addStallWaiter(waiter: StallWaiter): void;
}

export interface StallWaiter {
  release(): void;
}

export class InboundPump implements StallWaiter {
  #owner: InboundOwner;
  #transport: Transport;
  #blocked = 0;
  #backlog: Uint8Array[] = [];
  #stallTimer: ReturnType<typeof setTimeout> | undefined;
  #stallMs = 0;
  #draining = false;

  constructor(owner: InboundOwner, transport: Transport) {
    this.#owner = owner;
    this.#transport = transport;
  }

  /** True while a flow-control stall holds reading. */
  get stalled(): boolean {
    return (this.#blocked & ReadBlock.Stall) !== 0;
  }

  /** Transport callback: parse now, or keep the chunk (a copy: the buffer is reused) for later. */
  onData(chunk: Uint8Array): void {
    if (this.#owner.isClosed) return;
    if (this.#blocked !== 0) {
      this.#backlog.push(chunk.slice());
      return;
    }
    this.#parse(chunk);
  }

  #parse(chunk: Uint8Array): void {
    const owner = this.#owner;
    const stop = owner.parseChunk(chunk);
    if (stop >= 0 && stop < chunk.length && !owner.isClosed) {
      // Parsing stopped for an asynchronous CONNECT check: the rest goes first in line.
      this.#backlog.unshift(chunk.slice(stop));
    }
    // Flow control: a destination this chunk filled past its threshold holds our reads.
    const full = takeBackloggedDestination();
    if (full !== null && !owner.isClosed) {
      this.stall(full, stallMs(full.pending, owner.server.options.maxPending));
    }
  }

  block(reason: ReadBlock): void {
    if (this.#blocked === 0) this.#transport.pause();
    this.#blocked |= reason;
  }

  /** Lifts one reason; when none is left, parses the backlog and reads again. */
  unblock(reason: ReadBlock): void {
    if ((this.#blocked & reason) === 0) return;
    this.#blocked &= ~reason;
    if (this.#blocked !== 0 || this.#draining) return;
    // Parsing the backlog may block again (another CONNECT, another stall):
    // stop there and leave the rest queued.
    this.#draining = true;
    try {
      while (this.#backlog.length > 0 && this.#blocked === 0 && !this.#owner.isClosed) {
        this.#parse(this.#backlog.shift()!);
      }
    } finally {
      this.#draining = false;
    }
    if (this.#blocked === 0 && !this.#owner.isClosed) this.#transport.resume();
  }

  /**
   * Stops reading until `gate` drains or `ms` pass. Does nothing when a stall
   * is already running (the first gate is waited on; the others are seen
   * again after the next chunk).
   */
  stall(gate: StallGate, ms: number): void {
    if (this.stalled || this.#owner.isClosed) return;
    this.block(ReadBlock.Stall);
    this.#stallMs = ms;
    gate.addStallWaiter(this);
    this.#stallTimer = setTimeout(() => {
      this.#stallTimer = undefined;
      if (!this.stalled) return;
      const owner = this.#owner;
      owner.server.log.debug(
        `${owner.logPrefix} - Timed out of fast producer stall (${formatStall(this.#stallMs)})`,
      );
      this.release();
    }, ms);
  }

  /** StallWaiter: the destination drained (or closed); read again. */
  release(): void {
    if (this.#stallTimer !== undefined) {
      clearTimeout(this.#stallTimer);
      this.#stallTimer = undefined;
    }
    this.unblock(ReadBlock.Stall);
  }

  /** The connection closed: drop what was kept and stop the timer. */
  close(): void {
    if (this.#stallTimer !== undefined) clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    this.#backlog.length = 0;
  }
}

/**
 * How long a producer waits on a destination with `pending` bytes owed and a
 * limit of `max`: 100 ms at half the limit, 100 ms more for each further
 * tenth of that half, and 1 s from the limit on (nats-server's schedule).
 */
export function stallMs(pending: number, max: number): number {
  if (pending >= max) return 1000;
  const half = max / 2;
  if (pending <= half) return 100;
  return Math.min(1000, 100 + 100 * Math.floor((pending - half) / (half / 10)));
}

/** `100ms`, `1s`: a duration as nats-server's debug line prints it. */
export function formatStall(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
