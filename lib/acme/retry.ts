/**
 * Back-off for failed ACME attempts. A table rather than a formula: the
 * first retries come quickly (a DNS hiccup, a rejected nonce burst), later
 * ones spread out so a CA outage or a broken configuration never turns into
 * a request storm, and the last entry repeats as the cap. Jitter keeps a
 * fleet of servers that failed together from retrying together.
 *
 * @module
 */

/** Default delays in ms: 1 min, 2 min, 5 min, 10 min, 20 min, 30 min, 1 h, then every 2 h. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [
  60_000,
  120_000,
  300_000,
  600_000,
  1_200_000,
  1_800_000,
  3_600_000,
  7_200_000,
];

/** Tracks consecutive failures and says how long to wait before the next attempt. */
export class Backoff {
  #table: readonly number[];
  #failures = 0;
  #random: () => number;

  /**
   * @param table delays in ms; the last one repeats
   * @param random source of jitter in [0, 1), replaceable in tests
   */
  constructor(table: readonly number[] = DEFAULT_RETRY_DELAYS_MS, random = Math.random) {
    if (table.length === 0) throw new RangeError("Retry table must not be empty");
    this.#table = table;
    this.#random = random;
  }

  /** Consecutive failures so far. */
  get failures(): number {
    return this.#failures;
  }

  /**
   * Records a failure and returns the delay before the next attempt: the
   * table entry ±20 %, and never less than a CA's Retry-After.
   */
  next(retryAfterMs?: number): number {
    const base = this.#table[Math.min(this.#failures, this.#table.length - 1)]!;
    this.#failures++;
    const jittered = Math.round(base * (0.8 + 0.4 * this.#random()));
    return Math.max(jittered, retryAfterMs ?? 0);
  }

  /** Starts over after a success. */
  reset(): void {
    this.#failures = 0;
  }
}

/** Waits `ms`, rejecting with the signal's reason as soon as it aborts. */
export function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
