/**
 * Shared by the router's tests and benchmark.
 *
 * @module
 */

/**
 * A small seeded PRNG (mulberry32): random workloads that are the same on
 * every run, so a failure reproduces and benchmark runs compare.
 *
 * @param seed Any 32-bit integer.
 * @returns Numbers in [0, 1).
 */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
