/**
 * TLS workloads: both servers get the same `tls` block (the test server
 * certificate from certs/), every load client upgrades after the plain INFO.
 * TLS publish with no subscriber (also the peak-RSS scenario), pub/sub 1:1,
 * fan-out 1:4, request/reply, and the latency of a bystander client while one
 * TLS client publishes flat out.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { runFlow } from "./flows.ts";
import {
  requestLoop,
  requestReplyFigures,
  requestReplyRun,
  withRequestPair,
  writeSlowSamples,
} from "./latency.ts";
import { LoadWorker, terminateAll } from "./load_pool.ts";
import type { TlsClient } from "./raw.ts";
import type { PubDone } from "./tasks.ts";
import { atMost, type Measured, ratioAtLeast, ratioAtMost } from "./report.ts";
import type { LaunchOptions, RunningServer } from "./servers.ts";
import { oneFlow } from "./throughput.ts";
import {
  type BenchContext,
  flowNote,
  maxPublishMs,
  n,
  scaled,
  withServer,
  type Workload,
} from "./workload.ts";

const CERTS = new URL("../../certs/", import.meta.url);

let configFile: string | undefined;
let ca: string | undefined;

/** Server launch options with the `tls` block, and the clients' trust (written once per run). */
export async function tlsSetup(): Promise<{ launch: LaunchOptions; tls: TlsClient }> {
  if (configFile === undefined) {
    const cert = fileURLToPath(new URL("server-cert.pem", CERTS));
    const key = fileURLToPath(new URL("server-key.pem", CERTS));
    const file = await Deno.makeTempFile({ prefix: "dnatsd-bench-tls-", suffix: ".conf" });
    await Deno.writeTextFile(
      file,
      `# written by tools/bench.ts\ntls {\n  cert_file: "${cert}"\n  key_file: "${key}"\n}\n`,
    );
    configFile = file;
  }
  ca ??= await Deno.readTextFile(new URL("ca.pem", CERTS));
  return { launch: { config: configFile }, tls: { ca } };
}

/** Removes the temporary TLS config, if one was written. */
export async function cleanupTlsConfig(): Promise<void> {
  if (configFile !== undefined) await Deno.remove(configFile).catch(() => {});
  configFile = undefined;
}

const SIZE = 128;
const TLS_TARGET = ratioAtLeast(1.2);

/** TLS publisher, 128 B, no subscriber: msgs/s, and the peak RSS it causes. */
export const tlsPub: Workload = {
  name: "tlspub",
  figures: [{
    id: "tls.pub",
    label: "TLS pub-only 128 B (msgs/s)",
    format: "rate",
    target: TLS_TARGET,
    everyRound: true,
  }],
  peak: { label: "peak RSS: TLS publisher, no subscriber", target: ratioAtMost(2) },
  run: async (spec, ctx) => {
    const setup = await tlsSetup();
    return await withServer(spec, setup.launch, async (server) => {
      const r = await runFlow({
        pubPort: server.port,
        subPort: server.port,
        tls: setup.tls,
        pubSubjects: ["bench.tls.pub"],
        payloadSize: SIZE,
        count: scaled(ctx, 3_000_000, 200_000, 20_000),
        maxMs: maxPublishMs(ctx),
        subscribers: [],
        expectedDeliveries: () => 0,
      });
      return new Map<string, Measured>([["tls.pub", { value: r.pubRate, note: flowNote(r) }]]);
    });
  },
};

/** TLS pub/sub 1:1, 128 B. */
export const tlsPubSub: Workload = {
  name: "tlspubsub",
  figures: [{
    id: "tls.pubsub",
    label: "TLS pub/sub 1:1 128 B (msgs/s)",
    format: "rate",
    target: TLS_TARGET,
    everyRound: true,
  }],
  run: async (spec, ctx) =>
    oneFlow(spec, ctx, "tls.pubsub", [[{ subject: "bench.tls.ps" }]], await tlsSetup()),
};

