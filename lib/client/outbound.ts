/**
 * A connection's outbound bytes: appended per message, written once per turn
 * of the event loop (coalesced), with the bytes owed counted so a slow
 * consumer is cut off instead of growing without bound.
 *
 * Two buffers alternate: one is filled while the other is being written, so
 * appending never waits and nothing is copied twice.
 *
 * @module
 */
import type { Transport } from "./transport.ts";

const EMPTY = new Uint8Array(0);
const INITIAL = 1024;
/** Buffers up to this size are kept for reuse after a write; larger ones go to GC. */
const KEEP_LIMIT = 64 * 1024;

export class Outbound {
  /** Bytes waiting to be written: hot-path writers fill `buf[len..]` after `reserve()`. */
  buf: Uint8Array = EMPTY;
  len = 0;
  /** When the write in flight started (ms, performance.now()), 0 when idle. */
  writeStartedAt = 0;
  #inflight = 0;
  #spare: Uint8Array = EMPTY;
  #transport: Transport;
  #onError: (e: Error) => void;
  #onDrained: (() => void) | null = null;

  constructor(transport: Transport, onError: (e: Error) => void) {
    this.#transport = transport;
    this.#onError = onError;
  }

  /** Bytes owed to the peer: buffered plus in flight. */
  get pending(): number {
    return this.len + this.#inflight;
  }

  get writing(): boolean {
    return this.#inflight > 0;
  }

  /** Makes room for `n` more bytes at `buf[len]`. */
  reserve(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    let cap = Math.max(this.buf.length * 2, INITIAL);
    while (cap < need) cap *= 2;
    const bigger = this.#spare.length >= need ? this.#spare : new Uint8Array(cap);
    if (bigger === this.#spare) this.#spare = EMPTY;
    bigger.set(this.buf.subarray(0, this.len));
    this.buf = bigger;
  }

  append(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  /** Starts writing what is buffered, unless a write is already in flight. */
  flush(): void {
    if (this.#inflight > 0 || this.len === 0) return;
    const data = this.buf.subarray(0, this.len);
    this.#inflight = this.len;
    this.buf = this.#spare;
    this.#spare = EMPTY;
    this.len = 0;
    this.writeStartedAt = performance.now();
    this.#transport.write(data).then(() => {
      this.#inflight = 0;
      this.writeStartedAt = 0;
      const written = data.buffer as ArrayBuffer;
      if (written.byteLength <= KEEP_LIMIT && this.#spare.length === 0) {
        this.#spare = new Uint8Array(written);
      }
      if (this.len > 0) this.flush();
      else if (this.#onDrained) {
        const drained = this.#onDrained;
        this.#onDrained = null;
        drained();
      }
    }, (e) => {
      this.#inflight = 0;
      this.writeStartedAt = 0;
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
    this.buf = EMPTY;
    this.#spare = EMPTY;
    this.len = 0;
  }
}
