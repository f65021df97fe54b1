/**
 * The /varz body: server identity, options (never secrets) and counters, in
 * nats-server 2.9's field order and omitempty rules.
 *
 * @module
 */
import type { MonitoredServer } from "../server.ts";
import { authTimeoutSeconds } from "../config/options.ts";
import { CLIENT_PROTO, NATS_COMPAT_VERSION } from "../version.ts";
import { preciseNowMs, rfc3339Nano, uptimeString } from "./format.ts";
import { cpuCores, type CpuSampler, residentMemory } from "./proc_stats.ts";
import { routeInfos } from "./routez.ts";
import type { JsonObject, TlsCertificateInfo } from "./types.ts";
import { tlsCertificates } from "./cert_info.ts";

/** Monitoring-side state /varz reports besides the server's own. */
export interface VarzContext {
  /** Bound HTTP and HTTPS monitoring ports (0 when off). */
  httpPort: number;
  httpsPort: number;
  /** Hits per endpoint path (`http_req_stats`). */
  reqStats: ReadonlyMap<string, number>;
  cpu: CpuSampler;
}

const MS_TO_NS = 1_000_000;
/** nats-server's default TLS and route auth timeout, in seconds. */
const DEFAULT_TIMEOUT_S = 2;

/** Total subscriptions over every account (what `subscriptions` shows). */
export function totalSubscriptions(server: MonitoredServer): number {
  let n = 0;
  for (const acc of server.accounts.values()) n += acc.sublist.count;
  return n;
}

/**
 * Builds the /varz object.
 *
 * @param server The running server.
 * @param ctx Monitoring state (ports, request counters, CPU sampler).
 * @returns A JSON-ready object, keys in nats-server's order.
 */
export function buildVarz(server: MonitoredServer, ctx: VarzContext): JsonObject {
  const o = server.options;
  const nowMs = preciseNowMs();
  const routes = routeInfos(server);
  const v: JsonObject = {
    server_id: server.serverId,
    server_name: server.serverName,
    version: NATS_COMPAT_VERSION,
    proto: CLIENT_PROTO,
    go: `deno${Deno.version.deno}`,
    host: o.host,
    port: server.clientPort || o.port,
  };
  // The server's own view (true with a no_auth_user too), not the INFO sent to clients.
  if (server.authActive) v.auth_required = true;
  if (o.tls && !o.allowNonTls) v.tls_required = true;
  if (o.tls && (o.tls.verify || o.tls.verifyAndMap)) v.tls_verify = true;
  if (server.peerClientUrls.size > 0) v.connect_urls = server.connectUrls();
  v.max_connections = o.maxConnections;
  if (o.maxSubscriptions > 0) v.max_subscriptions = o.maxSubscriptions;
  v.ping_interval = o.pingIntervalMs * MS_TO_NS;
  v.ping_max = o.maxPingsOut;
  v.http_host = o.httpHost ?? o.host;
  v.http_port = ctx.httpPort;
  v.http_base_path = o.httpBasePath;
  v.https_port = ctx.httpsPort;
  v.auth_timeout = server.authTimeoutMs / 1000;
  v.max_control_line = o.maxControlLine;
  v.max_payload = o.maxPayload;
  v.max_pending = o.maxPending;
  v.cluster = clusterVarz(server);
  v.gateway = {};
  v.leaf = leafVarz(server);
  v.mqtt = {};
  v.websocket = websocketVarz(server);
  v.jetstream = {};
  v.tls_timeout = o.tls?.timeout ?? DEFAULT_TIMEOUT_S;
  v.write_deadline = o.writeDeadlineMs * MS_TO_NS;
  v.start = rfc3339Nano(server.startTime.getTime());
  v.now = rfc3339Nano(nowMs);
  v.uptime = uptimeString(nowMs - server.startTime.getTime());
  v.mem = residentMemory();
  v.cores = cpuCores();
  v.gomaxprocs = cpuCores();
  v.cpu = ctx.cpu.sample();
  v.connections = server.clients.size;
  v.total_connections = server.stats.totalConnections;
  v.routes = routes.length;
  v.remotes = new Set(routes.map((r) => r.remote_id)).size;
  v.leafnodes = server.leafnodes?.count ?? 0;
  v.in_msgs = server.stats.inMsgs;
  v.out_msgs = server.stats.outMsgs;
  v.in_bytes = server.stats.inBytes;
  v.out_bytes = server.stats.outBytes;
  v.slow_consumers = server.stats.slowConsumers;
  v.subscriptions = totalSubscriptions(server);
  v.http_req_stats = Object.fromEntries(ctx.reqStats);
  v.config_load_time = rfc3339Nano(server.configLoadTime.getTime());
  v.system_account = "$SYS";
  // Dnatsd extension, absent without TLS (nats-server has no such field).
  const cert = tlsCertificates(server)[0];
  if (cert) v.tls_cert = tlsCertVarz(cert);
  return v;
}

/**
 * `tls_cert` (a dnatsd extension): the certificate clients are served, and
 * with ACME its renewal state. Never holds secrets (lib/tls/acme_tls.ts
 * redacts provider tokens from `last_error`).
 */
