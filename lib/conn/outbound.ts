/**
 * A connection's outbound bytes: appended per message, written once per turn
 * of the event loop (coalesced), with the bytes owed counted so a slow
 * consumer is cut off instead of growing without bound.
 *
 * One buffer is filled while others are being written, so appending never
 * waits. A buffer that reaches {@link CHUNK} bytes is sealed and queued for
 * writing as it is, and a fresh one started: a backlog of many MiB is a list
 * of chunks, never one buffer regrown (and copied) by doubling. Buffers come
 * from a pool shared by every connection and go back to it once written: an
 * idle connection holds no outbound buffer at all, and a busy one reuses the
 * same few.
 *
 * @module
 */
import type { StallGate, StallWaiter } from "./inbound.ts";
import type { Transport } from "./transport.ts";

const EMPTY = new Uint8Array(0);
const INITIAL = 1024;
/** Buffers up to this size are kept for reuse after a write; larger ones go to GC. */
const KEEP_LIMIT = 1024 * 1024;
/**
 * A buffer this full is sealed when the next message does not fit, instead of
 * grown: the largest pooled size, so a backlog cycles through the pool. Chunks
 * of 64 KiB measured worse (more write calls per turn let a route's backlog
 * build up at the reader: peak RSS 250-280 MiB against 80-180 MiB with 1 MiB,
 * docs/performance.md).
 */
const CHUNK = KEEP_LIMIT;
/** Size classes of the pool: INITIAL << k for k below this (1 KiB .. 1 MiB). */
const POOL_CLASSES = Math.clz32(INITIAL) - Math.clz32(KEEP_LIMIT) + 1;
/** Most free buffers kept per size class. */
const POOL_PER_CLASS = 64;
/** Most bytes the pool keeps in all while no backlog cycles through it (a fixed cost). */
const POOL_RESTING_BYTES = 4 * 1024 * 1024;
/**
 * Most bytes the pool keeps while backlogs cycle through it (a chunk was taken
 * within {@link POOL_BUSY_MS}). With four TLS subscribers behind one publisher,
 * each owing up to half of max_pending, a 4 MiB pool let most written chunks go
 * to the collector and new ones be allocated: 0.27-0.43 s of the collector's
 * helper threads per million messages against 0.16-0.20 s with 64 MiB, the
 * flow's wall time 0.96x in the median of 10 alternating pairs, and lower peaks
 * (docs/performance/tls.md, "A bigger pool while backlogs cycle").
 */
const POOL_BUSY_BYTES = 64 * 1024 * 1024;
/**
 * How long after the last chunk taken the pool keeps its busy size. The next
 * take after that (any connection's write, a PONG will do) gives the extra back
 * to the collector; a server with no traffic at all keeps it until then.
 */
const POOL_BUSY_MS = 2000;
/** When a chunk-sized buffer was last asked for (performance.now()). */
let lastChunkTakenAt = -Infinity;

/** Free buffers by size class: `pool[k]` holds buffers of exactly `INITIAL << k` bytes. */
const pool: Uint8Array[][] = Array.from({ length: POOL_CLASSES }, freeList);

/**
 * An empty list whose elements kind is already an object array's: an empty `[]`
 * is a small-integer array until its first push, and `releaseBuffer`, compiled
 * after pushes into one class, was deoptimized by the first push into another.
 */
function freeList(): Uint8Array[] {
  const list = [EMPTY];
  list.pop();
  return list;
}
let pooledBytes = 0;

/** A buffer of at least `need` bytes (a power-of-two multiple of INITIAL), pooled if one is free. */
function takeBuffer(need: number): Uint8Array {
  let k = 0;
  let cap = INITIAL;
  while (cap < need) {
    cap *= 2;
    k++;
  }
  if (cap >= CHUNK) lastChunkTakenAt = performance.now();
  else if (pooledBytes > POOL_RESTING_BYTES) trimIdlePool(performance.now());
  if (k < POOL_CLASSES) {
    const free = pool[k].pop();
    if (free !== undefined) {
      pooledBytes -= cap;
      return free;
    }
  }
  return new Uint8Array(cap);
}

/** Gives back a buffer nothing refers to any more (written, or outgrown). */
function releaseBuffer(buf: Uint8Array): void {
  const size = buf.length;
  if (size < INITIAL || size > KEEP_LIMIT) return;
  if (pooledBytes + size > POOL_RESTING_BYTES) {
    if (!poolIsBusy(performance.now()) || pooledBytes + size > POOL_BUSY_BYTES) return;
  }
  const k = Math.clz32(INITIAL) - Math.clz32(size);
  if ((INITIAL << k) !== size) return; // not one of ours
  const free = pool[k];
  if (free.length >= POOL_PER_CLASS) return;
  free.push(buf);
  pooledBytes += size;
}

