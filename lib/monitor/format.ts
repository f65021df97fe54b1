/**
 * Value formats of nats-server's monitoring JSON: RFC 3339 times with
 * nanoseconds, Go duration strings, the uptime string, and the query-value
 * parsers whose error texts clients and scripts already know.
 *
 * @module
 */

/** Nanoseconds per unit, as plain numbers (durations here stay far below 2^53). */
const US = 1_000;
const MS = 1_000_000;
const S = 1_000_000_000;

/**
 * Formats a time like Go's `time.RFC3339Nano` in UTC: fractional seconds with
 * trailing zeros trimmed, and no dot at all when the fraction is zero.
 *
 * @param ms Milliseconds since the epoch; fractions (from `performance.now()`) add digits.
 * @returns e.g. `2026-11-23T08:53:11.884056156Z`
 * @example
 * ```ts
 * import { rfc3339Nano } from "./format.ts";
 * if (rfc3339Nano(Date.UTC(2020, 0, 2, 3, 4, 5, 60)) !== "2020-01-02T03:04:05.06Z") throw 0;
 * ```
 */
export function rfc3339Nano(ms: number): string {
  const whole = Math.floor(ms);
  const iso = new Date(whole).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  // Sub-millisecond digits: round to whole nanoseconds to drop float noise.
  const subMsNs = Math.round((ms - whole) * 1e6);
  const fracNs = (whole % 1000 + 1000) % 1000 * 1e6 + Math.min(subMsNs, 999_999);
  const head = iso.slice(0, 19);
  if (fracNs === 0) return `${head}Z`;
  return `${head}.${String(fracNs).padStart(9, "0").replace(/0+$/, "")}Z`;
}

/** Now, in milliseconds with microsecond-ish fractions (for `now` fields). */
export function preciseNowMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * nats-server's own uptime format: whole seconds split into years (365 days),
 * days, hours, minutes and seconds, leading zero units left out.
 *
 * @example
 * ```ts
 * import { uptimeString } from "./format.ts";
 * if (uptimeString(3_723_000) !== "1h2m3s") throw 0;
 * ```
 */
export function uptimeString(ms: number): string {
  const secs = Math.max(0, Math.floor(ms / 1000));
  const mins = Math.floor(secs / 60);
  const hours = Math.floor(mins / 60);
  const days = Math.floor(hours / 24);
  const years = Math.floor(days / 365);
  if (years > 0) return `${years}y${days % 365}d${hours % 24}h${mins % 60}m${secs % 60}s`;
  if (days > 0) return `${days}d${hours % 24}h${mins % 60}m${secs % 60}s`;
  if (hours > 0) return `${hours}h${mins % 60}m${secs % 60}s`;
  if (mins > 0) return `${mins}m${secs % 60}s`;
  return `${secs}s`;
}

/** `whole.frac` with the fraction's trailing zeros (and then the dot) removed. */
function fixed(n: number, unit: number, digits: number): string {
  const whole = Math.floor(n / unit);
  const frac = n % unit;
  if (frac === 0) return String(whole);
  return `${whole}.${String(frac).padStart(digits, "0").replace(/0+$/, "")}`;
}

/**
 * Go's `time.Duration.String()` for a non-negative number of nanoseconds:
 * `0s`, `750ns`, `298µs`, `1.944007ms`, `2.5s`, `1m30s`, `2h0m0s`.
 */
export function goDuration(ns: number): string {
  let n = Math.round(ns);
  if (n === 0) return "0s";
  const sign = n < 0 ? "-" : "";
  n = Math.abs(n);
  if (n < US) return `${sign}${n}ns`;
  if (n < MS) return `${sign}${fixed(n, US, 3)}µs`;
  if (n < S) return `${sign}${fixed(n, MS, 6)}ms`;
  const hours = Math.floor(n / (3600 * S));
  n -= hours * 3600 * S;
  const mins = Math.floor(n / (60 * S));
  n -= mins * 60 * S;
  const secs = `${fixed(n, S, 9)}s`;
  if (hours > 0) return `${sign}${hours}h${mins}m${secs}`;
  if (mins > 0) return `${sign}${mins}m${secs}`;
  return `${sign}${secs}`;
}

/**
 * The `rtt` shown in /connz: like nats-server, values between 1 µs and 1 ms
 * are cut to whole microseconds, others to whole nanoseconds.
 */
export function rttString(rttMs: number): string {
  let ns = Math.floor(rttMs * 1e6);
  if (ns > US && ns < MS) ns = Math.floor(ns / US) * US;
  return goDuration(ns);
}

/** A query value nats-server would refuse; the handler answers 400 with `message`. */
export class QueryError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "QueryError";
  }
}

const TRUE_WORDS = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE_WORDS = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** Go `strconv.ParseBool` semantics; an absent or empty value is `false`. */
export function queryBool(params: URLSearchParams, name: string): boolean {
  const v = params.get(name);
  if (v === null || v === "") return false;
  if (TRUE_WORDS.has(v)) return true;
  if (FALSE_WORDS.has(v)) return false;
  throw new QueryError(
    `Error decoding boolean for '${name}': strconv.ParseBool: parsing ${
      goQuote(v)
    }: invalid syntax`,
  );
}

/** Go `strconv.Atoi` semantics; an absent or empty value is `0`. */
export function queryInt(params: URLSearchParams, name: string): number {
  const v = params.get(name);
  if (v === null || v === "") return 0;
  if (!/^[+-]?\d+$/.test(v)) {
    throw new QueryError(
      `Error decoding int for '${name}': strconv.Atoi: parsing ${goQuote(v)}: invalid syntax`,
    );
  }
  const n = Number(v);
  if (!Number.isSafeInteger(n)) {
    throw new QueryError(
      `Error decoding int for '${name}': strconv.Atoi: parsing ${goQuote(v)}: value out of range`,
    );
  }
  return n;
}

/** Go `strconv.ParseUint` semantics (no sign allowed); an absent or empty value is `0`. */
export function queryUint(params: URLSearchParams, name: string): number {
  const v = params.get(name);
  if (v === null || v === "") return 0;
  if (!/^\d+$/.test(v)) {
    throw new QueryError(
      `Error decoding uint64 for '${name}': strconv.ParseUint: parsing ${
        goQuote(v)
      }: invalid syntax`,
    );
  }
  return Number(v);
}

/** Go's `%q` for the plain strings that reach an error message. */
function goQuote(s: string): string {
  return JSON.stringify(s);
}
