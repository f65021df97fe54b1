/**
 * Flow-control workloads: 1 KB floods to a healthy reader slower than the
 * publisher (60 MB/s), on one server and across a route. A server with flow
 * control delivers everything at the reader's pace; the note says LOST and
 * CUT when it did not.
 *
 * @module
 */
import { startPair } from "./cluster.ts";
import { type Measured, ratioAtMost } from "./report.ts";
import type { RunningServer } from "./servers.ts";
import { runSlowReader, type SlowReaderResult } from "./slow_reader.ts";
import { n, naFrom, scaled, withServer, type Workload } from "./workload.ts";

const READ_MBPS = 60;

function figure(r: SlowReaderResult): Measured {
  const parts = [`${n(r.received)}/${n(r.sent)} in ${r.seconds.toFixed(2)} s`];
  if (r.lost > 0) parts.push(`LOST ${n(r.lost)}`);
  if (r.subscriberCut) parts.push("CUT");
  if (r.observer && r.observer.lost > 0) parts.push(`bystander LOST ${n(r.observer.lost)}`);
  return { value: r.rate, note: parts.join(", ") };
}

/** Slow reader on one server, and across a two-node route. */
export const flowControl: Workload = {
  name: "flow",
  figures: [
    { id: "flow-slow", label: `1 KB flood, ${READ_MBPS} MB/s reader (msgs/s)`, format: "rate" },
    {
      id: "flow-route",
      label: `1 KB flood over a route, ${READ_MBPS} MB/s reader (msgs/s)`,
      format: "rate",
    },
    {
      id: "flow-route.peak",
      label: "peak RSS: 1 KB flood over a route",
      format: "mib",
      target: ratioAtMost(2),
    },
  ],
  run: async (spec, ctx) => {
    const count = scaled(ctx, 400_000, 100_000, 10_000);
    const out = new Map<string, Measured>();
    out.set(
      "flow-slow",
      await withServer(spec, {}, async (s) => {
        const r = await runSlowReader({
          pubPort: s.port,
          subPort: s.port,
          count,
          size: 1024,
          readMbps: READ_MBPS,
          observer: true,
        });
        return figure(r);
      }),
    );
    const servers: RunningServer[] = [];
    try {
      await startPair(spec, servers);
      const [a, b] = servers as [RunningServer, RunningServer];
      const r = await runSlowReader({
        pubPort: a.port,
        subPort: b.port,
        count,
        size: 1024,
        readMbps: READ_MBPS,
        observer: true,
      });
      out.set("flow-route", figure(r));
      const peaks = await Promise.all(servers.map((s) => s.peakRssKiB()));
      const known = peaks.filter((p): p is number => p !== undefined);
      out.set(
        "flow-route.peak",
        known.length === 0 ? { na: "no VmHWM" } : {
          value: Math.max(...known),
          note: `VmHWM of the two nodes: ${
            known.map((p) => (p / 1024).toFixed(1)).join(" / ")
          } MiB`,
        },
      );
    } catch (e) {
      out.set("flow-route", naFrom(e));
      out.set("flow-route.peak", naFrom(e));
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
    return out;
  },
};
