/**
 * `tlsrelay`: the ceiling of the TLS pub/sub and fan-out rows with TLS off
 * the main thread. dnatsd's column runs tools/bench/tls_relay_server.ts, a
 * relay with no parsing whose TLS sockets a Worker owns (plaintext through
 * SharedArrayBuffer rings to and from the main thread), and the same relay
 * with TLS and relaying on one thread (`--direct`); the publisher writes
 * ready-made `MSG` frames, as in `relay`. nats-server's column is its own TLS
 * pub/sub and fan-out (the `tlspubsub` and `tlsfanout` flows), repeated in
 * both pairs of rows. The ratio is the most a Deno server with TLS in a
 * Worker (or on its one thread) could reach against nats-server on this
 * machine, load generator included. See docs/performance.md ("TLS off the
 * main thread").
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import type { Measured } from "./report.ts";
import type { ServerSpec } from "./servers.ts";
import { oneFlow } from "./throughput.ts";
import { tlsSetup } from "./tls.ts";
import type { Workload } from "./workload.ts";

const TLS_RELAY = fileURLToPath(new URL("./tls_relay_server.ts", import.meta.url));

const VARIANTS = [
  { key: "worker", label: "TLS in a Worker", args: [] as string[] },
  { key: "direct", label: "TLS on one thread", args: ["--direct"] },
] as const;

export const tlsRelay: Workload = {
  name: "tlsrelay",
  figures: VARIANTS.flatMap((v) =>
    [
      {
        id: `tlsrelay.${v.key}.pubsub`,
        label: `ceiling: Deno TLS relay, ${v.label}, 1:1 128 B (msgs/s)`,
        format: "rate",
      },
      {
        id: `tlsrelay.${v.key}.fanout`,
        label: `ceiling: Deno TLS relay, ${v.label}, 1:4 128 B (deliveries/s)`,
        format: "rate",
      },
    ] as const
  ),
  run: async (spec, ctx) => {
    const setup = await tlsSetup();
    const flows = async (s: ServerSpec, key: string, relay: boolean) => {
      const flowSetup = relay ? { tls: setup.tls, pubVerb: "MSG" as const } : setup;
      const one = await oneFlow(s, ctx, `tlsrelay.${key}.pubsub`, [[{ subject: "bench.ps" }]], {
        ...flowSetup,
      });
      const fan = await oneFlow(
        s,
        ctx,
        `tlsrelay.${key}.fanout`,
        Array.from({ length: 4 }, () => [{ subject: "bench.fan" }]),
        flowSetup,
      );
      return [...one, ...fan];
    };
    const out = new Map<string, Measured>();
    if (spec.kind === "dnatsd") {
      for (const v of VARIANTS) {
        const relaySpec: ServerSpec = {
          kind: "dnatsd",
          cmd: [Deno.execPath(), "run", "-A", "--no-check", TLS_RELAY, ...v.args],
        };
        for (const [k, m] of await flows(relaySpec, v.key, true)) out.set(k, m);
      }
      return out;
    }
    const nats = await flows(spec, "nats", false);
    for (const v of VARIANTS) {
      for (const [k, m] of nats) out.set(k.replace("tlsrelay.nats.", `tlsrelay.${v.key}.`), m);
    }
    return out;
  },
};
