/**
 * A connection's publish cache (nats-server's per-client "L1"): subject
 * bytes -> the subject string, the sublist match and the publish verdict, so
 * a publisher repeating subjects neither decodes the subject nor touches the
 * sublist.
 *
 * Open addressing over a hash of the subject bytes (MurmurHash3's steps, so
 * that the low bits used for the slot depend on every byte): an entry lives
 * in one of the {@link WAYS} slots from its home slot on. It starts with 32
 * slots and doubles (up to {@link MAX_SLOTS}) when live entries keep evicting
 * each other: a client publishing to a handful of subjects stays small, while
 * one cycling through hundreds (a sensor fleet, the 10k-wildcard benchmark's
 * 100 subjects) stops missing on every message. Slots are filled lazily, so
 * a connection that never publishes pays for nothing.
 *
 * Entries carry the sublist generation and the connection's epoch
 * (permissions, account) they were computed under; a stale one is never
 * returned and is the first to be replaced.
 *
 * @module
 */
import type { MatchResult } from "../router/sublist.ts";
import type { Subscription } from "../delivery/subscription.ts";

const START_SLOTS = 32;
/**
 * Slots an entry may occupy from its home slot on. Two ways measured 8% misses
 * for the 100 subjects of the wildcard benchmark and 26% for its 100
 * non-matching ones at the full 512 slots; four ways still missed 1-3% of 100
 * or 200 cycling subjects of some shapes; eight, none (publish_cache_test.ts).
 * A hit is almost always in the first or second slot.
 */
const WAYS = 8;
/** 512 slots = 256 sets of two; 8 KiB of pointers at most. */
const MAX_SLOTS = 512;
/** Subjects longer than this are not cached (rare; they take the slow path). */
const MAX_SUBJECT = 128;

/** One cached subject. */
export class PublishCacheEntry {
  bytes: Uint8Array = new Uint8Array(0);
  len = -1;
  hash = 0;
  subject = "";
  result!: MatchResult<Subscription>;
  allowed = false;
  /** Sublist generation the result belongs to. */
  gen = -1;
  /** The connection's epoch (permissions/account) the verdict belongs to. */
  epoch = -1;
  /**
   * The entry published right after this one last time (a hint only: it may
   * since hold another subject, so it is compared like any lookup).
   */
  next: PublishCacheEntry | undefined = undefined;

  matches(buf: Uint8Array, s: number, e: number): boolean {
    if (e - s !== this.len) return false;
    const b = this.bytes;
    for (let i = s, j = 0; i < e; i++, j++) if (b[j] !== buf[i]) return false;
    return true;
  }
}

/** See the module comment. */
export class PublishCache {
  #slots: (PublishCacheEntry | undefined)[] = new Array(START_SLOTS);
  #mask = START_SLOTS - 1;
  /** Live entries evicted since the last resize. */
  #evictions = 0;
  /** Which way of a full window the next eviction takes. */
  #turn = 0;

  /** Current number of slots (for tests). */
  get size(): number {
    return this.#slots.length;
  }

  /**
   * The entry for `buf[s..e)` computed under `gen`/`epoch`, or undefined.
   *
   * @param hash {@link hashSubject} of the same bytes.
   */
  get(
    buf: Uint8Array,
    s: number,
    e: number,
    hash: number,
    gen: number,
    epoch: number,
  ): PublishCacheEntry | undefined {
    const mask = this.#mask;
    const slots = this.#slots;
    for (let k = 0, i = hash & mask; k < WAYS; k++, i = (i + 1) & mask) {
      const a = slots[i];
      // Slots are never emptied (only reused), so nothing lies past an empty one.
      if (a === undefined) return undefined;
      if (a.hash === hash && a.gen === gen && a.epoch === epoch && a.matches(buf, s, e)) return a;
    }
    return undefined;
  }

  /** Caches a subject just matched (after a miss from {@link get}); returns its entry, if kept. */
  put(
    buf: Uint8Array,
    s: number,
    e: number,
    hash: number,
    subject: string,
    result: MatchResult<Subscription>,
    allowed: boolean,
    gen: number,
    epoch: number,
  ): PublishCacheEntry | undefined {
    const n = e - s;
    if (n > MAX_SUBJECT) return undefined;
    const slots = this.#slots;
    const mask = this.#mask;
    const home = hash & mask;
    // The first empty or stale slot of the window, else one of its live entries in turn.
    let at = -1;
    for (let k = 0, i = home; k < WAYS; k++, i = (i + 1) & mask) {
      const a = slots[i];
      if (a === undefined || a.gen !== gen || a.epoch !== epoch) {
        at = i;
        break;
      }
    }
    if (at < 0) {
      at = (home + (this.#turn++ & (WAYS - 1))) & mask;
      this.#evictions++;
    }
    const victim = slots[at];
    // Reuse the victim and its byte buffer: no allocation once warm.
    const entry = victim ?? new PublishCacheEntry();
    if (entry.bytes.length < n) entry.bytes = new Uint8Array(Math.max(32, n));
    const bytes = entry.bytes;
    for (let k = 0; k < n; k++) bytes[k] = buf[s + k];
    entry.len = n;
    entry.hash = hash;
    entry.subject = subject;
    entry.result = result;
    entry.allowed = allowed;
    entry.gen = gen;
    entry.epoch = epoch;
    slots[at] = entry;
    if (this.#evictions > slots.length >> 2 && slots.length < MAX_SLOTS) this.#grow();
    return entry;
  }

  /** Doubles the table, keeping the entries (their hash says where they go). */
  #grow(): void {
    const old = this.#slots;
    const size = old.length * 2;
    const slots: (PublishCacheEntry | undefined)[] = new Array(size);
    const mask = size - 1;
    for (const entry of old) {
      if (entry === undefined) continue;
      for (let k = 0, i = entry.hash & mask; k < WAYS; k++, i = (i + 1) & mask) {
        if (slots[i] === undefined) {
          slots[i] = entry;
          break;
        }
      }
    }
    this.#slots = slots;
    this.#mask = mask;
    this.#evictions = 0;
  }
}

/**
 * A 32-bit hash of the subject bytes (MurmurHash3's x86_32 steps, seeded
 * with the length: four bytes per step, then its final mix, whose low bits
 * pick the slot). A byte at a
 * time (FNV-1a) was a third of the lookup's cost in a CPU profile of the
 * non-matching wildcard flow: one multiply per byte, each waiting for the last.
 */
export function hashSubject(buf: Uint8Array, s: number, e: number): number {
  let h = e - s;
  let i = s;
  for (const end4 = e - 3; i < end4; i += 4) {
    let k = buf[i] | buf[i + 1] << 8 | buf[i + 2] << 16 | buf[i + 3] << 24;
    k = Math.imul(k, 0xcc9e2d51);
    k = Math.imul(k << 15 | k >>> 17, 0x1b873593);
    h ^= k;
    h = h << 13 | h >>> 19;
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < e) {
    let k = buf[i];
    if (i + 1 < e) k |= buf[i + 1] << 8;
    if (i + 2 < e) k |= buf[i + 2] << 16;
    k = Math.imul(k, 0xcc9e2d51);
    h ^= Math.imul(k << 15 | k >>> 17, 0x1b873593);
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
