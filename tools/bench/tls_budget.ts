/**
 * The whole machine's CPU budget of the TLS rows: for `tlspub`, `tlspubsub`
 * and `tlsfanout` (the same flows, 128 B), and the same flows on plain TCP,
 * each server's CPU (every thread, and its busiest thread), the load
 * generator's CPU (this process: the publisher and subscriber Workers, which
 * do the clients' TLS), and the wall time, all over the same window: from the
 * moment every client is connected and the publisher is told to go, to the
 * last delivery. CPU is read from `/proc/<pid>/task/<tid>/schedstat`
 * (nanoseconds on the CPU), so short flows are measured exactly.
 *
 * From that it bounds the wall time of a dnatsd that spread its work over
 * both cores perfectly: at least (server + generator CPU) / cores, and at
 * least the CPU its parsing thread needs alone (dnatsd's CPU for the same flow
 * on plain TCP). That bound, against nats-server's wall time / 1.2, says
 * whether any threading of TLS could meet issue 14's 1.2x on this machine.
 * Both servers also run each flow on plain TCP, for reference; dnatsd's plain
 * wall time is what TLS at no cost would give with today's plain path.
 * See docs/performance.md ("TLS off the main thread: the machine's budget").
 *
 * With `--relay` it also measures tools/bench/tls_relay_server.ts (the
 * `tlsrelay` ceiling: no parsing, TLS in a Worker and `--direct` on one
 * thread) on the TLS pub/sub and fan-out flows, as `relay-worker` and
 * `relay-direct`.
 *
 * Usage: `deno run -A tools/bench/tls_budget.ts [--rounds N] [--flows pub,pubsub,fanout]
 * [--count N] [--relay] [--json]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { runFlow } from "./flows.ts";
import type { SubSpec } from "./tasks.ts";
import { launch, type ServerSpec, stopAll } from "./servers.ts";
import { cleanupTlsConfig, tlsSetup } from "./tls.ts";
import { threadSchedstat } from "./proc_probe.ts";

const FLOWS: Record<string, { subs: SubSpec[][]; count: number }> = {
  pub: { subs: [], count: 3_000_000 },
  pubsub: { subs: [[{ subject: "bench.b" }]], count: 3_000_000 },
  fanout: { subs: Array.from({ length: 4 }, () => [{ subject: "bench.b" }]), count: 1_000_000 },
};

/** CPU time (ns) per thread of a process, from schedstat. */
function threadNs(pid: number | "self"): Map<string, number> {
  return new Map([...threadSchedstat(pid)].map(([tid, [cpu]]) => [tid, cpu]));
}

/** Whole-process and busiest-thread CPU between two snapshots, in seconds. */
function delta(a: Map<string, number>, b: Map<string, number>): { total: number; busiest: number } {
  let total = 0;
  let busiest = 0;
  for (const [tid, ns] of b) {
    const d = ns - (a.get(tid) ?? 0);
    total += d;
    busiest = Math.max(busiest, d);
  }
  return { total: total / 1e9, busiest: busiest / 1e9 };
}

/** One flow on one server, TLS or plain. */
export interface BudgetRun {
  server: string;
  flow: string;
  tls: boolean;
  sent: number;
  delivered: number;
  /** Wall time of the window (go to last delivery), s. */
  wall: number;
  /** The flow's own rate figure (as the bench reports it): msgs/s or deliveries/s. */
  rate: number;
  serverCpu: number;
  serverThread: number;
  genCpu: number;
  genThread: number;
  load: number;
}

/** A server to measure: its spec, the name its runs carry, and whether it is a relay. */
interface Subject {
  spec: ServerSpec;
  name: string;
  /** tools/bench/tls_relay_server.ts: TLS only, the publisher writes ready-made MSG frames. */
  relay?: boolean;
}

