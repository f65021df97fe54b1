/**
 * Single-server throughput workloads: pub-only, pub/sub 1:1, fan-out 1:4,
 * queue 1:4 with the exactly-once check, and 10,000 wildcard subscriptions.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { runFlow } from "./flows.ts";
import type { TlsClient } from "./raw.ts";
import { MUST_BE_OK, ratioAtLeast, ratioAtMost } from "./report.ts";
import type { Measured } from "./report.ts";
import type { LaunchOptions, ServerSpec } from "./servers.ts";
import type { SubSpec } from "./tasks.ts";
import {
  type BenchContext,
  deliveryFigure,
  flowNote,
  maxPublishMs,
  n,
  scaled,
  withServer,
  type Workload,
} from "./workload.ts";

const SIZE = 128;

/** pub-only 16 B and 128 B: one publisher, no subscribers. */
export const pubOnly: Workload = {
  name: "pub",
  figures: [
    { id: "pub.16", label: "pub-only 16 B (msgs/s)", format: "rate" },
    { id: "pub.128", label: "pub-only 128 B (msgs/s)", format: "rate" },
  ],
  run: (spec, ctx) =>
    withServer(spec, {}, async (server) => {
      const out = new Map<string, Measured>();
      for (const size of [16, 128]) {
        const r = await runFlow({
          pubPort: server.port,
          subPort: server.port,
          pubSubjects: ["bench.pub"],
          payloadSize: size,
          count: scaled(ctx, size === 16 ? 5_000_000 : 3_000_000, 200_000, 20_000),
          maxMs: maxPublishMs(ctx),
          subscribers: [],
          expectedDeliveries: () => 0,
        });
        out.set(`pub.${size}`, { value: r.pubRate, note: flowNote(r) });
      }
      return out;
    }),
};

/** pub/sub 1:1, 128 B. */
export const pubSub: Workload = {
  name: "pubsub",
  figures: [{
    id: "pubsub",
    label: "pub/sub 1:1 128 B (msgs/s)",
    format: "rate",
    target: ratioAtLeast(1.5),
  }],
  run: (spec, ctx) => oneFlow(spec, ctx, "pubsub", [[{ subject: "bench.ps" }]]),
};

/** fan-out 1:4: four subscribers on the same subject. */
export const fanOut: Workload = {
  name: "fanout",
  figures: [{
    id: "fanout",
    label: "fan-out 1:4 128 B (deliveries/s)",
    format: "rate",
    target: ratioAtLeast(1.5),
  }],
  run: (spec, ctx) =>
    oneFlow(spec, ctx, "fanout", Array.from({ length: 4 }, () => [{ subject: "bench.fan" }])),
};

/** Server settings and client TLS of a flow (the TLS workloads use the same flows). */
export interface FlowSetup {
  launch?: LaunchOptions;
  tls?: TlsClient;
  /** The publisher's frames: `MSG` for the relay ceiling (default `PUB`). */
  pubVerb?: "PUB" | "MSG";
}

/** One publisher, `subscribers` as given, 128 B messages: deliveries/s under `id`. */
export async function oneFlow(
  spec: ServerSpec,
  ctx: BenchContext,
  id: string,
  subscribers: SubSpec[][],
  setup: FlowSetup = {},
): Promise<Map<string, Measured>> {
  return await withServer(spec, setup.launch ?? {}, async (server) => {
    const r = await runFlow({
      pubPort: server.port,
      subPort: server.port,
      ...(setup.tls === undefined ? {} : { tls: setup.tls }),
      ...(setup.pubVerb === undefined ? {} : { pubVerb: setup.pubVerb }),
      pubSubjects: [subscribers[0]![0]!.subject],
      payloadSize: SIZE,
      count: scaled(ctx, subscribers.length > 1 ? 1_000_000 : 3_000_000, 100_000, 10_000),
      maxMs: maxPublishMs(ctx),
      subscribers,
      expectedDeliveries: (sent) => sent * subscribers.length,
    });
    return new Map([[id, deliveryFigure(r)]]);
  });
}

/** tools/bench/relay_server.ts, the ceiling's minimal relay. */
export const RELAY = fileURLToPath(new URL("./relay_server.ts", import.meta.url));

