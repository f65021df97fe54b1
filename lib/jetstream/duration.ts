/**
 * Go durations as nats-server reads and prints them in consumer messages:
 * `%v` of a `time.Duration` (`1m30s`, `500ms`) and `time.ParseDuration`
 * (the `-NAK 1s` delay).
 *
 * @example
 * ```ts
 * import { goDuration, parseGoDurationNs } from "./duration.ts";
 * import assert from "node:assert/strict";
 * assert.equal(goDuration(90e9), "1m30s");
 * assert.equal(parseGoDurationNs("1.5s"), 1.5e9);
 * ```
 *
 * @module
 */

const NS = 1_000_000_000;

/** Go's time.Duration text for whole numbers of nanoseconds (as `%v` prints them). */
export function goDuration(ns: number): string {
  if (ns % NS === 0) {
    const s = ns / NS;
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    return (h ? `${h}h` : "") + (h || m ? `${m}m` : "") + `${sec}s`;
  }
  if (ns >= NS) return `${ns / NS}s`;
  if (ns >= 1e6) return `${ns / 1e6}ms`;
  if (ns >= 1e3) return `${ns / 1e3}µs`;
  return `${ns}ns`;
}

/** A Go duration (`1s`, `500ms`, `1m30s`) in nanoseconds, null when invalid. */
export function parseGoDurationNs(text: string): number | null {
  const units: Record<string, number> = {
    ns: 1,
    us: 1e3,
    "µs": 1e3,
    ms: 1e6,
    s: 1e9,
    m: 60e9,
    h: 3600e9,
  };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  if (text === "0") return 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) return null;
    total += Number(m[1]) * units[m[2]];
    at = re.lastIndex;
  }
  return at > 0 ? total : null;
}
