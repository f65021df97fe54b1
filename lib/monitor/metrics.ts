/**
 * /metrics: the server's figures in the Prometheus text exposition format
 * 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
 * Every family has `# HELP` and `# TYPE`; counters end in `_total`.
 *
 * @module
 */
import type { MonitoredServer } from "../server.ts";
import { NATS_COMPAT_VERSION, VERSION } from "../version.ts";
import { tlsCertificates } from "./cert_info.ts";
import type { CpuSampler } from "./proc_stats.ts";
import { residentMemory } from "./proc_stats.ts";
import { routeInfos } from "./routez.ts";
import { totalSubscriptions } from "./varz.ts";

/** The Content-Type Prometheus expects for this format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;
type Sample = { labels?: Labels; value: number };

/** Escapes a label value: backslash, double quote and newline (format 0.0.4). */
export function escapeLabel(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/** Escapes HELP text: backslash and newline. */
function escapeHelp(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

/** Go-like float text; Prometheus reads `+Inf`, `-Inf`, `NaN`. */
function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

class Exposition {
  #lines: string[] = [];

  family(name: string, type: "counter" | "gauge", help: string, samples: Sample[]): void {
    this.#lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    for (const s of samples) {
      const labels = s.labels && Object.keys(s.labels).length > 0
        ? `{${Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`
        : "";
      this.#lines.push(`${name}${labels} ${num(s.value)}`);
    }
  }

  one(name: string, type: "counter" | "gauge", help: string, value: number): void {
    this.family(name, type, help, [{ value }]);
  }

  text(): string {
    return this.#lines.join("\n") + "\n";
  }
}

/**
 * Renders the metrics text.
 *
 * @param server The running server.
 * @param ctx Request counters and the CPU sampler shared with /varz.
 */
export function buildMetrics(
  server: MonitoredServer,
  ctx: { reqStats: ReadonlyMap<string, number>; cpu: CpuSampler },
): string {
  const m = new Exposition();
  const st = server.stats;
  const nowMs = Date.now();
  m.family("dnatsd_info", "gauge", "Server identity; the value is always 1.", [{
    labels: {
      server_id: server.serverId,
      server_name: server.serverName,
      version: VERSION,
      nats_version: NATS_COMPAT_VERSION,
    },
    value: 1,
  }]);
  m.one(
    "dnatsd_start_time_seconds",
    "gauge",
    "Start time of the server, seconds since the epoch.",
    server.startTime.getTime() / 1000,
  );
  m.one(
    "dnatsd_uptime_seconds",
    "gauge",
    "Seconds since the server started.",
    (nowMs - server.startTime.getTime()) / 1000,
  );
  m.one("dnatsd_memory_resident_bytes", "gauge", "Resident memory.", residentMemory());
  m.one("dnatsd_cpu_percent", "gauge", "CPU use since the previous sample.", ctx.cpu.sample());
  m.one("dnatsd_connections", "gauge", "Open client connections.", server.clients.size);
  m.one(
    "dnatsd_connections_total",
    "counter",
    "Client connections accepted since start.",
    st.totalConnections,
  );
  m.one(
    "dnatsd_subscriptions",
    "gauge",
    "Subscriptions in all accounts.",
    totalSubscriptions(server),
  );
  m.one("dnatsd_in_msgs_total", "counter", "Messages received.", st.inMsgs);
  m.one("dnatsd_out_msgs_total", "counter", "Messages sent.", st.outMsgs);
  m.one("dnatsd_in_bytes_total", "counter", "Payload bytes received.", st.inBytes);
  m.one("dnatsd_out_bytes_total", "counter", "Payload bytes sent.", st.outBytes);
  m.one("dnatsd_slow_consumers_total", "counter", "Slow consumers detected.", st.slowConsumers);

  const routes = routeInfos(server);
  m.one("dnatsd_routes", "gauge", "Open routes to other cluster members.", routes.length);
  const perRoute = (pick: (r: (typeof routes)[number]) => number): Sample[] =>
    routes.map((r) => ({ labels: { remote_id: r.remote_id }, value: pick(r) }));
  m.family(
    "dnatsd_route_in_msgs_total",
    "counter",
    "Messages received from a route.",
    perRoute((r) => r.in_msgs),
  );
  m.family(
    "dnatsd_route_out_msgs_total",
    "counter",
    "Messages sent to a route.",
    perRoute((r) => r.out_msgs),
  );
  m.family(
    "dnatsd_route_in_bytes_total",
    "counter",
    "Bytes received from a route.",
    perRoute((r) => r.in_bytes),
  );
  m.family(
    "dnatsd_route_out_bytes_total",
    "counter",
    "Bytes sent to a route.",
    perRoute((r) => r.out_bytes),
  );
  m.family(
    "dnatsd_route_subscriptions",
    "gauge",
    "Remote interest learned from a route.",
    perRoute((r) => r.subscriptions),
  );

  const leafs = server.leafnodes?.leafzInfo(false) ?? [];
  m.one("dnatsd_leafnodes", "gauge", "Open leaf node connections.", leafs.length);
  const perLeaf = (pick: (l: (typeof leafs)[number]) => number): Sample[] =>
    leafs.map((l) => ({
      labels: { account: l.account, remote: `${l.ip}:${l.port}` },
      value: pick(l),
    }));
  m.family(
    "dnatsd_leaf_in_msgs_total",
    "counter",
    "Messages received from a leaf node connection.",
    perLeaf((l) => l.in_msgs),
  );
  m.family(
    "dnatsd_leaf_out_msgs_total",
    "counter",
    "Messages sent to a leaf node connection.",
    perLeaf((l) => l.out_msgs),
  );
  m.family(
    "dnatsd_leaf_in_bytes_total",
    "counter",
    "Bytes received from a leaf node connection.",
    perLeaf((l) => l.in_bytes),
  );
  m.family(
    "dnatsd_leaf_out_bytes_total",
    "counter",
    "Bytes sent to a leaf node connection.",
    perLeaf((l) => l.out_bytes),
  );
  m.family(
    "dnatsd_leaf_subscriptions",
    "gauge",
    "Remote interest learned from a leaf node connection.",
    perLeaf((l) => l.subscriptions),
  );

  const certs = tlsCertificates(server);
  m.family(
    "dnatsd_tls_certificate_not_after_seconds",
    "gauge",
    "Expiry (notAfter) of a served TLS certificate, seconds since the epoch.",
    // An ACME block still waiting for its first certificate has no expiry yet.
    certs.filter((c) => c.notAfter.getTime() > 0).map((c) => ({
      labels: { subject: c.subject },
      value: c.notAfter.getTime() / 1000,
    })),
  );
  // Renewal schedule and health of ACME-managed certificates.
  const acme = certs.filter((c) => c.source?.startsWith("acme"));
  m.family(
    "dnatsd_tls_certificate_next_renewal_seconds",
    "gauge",
    "When an ACME-managed certificate is due for renewal, seconds since the epoch.",
    acme.filter((c) => c.nextRenewal).map((c) => ({
      labels: { subject: c.subject },
      value: c.nextRenewal!.getTime() / 1000,
    })),
  );
  m.family(
    "dnatsd_tls_certificate_renewal_failures",
    "gauge",
    "Consecutive failed ACME attempts for a certificate (0 after a success).",
    acme.map((c) => ({ labels: { subject: c.subject }, value: c.failures ?? 0 })),
  );
  jetStreamMetrics(m, server);
  m.family(
    "dnatsd_http_requests_total",
    "counter",
    "Monitoring requests per endpoint.",
    [...ctx.reqStats].map(([path, n]) => ({ labels: { path }, value: n })),
  );
  return m.text();
}

/** JetStream's usage, per stream, and the file store's compaction (docs/jetstream.md). */
function jetStreamMetrics(m: Exposition, server: MonitoredServer): void {
  const js = server.jetstream;
  m.one("dnatsd_jetstream_enabled", "gauge", "1 when JetStream is on, else 0.", js ? 1 : 0);
  if (!js) return;
  const st = js.stats();
  const totals = js.totals();
  const x = js.metrics();
  m.one("dnatsd_jetstream_streams", "gauge", "JetStream streams.", totals.streams);
  m.one("dnatsd_jetstream_consumers", "gauge", "JetStream consumers.", totals.consumers);
  m.one("dnatsd_jetstream_messages", "gauge", "Messages in all streams.", totals.messages);
  m.one("dnatsd_jetstream_bytes", "gauge", "Bytes of the messages in all streams.", totals.bytes);
  m.one("dnatsd_jetstream_memory_used_bytes", "gauge", "Memory used by streams.", st.memory);
  m.one(
    "dnatsd_jetstream_storage_used_bytes",
    "gauge",
    "File storage used by streams.",
    st.storage,
  );
  m.one(
    "dnatsd_jetstream_memory_limit_bytes",
    "gauge",
    "max_memory_store.",
    js.config.max_memory,
  );
  m.one(
    "dnatsd_jetstream_storage_limit_bytes",
    "gauge",
    "max_file_store.",
    js.config.max_storage,
  );
  m.one("dnatsd_jetstream_api_requests_total", "counter", "$JS.API requests.", st.api.total);
  m.one("dnatsd_jetstream_api_errors_total", "counter", "$JS.API errors.", st.api.errors);
  const per = (pick: (s: (typeof x.streams)[number]) => number, only?: "file"): Sample[] =>
    x.streams.filter((s) => only === undefined || s.storage === only).map((s) => ({
      labels: { account: s.account, stream: s.name, storage: s.storage },
      value: pick(s),
    }));
  m.family(
    "dnatsd_jetstream_stream_messages",
    "gauge",
    "Messages in a stream.",
    per((s) => s.messages),
  );
  m.family(
    "dnatsd_jetstream_stream_bytes",
    "gauge",
    "Bytes of a stream's messages.",
    per((s) => s.bytes),
  );
  m.family(
    "dnatsd_jetstream_stream_consumers",
    "gauge",
    "Consumers of a stream.",
    per((s) => s.consumers),
  );
  m.family(
    "dnatsd_jetstream_stream_disk_bytes",
    "gauge",
    "Bytes of a file stream's message log on disk (live and not yet compacted).",
    per((s) => s.diskBytes, "file"),
  );
  const c = x.compaction;
  m.family("dnatsd_jetstream_compactions_total", "counter", "File store compaction steps.", [
    { labels: { action: "rewrite" }, value: c.rewritten },
    { labels: { action: "unlink" }, value: c.removed },
  ]);
  m.one(
    "dnatsd_jetstream_compaction_reclaimed_bytes_total",
    "counter",
    "Bytes the file store's compaction gave back.",
    c.reclaimedBytes,
  );
  m.one(
    "dnatsd_jetstream_compaction_errors_total",
    "counter",
    "Compaction steps that failed (the old segment stayed).",
    c.errors,
  );
  m.one(
    "dnatsd_jetstream_compaction_max_pause_seconds",
    "gauge",
    "The longest single compaction step since start.",
    c.maxPauseMs / 1000,
  );
}
