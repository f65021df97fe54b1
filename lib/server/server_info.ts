/**
 * The INFO line the server sends a client, fields in nats-server's order,
 * and the client URLs it advertises (its own, and the cluster peers' in
 * `connect_urls`). Pure functions of what the server holds
 * ({@linkcode InfoSource}), kept apart from the Server because they decide
 * what every client is told, while the Server only decides when: at accept,
 * when the peers change, at the first PONG and in lame duck mode.
 *
 * @module
 */
import type { Options } from "../config/options.ts";
import type { ClientConnection, ClientType } from "../client/connection.ts";
import { joinHostPort, parseAdvertise } from "../conn/address.ts";
import { CLIENT_PROTO, NATS_COMPAT_VERSION } from "../version.ts";

/** What the INFO line reads of the server. */
export interface InfoSource {
  readonly serverId: string;
  readonly serverName: string;
  readonly options: Options;
  /** Host and port the client listener bound (client_advertise overrides them). */
  readonly clientHost: string;
  readonly clientPort: number;
  /** The cluster in force (its name may be generated or adopted from a peer). */
  readonly cluster: { readonly name: string } | null;
  /** Client URLs of the other cluster members (URL -> how many routes announced it). */
  readonly peerClientUrls: ReadonlyMap<string, number>;
}

/** The client an INFO is for. */
export interface InfoTarget {
  cid: number;
  ip: string;
  nonce?: string;
  type?: ClientType;
}

const encoder = new TextEncoder();

/**
 * The INFO line for `client` (null: a server-wide INFO). `authRequired` is
 * decided by the caller, since WebSocket clients have their own
 * authentication; `extra.ldm` makes the lame duck INFO.
 */
export function clientInfoLine(
  s: InfoSource,
  client: InfoTarget | null,
  authRequired: boolean,
  extra?: { ldm?: boolean },
): Uint8Array {
  const websocket = client?.type === "websocket";
  const o = s.options;
  const info: Record<string, unknown> = {
    server_id: s.serverId,
    server_name: s.serverName,
    version: NATS_COMPAT_VERSION,
    proto: CLIENT_PROTO,
    go: `deno${Deno.version.deno}`,
    host: advertisedHost(s),
    port: advertisedPort(s),
    headers: !o.noHeaderSupport,
  };
  if (authRequired) info.auth_required = true;
  if (o.tls && !o.allowNonTls) info.tls_required = true;
  if (o.tls && (o.tls.verify || o.tls.verifyAndMap)) info.tls_verify = true;
  if (o.tls && o.allowNonTls) info.tls_available = true;
  info.max_payload = o.maxPayload;
  // Clients (nats.go's JetStream context, nats.js) read this to know the API is there.
  if (o.jetstream) info.jetstream = true;
  if (client !== null) {
    info.client_id = client.cid;
    info.client_ip = client.ip;
    if (client.nonce) info.nonce = client.nonce;
  }
  const clusterName = s.cluster?.name ?? o.cluster?.name;
  if (clusterName) info.cluster = clusterName;
  // A lame duck INFO lists only the other servers, where clients should go.
  // WebSocket clients are never sent the NATS URLs (nats-server sends them WebSocket ones).
  const urls = websocket ? [] : extra?.ldm ? peerUrls(s) : connectUrls(s);
  if (urls.length > 0) info.connect_urls = urls;
  if (extra?.ldm) info.ldm = true;
  return encoder.encode(`INFO ${JSON.stringify(info)} \r\n`);
}

export function advertisedHost(s: InfoSource): string {
  const adv = s.options.clientAdvertise;
  if (adv) return parseAdvertise(adv, s.clientPort).host;
  return s.clientHost;
}

export function advertisedPort(s: InfoSource): number {
  const adv = s.options.clientAdvertise;
  if (adv) return parseAdvertise(adv, s.clientPort).port;
  return s.clientPort;
}

/** This server's own client URL(s), as routes announce them to peers. */
export function ownClientUrls(s: InfoSource): string[] {
  const host = advertisedHost(s);
  if (host !== "0.0.0.0" && host !== "::") return [joinHostPort(host, advertisedPort(s))];
  return localAddresses().map((ip) => joinHostPort(ip, advertisedPort(s)));
}

/**
 * Client INFO `connect_urls`: this server's own URL(s), then the cluster
 * peers'. As nats-server, none while no peer is known (a lone cluster node)
 * and none with `no_advertise`.
 */
export function connectUrls(s: InfoSource): string[] {
  if (s.peerClientUrls.size === 0 || s.options.cluster?.noAdvertise) return [];
  return [...ownClientUrls(s), ...s.peerClientUrls.keys()];
}

function peerUrls(s: InfoSource): string[] {
  return s.options.cluster?.noAdvertise ? [] : [...s.peerClientUrls.keys()];
}

/** The INFO target for a connected client. */
export function infoTarget(
  c: ClientConnection,
): { cid: number; ip: string; nonce?: string; type: ClientType } {
  return { cid: c.cid, ip: c.transport.remoteAddress, nonce: c.nonce, type: c.type };
}

function localAddresses(): string[] {
  try {
    return Deno.networkInterfaces().filter((i) => i.family === "IPv4").map((i) => i.address);
  } catch {
    return ["127.0.0.1"];
  }
}
