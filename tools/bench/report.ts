/**
 * Figures, targets, medians over rounds, and the final side-by-side table.
 *
 * @module
 */

/** How a figure's value prints. */
export type Format =
  | "rate"
  | "us"
  | "ms"
  | "kib"
  | "mib"
  | "count"
  | "okfail"
  | "percent"
  | "mbs"
  | "nspb";

/** A goal from the issue, judged on the ratio dnatsd/nats-server or on dnatsd alone. */
export interface Target {
  text: string;
  /** Returns undefined when it cannot be judged (a side is n/a). */
  met(dn: number, ref: number | undefined): boolean | undefined;
}

/** One row of the table. */
export interface FigureDef {
  id: string;
  label: string;
  format: Format;
  target?: Target;
  /**
   * How the rounds combine into the row's value: the median (default), or
   * the worst round, e.g. `max` for a lost-message count, `min` for a check.
   */
  combine?: "median" | "max" | "min";
  /**
   * The target must hold in every round (each round's dnatsd value against
   * the same round's nats-server value), not only for the medians.
   */
  everyRound?: boolean;
}

/** A measured value with an optional detail line, or the reason there is none. */
export type Measured = { value: number; note?: string } | { na: string };

/** All results of one figure: the combined value and each round's value per server. */
export interface FigureResult {
  def: FigureDef;
  ref: Measured | undefined;
  dn: Measured | undefined;
  refRounds?: Measured[];
  dnRounds?: Measured[];
}

/** dnatsd must reach at least `x` times nats-server. */
export function ratioAtLeast(x: number): Target {
  return {
    text: `>= ${x}x`,
    met: (dn, ref) => ref === undefined || ref === 0 ? undefined : dn / ref >= x,
  };
}

/** dnatsd may be at most `x` times nats-server (latencies, memory). */
export function ratioAtMost(x: number): Target {
  return {
    text: x === 1 ? "<= nats-server" : `<= ${x}x`,
    met: (dn, ref) => ref === undefined || ref === 0 ? undefined : dn / ref <= x,
  };
}

/**
 * dnatsd's own value must stay at or under `limit` (in the figure's unit);
 * `shown` is the limit as printed with `unit` (e.g. 30 MiB for 30,720 KiB).
 */
export function atMost(limit: number, unit: string, shown: number = limit): Target {
  return { text: `<= ${shown} ${unit}`, met: (dn) => dn <= limit };
}

/** dnatsd's own value must be exactly `v` (a lost-message count of 0). */
export function exactly(v: number, text: string): Target {
  return { text, met: (dn) => dn === v };
}

/** The exactly-once check must pass. */
export const MUST_BE_OK: Target = { text: "OK", met: (dn) => dn === 1 };

/** Formats a value for the table. */
export function formatValue(format: Format, v: number): string {
  switch (format) {
    case "rate":
      return v >= 1e6 ? `${(v / 1e6).toFixed(2)} M/s` : `${(v / 1e3).toFixed(1)} k/s`;
    case "us":
      // Stalls of many milliseconds read better in ms.
      return v >= 10_000 ? `${(v / 1000).toFixed(1)} ms` : `${v.toFixed(0)} µs`;
    case "ms":
      return `${v.toFixed(1)} ms`;
    case "kib":
      return `${v.toFixed(1)} KiB`;
    case "mib":
      return `${(v / 1024).toFixed(1)} MiB`;
    case "count":
      return Math.round(v).toLocaleString("en-US");
    case "percent":
      return `${v.toFixed(0)}%`;
    case "okfail":
      return v === 1 ? "OK" : "FAIL";
    case "mbs":
      return `${(v / 1e6).toFixed(1)} MB/s`;
    case "nspb":
      return `${v.toFixed(2)} ns/B`;
  }
}

function valueOf(m: Measured | undefined): number | undefined {
  return m === undefined || "na" in m ? undefined : m.value;
}

/**
 * Combines one server's rounds of a figure: the median (mean of the middle
 * two for an even count) or the worst round, with the note of the round
 * closest to that value and every round's value appended.
 */
