/**
 * The machine's and the runtime's ceiling for the `bystander` row: the same
 * TLS flood publisher and bystander requester/responder, through a minimal
 * TLS relay that does no NATS work (tools/bench/sinks/): it discards the
 * flood and forwards the requester's and the responder's bytes, unparsed, to
 * each other (written as ready-made `MSG` deliveries). dnatsd's column runs
 * the relay on `node:tls` in Deno (one thread, with dnatsd's
 * `DENO_TOKIO_EVENT_INTERVAL=1`), nats-server's column the Go relay
 * (crypto/tls, a goroutine per connection, built with the system's `go`;
 * `n/a` without it). A max over 5 ms in the Go relay's column is the machine
 * and the load generator, not a NATS server. Findings: docs/performance.md,
 * "The bystander's max".
 *
 * The relays handshake first (INFO over TLS), so the clients do too.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { SEMI_SPACE_FLAG } from "../../lib/ops/heap_flags.ts";
import { requestReplyOn, requestReplyRun } from "./latency.ts";
import { bystanderRun, tlsSetup } from "./tls.ts";
import { buildGoSink, startSink } from "./tls_ceiling.ts";
import type { Workload } from "./workload.ts";

const RELAY = fileURLToPath(new URL("./sinks/node_tls_pair_relay.ts", import.meta.url));

/** The command of the `node:tls` pair relay, with dnatsd's event interval and `env` added. */
function denoRelay(...env: string[]): string[] {
  return [
    "env",
    "DENO_TOKIO_EVENT_INTERVAL=1",
    ...env,
    Deno.execPath(),
    "run",
    "-A",
    "--no-check",
    RELAY,
  ];
}

/** `byceiling`: the bystander's median and max through a TLS relay with no NATS work. */
export const byCeiling: Workload = {
  name: "byceiling",
  figures: [
    {
      id: "byc.p50",
      label: "ceiling: bystander under a TLS flood through a TLS relay (Deno / Go): median",
      format: "us",
    },
    {
      id: "byc.max",
      label: "ceiling: bystander under a TLS flood through a TLS relay (Deno / Go): max",
      format: "us",
    },
  ],
  run: async (spec, ctx) => {
    const setup = await tlsSetup();
    const cmd = spec.kind === "dnatsd" ? denoRelay() : [await buildGoSink("tls_pair_relay")];
    const relay = await startSink(spec, cmd, "");
    try {
      return await bystanderRun(relay, { ...setup.tls, first: true }, ctx, "byc", "MSG");
    } finally {
      await relay.stop();
    }
  },
};

/**
 * `tlslatceiling`: the runtime's ceiling for `tlsreqreply`, as `latceiling`
 * is for `reqreply`. dnatsd's column runs the same requester and responder
 * (TLS, 16 B, sequential) through the `node:tls` pair relay above, started
 * with the runtime settings dnatsd gives itself at start
 * (`DENO_TOKIO_EVENT_INTERVAL=1`, lib/ops/event_interval.ts, and 1 MiB
 * semi-spaces, lib/ops/heap_flags.ts); the request and the reply are written
 * as ready-made `MSG` frames and forwarded unparsed. nats-server's column is
 * nats-server's own TLS request/reply.
 */
export const tlsLatencyCeiling: Workload = {
  name: "tlslatceiling",
  figures: [
    { id: "tlsrelay.rr.p50", label: "ceiling: Deno TLS relay req/reply p50", format: "us" },
    { id: "tlsrelay.rr.p99", label: "ceiling: Deno TLS relay req/reply p99", format: "us" },
  ],
  run: async (spec, ctx) => {
    const setup = await tlsSetup();
    if (spec.kind !== "dnatsd") return await requestReplyRun(spec, ctx, "tlsrelay.rr", setup);
    const relay = await startSink(spec, denoRelay(`DENO_V8_FLAGS=${SEMI_SPACE_FLAG}`), "");
    try {
      const tls = { ...setup.tls, first: true };
      return await requestReplyOn(relay, ctx, "tlsrelay.rr", { tls, verb: "MSG" });
    } finally {
      await relay.stop();
    }
  },
};
