/**
 * Leaf pub/sub: a hub and a leaf of the same kind (dnatsd with dnatsd,
 * nats-server with nats-server), publisher on the leaf, subscriber on the
 * hub, so every message crosses the leaf link as LMSG. The link and the
 * subscriber's interest are proven by a probe before the measured run.
 *
 * @module
 */
import { runFlow } from "./flows.ts";
import { probeLink } from "./cluster.ts";
import type { Measured } from "./report.ts";
import { freePort, launch, type RunningServer } from "./servers.ts";
import { deliveryFigure, maxPublishMs, scaled, type Workload } from "./workload.ts";

const SUBJECT = "bench.leaf";

/** Leaf to hub pub/sub 1:1, 128 B. */
export const leafPubSub: Workload = {
  name: "leaf",
  figures: [{ id: "leaf", label: "leaf -> hub pub/sub 128 B (msgs/s)", format: "rate" }],
  run: async (spec, ctx) => {
    const servers: RunningServer[] = [];
    const files: string[] = [];
    try {
      const leafPort = freePort();
      const hubConf = await Deno.makeTempFile({ suffix: ".conf" });
      files.push(hubConf);
      await Deno.writeTextFile(hubConf, `leafnodes { listen: "127.0.0.1:${leafPort}" }\n`);
      const hub = await launch(spec, { config: hubConf });
      servers.push(hub);
      const remoteConf = await Deno.makeTempFile({ suffix: ".conf" });
      files.push(remoteConf);
      await Deno.writeTextFile(
        remoteConf,
        `leafnodes { remotes [ { url: "nats-leaf://127.0.0.1:${leafPort}" } ] }\n`,
      );
      const leaf = await launch(spec, { config: remoteConf });
      servers.push(leaf);
      const r = await runFlow({
        pubPort: leaf.port,
        subPort: hub.port,
        pubSubjects: [SUBJECT],
        payloadSize: 128,
        count: scaled(ctx, 2_000_000, 50_000, 5_000),
        maxMs: maxPublishMs(ctx),
        subscribers: [[{ subject: SUBJECT }]],
        expectedDeliveries: (sent) => sent,
        beforePublish: () => probeLink(leaf.port, hub.port, SUBJECT, "leaf link"),
      });
      const out: Measured = deliveryFigure(r);
      return new Map([["leaf", out]]);
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
      for (const f of files) await Deno.remove(f).catch(() => {});
    }
  },
};
