/**
 * Shared pieces for turning a parsed configuration tree into Options: the
 * issue list (errors and warnings with positions), typed accessors that report
 * type mismatches the way nats-server does, Go duration parsing and
 * `host:port` splitting.
 *
 * @module
 */
import { splitHostPort } from "../conn/address.ts";
import {
  type ConfKind,
  type ConfMap,
  type ConfPos,
  type ConfValue,
  goTypeName,
} from "./conf_parser.ts";

/** One configuration error or warning. */
export interface ConfigIssue {
  severity: "error" | "warning";
  /** The text after the position prefix. */
  reason: string;
  /** Absent for checks that concern the merged options rather than one value. */
  pos?: ConfPos;
}

/** Formats an issue as nats-server does: `file:line:col: reason`, or the bare reason. */
export function formatIssue(issue: ConfigIssue): string {
  if (!issue.pos) return issue.reason;
  return `${issue.pos.file}:${issue.pos.line}:${issue.pos.col}: ${issue.reason}`;
}

/**
 * The configuration could not be used. Carries every error and warning;
 * the message lists warnings first, then errors, one per line.
 */
export class ConfigError extends SyntaxError {
  readonly errors: ConfigIssue[];
  readonly warnings: ConfigIssue[];
  constructor(errors: ConfigIssue[], warnings: ConfigIssue[] = [], options?: ErrorOptions) {
    super([...warnings, ...errors].map(formatIssue).join("\n"), options);
    this.name = "ConfigError";
    this.errors = errors;
    this.warnings = warnings;
  }
}

/** Go's `%T`-style description of a value, for `interface conversion` messages. */
export function goTypeOf(v: ConfValue): string {
  return goTypeName(v.kind);
}

/** How Go's `%v` prints a few simple values (used in a couple of messages). */
export function describeGoValue(v: ConfValue): string {
  switch (v.kind) {
    case "string":
    case "integer":
    case "float":
    case "bool":
      return String(v.value);
    default:
      return v.kind === "map" ? "map[...]" : "[...]";
  }
}

/**
 * Collects issues and offers typed reads of tree values. A read of the wrong
 * type records nats-server's panic text (`interface conversion: interface {}
 * is string, not int64`) and returns `undefined`.
 */
export class IssueCollector {
  readonly errors: ConfigIssue[] = [];
  readonly warnings: ConfigIssue[] = [];

  error(pos: ConfPos | undefined, reason: string): void {
    this.errors.push(pos ? { severity: "error", reason, pos } : { severity: "error", reason });
  }

  /** A warning, formatted `invalid use of field "<field>": <reason>`. */
  warn(pos: ConfPos, field: string, reason: string): void {
    this.warnings.push({
      severity: "warning",
      reason: `invalid use of field "${field}": ${reason}`,
      pos,
    });
  }

  unknownField(v: ConfValue, key: string): void {
    if (!v.usedAsVariable) this.error(v, `unknown field "${key}"`);
  }

  #expect(v: ConfValue, kind: ConfKind, goName: string): boolean {
    if (v.kind === kind) return true;
    this.error(v, `interface conversion: interface {} is ${goTypeOf(v)}, not ${goName}`);
    return false;
  }

  str(v: ConfValue): string | undefined {
    return this.#expect(v, "string", "string") ? v.value as string : undefined;
  }

  int(v: ConfValue): number | undefined {
    return this.#expect(v, "integer", "int64") ? v.value as number : undefined;
  }

  bool(v: ConfValue): boolean | undefined {
    return this.#expect(v, "bool", "bool") ? v.value as boolean : undefined;
  }

  map(v: ConfValue): ConfMap | undefined {
    return this.#expect(v, "map", "map[string]interface {}") ? v.value as ConfMap : undefined;
  }

  array(v: ConfValue): ConfValue[] | undefined {
    return this.#expect(v, "array", "[]interface {}") ? v.value as ConfValue[] : undefined;
  }

  /** An array of strings (each element checked). */
  strings(v: ConfValue): string[] | undefined {
    const items = this.array(v);
    if (!items) return undefined;
    const out: string[] = [];
    for (const item of items) {
      const s = this.str(item);
      if (s === undefined) return undefined;
      out.push(s);
    }
    return out;
  }

  /** A string or an array of strings. */
  stringOrStrings(v: ConfValue): string[] | undefined {
    if (v.kind === "string") return [v.value];
    return this.strings(v);
  }

  /** A Go duration string, in milliseconds; `field` names it in the error. */
  durationMs(v: ConfValue, field: string): number | undefined {
    const s = this.str(v);
    if (s === undefined) return undefined;
    try {
      return parseGoDuration(s);
    } catch (err) {
      this.error(v, `error parsing ${field}: ${(err as Error).message}`);
      return undefined;
    }
  }

  /**
   * A duration that may still be written as a bare number of seconds (old
   * style), which is accepted with a warning.
   */
  durationOrSecondsMs(v: ConfValue, field: string): number | undefined {
    if (v.kind === "integer") {
      this.warn(v, field, `${field} should be converted to a duration`);
      return v.value * 1000;
    }
    return this.durationMs(v, field);
  }
}

