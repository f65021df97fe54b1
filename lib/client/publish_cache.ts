/**
 * A connection's publish cache (nats-server's per-client "L1"): subject
 * bytes -> the subject string, the sublist match and the publish verdict, so
 * a publisher repeating subjects neither decodes the subject nor touches the
 * sublist.
 *
 * Two-way set associative over FNV-1a of the subject bytes. It starts with 32
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
    const i = hash & this.#mask;
    const slots = this.#slots;
    const a = slots[i];
    if (a !== undefined && a.hash === hash && a.gen === gen && a.epoch === epoch) {
      if (a.matches(buf, s, e)) return a;
    }
    const b = slots[i ^ 1];
    if (b !== undefined && b.hash === hash && b.gen === gen && b.epoch === epoch) {
      if (b.matches(buf, s, e)) return b;
    }
    return undefined;
  }

  /** Caches a subject just matched (after a miss from {@link get}). */
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
  ): void {
    const n = e - s;
    if (n > MAX_SUBJECT) return;
    const slots = this.#slots;
    const i = hash & this.#mask;
    const a = slots[i];
    let victim: PublishCacheEntry | undefined;
    if (a === undefined || a.gen !== gen || a.epoch !== epoch) {
      victim = a;
    } else {
      // Both ways live or the second empty/stale: the primary way's entry
      // moves to the second way (most recent first), and the second way's
      // entry is dropped.
      victim = slots[i ^ 1];
      if (victim !== undefined && victim.gen === gen && victim.epoch === epoch) {
        this.#evictions++;
      }
      slots[i ^ 1] = a;
    }
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
    slots[i] = entry;
    if (this.#evictions > slots.length && slots.length < MAX_SLOTS) this.#grow();
  }

  /** Doubles the table, keeping the entries (their hash says where they go). */
  #grow(): void {
    const old = this.#slots;
    const size = old.length * 2;
    const slots: (PublishCacheEntry | undefined)[] = new Array(size);
    const mask = size - 1;
    for (const entry of old) {
      if (entry === undefined) continue;
      const i = entry.hash & mask;
      if (slots[i] === undefined) slots[i] = entry;
      else if (slots[i ^ 1] === undefined) slots[i ^ 1] = entry;
    }
    this.#slots = slots;
    this.#mask = mask;
    this.#evictions = 0;
  }
}

/** FNV-1a over the subject bytes. */
export function hashSubject(buf: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5;
  for (let i = s; i < e; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return h >>> 0;
}