export function tlsCertVarz(c: TlsCertificateInfo): JsonObject {
  const t = (d: Date | undefined) => (d ? rfc3339Nano(d.getTime()) : undefined);
  const out: JsonObject = {
    subject: c.subject,
    issuer: c.issuer,
    serial: c.serial,
    not_before: t(c.notBefore),
    not_after: t(c.notAfter),
    source: c.source ?? "file",
    file: c.file,
    domains: c.domains,
    acme_ca: c.acmeCa,
    acme_state: c.acmeState,
    next_renewal: t(c.nextRenewal),
    next_check: t(c.nextCheck),
    renewal_failures: c.failures,
    last_error: c.lastError,
    last_error_at: t(c.lastErrorAt),
    used_by: c.usedBy,
  };
  // No certificate yet (ACME's first order still running): no dates to show.
  if (c.notAfter.getTime() === 0) delete out.not_after;
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

/** The `leaf` object: listen address, timeouts and the remotes, as nats-server fills it. */
export function leafVarz(server: MonitoredServer): JsonObject {
  const ln = server.options.leafnodes;
  if (!ln) return {};
  const out: JsonObject = {};
  if (ln.port !== 0) {
    out.host = ln.host || "0.0.0.0";
    out.port = server.leafnodes?.port || ln.port;
    out.auth_timeout = authTimeoutSeconds(ln.authorization?.timeout, ln.tls);
    out.tls_timeout = ln.tls?.timeout ?? DEFAULT_TIMEOUT_S;
    if (ln.tls) out.tls_required = true;
    if (ln.tls?.verify) out.tls_verify = true;
  }
  if (ln.remotes.length > 0) {
    out.remotes = ln.remotes.map((r) => {
      const entry: JsonObject = { local_account: r.account || "$G" };
      if (r.tls) entry.tls_timeout = r.tls.timeout;
      entry.urls = r.urls.map((u) => {
        try {
          const url = new URL(u);
          return `${url.hostname}:${url.port || "7422"}`;
        } catch {
          return u;
        }
      });
      if (r.denyImports?.length || r.denyExports?.length) {
        const deny: JsonObject = {};
        if (r.denyExports?.length) deny.exports = r.denyExports;
        if (r.denyImports?.length) deny.imports = r.denyImports;
        entry.deny = deny;
      }
      return entry;
    });
  }
  return out;
}

/** The `cluster` object: listen address, configured route host:ports, timeouts. */
function clusterVarz(server: MonitoredServer): JsonObject {
  const c = server.options.cluster;
  if (!c) return {};
  const out: JsonObject = {};
  // The name in force: configured, or generated and agreed with the peers.
  const name = server.cluster?.name ?? c.name;
  if (name) out.name = name;
  out.addr = c.host;
  const port = server.cluster?.port ?? c.port;
  if (port > 0) out.cluster_port = port;
  out.auth_timeout = authTimeoutSeconds(c.authorization?.timeout, c.tls);
  // Only host:port: a route URL may carry credentials, which must never show.
  const urls = c.routes.map(routeHostPort).filter((u) => u !== "");
  if (urls.length > 0) out.urls = urls;
  out.tls_timeout = c.tls?.timeout ?? DEFAULT_TIMEOUT_S;
  // Routes always verify the peer's certificate: nats-server shows both or neither.
  if (c.tls) out.tls_required = out.tls_verify = true;
  // Dnatsd extension, the route certificate when ACME manages it.
  const routeCert = c.tls?.acme || server.acmeEnv
    ? tlsCertificates(server).find((x) => x.usedBy?.includes("route"))
    : undefined;
  if (routeCert) out.tls_cert = tlsCertVarz(routeCert);
  return out;
}

/** The `websocket` object: the block's settings (never its secrets), omitempty as nats-server. */
function websocketVarz(server: MonitoredServer): JsonObject {
  const w = server.options.websocket;
  if (!w) return {};
  const out: JsonObject = {};
  // nats-server fills in the default host and the bound port once it listens.
  const host = w.port !== 0 && w.host === "" ? "0.0.0.0" : w.host;
  if (host) out.host = host;
  const port = server.websocket?.port ?? w.port;
  if (port) out.port = port;
  if (w.advertise) out.advertise = w.advertise;
  if (w.noAuthUser) out.no_auth_user = w.noAuthUser;
  if (w.jwtCookie) out.jwt_cookie = w.jwtCookie;
  if (w.handshakeTimeoutMs) out.handshake_timeout = w.handshakeTimeoutMs * MS_TO_NS;
  if (w.authTimeout) out.auth_timeout = w.authTimeout;
  if (w.noTls) out.no_tls = true;
  if (w.tls?.verifyAndMap) out.tls_map = true;
  if (w.tls?.pinnedCerts?.length) out.tls_pinned_certs = [...w.tls.pinnedCerts];
  if (w.sameOrigin) out.same_origin = true;
  if (w.allowedOrigins.length > 0) out.allowed_origins = [...w.allowedOrigins];
  if (w.compression) out.compression = true;
  return out;
}

/** `nats://user:pass@host:port` -> `host:port` (credentials dropped). */
export function routeHostPort(url: string): string {
  try {
    return new URL(url.includes("://") ? url : `nats://${url}`).host;
  } catch {
    return url.replace(/^[a-z]+:\/\//i, "").replace(/^[^@/]*@/, "").replace(/\/.*$/, "");
  }
}
