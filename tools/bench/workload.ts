/**
 * The shape every workload has, and helpers they share.
 *
 * @module
 */
import type { FlowResult } from "./flows.ts";
import type { FigureDef, Measured, Target } from "./report.ts";
import { launch, type LaunchOptions, type RunningServer, type ServerSpec } from "./servers.ts";

/** Settings shared by every workload of one bench run. */
export interface BenchContext {
  /** Smaller counts for a smoke run. */
  quick: boolean;
  /** Tiny counts (implies `quick`): only checks that each workload works (the bench's tests). */
  smoke: boolean;
  /** Open-file limit of the bench process (the idle-connection workload needs one fd per conn). */
  fdLimit: number;
  /** Prints one progress line. */
  log: (line: string) => void;
}

/** A named workload producing one or more figures per server. */
export interface Workload {
  /** Name used with `--only`. */
  name: string;
  figures: FigureDef[];
  /** Measures `spec`; figures it cannot measure map to `{ na }`. */
  run(spec: ServerSpec, ctx: BenchContext): Promise<Map<string, Measured>>;
  /**
   * The runner adds a row with the peak RSS (VmHWM) of the servers this
   * workload started: the largest of them. This names that row and gives it
   * a target; `false` leaves the row out.
   */
  peak?: { label?: string; target?: Target } | false;
}

/** The count for this run's scale: full, `--quick`, or `--smoke` (defaults to quick). */
export function scaled(ctx: BenchContext, full: number, quick: number, smoke?: number): number {
  if (ctx.smoke) return smoke ?? quick;
  return ctx.quick ? quick : full;
}

/** Starts a server, runs `fn`, always stops it. */
export async function withServer<T>(
  spec: ServerSpec,
  opts: LaunchOptions,
  fn: (server: RunningServer) => Promise<T>,
): Promise<T> {
  const server = await launch(spec, opts);
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

/** Publish time bound of one run. */
export function maxPublishMs(ctx: BenchContext): number {
  return ctx.smoke ? 1000 : ctx.quick ? 3000 : 5000;
}

/** `1234567` -> `1,234,567`. */
export function n(v: number): string {
  return Math.round(v).toLocaleString("en-US");
}

/** A detail line for a flow: counts, time, loss and server-side problems. */
export function flowNote(r: FlowResult): string {
  const parts = [`${n(r.sent)} sent`];
  if (r.expected > 0) {
    parts.push(`${n(r.delivered)}/${n(r.expected)} delivered in ${r.seconds.toFixed(2)} s`);
    if (r.delivered < r.expected) {
      // Stalled: nothing arrived for a while when the count was taken (late or lost).
      const why = r.drainEnd === "complete" ? "" : ` (wait ended: ${r.drainEnd})`;
      parts.push(`LOST ${n(r.expected - r.delivered)}${why}`);
    }
  } else {
    parts.push(`in ${r.pubSeconds.toFixed(2)} s (to PONG)`);
  }
  parts.push(...r.problems);
  return parts.join(", ");
}

/** A flow's delivery rate as a figure. */
export function deliveryFigure(r: FlowResult): Measured {
  return { value: r.deliveryRate, note: flowNote(r) };
}

/** An error as a short n/a reason. */
export function naFrom(e: unknown): Measured {
  const text = e instanceof Error ? e.message : String(e);
  return { na: text.length > 160 ? text.slice(0, 157) + "..." : text };
}
