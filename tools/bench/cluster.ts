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

/** Starts A and B routed to each other; both are stopped by the caller. */
export async function startPair(spec: ServerSpec, into: RunningServer[]): Promise<void> {
  const [ca, cb] = [freePort(), freePort()];
  const results = await Promise.allSettled([
    launch(spec, { cluster: { port: ca, routes: [cb] } }),
    launch(spec, { cluster: { port: cb, routes: [ca] } }),
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
  ],
  run: async (spec, ctx) => {
    const servers: RunningServer[] = [];
    try {
      await startPair(spec, servers);
      const [a, b] = servers as [RunningServer, RunningServer];
      const out = new Map<string, Measured>();
      let lost = 0;
      const lostNotes: string[] = [];
      for (const f of ROUTE_FLOWS) {
        const subject = `bench.route.${f.id.slice(4)}`;
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
        out.set(f.id, deliveryFigure(r));
        const l = lostOf(r);
        lost += l.lost;
        lostNotes.push(
          `${f.id.slice(4)} ${n(l.lost)}` +
            (l.duplicated > 0 ? ` (${n(l.duplicated)} DUPLICATED)` : ""),
        );
      }
      out.set("c1k.lost", { value: lost, note: lostNotes.join(", ") });
      return out;
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  },
};