/**
 * The runtime's ceiling for pub/sub and fan-out: in dnatsd's column, a
 * minimal Deno TCP relay (tools/bench/relay_server.ts: read a chunk from the
 * publisher, write the same bytes to each subscriber, no parsing) under the
 * same load generator, the publisher writing ready-made MSG frames; in
 * nats-server's column, nats-server's own pub/sub and fan-out. The ratio is
 * the most any Deno server of this design could reach against nats-server.
 */
export const relay: Workload = {
  name: "relay",
  figures: [
    { id: "relay.pubsub", label: "ceiling: Deno relay 1:1 128 B (msgs/s)", format: "rate" },
    { id: "relay.fanout", label: "ceiling: Deno relay 1:4 128 B (deliveries/s)", format: "rate" },
  ],
  run: async (spec, ctx) => {
    const relaySpec: ServerSpec = spec.kind === "dnatsd"
      ? { kind: "dnatsd", cmd: [Deno.execPath(), "run", "-A", "--no-check", RELAY] }
      : spec;
    const setup: FlowSetup = spec.kind === "dnatsd" ? { pubVerb: "MSG" } : {};
    const out = new Map<string, Measured>();
    const one = await oneFlow(relaySpec, ctx, "relay.pubsub", [[{ subject: "bench.ps" }]], setup);
    const fan = await oneFlow(
      relaySpec,
      ctx,
      "relay.fanout",
      Array.from({ length: 4 }, () => [{ subject: "bench.fan" }]),
      setup,
    );
    for (const m of [one, fan]) for (const [k, v] of m) out.set(k, v);
    return out;
  },
};

/** queue 1:4: four members of one group; every sequence must arrive exactly once. */
export const queue: Workload = {
  name: "queue",
  figures: [
    {
      id: "queue",
      label: "queue 1:4 128 B (deliveries/s)",
      format: "rate",
      target: ratioAtLeast(0.5),
    },
    { id: "queue.once", label: "queue 1:4 exactly-once", format: "okfail", target: MUST_BE_OK },
  ],
  run: (spec, ctx) =>
    withServer(spec, {}, async (server) => {
      const r = await runFlow({
        pubPort: server.port,
        subPort: server.port,
        pubSubjects: ["bench.q"],
        payloadSize: SIZE,
        count: scaled(ctx, 2_000_000, 100_000, 10_000),
        maxMs: maxPublishMs(ctx),
        subscribers: Array.from({ length: 4 }, () => [{ subject: "bench.q", queue: "workers" }]),
        expectedDeliveries: (sent) => sent,
        exactlyOnce: true,
      });
      const once = r.exactlyOnce!;
      return new Map<string, Measured>([
        ["queue", deliveryFigure(r)],
        ["queue.once", {
          value: once.ok ? 1 : 0,
          note: `${n(r.sent)} sequences, ${n(once.missing)} missing, ${
            n(once.duplicated)
          } duplicated`,
        }],
      ]);
    }),
};

/** Wildcard mix: token ranges chosen so each message matches 2 or 3 subscriptions. */
const WILD_SUBJECTS = 100;
const WILD_SUBS = 10_000;

/**
 * 10,000 subscriptions on one connection: `bench.<i>.*` (5,000),
 * `bench.*.<i>` (4,990) and `bench.<i>.>` (10). Publishing cycles over
 * `bench.<k>.<k>` for k < 100, so each message matches `bench.k.*` and
 * `bench.*.k`, plus `bench.k.>` when k < 10.
 */
function wildcardSubs(): SubSpec[] {
  const subs: SubSpec[] = [];
  for (let i = 0; i < 5000; i++) subs.push({ subject: `bench.${i}.*` });
  for (let i = 0; i < WILD_SUBS - 5000 - 10; i++) subs.push({ subject: `bench.*.${i}` });
  for (let i = 0; i < 10; i++) subs.push({ subject: `bench.${i}.>` });
  return subs;
}

function wildcardDeliveries(sent: number): number {
  const perCycle = WILD_SUBJECTS * 2 + 10;
  let total = Math.floor(sent / WILD_SUBJECTS) * perCycle;
  for (let k = 0; k < sent % WILD_SUBJECTS; k++) total += k < 10 ? 3 : 2;
  return total;
}

/** Subjects that walk the same trie levels but match none of the subscriptions. */
function nonMatchingSubjects(): string[] {
  return Array.from({ length: WILD_SUBJECTS }, (_, k) => `bench.${20_000 + k}.${20_000 + k}`);
}

