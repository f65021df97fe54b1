/**
 * Side-by-side benchmark of dnatsd against the reference nats-server on this
 * machine, for the rows of the performance issue: plain and TLS throughput,
 * fan-out, queue groups (with an exactly-once check), request/reply latency
 * (plain, TLS, and a bystander's under a TLS flood), wildcard subscriptions,
 * idle and peak memory, two-node routes with 1 KB messages and a lost count,
 * flow control, and latency while bcrypt logins are in progress.
 *
 * Each round runs every selected workload once on each server (the order of
 * the servers alternates between rounds); the table shows the median of the
 * rounds, the ratio dnatsd/nats-server, the target and whether it is met.
 *
 * The load generator speaks the protocol over raw sockets from Workers (one
 * per publisher/subscriber), writes preformatted 128 KiB batches of PUBs and
 * counts MSGs by their size fields; its CPU use is sampled per workload and
 * printed, so a figure limited by the generator shows. docs/benchmarks.md
 * describes every workload.
 *
 * Usage: `deno task bench [--rounds N] [--only pub,pubsub,...] [--quick] [--smoke]
 * [--no-reference] [--dnatsd-cmd "<command>"] [--nats-server <path>] [--json <file>]`.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { twoNode, twoNode1k } from "./bench/cluster.ts";
import { cpuLine, CpuMeter, type CpuReport, pctText } from "./bench/cpu.ts";
import { flowControl } from "./bench/flow_control.ts";
import { idleConnectionCount, idleConns } from "./bench/idle.ts";
import { jetStream } from "./bench/jetstream.ts";
import { leafPubSub } from "./bench/leaf.ts";
import { byCeiling, tlsLatencyCeiling } from "./bench/by_ceiling.ts";
import {
  bcryptStorm,
  cleanupAuthConfig,
  latencyCeiling,
  reqReply,
  rrCeiling,
} from "./bench/latency.ts";
import {
  combineRounds,
  type FigureDef,
  type FigureResult,
  formatValue,
  type Measured,
  ratioText,
  renderTable,
  toJson,
} from "./bench/report.ts";
import { workerCpuLog } from "./bench/load_pool.ts";
import { launched, type ServerSpec, stopAll } from "./bench/servers.ts";
import { fanOut, pubOnly, pubSub, queue, relay, subCeiling, wildcard } from "./bench/throughput.ts";
import { cleanupGoSink, tlsCeiling } from "./bench/tls_ceiling.ts";
import { tlsRelay } from "./bench/tls_relay.ts";
import {
  bystander,
  cleanupTlsConfig,
  tlsFanOut,
  tlsPub,
  tlsPubSub,
  tlsReqReply,
} from "./bench/tls.ts";
import { type BenchContext, naFrom, type Workload } from "./bench/workload.ts";
import { wsPubSub } from "./bench/websocket.ts";

/** Every workload, in the order they run and print. Add a new one with one line here. */
export const WORKLOADS: Workload[] = [
  tlsPub,
  tlsPubSub,
  tlsFanOut,
  tlsReqReply,
  tlsLatencyCeiling,
  reqReply,
  latencyCeiling,
  rrCeiling,
  wildcard,
  subCeiling,
  pubSub,
  fanOut,
  relay,
  idleConns,
  flowControl,
  bystander,
  byCeiling,
  twoNode1k,
  pubOnly,
  queue,
  twoNode,
  leafPubSub,
  bcryptStorm,
  wsPubSub,
  tlsCeiling,
  tlsRelay,
  jetStream,
];

/** Debian's nats-server, the reference, when it is installed there. */
const DEBIAN_NATS_SERVER = "/usr/sbin/nats-server";

const USAGE = `Usage: deno task bench [options]
  --only <names>       comma-separated subset of: ${WORKLOADS.map((w) => w.name).join(", ")}
  --rounds <n>         interleaved rounds per server; the table shows medians (default 3)
  --quick              small counts (a short run, not for the record)
  --smoke              tiny counts and 1 round: checks that every workload works
  --no-reference       bench dnatsd only (skip nats-server)
  --dnatsd-cmd <cmd>   command that starts dnatsd (flags -a/-p/-c/--cluster are appended)
  --nats-server <path> reference server binary (default: ${DEBIAN_NATS_SERVER} if present,
                       else nats-server on PATH)
  --json <file>        also write the results (rows, every round, CPU, the table) as JSON`;

