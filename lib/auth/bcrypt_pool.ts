/**
 * bcrypt checks in a small pool of Deno Workers, with a cache of successes.
 *
 * bcryptjs needs ~180 ms per check at cost 11; run on the main thread that
 * would stall every connection's routing, so checks go to workers. A reconnect
 * storm (hundreds of clients with the same password) would still queue up
 * hundreds of checks, so successful checks are remembered under an HMAC of
 * hash and password with a per-process random key: the cache never holds a
 * plaintext password, and a wrong password always costs a real check.
 *
 * @module
 */
import { createHmac, randomBytes } from "node:crypto";

const BCRYPT_RE = /^\$2[abxy]\$\d{2}\$.{53}$/;

/**
 * Whether a configured password or token is a bcrypt hash (and must be
 * checked with bcrypt rather than compared as plain text).
 *
 * @param s The configured value.
 * @returns `true` for `$2a$`, `$2b$`, `$2x$` and `$2y$` hashes.
 * @example
 * ```ts
 * import { isBcryptHash } from "./bcrypt_pool.ts";
 * isBcryptHash("$2a$11$UP3xizk94sWF9SHF/wkklOfBT9jphTGNrhZqz2OHoBdk9yO1kvErG"); // true
 * isBcryptHash("T0pS3cr3t"); // false
 * ```
 */
export function isBcryptHash(s: string): boolean {
  return BCRYPT_RE.test(s);
}

/**
 * bcryptjs rejects the `$2x$` prefix; Go's bcrypt (what nats-server uses)
 * treats every minor version alike, so the hash is checked as `$2a$`.
 */
function normalizeHash(hash: string): string {
  return hash.startsWith("$2x$") ? "$2a$" + hash.slice(4) : hash;
}

/** Counters for tests and monitoring. */
export interface BcryptPoolStats {
  /** Workers started so far (alive). */
  workers: number;
  /** Workers running a check right now. */
  busy: number;
  /** Checks waiting for a worker. */
  queued: number;
  /** Highest `busy` seen: proves checks ran in parallel. */
  peakBusy: number;
  /** Checks answered from the success cache. */
  cacheHits: number;
  /** Checks that ran bcrypt. */
  checks: number;
}

/** Options of {@link BcryptPool}. */
export interface BcryptPoolOptions {
  /** Number of workers (default min(2, cores)). */
  size?: number;
  /** Checks allowed to wait for a worker before new ones are refused (default 1024). */
  maxQueue?: number;
  /** Successful checks remembered (default 1024). */
  cacheSize?: number;
}

interface Job {
  key: string;
  password: string;
  hash: string;
  resolve: (ok: boolean) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
}

/** Thrown (as a rejection) when the queue is full or the pool was closed. */
export class BcryptPoolError extends Error {
  /** @param message What went wrong. */
  constructor(message: string) {
    super(message);
    this.name = "BcryptPoolError";
  }
}

/**
 * A bounded pool of bcrypt workers. Workers start on first use, so a server
 * without bcrypt passwords never spawns one.
 *
 * @example
 * ```ts ignore
 * const pool = new BcryptPool();
 * const ok = await pool.compare("T0pS3cr3t", "$2a$11$...");
 * pool.close();
 * ```
 */
export class BcryptPool {
  readonly #size: number;
  readonly #maxQueue: number;
  readonly #cacheSize: number;
  readonly #hmacKey = randomBytes(32);
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  /** HMAC key -> true, insertion order = recency (re-inserted on hit). */
  readonly #cache = new Map<string, true>();
  /** Same check already running: share it instead of queueing a twin. */
  readonly #inflight = new Map<string, Promise<boolean>>();
  #closed = false;
  #peakBusy = 0;
  #cacheHits = 0;
  #checks = 0;

  /** @param opts Pool size, queue bound and cache size. */
  constructor(opts: BcryptPoolOptions = {}) {
    const cores = navigator.hardwareConcurrency || 1;
    this.#size = Math.max(1, opts.size ?? Math.min(2, cores));
    this.#maxQueue = Math.max(0, opts.maxQueue ?? 1024);
    this.#cacheSize = Math.max(1, opts.cacheSize ?? 1024);
  }