/**
 * 10,000 wildcard subscriptions on one connection: the subscribe burst (all
 * SUBs in one write, until the PONG after them), deliveries/s of messages
 * that match 2 or 3 of them, and publish rate (to PONG) of messages that match
 * none, each subject looked up against the same 10,000.
 */
export const wildcard: Workload = {
  name: "wildcard",
  figures: [
    {
      id: "wild.sub",
      label: "subscribe burst: 10k subs, SUB..PONG",
      format: "ms",
      target: ratioAtMost(1),
    },
    {
      id: "wild.rate",
      label: "10k wildcard subs: matching (deliveries/s)",
      format: "rate",
      target: ratioAtLeast(1.2),
    },
    {
      id: "wild.miss",
      label: "10k wildcard subs: non-matching (msgs/s)",
      format: "rate",
      target: ratioAtLeast(1.2),
    },
  ],
  run: (spec, ctx) =>
    withServer(spec, {}, async (server) => {
      const r = await runFlow({
        pubPort: server.port,
        subPort: server.port,
        pubSubjects: Array.from({ length: WILD_SUBJECTS }, (_, k) => `bench.${k}.${k}`),
        payloadSize: SIZE,
        count: scaled(ctx, 1_000_000, 50_000, 5_000),
        maxMs: maxPublishMs(ctx),
        subscribers: [wildcardSubs()],
        expectedDeliveries: wildcardDeliveries,
      });
      const miss = await runFlow({
        pubPort: server.port,
        subPort: server.port,
        pubSubjects: nonMatchingSubjects(),
        payloadSize: SIZE,
        count: scaled(ctx, 3_000_000, 100_000, 10_000),
        maxMs: maxPublishMs(ctx),
        subscribers: [wildcardSubs()],
        expectedDeliveries: () => 0,
      });
      const missNote = miss.delivered > 0
        ? `${flowNote(miss)}, ${n(miss.delivered)} UNEXPECTED deliveries`
        : flowNote(miss);
      return new Map<string, Measured>([
        ["wild.sub", {
          value: r.subscribeMs[0]!,
          note: `${n(WILD_SUBS)} SUBs in one write, until PONG`,
        }],
        ["wild.rate", deliveryFigure(r)],
        ["wild.miss", { value: miss.pubRate, note: missNote }],
      ]);
    }),
};

/** tools/bench/sub_ceiling.ts, the subscribe burst's minimal Deno server. */
export const SUB_CEILING = fileURLToPath(new URL("./sub_ceiling.ts", import.meta.url));

/**
 * The runtime's ceiling for the subscribe burst: in dnatsd's column, the
 * `wildcard` workload's burst (its 10,000 SUBs in one write, until the PONG)
 * against tools/bench/sub_ceiling.ts, a fresh Deno process started as dnatsd
 * is that splits lines and keeps each subscription's subject and sid in a
 * token trie and a sid map, nothing else; in nats-server's column,
 * nats-server's own burst. dnatsd's `wild.sub` read against this figure is
 * dnatsd's own work; this figure against nats-server's is what the runtime
 * costs any such program (docs/performance/subjects.md, "sixth round").
 */
export const subCeiling: Workload = {
  name: "subceiling",
  figures: [
    { id: "ceil.sub", label: "ceiling: Deno minimal SUB burst, 10k subs, SUB..PONG", format: "ms" },
  ],
  run: (spec, ctx) => {
    const ceilingSpec: ServerSpec = spec.kind === "dnatsd"
      ? { kind: "dnatsd", cmd: [Deno.execPath(), "run", "-A", "--no-check", SUB_CEILING] }
      : spec;
    return withServer(ceilingSpec, {}, async (server) => {
      // A few non-matching messages after the burst: the ceiling delivers nothing.
      const r = await runFlow({
        pubPort: server.port,
        subPort: server.port,
        pubSubjects: nonMatchingSubjects(),
        payloadSize: SIZE,
        count: scaled(ctx, 1_000, 1_000, 100),
        maxMs: maxPublishMs(ctx),
        subscribers: [wildcardSubs()],
        expectedDeliveries: () => 0,
      });
      return new Map<string, Measured>([
        ["ceil.sub", {
          value: r.subscribeMs[0]!,
          note: `${n(WILD_SUBS)} SUBs in one write, until PONG`,
        }],
      ]);
    });
  },
};
