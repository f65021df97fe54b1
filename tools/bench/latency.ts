// deno-lint-ignore-file no-import-prefix -- pinned npm: specifier keeps `deno run <URL>` working without deno.json (docs/architecture.md)
/**
 * Request/reply latency: sequential requests against a responder Worker, and
 * the same stream's p99 while 50 clients authenticate with a bcrypt (cost 11)
 * password, which shows whether password checks stall message routing.
 *
 * @module
 */
import bcrypt from "npm:bcryptjs@3.0.3";
import { fileURLToPath } from "node:url";
import { LoadWorker } from "./load_pool.ts";
import {
  bytes,
  closeQuietly,
  type Creds,
  type RawClient,
  rawConnect,
  readUntil,
  type TlsClient,
  writeAll,
} from "./raw.ts";
import { type Measured, ratioAtMost, type Target } from "./report.ts";
import { launch, type LaunchOptions, type RunningServer, type ServerSpec } from "./servers.ts";
import { RELAY } from "./throughput.ts";
import { type BenchContext, n, naFrom, scaled, withServer, type Workload } from "./workload.ts";

/** Latency samples in µs. */
type Samples = number[];

/** The p-th percentile (0..1) of samples, nearest rank. */
export function percentile(samples: Samples, p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

const REQUEST = bytes("PUB bench.req bench.inbox 16\r\n0123456789abcdef\r\n");
/** The same request as the responder's delivery, for the relay ceiling (forwarded unparsed). */
const REQUEST_MSG = bytes("MSG bench.req 1 bench.inbox 16\r\n0123456789abcdef\r\n");

/**
 * Sends requests one at a time and times each until its reply arrives; stops
 * after `count`, after `maxMs`, or once `until()` holds.
 */
export async function requestLoop(
  c: RawClient,
  opts: {
    count: number;
    maxMs: number;
    until?: () => boolean;
    verb?: "PUB" | "MSG";
    /** Receives each request's start, in ms since the epoch. */
    starts?: number[];
  },
): Promise<Samples> {
  const request = opts.verb === "MSG" ? REQUEST_MSG : REQUEST;
  const samples: Samples = [];
  const stopAt = performance.now() + opts.maxMs;
  for (let i = 0; i < opts.count; i++) {
    const target = c.scanner.count + 1;
    const t0 = performance.now();
    await writeAll(c.conn, request);
    await readUntil(c.conn, c, () => c.scanner.count >= target, t0 + 10_000);
    samples.push((performance.now() - t0) * 1000);
    opts.starts?.push(performance.timeOrigin + t0);
    if (performance.now() > stopAt || opts.until?.() === true) break;
  }
  return samples;
}

/** A responder Worker plus a connected requester, both torn down by `fn`'s end. */
export async function withRequestPair<T>(
  server: RunningServer,
  creds: Creds | undefined,
  fn: (requester: RawClient) => Promise<T>,
  tls?: TlsClient,
  verb?: "PUB" | "MSG",
): Promise<T> {
  const credsOpt = {
    ...(creds === undefined ? {} : { creds }),
    ...(tls === undefined ? {} : { tls }),
  };
  const responder = new LoadWorker("responder", {
    role: "responder",
    port: server.port,
    subject: "bench.req",
    ...credsOpt,
    ...(verb === undefined ? {} : { verb }),
  });
  let requester: RawClient | undefined;
  try {
    await responder.next("ready", 60_000);
    requester = await rawConnect(server.port, {
      ...credsOpt,
      extra: "SUB bench.inbox 1\r\n",
      timeoutMs: 60_000,
    });
    // warm-up, not measured
    await requestLoop(requester, {
      count: 200,
      maxMs: 5000,
      ...(verb === undefined ? {} : { verb }),
    });
    return await fn(requester);
  } finally {
    if (requester !== undefined) closeQuietly(requester.conn);
    responder.terminate();
  }
}

function latencyNote(s: Samples): string {
  return `${n(s.length)} sequential requests, 16 B`;
}

/** Request/reply p50 and p99 under `prefix` ids, with the given server and client setup. */
export function requestReplyRun(
  spec: ServerSpec,
  ctx: BenchContext,
  prefix: string,
  setup: { launch?: LaunchOptions; tls?: TlsClient; verb?: "PUB" | "MSG" } = {},
): Promise<Map<string, Measured>> {
  return withServer(
    spec,
    setup.launch ?? {},
    (server) => requestReplyOn(server, ctx, prefix, setup),
  );
}

/** {@link requestReplyRun} against a server (or relay) already running. */
export function requestReplyOn(
  server: RunningServer,
  ctx: BenchContext,
  prefix: string,
  setup: { tls?: TlsClient; verb?: "PUB" | "MSG" } = {},
): Promise<Map<string, Measured>> {
  return withRequestPair(
    server,
    undefined,
    async (req) => {
      const starts: number[] = [];
      const s = await requestLoop(req, {
        count: scaled(ctx, 5000, 500, 100),
        maxMs: 15_000,
        starts,
        ...(setup.verb === undefined ? {} : { verb: setup.verb }),
      });
      await writeSlowSamples(prefix, starts, s, percentile(s, 0.99));
      return new Map<string, Measured>([
        [`${prefix}.p50`, { value: percentile(s, 0.5), note: latencyNote(s) }],
        [`${prefix}.p99`, { value: percentile(s, 0.99), note: latencyNote(s) }],
      ]);
    },
    setup.tls,
    setup.verb,
  );
}

/**
 * With `DNATSD_BENCH_SLOW=<file>` set, appends one JSON line per run: its row
 * prefix and every round trip of at least `overUs` as [start in ms since the
 * epoch, length in µs], to line up with a `perf sched` trace
 * (tools/bench/slow_trips.ts; docs/performance.md, "The bystander's max").
 * The bystander writes its round trips over 2 ms, the request/reply rows
 * theirs at or over the run's p99.
 */
export async function writeSlowSamples(
  prefix: string,
  starts: number[],
  samples: number[],
  overUs: number,
): Promise<void> {
  const file = Deno.env.get("DNATSD_BENCH_SLOW");
  if (file === undefined) return;
  const slow = samples.flatMap((us, i) =>
    us >= overUs ? [[Math.round(starts[i]! * 1000) / 1000, Math.round(us)]] : []
  );
  await Deno.writeTextFile(
    file,
    JSON.stringify({ prefix, pid: Deno.pid, count: samples.length, slow }) + "\n",
    { append: true },
  );
}

/** The two rows of a request/reply workload. */
export function requestReplyFigures(prefix: string, label: string, target: Target) {
  return [
    { id: `${prefix}.p50`, label: `${label} p50`, format: "us" as const, target },
    { id: `${prefix}.p99`, label: `${label} p99`, format: "us" as const, target },
  ];
}

/** Request/reply p50 and p99 with one responder, plain TCP. */
export const reqReply: Workload = {
  name: "reqreply",
  figures: requestReplyFigures("rr", "req/reply", ratioAtMost(0.9)),
  run: (spec, ctx) => requestReplyRun(spec, ctx, "rr"),
};

/**
 * The runtime's ceiling for request/reply latency: in dnatsd's column, the
 * minimal Deno relay (tools/bench/relay_server.ts `--pairs`) between the same
 * requester and responder as `reqreply`, the request and the reply both
 * written as ready-made `MSG` frames and forwarded unparsed; in nats-server's
 * column, nats-server's own request/reply. dnatsd's `reqreply` figures can be
 * read against the relay's: what they add is dnatsd's own path.
 */
export const latencyCeiling: Workload = {
  name: "latceiling",
  figures: [
    { id: "relay.rr.p50", label: "ceiling: Deno relay req/reply p50", format: "us" },
    { id: "relay.rr.p99", label: "ceiling: Deno relay req/reply p99", format: "us" },
  ],
  run: (spec, ctx) =>
    spec.kind === "dnatsd"
      ? requestReplyRun(
        { kind: "dnatsd", cmd: [Deno.execPath(), "run", "-A", "--no-check", RELAY, "--pairs"] },
        ctx,
        "relay.rr",
        { verb: "MSG" },
      )
      : requestReplyRun(spec, ctx, "relay.rr"),
};

/** tools/bench/rr_ceiling.ts, the minimal NATS server for request/reply. */
export const RR_CEILING = fileURLToPath(new URL("./rr_ceiling.ts", import.meta.url));

/**
 * The runtime's ceiling for request/reply with the NATS work in it: in
 * dnatsd's column, the minimal Deno NATS server (tools/bench/rr_ceiling.ts:
 * lines split, exact-subject lookup, `MSG` framed, one write per read, started
 * with dnatsd's runtime settings) between `reqreply`'s requester and
 * responder, which send it real `PUB`s; in nats-server's column, nats-server's
 * own request/reply. Between `latceiling` (nothing parsed) and `reqreply`
 * (dnatsd): what any Deno NATS server pays, and what dnatsd adds beyond it.
 */
export const rrCeiling: Workload = {
  name: "rrceiling",
  figures: [
    { id: "rrceil.p50", label: "ceiling: Deno minimal NATS req/reply p50", format: "us" },
    { id: "rrceil.p99", label: "ceiling: Deno minimal NATS req/reply p99", format: "us" },
  ],
  run: (spec, ctx) =>
    requestReplyRun(
      spec.kind === "dnatsd"
        ? { kind: "dnatsd", cmd: [Deno.execPath(), "run", "-A", "--no-check", RR_CEILING] }
        : spec,
      ctx,
      "rrceil",
    ),
};

const PASSWORD = "bench-secret-password";
const CREDS: Creds = { user: "bench", pass: PASSWORD };
const STORM = 50;
/**
 * Each storm client logs in as its own user with its own hash: a server that
 * caches successful checks (dnatsd does, per password and hash) must still run
 * bcrypt 50 times, as nats-server does, or the figure would measure the cache.
 */
const STORM_CREDS: Creds[] = Array.from(
  { length: STORM },
  (_, i) => ({ user: `storm${i}`, pass: `storm-password-${i}` }),
);
let configFile: string | undefined;

/**
 * bcrypt cost of the passwords: nats-server's usual 11, or the minimum, 4, in
 * a `--smoke` run, which only checks that the workload works.
 */
function bcryptCost(ctx: BenchContext): number {
  return ctx.smoke ? 4 : 11;
}

/** Writes the auth config once per bench run (51 hashes at cost 11 take a few seconds). */
async function authConfig(ctx: BenchContext): Promise<string> {
  if (configFile === undefined) {
    const t0 = performance.now();
    const users = [CREDS, ...STORM_CREDS].map((c) =>
      `    {user: ${c.user}, password: "${bcrypt.hashSync(c.pass, bcryptCost(ctx))}"}`
    );
    ctx.log(
      `  (hashed ${users.length} passwords at cost ${bcryptCost(ctx)} in ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s, once)`,
    );
    const text = `# written by tools/bench.ts\nauthorization {\n  users = [\n${
      users.join("\n")
    }\n  ]\n}\n`;
    const file = await Deno.makeTempFile({ prefix: "dnatsd-bench-auth-", suffix: ".conf" });
    await Deno.writeTextFile(file, text);
    configFile = file;
  }
  return configFile;
}

/** Removes the temporary auth config, if one was written. */
export async function cleanupAuthConfig(): Promise<void> {
  if (configFile !== undefined) await Deno.remove(configFile).catch(() => {});
  configFile = undefined;
}

/** Fails unless the server refuses a client without credentials. */
async function assertAuthEnforced(server: RunningServer): Promise<void> {
  let anonymous: RawClient | undefined;
  try {
    anonymous = await rawConnect(server.port, { timeoutMs: 10_000 });
  } catch {
    return; // refused, as it should be
  }
  closeQuietly(anonymous.conn);
  throw new Error("auth config not enforced (anonymous client accepted)");
}

/** Request/reply p99 with auth on, quiet and during 50 concurrent bcrypt connects. */
export const bcryptStorm: Workload = {
  name: "bcrypt",
  figures: [
    { id: "bc.quiet", label: "req/reply p99, auth on, quiet", format: "us" },
    { id: "bc.storm", label: `req/reply p99 during ${STORM} bcrypt connects`, format: "us" },
  ],
  run: async (spec, ctx) => {
    const opts: LaunchOptions = { config: await authConfig(ctx) };
    let server: RunningServer;
    try {
      server = await launch(spec, opts);
    } catch (e) {
      const na = naFrom(e);
      return new Map([["bc.quiet", na], ["bc.storm", na]]);
    }
    try {
      await assertAuthEnforced(server);
      return await withRequestPair(server, CREDS, (req) => measureStorm(server, req, ctx));
    } finally {
      await server.stop();
    }
  },
};

async function measureStorm(
  server: RunningServer,
  req: RawClient,
  ctx: BenchContext,
): Promise<Map<string, Measured>> {
  const quiet = await requestLoop(req, { count: scaled(ctx, 2000, 300, 100), maxMs: 15_000 });
  let settled = 0;
  let ok = 0;
  const t0 = performance.now();
  let stormMs = 0;
  // allSettled right away: a refused client must not become an unhandled rejection.
  const storm = Promise.allSettled(STORM_CREDS.map(async (creds) => {
    try {
      const c = await rawConnect(server.port, { creds, timeoutMs: 60_000 });
      closeQuietly(c.conn);
      ok++;
    } finally {
      if (++settled === STORM) stormMs = performance.now() - t0;
    }
  }));
  const during = await requestLoop(req, {
    count: 1_000_000,
    maxMs: 90_000,
    until: () => settled === STORM,
  });
  const outcomes = await storm;
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
  const reason = failed === undefined
    ? ""
    : `; first failure: ${failed.reason instanceof Error ? failed.reason.message : failed.reason}`;
  const stormNote = `${n(during.length)} requests during the connects: ${ok}/${STORM} ` +
    `authenticated, all settled in ${(stormMs / 1000).toFixed(2)} s${reason}`;
  return new Map<string, Measured>([
    ["bc.quiet", { value: percentile(quiet, 0.99), note: latencyNote(quiet) }],
    ["bc.storm", { value: percentile(during, 0.99), note: stormNote }],
  ]);
}