/** Keys compare case-insensitively; this gives the lower-cased entries of a map. */
export function entries(map: ConfMap): Array<[string, string, ConfValue]> {
  return [...map].map(([k, v]) => [k.toLowerCase(), k, v]);
}

// --- Go time.ParseDuration ---------------------------------------------------

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "\u00b5s": 1e-3, // micro sign
  "\u03bcs": 1e-3, // Greek mu
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Max Go duration (int64 nanoseconds) in ms. */
const MAX_DURATION_MS = 9223372036854.775;

/**
 * Quotes text like Go's time package does in its errors: control and
 * non-ASCII bytes as `\xNN`, `"` and `\` escaped.
 */
export function goTimeQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (code < 0x20 || code >= 0x80) {
      for (const byte of new TextEncoder().encode(ch)) {
        out += `\\x${byte.toString(16).padStart(2, "0")}`;
      }
    } else {
      out += ch === '"' || ch === "\\" ? `\\${ch}` : ch;
    }
  }
  return out + '"';
}

/**
 * Parses a Go duration string (`"1m30s"`, `"500ms"`, `"-2h"`, `"0"`).
 * @returns milliseconds (fractional for sub-millisecond units)
 * @throws {SyntaxError} with Go's message, e.g. `time: missing unit in duration "5"`
 */
export function parseGoDuration(text: string): number {
  const invalid = () => new SyntaxError(`time: invalid duration ${goTimeQuote(text)}`);
  let s = text;
  let negative = false;
  if (s[0] === "-" || s[0] === "+") {
    negative = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") throw invalid();
  let total = 0;
  while (s !== "") {
    const m = /^([0-9]*)(?:\.([0-9]*))?/.exec(s)!;
    const intPart = m[1]!;
    const fracPart = m[2];
    if (intPart === "" && (fracPart === undefined || fracPart === "")) throw invalid();
    s = s.slice(m[0].length);
    let unitLen = 0;
    while (unitLen < s.length && !/[0-9.]/.test(s[unitLen]!)) unitLen++;
    if (unitLen === 0) {
      throw new SyntaxError(`time: missing unit in duration ${goTimeQuote(text)}`);
    }
    const unit = s.slice(0, unitLen);
    s = s.slice(unitLen);
    const scale = UNIT_MS[unit];
    if (scale === undefined) {
      throw new SyntaxError(
        `time: unknown unit ${goTimeQuote(unit)} in duration ${goTimeQuote(text)}`,
      );
    }
    total += Number(`${intPart || "0"}.${fracPart || "0"}`) * scale;
    if (total > MAX_DURATION_MS) throw invalid();
  }
  return negative ? -total : total;
}

/** Formats milliseconds like Go's `Duration.String()` (`1m30s`, `500ms`, `2s`). */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return "0s";
  const sign = ms < 0 ? "-" : "";
  let rest = Math.abs(ms);
  if (rest < 1000) {
    if (rest >= 1) return `${sign}${trimFloat(rest)}ms`;
    if (rest >= 1e-3) return `${sign}${trimFloat(rest * 1e3)}\u00b5s`;
    return `${sign}${trimFloat(rest * 1e6)}ns`;
  }
  let out = "";
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  if (hours > 0) out += `${hours}h`;
  if (hours > 0 || minutes > 0) out += `${minutes}m`;
  return `${sign}${out}${trimFloat(rest / 1000)}s`;
}

function trimFloat(n: number): string {
  return String(Number(n.toFixed(9)));
}

// --- addresses -----------------------------------------------------------------

/**
 * Reads a `listen`-style value: a port number or `host:port`.
 * Reports nats-server's messages and returns undefined on error.
 */
export function readListen(
  issues: IssueCollector,
  v: ConfValue,
): { host?: string; port: number } | undefined {
  if (v.kind === "integer") return { port: v.value };
  if (v.kind !== "string") {
    issues.error(v, `expected port or host:port, got ${goTypeOf(v)}`);
    return undefined;
  }
  let parts: { host: string; port: string };
  try {
    parts = splitHostPort(v.value);
  } catch {
    issues.error(v, `could not parse address string "${v.value}"`);
    return undefined;
  }
  if (!/^[+-]?\d+$/.test(parts.port)) {
    issues.error(v, `could not parse port "${parts.port}"`);
    return undefined;
  }
  return { host: parts.host, port: Number(parts.port) };
}
