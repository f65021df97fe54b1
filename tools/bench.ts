/**
 * Side-by-side benchmark of dnatsd against the reference nats-server on this
 * machine: throughput, fan-out, queue groups (with an exactly-once check),
 * request/reply latency, idle-connection memory, wildcard subscriptions, a
 * two-node route, and latency while bcrypt logins are in progress.
 *
 * The load generator speaks the protocol over raw sockets from Workers (one
 * per publisher/subscriber), writes preformatted 128 KiB batches of PUBs and
 * counts MSGs by their size fields, so it outruns the servers it measures.
 *
 * Usage: `deno task bench [--quick] [--only pub,pubsub,...] [--no-reference]
 * [--dnatsd-cmd "<command>"] [--nats-server <path>] [--json <file>]`.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { twoNode } from "./bench/cluster.ts";
import { flowControl } from "./bench/flow_control.ts";
import { idleConnectionCount, idleConns } from "./bench/idle.ts";
import { bcryptStorm, cleanupAuthConfig, reqReply } from "./bench/latency.ts";
import {
  type FigureResult,
  formatValue,
  type Measured,
  ratioText,
  renderTable,
  toJson,
} from "./bench/report.ts";
import { type ServerSpec, stopAll } from "./bench/servers.ts";
import { fanOut, pubOnly, pubSub, queue, wildcard } from "./bench/throughput.ts";
import { type BenchContext, naFrom, type Workload } from "./bench/workload.ts";
import { wsPubSub } from "./bench/websocket.ts";

/** Every workload, in the order they run and print. */
export const WORKLOADS: Workload[] = [
  pubOnly,
  pubSub,
  fanOut,
  queue,
  reqReply,
  idleConns,
  wildcard,
  twoNode,
  flowControl,
  bcryptStorm,
  wsPubSub,
];

const USAGE = `Usage: deno task bench [options]
  --only <names>       comma-separated subset of: ${WORKLOADS.map((w) => w.name).join(", ")}
  --quick              small counts (smoke run)
  --no-reference       bench dnatsd only (skip nats-server)
  --dnatsd-cmd <cmd>   command that starts dnatsd (flags -a/-p/-c/--cluster are appended)
  --nats-server <path> reference server binary (default: nats-server on PATH)
  --json <file>        also write the results as JSON`;

/** Parsed command line. */
interface Cli {
  only: Workload[];
  quick: boolean;
  reference: boolean;
  dnatsdCmd: string[];
  natsServer: string;
  json: string | undefined;
}

function parseCli(argv: string[]): Cli {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: "string" },
      quick: { type: "boolean", default: false },
      "no-reference": { type: "boolean", default: false },
      "dnatsd-cmd": { type: "string" },
      "nats-server": { type: "string", default: "nats-server" },
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
  const mainTs = fileURLToPath(new URL("../main.ts", import.meta.url));
  const dnatsdCmd = values["dnatsd-cmd"] === undefined
    ? [Deno.execPath(), "run", "-A", "--no-check", mainTs]
    : values["dnatsd-cmd"].split(/\s+/).filter((s) => s !== "");
  if (dnatsdCmd.length === 0) throw new TypeError("--dnatsd-cmd is empty");
  return {
    only,
    quick: values.quick,
    reference: !values["no-reference"],
    dnatsdCmd,
    natsServer: values["nats-server"],
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

function printMeasured(
  kind: string,
  label: string,
  m: Measured,
  format: FigureResult["def"],
): void {
  const text = "na" in m ? `n/a (${m.na})` : formatValue(format.format, m.value);
  const note = "na" in m || m.note === undefined ? "" : `  [${m.note}]`;
  console.log(`  ${kind.padEnd(11)} ${label}: ${text}${note}`);
}

/** Runs the selected workloads and prints the table; returns the results. */
export async function main(argv: string[]): Promise<FigureResult[]> {
  const cli = parseCli(argv);
  const specs: ServerSpec[] = [];
  let refSkipped = "skipped (--no-reference)";
  if (cli.reference) {
    const version = await commandOutput(cli.natsServer, ["--version"]);
    if (version === undefined) {
      refSkipped = "skipped (not installed)";
      console.log(`nats-server not found at "${cli.natsServer}": its column is skipped`);
    } else {
      specs.push({ kind: "nats-server", cmd: [cli.natsServer] });
      console.log(`reference: ${version} (${cli.natsServer})`);
    }
  }
  specs.push({ kind: "dnatsd", cmd: cli.dnatsdCmd });
  const limit = await fdLimit();
  const ctx: BenchContext = { quick: cli.quick, fdLimit: limit, log: (l) => console.log(l) };
  console.log(`dnatsd: ${cli.dnatsdCmd.join(" ")}`);
  console.log(
    `machine: ${navigator.hardwareConcurrency} CPUs, Deno ${Deno.version.deno}, ulimit -n ${limit}` +
      (idleConnectionCount(ctx) < (cli.quick ? 500 : 5000)
        ? ` (too low for 5,000 idle conns: ${idleConnectionCount(ctx)} used)`
        : ""),
  );
  console.log(
    "setup: each server runs alone, on 127.0.0.1, restarted per workload; the load generator " +
      "is this process with one Worker thread per publisher/subscriber (raw sockets, 128 KiB " +
      "PUB batches, MSGs counted by size field), sharing the CPUs with the server" +
      (cli.quick ? "; --quick counts" : ""),
  );
  const results: FigureResult[] = [];
  for (const w of cli.only) {
    console.log(`\n== ${w.name}`);
    const byKind = new Map<string, Map<string, Measured>>();
    for (const spec of specs) {
      let measured: Map<string, Measured>;
      try {
        measured = await w.run(spec, ctx);
      } catch (e) {
        const na = naFrom(e);
        measured = new Map(w.figures.map((f) => [f.id, na]));
      }
      byKind.set(spec.kind, measured);
      for (const f of w.figures) {
        printMeasured(spec.kind, f.label, measured.get(f.id) ?? { na: "not measured" }, f);
      }
    }
    for (const def of w.figures) {
      const r: FigureResult = {
        def,
        ref: byKind.get("nats-server")?.get(def.id),
        dn: byKind.get("dnatsd")?.get(def.id) ?? { na: "not measured" },
      };
      results.push(r);
      if (r.ref !== undefined && ratioText(r) !== "-") {
        console.log(`  ${"ratio".padEnd(11)} ${def.label}: ${ratioText(r)} (dnatsd/nats-server)`);
      }
    }
  }
  console.log("\n" + renderTable(results, refSkipped));
  if (cli.json !== undefined) {
    await Deno.writeTextFile(cli.json, JSON.stringify(toJson(results), null, 2) + "\n");
    console.log(`\nresults written to ${cli.json}`);
  }
  return results;
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
    Deno.removeSignalListener("SIGINT", onInt);
    Deno.removeSignalListener("SIGTERM", onInt);
  }
}