/** Whether backlogs cycle through the pool at `now`: a chunk was taken within {@link POOL_BUSY_MS}. */
function poolIsBusy(now: number): boolean {
  return now - lastChunkTakenAt < POOL_BUSY_MS;
}

/**
 * Drops pooled buffers, largest first, down to {@link POOL_RESTING_BYTES} once
 * the pool is no longer busy at `now`.
 */
function trimIdlePool(now: number): void {
  if (poolIsBusy(now)) return;
  for (let k = POOL_CLASSES - 1; k >= 0 && pooledBytes > POOL_RESTING_BYTES; k--) {
    const free = pool[k];
    while (free.length > 0 && pooledBytes > POOL_RESTING_BYTES) {
      free.pop();
      pooledBytes -= INITIAL << k;
    }
  }
}

/** Bytes held by the shared pool of free outbound buffers (tests, memory figures). */
export function pooledOutboundBytes(): number {
  return pooledBytes;
}

/**
 * For tests: moves the pool's clock back by `ms`, as if that long had passed
 * since a chunk was last taken.
 */
export function agePoolForTests(ms: number): void {
  lastChunkTakenAt -= ms;
}
/** Largest single transport write; see Outbound.#writeFrom. */
const WRITE_SLICE = 1024 * 1024;
/**
 * A destination whose write made no progress for this long is stuck, not
 * slow: producers no longer wait on it (it is cut by max_pending or
 * write_deadline instead), so one stuck reader cannot hold up a publisher,
 * or a route and every subscriber behind it, again and again.
 */
const STUCK_MS = 1000;

/**
 * The destination with the most bytes owed among those that passed their
 * stall threshold while the current chunk was parsed. The event loop runs one
 * producer at a time, so one slot is enough: the producer takes it after its
 * chunk (see {@link takeBackloggedDestination}) and stops reading until that
 * destination drains (lib/conn/inbound.ts).
 */
let backlogged: Outbound | null = null;

/** Returns and clears the destination a producer should wait on, if any. */
export function takeBackloggedDestination(): Outbound | null {
  const b = backlogged;
  backlogged = null;
  return b;
}

export class Outbound implements StallGate {
  /** Bytes waiting to be written: hot-path writers fill `buf[len..]` after `reserve()`. */
  buf: Uint8Array = EMPTY;
  len = 0;
  /**
   * When the current write batch started (ms, performance.now()), 0 when idle.
   * A batch is what was owed when it started, as nats-server applies
   * write_deadline to one flush of everything pending.
   */
  writeStartedAt = 0;
  #inflight = 0;
  /** Sealed chunks waiting for their write, oldest first from `#head`. */
  #sealed: Uint8Array[] = [];
  #head = 0;
  #sealedBytes = 0;
  /** Chunks of the current write batch (what was owed when it started) still to write. */
  #batchLeft = 0;
  /** Bytes written since stalled producers were last woken. */
  #sinceRelease = 0;
  #transport: Transport;
  #onError: (e: Error) => void;
  #onDrained: (() => void) | null = null;
  /** When the current write started or last completed a slice (performance.now()). */
  #progressAt = 0;
  /** Producers waiting for this destination to make progress (flow control). */
  #stallWaiters: StallWaiter[] = [];

  constructor(transport: Transport, onError: (e: Error) => void) {
    this.#transport = transport;
    this.#onError = onError;
  }

  /** Bytes owed to the peer: buffered plus in flight. */
  get pending(): number {
    return this.len + this.#sealedBytes + this.#inflight;
  }

  get writing(): boolean {
    return this.#inflight > 0;
  }

  /** Makes room for `n` more bytes at `buf[len]`. */
  reserve(n: number): void {
    const need = this.len + n;
    const old = this.buf;
    if (need <= old.length) return;
    if (this.len > 0 && old.length >= CHUNK) {
      this.#seal();
      this.buf = takeBuffer(Math.max(n, CHUNK));
      return;
    }
    const bigger = takeBuffer(Math.max(need, old.length * 2));
    if (this.len > 0) bigger.set(old.subarray(0, this.len));
    this.buf = bigger;
    if (old !== EMPTY) releaseBuffer(old);
  }

