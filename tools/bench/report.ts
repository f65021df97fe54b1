/**
 * Figures, targets and the final side-by-side table.
 *
 * @module
 */

/** How a figure's value prints. */
export type Format = "rate" | "us" | "ms" | "kib" | "okfail";

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
}

/** A measured value with an optional detail line, or the reason there is none. */
export type Measured = { value: number; note?: string } | { na: string };

/** All results of one figure. */
export interface FigureResult {
  def: FigureDef;
  ref: Measured | undefined;
  dn: Measured | undefined;
}

/** dnatsd must reach at least `x` times nats-server. */
export function ratioAtLeast(x: number): Target {
  return {
    text: `>= ${x}x`,
    met: (dn, ref) => ref === undefined || ref === 0 ? undefined : dn / ref >= x,
  };
}

/** dnatsd may be at most `x` times nats-server (latencies). */
export function ratioAtMost(x: number): Target {
  return {
    text: `<= ${x}x`,
    met: (dn, ref) => ref === undefined || ref === 0 ? undefined : dn / ref <= x,
  };
}

/** dnatsd's own value must stay at or under `limit`. */
export function atMost(limit: number, unit: string): Target {
  return { text: `<= ${limit} ${unit}`, met: (dn) => dn <= limit };
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
    case "okfail":
      return v === 1 ? "OK" : "FAIL";
  }
}

function cell(format: Format, m: Measured | undefined, skipped: string): string {
  if (m === undefined) return skipped;
  if (!("na" in m)) return formatValue(format, m.value);
  // The full reason was printed with the progress lines; keep the table narrow.
  const reason = m.na.length > 48 ? m.na.slice(0, 45) + "..." : m.na;
  return `n/a (${reason})`;
}

function valueOf(m: Measured | undefined): number | undefined {
  return m === undefined || "na" in m ? undefined : m.value;
}

/** Ratio dnatsd/nats-server as text, or "-". */
export function ratioText(r: FigureResult): string {
  const dn = valueOf(r.dn);
  const ref = valueOf(r.ref);
  if (r.def.format === "okfail" || dn === undefined || ref === undefined || ref === 0) return "-";
  return `${(dn / ref).toFixed(2)}x`;
}

function targetText(r: FigureResult): string {
  const t = r.def.target;
  if (t === undefined) return "";
  const dn = valueOf(r.dn);
  const verdict = dn === undefined ? undefined : t.met(dn, valueOf(r.ref));
  return `${t.text}${verdict === undefined ? "" : verdict ? " met" : " MISSED"}`;
}

/** Renders the final table (markdown-like, aligned). */
export function renderTable(results: FigureResult[], refSkipped: string): string {
  const rows = [["workload", "nats-server", "dnatsd", "ratio", "target"]];
  for (const r of results) {
    rows.push([
      r.def.label,
      cell(r.def.format, r.ref, refSkipped),
      cell(r.def.format, r.dn, "skipped"),
      ratioText(r),
      targetText(r),
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const line = (row: string[]) => `| ${row.map((v, c) => v.padEnd(widths[c]!)).join(" | ")} |`;
  const sep = `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`;
  return [line(rows[0]!), sep, ...rows.slice(1).map(line)].join("\n");
}

/** Plain data for `--json`. */
export function toJson(results: FigureResult[]): unknown[] {
  return results.map((r) => ({
    id: r.def.id,
    label: r.def.label,
    format: r.def.format,
    natsServer: r.ref ?? null,
    dnatsd: r.dn ?? null,
    ratio: ratioText(r),
    target: r.def.target?.text ?? null,
    targetMet: (() => {
      const dn = valueOf(r.dn);
      return dn === undefined || r.def.target === undefined
        ? null
        : r.def.target.met(dn, valueOf(r.ref)) ?? null;
    })(),
  }));
}
