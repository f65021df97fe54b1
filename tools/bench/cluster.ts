/**
 * Two-node pub/sub: two servers joined by routes, publisher on A, subscriber
 * on B. The route is proven by a probe (a message published on A must reach a
 * subscriber on B) before the measured run, so a server without cluster
 * support is reported as n/a rather than as zero.
 *
 * @module
 */
import { type FlowResult, runFlow } from "./flows.ts";
import { bytes, closeQuietly, flush, type RawClient, rawConnect, writeAll } from "./raw.ts";
import { exactly, type Measured, ratioAtLeast } from "./report.ts";
import { freePort, launch, type RunningServer, type ServerSpec } from "./servers.ts";
import { deliveryFigure, maxPublishMs, n, scaled, type Workload } from "./workload.ts";

const SUBJECT = "bench.cluster";
/** How long the pair may take to connect and exchange interest. */
const FORM_MS = 10_000;

const NO_CLUSTER = "no cluster support yet";

/**
 * Starts A and B routed to each other; both are stopped by the caller. With
 * `monitor`, each gets an HTTP monitoring port (`-m`), in the same order.
 */
export async function startPair(
  spec: ServerSpec,
  into: RunningServer[],
  monitor?: [number, number],
): Promise<void> {
  const [ca, cb] = [freePort(), freePort()];
  const results = await Promise.allSettled([
    launch(spec, {
      cluster: { port: ca, routes: [cb] },
      ...(monitor === undefined ? {} : { monitor: monitor[0] }),
    }),
    launch(spec, {
      cluster: { port: cb, routes: [ca] },
      ...(monitor === undefined ? {} : { monitor: monitor[1] }),
    }),
  ]);
  for (const r of results) if (r.status === "fulfilled") into.push(r.value);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed !== undefined) throw failed.reason;
}

/**
 * Publishes small probes on `pubPort` until a subscriber on `subPort` sees
 * one: proof that the link between the two servers (a route, a leaf link)
 * carries `subject`. The measured subscriber (already subscribed) counts only
 * 128-byte payloads, so the 1-byte probes do not disturb its count.
 *
 * @param link What joins the two servers, for the error.
 * @throws {Error} when no probe arrives within {@link FORM_MS}.
 */
