/**
 * Flow-control workloads: 1 KB floods to a healthy reader slower than the
 * publisher (60 MB/s), on one server and across a route. A server with flow
 * control delivers everything at the reader's pace; the note says LOST and
 * CUT when it did not.
 *
 * @module
 */
import { startPair } from "./cluster.ts";
import type { Measured } from "./report.ts";
import type { RunningServer } from "./servers.ts";
import { runSlowReader, type SlowReaderResult } from "./slow_reader.ts";
import { n, naFrom, withServer, type Workload } from "./workload.ts";

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
  ],
  run: async (spec, ctx) => {
    const count = ctx.quick ? 100_000 : 400_000;
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
    } catch (e) {
      out.set("flow-route", naFrom(e));
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
    return out;
  },
};