/** Parsed command line. */
interface Cli {
  only: Workload[];
  rounds: number;
  quick: boolean;
  smoke: boolean;
  reference: boolean;
  dnatsdCmd: string[];
  natsServer: string;
  json: string | undefined;
}

function defaultNatsServer(): string {
  try {
    Deno.statSync(DEBIAN_NATS_SERVER);
    return DEBIAN_NATS_SERVER;
  } catch {
    return "nats-server";
  }
}

/** Parses the command line (exported for the tests). */
export function parseCli(argv: string[]): Cli {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: "string" },
      rounds: { type: "string" },
      quick: { type: "boolean", default: false },
      smoke: { type: "boolean", default: false },
      "no-reference": { type: "boolean", default: false },
      "dnatsd-cmd": { type: "string" },
      "nats-server": { type: "string" },
      json: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  let only = WORKLOADS;
  if (values.only !== undefined) {
    const names = values.only.split(",").map((s) => s.trim()).filter((s) => s !== "");
    const unknown = names.filter((name) => !WORKLOADS.some((w) => w.name === name));
    if (unknown.length > 0) throw new TypeError(`Unknown workload: ${unknown.join(", ")}`);
    only = WORKLOADS.filter((w) => names.includes(w.name));
  }
  const rounds = values.rounds === undefined ? (values.smoke ? 1 : 3) : Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) {
    throw new TypeError(`--rounds must be a positive integer, not "${values.rounds}"`);
  }
  const mainTs = fileURLToPath(new URL("../main.ts", import.meta.url));
  const dnatsdCmd = values["dnatsd-cmd"] === undefined
    ? [Deno.execPath(), "run", "-A", "--no-check", mainTs]
    : values["dnatsd-cmd"].split(/\s+/).filter((s) => s !== "");
  if (dnatsdCmd.length === 0) throw new TypeError("--dnatsd-cmd is empty");
  return {
    only,
    rounds,
    quick: values.quick || values.smoke,
    smoke: values.smoke,
    reference: !values["no-reference"],
    dnatsdCmd,
    natsServer: values["nats-server"] ?? defaultNatsServer(),
    json: values.json,
  };
}

/** Output of a short command, or undefined when it cannot run. */
async function commandOutput(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    if (!out.success) return undefined;
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return text.trim();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied) {
      return undefined;
    }
    throw e;
  }
}

/** The open-file limit children and this process share (`ulimit -n`). */
async function fdLimit(): Promise<number> {
  const out = await commandOutput("sh", ["-c", "ulimit -n"]);
  if (out === undefined || out === "unlimited") return 1 << 20;
  return Number(out) || 1024;
}

function printMeasured(kind: string, label: string, m: Measured, def: FigureDef): void {
  const text = "na" in m ? `n/a (${m.na})` : formatValue(def.format, m.value);
  const note = "na" in m || m.note === undefined ? "" : `  [${m.note}]`;
  console.log(`  ${kind.padEnd(11)} ${label}: ${text}${note}`);
}

/** The peak-RSS row the runner adds to a workload, if any. */
export function peakFigure(w: Workload): FigureDef | undefined {
  if (w.peak === false) return undefined;
  return {
    id: `${w.name}.peak`,
    label: w.peak?.label ?? `peak RSS: ${w.name}`,
    format: "mib",
    ...(w.peak?.target === undefined ? {} : { target: w.peak.target }),
  };
}

/** Largest VmHWM of the servers started since index `from` of the launch log. */
async function peakSince(from: number): Promise<Measured> {
  const peaks: number[] = [];
  for (const s of launched.slice(from)) {
    const p = await s.peakRssKiB();
    if (p !== undefined) peaks.push(p);
  }
  if (peaks.length === 0) return { na: "no server started" };
  const note = peaks.length === 1 ? "VmHWM" : `largest VmHWM of ${peaks.length} server processes`;
  return { value: Math.max(...peaks), note };
}

/** One workload on one server: its figures, peak RSS and CPU. */
async function runOnce(
  w: Workload,
  spec: ServerSpec,
  ctx: BenchContext,
): Promise<{ measured: Map<string, Measured>; cpu: CpuReport }> {
  const from = launched.length;
  const workersFrom = workerCpuLog.length;
  const meter = new CpuMeter(() => launched.slice(from));
  let measured: Map<string, Measured>;
  try {
    measured = await w.run(spec, ctx);
  } catch (e) {
    const na = naFrom(e);
    measured = new Map(w.figures.map((f) => [f.id, na]));
  } finally {
    // A workload that threw may have left servers running.
    await stopAll();
  }
  const cpu = meter.stop(workerCpuLog.slice(workersFrom));
  const peak = peakFigure(w);
  if (peak !== undefined) measured.set(peak.id, await peakSince(from));
  return { measured, cpu };
}