  /**
   * Records that this destination is past its stall threshold, so the
   * connection producing into it waits after its current chunk.
   */
  markBacklogged(): void {
    if (this.#inflight > 0 && performance.now() - this.#progressAt > STUCK_MS) return;
    if (backlogged === null || this.pending > backlogged.pending) backlogged = this;
  }

  addStallWaiter(waiter: StallWaiter): void {
    this.#stallWaiters.push(waiter);
  }

  /** Lets every waiting producer read again (a write completed, or the connection closed). */
  #releaseStalled(): void {
    const waiters = this.#stallWaiters;
    if (waiters.length === 0) return;
    this.#stallWaiters = [];
    for (let i = 0; i < waiters.length; i++) waiters[i].release();
  }

  append(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  /** Starts writing what is buffered, unless a write is already in flight. */
  flush(): void {
    if (this.#inflight > 0) return;
    if (this.len > 0) this.#seal();
    const count = this.#sealed.length - this.#head;
    if (count === 0) return;
    this.#batchLeft = count;
    this.writeStartedAt = this.#progressAt = performance.now();
    this.#writeNext();
  }

  /** Queues the buffer being filled for writing as it is; appends go to a new one. */
  #seal(): void {
    this.#sealed.push(this.buf.subarray(0, this.len));
    this.#sealedBytes += this.len;
    this.buf = EMPTY;
    this.len = 0;
  }

  /** Writes the oldest sealed chunk. */
  #writeNext(): void {
    const sealed = this.#sealed;
    const data = sealed[this.#head]!;
    if (++this.#head === sealed.length) {
      this.#sealed = [];
      this.#head = 0;
    } else {
      sealed[this.#head - 1] = EMPTY; // let the list drop its reference
    }
    this.#sealedBytes -= data.length;
    this.#inflight = data.length;
    this.#writeFrom(data, 0);
  }

  /**
   * Writes `data[from..]` in slices of at most {@link WRITE_SLICE} bytes (one
   * big message makes a chunk bigger than {@link CHUNK}). Each completed slice
   * or chunk is progress: producers stalled on this destination read again, so
   * a slow reader paces them by the slice rather than by the whole backlog.
   */
  #writeFrom(data: Uint8Array, from: number): void {
    const to = Math.min(data.length, from + WRITE_SLICE);
    const slice = from === 0 && to === data.length ? data : data.subarray(from, to);
    this.#transport.write(slice).then(() => {
      this.#progressAt = performance.now();
      // Producers wake per slice's worth of progress, not per chunk: woken for
      // less, a producer would add more per read than the reader drains.
      this.#sinceRelease += to - from;
      const wake = this.#sinceRelease >= WRITE_SLICE;
      if (wake) this.#sinceRelease = 0;
      if (to < data.length) {
        this.#inflight -= to - from;
        if (wake) this.#releaseStalled();
        this.#writeFrom(data, to);
        return;
      }
      this.#inflight = 0;
      // Written: nothing refers to the chunk's buffer any more (it starts at offset 0).
      releaseBuffer(new Uint8Array(data.buffer as ArrayBuffer));
      if (--this.#batchLeft > 0 && this.#head < this.#sealed.length) {
        this.#writeNext();
        if (wake) this.#releaseStalled();
        return;
      }
      this.#sinceRelease = 0;
      this.#batchLeft = 0;
      this.writeStartedAt = 0;
      // Start the next write before waking producers, so what they add next
      // is coalesced behind it rather than written on its own.
      this.flush();
      this.#releaseStalled();
      if (this.pending > 0) return;
      if (this.#onDrained) {
        const drained = this.#onDrained;
        this.#onDrained = null;
        drained();
      }
    }, (e) => {
      this.#inflight = 0;
      this.writeStartedAt = 0;
      this.#releaseStalled();
      this.#onError(e as Error);
    });
  }

  /** Resolves once everything buffered so far has been written (graceful close). */
  drain(timeoutMs: number): Promise<void> {
    this.flush();
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#onDrained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * Closes the transport and drops the buffers. With `flushFirst`, what is
   * already queued (an -ERR) is written first, waiting at most a second so a
   * peer that does not read cannot keep the socket open.
   */
  closeTransport(flushFirst: boolean): void {
    if (flushFirst && this.pending > 0) {
      this.drain(1000).finally(() => {
        this.#transport.close();
        this.discard();
      });
    } else {
      this.#transport.close();
      this.discard();
    }
  }

  /** Drops everything (connection closed). */
  discard(): void {
    if (backlogged === this) backlogged = null;
    this.#releaseStalled();
    if (this.buf !== EMPTY) releaseBuffer(this.buf);
    for (let i = this.#head; i < this.#sealed.length; i++) {
      releaseBuffer(new Uint8Array(this.#sealed[i]!.buffer as ArrayBuffer));
    }
    this.#sealed = [];
    this.#head = 0;
    this.#sealedBytes = 0;
    this.#batchLeft = 0;
    this.buf = EMPTY;
    this.len = 0;
  }
}