export function combineRounds(def: FigureDef, rounds: Measured[]): Measured | undefined {
  if (rounds.length === 0) return undefined;
  if (rounds.length === 1) return rounds[0];
  const ok = rounds.filter((m): m is { value: number; note?: string } => !("na" in m));
  if (ok.length === 0) return rounds[0];
  const values = ok.map((m) => m.value).sort((a, b) => a - b);
  let value: number;
  switch (def.combine ?? "median") {
    case "max":
      value = values.at(-1)!;
      break;
    case "min":
      value = values[0]!;
      break;
    default: {
      const mid = values.length >> 1;
      value = values.length % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
    }
  }
  let closest = ok[0]!;
  for (const m of ok) {
    if (Math.abs(m.value - value) < Math.abs(closest.value - value)) closest = m;
  }
  const each = rounds.map((m) => "na" in m ? "n/a" : formatValue(def.format, m.value));
  const parts = [`rounds: ${each.join(" / ")}`];
  if (closest.note !== undefined) parts.unshift(closest.note);
  return { value, note: parts.join("; ") };
}

function cell(format: Format, m: Measured | undefined, skipped: string): string {
  if (m === undefined) return skipped;
  if (!("na" in m)) return formatValue(format, m.value);
  // The full reason was printed with the progress lines; keep the table narrow.
  const reason = m.na.length > 48 ? m.na.slice(0, 45) + "..." : m.na;
  return `n/a (${reason})`;
}

/** Ratio dnatsd/nats-server as text, or "-". */
export function ratioText(r: FigureResult): string {
  const dn = valueOf(r.dn);
  const ref = valueOf(r.ref);
  if (
    r.def.format === "okfail" || r.def.format === "count" || dn === undefined ||
    ref === undefined || ref === 0
  ) return "-";
  return `${(dn / ref).toFixed(2)}x`;
}

/** The verdict on the row's target: true, false, or undefined (no target, or n/a). */
export function verdict(r: FigureResult): boolean | undefined {
  const t = r.def.target;
  const dn = valueOf(r.dn);
  if (t === undefined || dn === undefined) return undefined;
  if (r.def.everyRound === true && r.dnRounds !== undefined && r.dnRounds.length > 1) {
    let all: boolean | undefined = true;
    r.dnRounds.forEach((m, i) => {
      const d = valueOf(m);
      const v = d === undefined ? undefined : t.met(d, valueOf(r.refRounds?.[i]));
      if (v === false) all = false;
      else if (v === undefined && all === true) all = undefined;
    });
    return all;
  }
  return t.met(dn, valueOf(r.ref));
}

/** The target as printed: "in every round" added where each round must meet it. */
export function targetText(def: FigureDef): string {
  if (def.target === undefined) return "";
  return def.everyRound === true ? `${def.target.text} every round` : def.target.text;
}

function verdictText(r: FigureResult): string {
  if (r.def.target === undefined) return "";
  const v = verdict(r);
  return v === undefined ? "?" : v ? "met" : "NOT MET";
}

/** Renders the final table (markdown, aligned). */
export function renderTable(results: FigureResult[], refSkipped: string): string {
  const rows = [["workload", "dnatsd", "nats-server", "ratio", "target", "met"]];
  for (const r of results) {
    rows.push([
      r.def.label,
      cell(r.def.format, r.dn, "skipped"),
      cell(r.def.format, r.ref, refSkipped),
      ratioText(r),
      targetText(r.def),
      verdictText(r),
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const line = (row: string[]) => `| ${row.map((v, c) => v.padEnd(widths[c]!)).join(" | ")} |`;
  const sep = `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`;
  return [line(rows[0]!), sep, ...rows.slice(1).map(line)].join("\n");
}

/** Plain data for `--json`: one object per row. */
export function toJson(results: FigureResult[]): unknown[] {
  return results.map((r) => ({
    id: r.def.id,
    label: r.def.label,
    format: r.def.format,
    dnatsd: r.dn ?? null,
    natsServer: r.ref ?? null,
    dnatsdRounds: r.dnRounds ?? null,
    natsServerRounds: r.refRounds ?? null,
    ratio: ratioText(r),
    target: r.def.target === undefined ? null : targetText(r.def),
    targetMet: verdict(r) ?? null,
  }));
}
