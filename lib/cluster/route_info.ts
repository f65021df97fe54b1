/**
 * The route INFO and CONNECT lines this server sends, fields in nats-server
 * 2.9's order (docs/architecture.md, "Protocol facts"). `lnoc: true` says we take `LS+` with
 * the origin cluster of leaf interest and `LMSG` with the origin of a leaf's message
 * (docs/leafnodes.md).
 *
 * @module
 */
import { NATS_COMPAT_VERSION } from "../version.ts";
import type { ClusterOptions } from "../config/options.ts";
import type { RouteUrl } from "./route_url.ts";

const encoder = new TextEncoder();

/** Route protocol level: account-aware RS±/RMSG (RouteProtoV2). */
export const ROUTE_PROTO = 2;

/** What the INFO/CONNECT builders need to know about this server. */
export interface RouteIdentity {
  serverId: string;
  serverName: string;
  /** Host and port peers should dial (cluster_advertise or the listen address). */
  host: string;
  port: number;
  /** `nats-route://adv-host:adv-port/` when cluster_advertise is set. */
  advertiseUrl: string | null;
  clusterName: string;
  clusterDynamic: boolean;
  headers: boolean;
  maxPayload: number;
  authRequired: boolean;
  tls: boolean;
  /** Our client URLs (omitted with no_advertise). */
  connectUrls: string[] | null;
  permissions: ClusterOptions["permissions"];
  /** Our leaf node URL (`host:port`), so peers pass it on to their leafs; null without one. */
  leafnodeUrl?: string | null;
}

/** The route INFO line, `INFO {json} \r\n` as nats-server frames its own. */
export function routeInfoLine(
  id: RouteIdentity,
  extra: { nonce?: string; ldm?: boolean } = {},
): Uint8Array {
  const info: Record<string, unknown> = {
    server_id: id.serverId,
    server_name: id.serverName,
    version: NATS_COMPAT_VERSION,
    proto: ROUTE_PROTO,
    go: `deno${Deno.version.deno}`,
    host: id.host,
    port: id.port,
    headers: id.headers,
  };
  if (id.authRequired) info.auth_required = true;
  if (id.tls) {
    info.tls_required = true;
    info.tls_verify = true;
  }
  info.max_payload = id.maxPayload;
  if (extra.nonce) info.nonce = extra.nonce;
  if (id.advertiseUrl) info.ip = id.advertiseUrl;
  info.cluster = id.clusterName;
  if (id.clusterDynamic) info.cluster_dynamic = true;
  if (id.connectUrls && id.connectUrls.length > 0) info.connect_urls = id.connectUrls;
  if (id.permissions?.import) info.import = id.permissions.import;
  if (id.permissions?.export) info.export = id.permissions.export;
  info.lnoc = true;
  if (extra.ldm) info.ldm = true;
  if (id.leafnodeUrl) info.leafnode_urls = [id.leafnodeUrl];
  return encoder.encode(`INFO ${JSON.stringify(info)} \r\n`);
}

/** The CONNECT a dialing server sends first; `name` is the server id. */
export function routeConnectLine(id: RouteIdentity, url: RouteUrl): Uint8Array {
  const connect: Record<string, unknown> = {
    echo: true,
    verbose: false,
    pedantic: false,
  };
  if (url.user !== undefined) connect.user = url.user;
  if (url.pass !== undefined) connect.pass = url.pass;
  connect.tls_required = id.tls;
  connect.headers = id.headers;
  connect.name = id.serverId;
  connect.cluster = id.clusterName;
  if (id.clusterDynamic) connect.cluster_dynamic = true;
  connect.lnoc = true;
  return encoder.encode(`CONNECT ${JSON.stringify(connect)}\r\n`);
}

export { dynamicClusterName } from "../server/server_id.ts";
