/**
 * A single-producer, single-consumer byte ring in a SharedArrayBuffer, for
 * handing plaintext between the TLS Worker and the main thread of
 * worker_tls_sink.ts. Positions count bytes modulo 2^32 in an Int32Array
 * (`[write, read]`); the capacity is a power of two. The producer publishes
 * with `Atomics.store` after copying and wakes a waiting consumer with
 * `Atomics.notify`, and the reverse for freed space.
 *
 * @module
 */
import type { Socket } from "node:net";

const W = 0;
const R = 1;

/** One end's view of a ring; the same buffers are passed to both threads. */
/**
 * Encrypts and writes what the main thread puts in `out` to a Worker's TLS
 * socket, waiting for 'drain' when the socket holds too much, until it is destroyed.
 */
export async function writeRingTo(socket: Socket, out: SabRing): Promise<void> {
  while (!socket.destroyed) {
    const views = out.readable();
    if (views.length === 0) {
      await out.dataAfter();
      continue;
    }
    let n = 0;
    let ok = true;
    for (const v of views) {
      ok = socket.write(v.slice()) && ok;
      n += v.length;
    }
    out.consume(n);
    if (!ok) await new Promise((resolve) => socket.once("drain", resolve));
  }
}

export class SabRing {
  readonly ctl: Int32Array;
  readonly data: Uint8Array;
  readonly #mask: number;

  constructor(ctl: SharedArrayBuffer, data: SharedArrayBuffer) {
    this.ctl = new Int32Array(ctl);
    this.data = new Uint8Array(data);
    if ((this.data.length & (this.data.length - 1)) !== 0) throw new RangeError("not a power of 2");
    this.#mask = this.data.length - 1;
  }

  /** New shared buffers for a ring of `capacity` bytes. */
  static buffers(capacity: number): { ctl: SharedArrayBuffer; data: SharedArrayBuffer } {
    return { ctl: new SharedArrayBuffer(8), data: new SharedArrayBuffer(capacity) };
  }

  /** Producer: the read position to compute free space from (pass it back to {@link push}). */
  readPos(): number {
    return Atomics.load(this.ctl, R);
  }

  /** Producer: copies what fits of `chunk`, given read position `r`; returns how much. */
  push(chunk: Uint8Array, r = this.readPos()): number {
    const w = this.ctl[W]!;
    const n = Math.min(this.data.length - ((w - r) | 0), chunk.length);
    if (n === 0) return 0;
    const at = w & this.#mask;
    const first = Math.min(n, this.data.length - at);
    this.data.set(first === chunk.length ? chunk : chunk.subarray(0, first), at);
    if (n > first) this.data.set(chunk.subarray(first, n), 0);
    Atomics.store(this.ctl, W, (w + n) | 0);
    Atomics.notify(this.ctl, W);
    return n;
  }

  /** Producer: resolves once the read position moved from `r` (or at once if it already has). */
  spaceFrom(r: number): Promise<unknown> {
    const wait = Atomics.waitAsync(this.ctl, R, r);
    return wait.async ? wait.value : Promise.resolve();
  }

  /**
   * Consumer: the readable bytes as at most two views (the ring wraps), empty
   * when there are none. Valid until {@link consume}.
   */
  readable(): Uint8Array[] {
    const r = this.ctl[R]!;
    const n = (Atomics.load(this.ctl, W) - r) | 0;
    if (n === 0) return [];
    const at = r & this.#mask;
    const first = Math.min(n, this.data.length - at);
    const views = [this.data.subarray(at, at + first)];
    if (n > first) views.push(this.data.subarray(0, n - first));
    return views;
  }

  /** Consumer: frees `n` bytes and wakes a producer waiting for space. */
  consume(n: number): void {
    Atomics.store(this.ctl, R, (this.ctl[R]! + n) | 0);
    Atomics.notify(this.ctl, R);
  }

  /** Consumer: resolves once something was written after position `w` seen empty. */
  dataAfter(): Promise<unknown> {
    const wait = Atomics.waitAsync(this.ctl, W, this.ctl[R]!);
    return wait.async ? wait.value : Promise.resolve();
  }
}

/**
 * The producer side of a ring fed by a socket: {@link feed} copies a chunk
 * in, or keeps what does not fit (and every later chunk, in order) and calls
 * `pause` once, then pushes the kept bytes as the consumer frees space and
 * calls `resume` when none are left. A wait starts from the read position the
 * last push saw, so a position the consumer moved in between is never missed.
 */
export class RingFeeder {
  readonly #ring: SabRing;
  readonly #pause: () => void;
  readonly #resume: () => void;
  #pending: Uint8Array[] = [];

  constructor(ring: SabRing, pause: () => void, resume: () => void) {
    this.#ring = ring;
    this.#pause = pause;
    this.#resume = resume;
  }

  /** Copies `chunk` (valid only during the call); false when reading should stop. */
  feed(chunk: Uint8Array): boolean {
    if (this.#pending.length > 0) {
      this.#pending.push(chunk.slice());
      return false;
    }
    const n = this.#ring.push(chunk);
    if (n === chunk.length) return true;
    this.#pending.push(chunk.slice(n));
    this.#pause();
    queueMicrotask(() => this.#drain());
    return false;
  }

  #drain(): void {
    const r = this.#ring.readPos();
    while (this.#pending.length > 0) {
      const head = this.#pending[0]!;
      const n = this.#ring.push(head, r);
      if (n < head.length) {
        this.#pending[0] = head.subarray(n);
        // Resolves at once if the consumer already moved past `r`.
        this.#ring.spaceFrom(r).then(() => this.#drain());
        return;
      }
      this.#pending.shift();
    }
    this.#resume();
  }
}