async function measure(
  subject: Subject,
  flow: string,
  tls: boolean,
  count: number,
): Promise<BudgetRun> {
  const setup = await tlsSetup();
  const server = await launch(subject.spec, tls && !subject.relay ? setup.launch : {});
  try {
    const { subs } = FLOWS[flow]!;
    let s0 = new Map<string, number>();
    let g0 = new Map<string, number>();
    let s1 = new Map<string, number>();
    let g1 = new Map<string, number>();
    let t0 = 0;
    let t1 = 0;
    const r = await runFlow({
      pubPort: server.port,
      subPort: server.port,
      ...(tls ? { tls: setup.tls } : {}),
      ...(subject.relay ? { pubVerb: "MSG" as const } : {}),
      pubSubjects: ["bench.b"],
      payloadSize: 128,
      count,
      maxMs: 30_000,
      subscribers: subs,
      expectedDeliveries: (sent) => sent * subs.length,
      onGo: () => {
        s0 = threadNs(server.pid);
        g0 = threadNs("self");
        t0 = performance.now();
      },
      onDrained: () => {
        t1 = performance.now();
        s1 = threadNs(server.pid);
        g1 = threadNs("self");
      },
    });
    const s = delta(s0, s1);
    const g = delta(g0, g1);
    return {
      server: subject.name,
      flow,
      tls,
      sent: r.sent,
      delivered: r.delivered,
      wall: (t1 - t0) / 1000,
      rate: subs.length === 0 ? r.pubRate : r.deliveryRate,
      serverCpu: s.total,
      serverThread: s.busiest,
      genCpu: g.total,
      genThread: g.busiest,
      load: Deno.loadavg()[0]!,
    };
  } finally {
    await server.stop();
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The verdict of one flow from its runs: see the module comment. */
export interface Budget {
  flow: string;
  natsWall: number;
  /** nats-server's wall / 1.2: what dnatsd must reach. */
  needed: number;
  dnatsdWall: number;
  /** (dnatsd + generator CPU) / cores. */
  spreadBound: number;
  /** dnatsd's CPU for the same flow on plain TCP (the parsing thread's floor). */
  parseBound: number;
  /** max of the two bounds. */
  best: number;
  /**
   * dnatsd's wall time for the same flow on plain TCP: TLS at no cost at all,
   * with today's plain path (which may not keep its thread busy).
   */
  plainWall: number;
  /** nats-server's wall over `best`: the ratio a perfectly threaded dnatsd could reach at most. */
  bestRatio: number;
}

/** Medians per server and flow, then the bound. */
export function budget(runs: BudgetRun[], flow: string, cores: number): Budget | undefined {
  const pick = (server: string, tls: boolean, k: keyof BudgetRun) =>
    median(
      runs.filter((r) => r.flow === flow && r.server === server && r.tls === tls).map((r) =>
        Number(r[k])
      ),
    );
  const natsWall = pick("nats-server", true, "wall");
  const dnatsdWall = pick("dnatsd", true, "wall");
  if (!Number.isFinite(natsWall) || !Number.isFinite(dnatsdWall)) return undefined;
  const spreadBound = (pick("dnatsd", true, "serverCpu") + pick("dnatsd", true, "genCpu")) / cores;
  const parseBound = pick("dnatsd", false, "serverThread");
  const best = Math.max(spreadBound, Number.isFinite(parseBound) ? parseBound : 0);
  return {
    flow,
    natsWall,
    needed: natsWall / 1.2,
    dnatsdWall,
    spreadBound,
    parseBound,
    best,
    bestRatio: natsWall / best,
    plainWall: pick("dnatsd", false, "wall"),
  };
}

if (import.meta.main) {
  const { values: args } = parseArgs({
    args: Deno.args,
    options: {
      rounds: { type: "string" },
      relay: { type: "boolean", default: false },
      flows: { type: "string" },
      count: { type: "string" },
      "nats-server": { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  const rounds = Number(args.rounds ?? 2);
  const flows = (args.flows ?? "pub,pubsub,fanout").split(",");
  const main = fileURLToPath(new URL("../../main.ts", import.meta.url));
  const deno = (file: string, ...more: string[]) => [
    Deno.execPath(),
    "run",
    "-A",
    "--no-check",
    file,
    ...more,
  ];
  const specs: Subject[] = [
    { spec: { kind: "dnatsd", cmd: deno(main) }, name: "dnatsd" },
    {
      spec: { kind: "nats-server", cmd: [args["nats-server"] ?? "/usr/sbin/nats-server"] },
      name: "nats-server",
    },
  ];
  if (args.relay) {
    const relay = fileURLToPath(new URL("./tls_relay_server.ts", import.meta.url));
    specs.push(
      { spec: { kind: "dnatsd", cmd: deno(relay) }, name: "relay-worker", relay: true },
      { spec: { kind: "dnatsd", cmd: deno(relay, "--direct") }, name: "relay-direct", relay: true },
    );
  }
  const cores = navigator.hardwareConcurrency;
  const runs: BudgetRun[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      for (const flow of flows) {
        const count = args.count === undefined ? FLOWS[flow]!.count : Number(args.count);
        // Alternate which server goes first, so that neither always meets the same load.
        const order = round % 2 === 0 ? specs : [...specs].reverse();
        for (const subject of order) {
          for (const tls of [true, false]) {
            // The relays serve TLS only, and publish-only has nothing to relay.
            if (subject.relay && (!tls || flow === "pub")) continue;
            const r = await measure(subject, flow, tls, count);
            runs.push(r);
            const f = (x: number) => x.toFixed(3);
            console.error(
              `${r.server} ${tls ? "tls" : "plain"} ${flow}: wall ${f(r.wall)} s, server ` +
                `${f(r.serverCpu)} s (thread ${f(r.serverThread)}), generator ${f(r.genCpu)} s ` +
                `(thread ${f(r.genThread)}), ${(r.rate / 1e6).toFixed(2)} M/s, load ${
                  r.load.toFixed(1)
                }`,
            );
          }
        }
      }
    }
  } finally {
    await stopAll();
    await cleanupTlsConfig();
  }
  const budgets = flows.map((f) => budget(runs, f, cores)).filter((b) => b !== undefined);
  if (args.json) {
    console.log(JSON.stringify({ cores, runs, budgets }));
  } else {
    const f = (x: number) => x.toFixed(3);
    console.log(
      "| flow | nats-server wall | needed (/1.2) | dnatsd wall | (server+gen CPU)/cores | " +
        "plain parse thread | best possible | best ratio | dnatsd plain wall |",
    );
    console.log("|---|---|---|---|---|---|---|---|---|");
    for (const b of budgets) {
      console.log(
        `| ${b.flow} | ${f(b.natsWall)} s | ${f(b.needed)} s | ${f(b.dnatsdWall)} s | ` +
          `${f(b.spreadBound)} s | ${f(b.parseBound)} s | ${f(b.best)} s | ` +
          `${b.bestRatio.toFixed(2)}x | ${f(b.plainWall)} s |`,
      );
    }
  }
}