  /**
   * Synchronous cache probe: `true` when this exact password already matched
   * this hash. Lets the authenticator answer without a Promise.
   *
   * @param password The password the client sent.
   * @param hash The configured bcrypt hash.
   * @returns `true` on a remembered success; `false` means "unknown", not "wrong".
   */
  cached(password: string, hash: string): boolean {
    const key = this.#key(password, hash);
    if (!this.#cache.has(key)) return false;
    // Refresh recency so hot credentials survive eviction.
    this.#cache.delete(key);
    this.#cache.set(key, true);
    this.#cacheHits++;
    return true;
  }

  /**
   * Checks a password against a bcrypt hash in a worker (or the cache).
   *
   * @param password The password the client sent.
   * @param hash The configured bcrypt hash.
   * @returns Whether the password matches.
   * @throws {BcryptPoolError} (rejection) when the pool is closed or its queue is full.
   */
  compare(password: string, hash: string): Promise<boolean> {
    if (this.#closed) return Promise.reject(new BcryptPoolError("bcrypt pool is closed"));
    const key = this.#key(password, hash);
    if (this.#cache.has(key)) {
      this.#cache.delete(key);
      this.#cache.set(key, true);
      this.#cacheHits++;
      return Promise.resolve(true);
    }
    const running = this.#inflight.get(key);
    if (running) return running;
    if (!isBcryptHash(hash)) return Promise.resolve(false);
    const p = new Promise<boolean>((resolve, reject) => {
      const job: Job = { key, password, hash: normalizeHash(hash), resolve, reject };
      const slot = this.#idleSlot();
      if (slot) {
        this.#run(slot, job);
      } else if (this.#queue.length >= this.#maxQueue) {
        reject(new BcryptPoolError("bcrypt queue is full"));
      } else {
        this.#queue.push(job);
      }
    });
    this.#inflight.set(key, p);
    const done = () => this.#inflight.delete(key);
    p.then(done, done);
    return p;
  }

  /**
   * Starts every worker now instead of on first use. A worker's start (a new
   * isolate loading bcryptjs) briefly competes with the event loop; doing it
   * when the config is loaded keeps that cost out of the first login, which
   * would otherwise land in the middle of traffic.
   */
  warm(): void {
    if (this.#closed) return;
    while (this.#slots.length < this.#size) this.#slots.push(this.#spawn());
  }

  /** Current counters. */
  stats(): BcryptPoolStats {
    let busy = 0;
    for (const s of this.#slots) if (s.job) busy++;
    return {
      workers: this.#slots.length,
      busy,
      queued: this.#queue.length,
      peakBusy: this.#peakBusy,
      cacheHits: this.#cacheHits,
      checks: this.#checks,
    };
  }

  /** Terminates the workers; pending and later checks reject. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const err = new BcryptPoolError("bcrypt pool is closed");
    for (const s of this.#slots) {
      s.worker.terminate();
      s.job?.reject(err);
      s.job = null;
    }
    this.#slots.length = 0;
    for (const j of this.#queue.splice(0)) j.reject(err);
    this.#cache.clear();
  }

  #key(password: string, hash: string): string {
    return createHmac("sha256", this.#hmacKey).update(hash).update("\0").update(password)
      .digest("base64");
  }

  #idleSlot(): Slot | null {
    for (const s of this.#slots) if (!s.job) return s;
    if (this.#slots.length < this.#size) {
      const slot = this.#spawn();
      this.#slots.push(slot);
      return slot;
    }
    return null;
  }

  #spawn(): Slot {
    const worker = new Worker(new URL("./bcrypt_worker.ts", import.meta.url).href, {
      type: "module",
    });
    const slot: Slot = { worker, job: null };
    worker.onmessage = (ev: MessageEvent<{ ok?: boolean; error?: string }>) => {
      const job = slot.job;
      slot.job = null;
      if (job) {
        if (ev.data.error !== undefined) {
          // A malformed hash is a wrong password, not a server fault.
          job.resolve(false);
        } else {
          if (ev.data.ok) this.#remember(job.key);
          job.resolve(ev.data.ok === true);
        }
      }
      this.#next(slot);
    };
    worker.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      // The worker is gone: fail its check and replace it so the pool keeps its size.
      const job = slot.job;
      slot.job = null;
      worker.terminate();
      const i = this.#slots.indexOf(slot);
      if (i >= 0) this.#slots.splice(i, 1);
      job?.reject(new BcryptPoolError(`bcrypt worker failed: ${ev.message}`));
      const again = this.#queue.length > 0 && !this.#closed ? this.#idleSlot() : null;
      if (again) this.#next(again);
    };
    return slot;
  }

  #run(slot: Slot, job: Job): void {
    slot.job = job;
    this.#checks++;
    let busy = 0;
    for (const s of this.#slots) if (s.job) busy++;
    if (busy > this.#peakBusy) this.#peakBusy = busy;
    slot.worker.postMessage({ id: this.#checks, password: job.password, hash: job.hash });
  }

  #next(slot: Slot): void {
    if (this.#closed) return;
    const job = this.#queue.shift();
    if (job) this.#run(slot, job);
  }

  #remember(key: string): void {
    this.#cache.set(key, true);
    if (this.#cache.size > this.#cacheSize) {
      // Map iterates in insertion order: the first key is the least recently used.
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
  }
}