export async function probeLink(
  pubPort: number,
  subPort: number,
  subject: string,
  link: string,
): Promise<void> {
  let onSub: RawClient | undefined;
  let onPub: RawClient | undefined;
  try {
    onSub = await rawConnect(subPort, { extra: `SUB ${subject} 1\r\n` });
    onPub = await rawConnect(pubPort, {});
    const s = onSub;
    // Read the subscriber in the background; the loop below only looks at the count.
    const pump = (async () => {
      while (true) {
        const got = await s.conn.read(s.buf);
        if (got === null) return;
        s.scanner.feed(s.buf, got);
      }
    })().catch(() => {});
    const msg = bytes(`PUB ${subject} 1\r\np\r\n`);
    const deadline = performance.now() + FORM_MS;
    while (s.scanner.count === 0 && performance.now() < deadline) {
      await writeAll(onPub.conn, msg);
      await flush(onPub);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    closeQuietly(s.conn);
    await pump;
    if (s.scanner.count === 0) throw new Error(`${link} did not form within ${FORM_MS} ms`);
  } finally {
    if (onSub !== undefined) closeQuietly(onSub.conn);
    if (onPub !== undefined) closeQuietly(onPub.conn);
  }
}

/** Two-node pub/sub 1:1, 128 B. */
export const twoNode: Workload = {
  name: "cluster",
  figures: [{ id: "cluster", label: "two-node pub/sub 128 B (msgs/s)", format: "rate" }],
  run: async (spec, ctx) => {
    const servers: RunningServer[] = [];
    try {
      try {
        await startPair(spec, servers);
      } catch (e) {
        if (spec.kind === "dnatsd") return new Map([["cluster", { na: NO_CLUSTER }]]);
        throw e;
      }
      const [a, b] = servers as [RunningServer, RunningServer];
      let formed = true;
      const r = await runFlow({
        pubPort: a.port,
        subPort: b.port,
        pubSubjects: [SUBJECT],
        payloadSize: 128,
        count: scaled(ctx, 2_000_000, 50_000, 5_000),
        maxMs: maxPublishMs(ctx),
        subscribers: [[{ subject: SUBJECT }]],
        expectedDeliveries: (sent) => sent,
        beforePublish: async () => {
          try {
            await probeLink(a.port, b.port, SUBJECT, "route");
          } catch (e) {
            formed = false;
            // Publishing into a pair that never formed would only measure loss.
            throw e;
          }
        },
      }).catch((e) => {
        if (!formed && spec.kind === "dnatsd") return undefined;
        throw e;
      });
      const out: Measured = r === undefined ? { na: NO_CLUSTER } : deliveryFigure(r);
      return new Map([["cluster", out]]);
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  },
};

const BIG = 1024;
/** How long runFlow waits without a delivery before it counts (tools/bench/flows.ts). */
const STALL_SECONDS = 2;

/** The three 1 KB flows across the route: subscribers on B, publisher on A. */
const ROUTE_FLOWS = [
  { id: "c1k.pubsub", label: "two-node pub/sub 1:1 1 KB (msgs/s)", subs: 1, queue: false },
  { id: "c1k.fanout", label: "two-node fan-out 1:4 1 KB (deliveries/s)", subs: 4, queue: false },
  { id: "c1k.queue", label: "two-node queue 1:4 1 KB (deliveries/s)", subs: 4, queue: true },
] as const;

/** Messages a flow did not deliver (and, with the sequence check, delivered twice). */
function lostOf(r: FlowResult): { lost: number; duplicated: number } {
  if (r.exactlyOnce !== undefined) {
    return { lost: r.exactlyOnce.missing, duplicated: r.exactlyOnce.duplicated };
  }
  return { lost: Math.max(0, r.expected - r.delivered), duplicated: 0 };
}

/** What a node's monitoring port says about losses: slow consumers cut, routes by id. */
interface LossCounters {
  slowConsumers: number;
  routeIds: number[];
}

/** Reads /varz and /routez of one node; undefined when the port does not answer. */
async function lossCounters(monitorPort: number): Promise<LossCounters | undefined> {
  try {
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${monitorPort}${path}`, {
        signal: AbortSignal.timeout(5000),
      });
      return await res.json() as Record<string, unknown>;
    };
    const varz = await get("/varz");
    const routez = await get("/routez");
    const routes = Array.isArray(routez.routes) ? routez.routes as { rid?: unknown }[] : [];
    return {
      slowConsumers: Number(varz.slow_consumers ?? 0),
      routeIds: routes.map((r) => Number(r.rid)),
    };
  } catch {
    return undefined;
  }
}

/**
 * The cause next to a flow's loss: slow consumers each node cut during the
 * flow, and routes that are new since it started (a route cut and redialled
 * loses what it carried). docs/performance.md has what was found.
 */
function causeNote(
  before: (LossCounters | undefined)[],
  after: (LossCounters | undefined)[],
): { slowConsumers: number; text: string } {
  let slowConsumers = 0;
  const parts: string[] = [];
  ["A", "B"].forEach((node, i) => {
    const b = before[i];
    const a = after[i];
    if (b === undefined || a === undefined) {
      parts.push(`${node} ?`);
      return;
    }
    const sc = a.slowConsumers - b.slowConsumers;
    const newRoutes = a.routeIds.filter((id) => !b.routeIds.includes(id)).length;
    slowConsumers += sc;
    parts.push(`${node} ${sc} slow${newRoutes > 0 ? `, ${newRoutes} route redialled` : ""}`);
  });
  return { slowConsumers, text: parts.join(" / ") };
}

/**
 * Two-node pub/sub 1:1, fan-out 1:4 and queue 1:4 (one group of 4 on B) with
 * 1 KB messages through the route, and the messages lost by all three:
 * pub/sub and queue check each sequence number, fan-out counts deliveries.
 */
export const twoNode1k: Workload = {
  name: "cluster1k",
  figures: [
    ...ROUTE_FLOWS.map((f) => ({
      id: f.id,
      label: f.label,
      format: "rate" as const,
      target: ratioAtLeast(1.3),
    })),
    {
      id: "c1k.lost",
      label: "two-node 1 KB: lost messages (3 flows)",
      format: "count",
      target: exactly(0, "0 lost"),
      combine: "max",
    },
    {
      id: "c1k.slow",
      label: "two-node 1 KB: slow consumers cut (3 flows)",
      format: "count",
      combine: "max",
    },
  ],
  run: async (spec, ctx) => {
    const servers: RunningServer[] = [];
    try {
      const monitor: [number, number] = [freePort(), freePort()];
      await startPair(spec, servers, monitor);
      const [a, b] = servers as [RunningServer, RunningServer];
      const out = new Map<string, Measured>();
      let lost = 0;
      let slowConsumers = 0;
      const lostNotes: string[] = [];
      for (const f of ROUTE_FLOWS) {
        const subject = `bench.route.${f.id.slice(4)}`;
        const before = await Promise.all(monitor.map(lossCounters));
        const r = await runFlow({
          pubPort: a.port,
          subPort: b.port,
          pubSubjects: [subject],
          payloadSize: BIG,
          count: scaled(ctx, 1_000_000, 50_000, 5_000),
          maxMs: maxPublishMs(ctx),
          subscribers: Array.from(
            { length: f.subs },
            () => [f.queue ? { subject, queue: "workers" } : { subject }],
          ),
          expectedDeliveries: (sent) => f.queue ? sent : sent * f.subs,
          exactlyOnce: f.subs === 1 || f.queue,
          probeSubject: subject,
        });
        const cause = causeNote(before, await Promise.all(monitor.map(lossCounters)));
        slowConsumers += cause.slowConsumers;
        out.set(f.id, deliveryFigure(r));
        const l = lostOf(r);
        lost += l.lost;
        // A shortfall with nothing cut and a stalled wait may be late, not lost.
        const late = l.lost > 0 && r.drainEnd === "stalled"
          ? `, no delivery for ${STALL_SECONDS} s when counted`
          : "";
        lostNotes.push(
          `${f.id.slice(4)} ${n(l.lost)}` +
            (l.duplicated > 0 ? ` (${n(l.duplicated)} DUPLICATED)` : "") +
            ` (${cause.text}${late})`,
        );
      }
      out.set("c1k.lost", { value: lost, note: lostNotes.join(", ") });
      out.set("c1k.slow", {
        value: slowConsumers,
        note: "slow consumers the two nodes cut during the three flows (/varz)",
      });
      return out;
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  },
};
