/**
 * Gossip (auto-discovery, docs/architecture.md, "Protocol facts"): when a server registers a
 * new route while it has others, it tells them about the newcomer by
 * forwarding the newcomer's INFO (nonce removed, `ip` set). The receivers dial
 * the newcomer unless they know it already; so a cluster started from one
 * seed becomes a full mesh.
 *
 * @module
 */
import type { RouteInfoJson } from "./route_connection.ts";
import { parseRouteUrl, type RouteUrl, withCredentials } from "./route_url.ts";
import { joinHostPort } from "../conn/address.ts";

const encoder = new TextEncoder();

/**
 * The URL other servers should dial to reach the newcomer: its advertised
 * `ip` if it sent one, else its TCP address with the cluster port of its INFO.
 */
export function gossipIp(info: RouteInfoJson, remoteAddress: string): string {
  if (typeof info.ip === "string" && info.ip !== "") return info.ip;
  const port = typeof info.port === "number" ? info.port : 0;
  return `nats-route://${joinHostPort(remoteAddress, port)}/`;
}

/**
 * The INFO line forwarded to the other routes: the newcomer's INFO as
 * received, without `nonce`, with `ip`, framed `INFO {json}\r\n` (no space
 * before CRLF, as nats-server frames it).
 */
export function gossipLine(info: RouteInfoJson, ip: string): Uint8Array {
  const out: RouteInfoJson = {};
  let placed = false;
  for (const [key, value] of Object.entries(info)) {
    if (key === "nonce" || key === "ip") continue;
    // nats-server's INFO struct puts `ip` just before `cluster`.
    if (key === "cluster" && !placed) {
      out.ip = ip;
      placed = true;
    }
    out[key] = value;
  }
  if (!placed) out.ip = ip;
  return encoder.encode(`INFO ${JSON.stringify(out)}\r\n`);
}

/** What a server knows when deciding whether to dial a gossiped peer. */
export interface GossipContext {
  ownId: string;
  /** Server ids with a registered route. */
  connected(id: string): boolean;
  /** `host:port` of every configured route (those are dialed anyway). */
  configured: ReadonlySet<string>;
  /** `host:port` currently being dialed. */
  dialing(key: string): boolean;
  /** Our own `cluster.authorization`, added when the newcomer requires auth. */
  credentials: { user?: string; password?: string } | undefined;
}

/**
 * Decides whether a gossiped INFO leads to an implicit route.
 *
 * @returns the URL to dial, or null to ignore the INFO.
 */
export function gossipTarget(info: RouteInfoJson, ctx: GossipContext): RouteUrl | null {
  const id = typeof info.server_id === "string" ? info.server_id : "";
  if (id === "" || id === ctx.ownId || ctx.connected(id)) return null;
  if (typeof info.ip !== "string" || info.ip === "") return null;
  let url: RouteUrl;
  try {
    url = parseRouteUrl(info.ip);
  } catch {
    return null;
  }
  if (ctx.configured.has(url.key) || ctx.dialing(url.key)) return null;
  const creds = ctx.credentials;
  if (info.auth_required === true && creds?.user !== undefined) {
    url = withCredentials(url, creds.user, creds.password ?? "");
  }
  return url;
}
