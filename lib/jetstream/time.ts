/**
 * Timestamps as nats-server writes them: Unix nanoseconds inside, RFC 3339
 * with up to nine fractional digits (trailing zeros dropped, as Go's
 * RFC3339Nano) in JSON, and Go's zero time when there is none.
 *
 * @module
 */

export const ZERO_TIME = "0001-01-01T00:00:00Z";

let lastNs = 0n;

/** Now in Unix nanoseconds, strictly increasing within the process. */
export function nowNs(): bigint {
  const ms = BigInt(Date.now());
  const sub = BigInt(Math.floor((performance.now() % 1) * 1e6));
  let ns = ms * 1_000_000n + sub;
  if (ns <= lastNs) ns = lastNs + 1n;
  lastNs = ns;
  return ns;
}

let lastSec = -1n;
let lastBase = "";

/** RFC 3339 with nanoseconds (Go's RFC3339Nano); 0 gives Go's zero time. */
export function formatNs(ns: bigint): string {
  if (ns === 0n) return ZERO_TIME;
  const sec = ns / 1_000_000_000n;
  // The date and time to the second, made once per second (a direct get of
  // each message formats its time; toISOString was most of that).
  if (sec !== lastSec) {
    lastSec = sec;
    lastBase = new Date(Number(sec) * 1000).toISOString().slice(0, 19);
  }
  const base = lastBase;
  let frac = (ns % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
  if (frac !== "") frac = "." + frac;
  return `${base}${frac}Z`;
}