/** TLS fan-out 1:4, 128 B. */
export const tlsFanOut: Workload = {
  name: "tlsfanout",
  figures: [{
    id: "tls.fanout",
    label: "TLS fan-out 1:4 128 B (deliveries/s)",
    format: "rate",
    target: TLS_TARGET,
    everyRound: true,
  }],
  run: async (spec, ctx) =>
    oneFlow(
      spec,
      ctx,
      "tls.fanout",
      Array.from({ length: 4 }, () => [{ subject: "bench.tls.fan" }]),
      await tlsSetup(),
    ),
};

/** TLS request/reply p50 and p99: requester and responder both on TLS. */
export const tlsReqReply: Workload = {
  name: "tlsreqreply",
  figures: requestReplyFigures("tls.rr", "TLS req/reply", ratioAtMost(1)),
  run: async (spec, ctx) => requestReplyRun(spec, ctx, "tls.rr", await tlsSetup()),
};

/**
 * Fairness: a requester and a responder (both TLS, as every client of a TLS
 * port) time sequential requests while another TLS client publishes 128 B
 * messages with no subscriber as fast as it can. Median and max latency.
 */
export const bystander: Workload = {
  name: "bystander",
  figures: [
    {
      id: "by.p50",
      label: "bystander req/reply under a TLS flood: median",
      format: "us",
      target: atMost(1000, "µs"),
    },
    {
      id: "by.max",
      label: "bystander req/reply under a TLS flood: max",
      format: "us",
      target: atMost(5000, "µs"),
    },
  ],
  run: async (spec, ctx) => {
    const setup = await tlsSetup();
    return await withServer(spec, setup.launch, (server) => bystanderRun(server, setup.tls, ctx));
  },
};

/**
 * One bystander measurement against a running server (or the `byceiling`
 * relays): the requester and responder pair, then the flood publisher, then
 * sequential requests until the flood ends. `verb: "MSG"` writes the request
 * and the reply as ready-made deliveries, for a relay that forwards them
 * unparsed. Rows `<prefix>.p50` and `<prefix>.max`; the note also gives the
 * count of round trips over 5 ms and the three slowest.
 */
export function bystanderRun(
  server: RunningServer,
  tls: TlsClient,
  ctx: BenchContext,
  prefix = "by",
  verb?: "MSG",
): Promise<Map<string, Measured>> {
  return withRequestPair(
    server,
    undefined,
    async (req) => {
      const pub = new LoadWorker("flooder", {
        role: "pub",
        port: server.port,
        tls,
        subjects: ["bench.flood"],
        payloadSize: SIZE,
        count: 1e12,
        maxMs: scaled(ctx, 5000, 3000, 1000),
        seq: false,
      });
      try {
        await pub.next("ready", 30_000);
        pub.send({ type: "go" });
        let flooding = true;
        const done = pub.next("done", 180_000).finally(() => flooding = false);
        // Let the flood reach full speed before timing.
        await new Promise((resolve) => setTimeout(resolve, ctx.smoke ? 100 : 500));
        const starts: number[] = [];
        const samples = await requestLoop(req, {
          count: 1_000_000,
          maxMs: 120_000,
          until: () => !flooding,
          starts,
          ...(verb === undefined ? {} : { verb }),
        });
        const flood = await done as PubDone;
        await writeSlowSamples(prefix, starts, samples, 2000);
        const sorted = [...samples].sort((a, b) => a - b);
        if (sorted.length === 0) throw new Error("no request completed during the flood");
        const over = sorted.filter((v) => v > 5000).length;
        const slowest = sorted.slice(-3).reverse().map((v) => (v / 1000).toFixed(1)).join(", ");
        const note = `${n(samples.length)} requests during a flood of ${n(flood.sent)} msgs in ` +
          `${((flood.endAbs - flood.startAbs) / 1000).toFixed(2)} s; ${over} over 5 ms, ` +
          `slowest ${slowest} ms`;
        return new Map<string, Measured>([
          [`${prefix}.p50`, { value: sorted[(sorted.length - 1) >> 1]!, note }],
          [`${prefix}.max`, { value: sorted.at(-1)!, note }],
        ]);
      } finally {
        terminateAll([pub]);
      }
    },
    tls,
    verb,
  );
}