/** CPU of one workload on one server, medians over the rounds. */
export interface CpuRow {
  workload: string;
  server: string;
  rounds: CpuReport[];
  median: CpuReport;
}

function medianOf(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function medianCpu(rounds: CpuReport[]): CpuReport {
  const pick = (k: Exclude<keyof CpuReport, "workerPeakLabel">) =>
    medianOf(rounds.map((r) => r[k]));
  // The busiest Worker: the worst round, so that a saturated generator cannot hide.
  const worst = rounds.reduce(
    (a, b) => (Number.isFinite(b.workerPeak) && !(b.workerPeak <= a.workerPeak) ? b : a),
    rounds[0]!,
  );
  return {
    workerPeak: worst.workerPeak,
    workerPeakLabel: worst.workerPeakLabel,
    seconds: pick("seconds"),
    genAvg: pick("genAvg"),
    genPeak: pick("genPeak"),
    genThreadPeak: pick("genThreadPeak"),
    serverAvg: pick("serverAvg"),
    serverPeak: pick("serverPeak"),
  };
}

/** The CPU table: one row per workload and server. */
export function renderCpuTable(rows: CpuRow[]): string {
  const p = pctText;
  const table = [[
    "workload",
    "server",
    "busiest load Worker",
    "generator avg",
    "generator peak",
    "busiest generator thread",
    "server avg",
    "server peak",
  ]];
  for (const r of rows) {
    const m = r.median;
    table.push([
      r.workload,
      r.server,
      Number.isFinite(m.workerPeak) ? `${p(m.workerPeak)} (${m.workerPeakLabel})` : "-",
      p(m.genAvg),
      p(m.genPeak),
      p(m.genThreadPeak),
      p(m.serverAvg),
      p(m.serverPeak),
    ]);
  }
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  const line = (row: string[]) => `| ${row.map((v, c) => v.padEnd(widths[c]!)).join(" | ")} |`;
  const sep = `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`;
  return [line(table[0]!), sep, ...table.slice(1).map(line)].join("\n");
}

/** What one bench run produced. */
export interface BenchOutput {
  results: FigureResult[];
  cpu: CpuRow[];
  table: string;
}

/** Runs the selected workloads for every round and prints the tables. */
export async function main(argv: string[]): Promise<BenchOutput> {
  const cli = parseCli(argv);
  const specs: ServerSpec[] = [];
  let refSkipped = "skipped (--no-reference)";
  let refVersion: string | undefined;
  if (cli.reference) {
    refVersion = await commandOutput(cli.natsServer, ["--version"]);
    if (refVersion === undefined) {
      refSkipped = "skipped (not installed)";
      console.log(`nats-server not found at "${cli.natsServer}": its column is skipped`);
    } else {
      specs.push({ kind: "nats-server", cmd: [cli.natsServer] });
      console.log(`reference: ${refVersion} (${cli.natsServer})`);
    }
  }
  specs.push({ kind: "dnatsd", cmd: cli.dnatsdCmd });
  const limit = await fdLimit();
  const ctx: BenchContext = {
    quick: cli.quick,
    smoke: cli.smoke,
    fdLimit: limit,
    log: (l) => console.log(l),
  };
  console.log(`dnatsd: ${cli.dnatsdCmd.join(" ")}`);
  const machine =
    `${navigator.hardwareConcurrency} CPUs, Deno ${Deno.version.deno}, ulimit -n ${limit}`;
  console.log(
    `machine: ${machine}` +
      (idleConnectionCount(ctx) < (cli.quick ? 150 : 5000)
        ? ` (too low for 5,000 idle conns: ${idleConnectionCount(ctx)} used)`
        : ""),
  );
  const setup = "each server runs alone on 127.0.0.1, restarted per workload; " +
    `${cli.rounds} round(s), server order alternating, medians shown; the load generator is ` +
    "this process with one Worker thread per publisher/subscriber (raw sockets, 128 KiB PUB " +
    "batches, MSGs counted by size field), sharing the CPUs with the server; its CPU is " +
    "sampled from /proc per workload (see the CPU table)" +
    (cli.smoke ? "; --smoke counts" : cli.quick ? "; --quick counts" : "");
  console.log(`setup: ${setup}`);

  // rounds[workload][kind] = one Map per round
  const measured = new Map<string, Map<string, Map<string, Measured>[]>>();
  const cpu = new Map<string, Map<string, CpuReport[]>>();
  for (const w of cli.only) {
    measured.set(w.name, new Map(specs.map((s) => [s.kind, []])));
    cpu.set(w.name, new Map(specs.map((s) => [s.kind, []])));
  }
  for (let round = 0; round < cli.rounds; round++) {
    const order = round % 2 === 0 ? specs : [...specs].reverse();
    for (const w of cli.only) {
      console.log(`\n== ${w.name} (round ${round + 1}/${cli.rounds})`);
      const figures = [...w.figures, ...(peakFigure(w) === undefined ? [] : [peakFigure(w)!])];
      for (const spec of order) {
        const once = await runOnce(w, spec, ctx);
        measured.get(w.name)!.get(spec.kind)!.push(once.measured);
        cpu.get(w.name)!.get(spec.kind)!.push(once.cpu);
        for (const f of figures) {
          printMeasured(spec.kind, f.label, once.measured.get(f.id) ?? { na: "not measured" }, f);
        }
        console.log(`  ${spec.kind.padEnd(11)} ${cpuLine(once.cpu)}`);
      }
    }
  }

  const main: FigureResult[] = [];
  const peaks: FigureResult[] = [];
  const cpuRows: CpuRow[] = [];
  for (const w of cli.only) {
    const peak = peakFigure(w);
    const defs = [...w.figures, ...(peak === undefined ? [] : [peak])];
    const byKind = measured.get(w.name)!;
    for (const def of defs) {
      const roundsOf = (kind: string) =>
        byKind.get(kind)?.map((m) => m.get(def.id) ?? { na: "not measured" });
      const refRounds = roundsOf("nats-server");
      const dnRounds = roundsOf("dnatsd") ?? [];
      const r: FigureResult = {
        def,
        ref: refRounds === undefined ? undefined : combineRounds(def, refRounds),
        dn: combineRounds(def, dnRounds) ?? { na: "not measured" },
        dnRounds,
        ...(refRounds === undefined ? {} : { refRounds }),
      };
      // Peak rows without a target of their own go together at the end.
      (def === peak && def.target === undefined ? peaks : main).push(r);
    }
    for (const spec of specs) {
      const rounds = cpu.get(w.name)!.get(spec.kind)!;
      cpuRows.push({ workload: w.name, server: spec.kind, rounds, median: medianCpu(rounds) });
    }
  }
  const results = [...main, ...peaks];
  if (cli.rounds > 1) {
    console.log(`\n== medians of ${cli.rounds} rounds`);
    for (const r of results) {
      if (r.ref !== undefined && ratioText(r) !== "-") {
        console.log(`  ${r.def.label}: ${ratioText(r)} (dnatsd/nats-server)`);
      }
    }
  }
  const table = renderTable(results, refSkipped);
  const cpuTable = renderCpuTable(cpuRows);
  console.log("\n" + table);
  console.log(
    "\nCPU per workload, % of one core. Busiest load Worker: its own thread's CPU while it " +
      "published or received (worst round); generator and server: whole processes, medians " +
      "of rounds, peaks over 500 ms windows. A figure is not limited by the generator when " +
      "no load Worker is near 100% (each is one thread) and nats-server reaches a higher " +
      "figure with the same generator:\n" + cpuTable,
  );
  if (cli.json !== undefined) {
    const json = {
      date: new Date().toISOString(),
      rounds: cli.rounds,
      counts: cli.smoke ? "smoke" : cli.quick ? "quick" : "full",
      machine,
      setup,
      dnatsd: cli.dnatsdCmd.join(" "),
      natsServer: refVersion ?? null,
      rows: toJson(results),
      cpu: cpuRows,
      table,
      cpuTable,
    };
    await Deno.writeTextFile(cli.json, JSON.stringify(json, null, 2) + "\n");
    console.log(`\nresults written to ${cli.json}`);
  }
  return { results, cpu: cpuRows, table };
}

if (import.meta.main) {
  // Ctrl-C, or a test's timeout (SIGTERM), must not leave servers behind.
  const onInt = () => {
    stopAll().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onInt);
  try {
    await main(Deno.args);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    Deno.exitCode = 1;
  } finally {
    await stopAll();
    await cleanupAuthConfig();
    await cleanupTlsConfig();
    await cleanupGoSink();
    Deno.removeSignalListener("SIGINT", onInt);
    Deno.removeSignalListener("SIGTERM", onInt);
  }
}
