/**
 * Route URLs (`nats-route://[user:pass@]host:port`, any scheme accepted as
 * nats-server does) and the forms logs and gossip need.
 *
 * @module
 */
import { joinHostPort } from "../conn/address.ts";

/** A parsed route URL. */
export interface RouteUrl {
  /** The URL as configured (credentials included). */
  readonly text: string;
  readonly host: string;
  readonly port: number;
  readonly user?: string;
  readonly pass?: string;
  /** `host:port`: identifies the destination whatever the credentials. */
  readonly key: string;
}

/** Port used when a route URL names none (nats-server's default cluster port). */
const DEFAULT_ROUTE_PORT = 6222;

/**
 * Parses a route URL.
 *
 * @param text e.g. `nats-route://u:p@127.0.0.1:6222`
 * @returns The parts; credentials are URL-decoded.
 * @throws {TypeError} When the text is not a URL with a host.
 * @example
 * ```ts
 * import { parseRouteUrl } from "./route_url.ts";
 * const u = parseRouteUrl("nats-route://ruser:T0p@127.0.0.1:4248");
 * if (u.key !== "127.0.0.1:4248" || u.user !== "ruser") throw new Error(u.key);
 * ```
 */
export function parseRouteUrl(text: string): RouteUrl {
  const withScheme = text.includes("://") ? text : `nats-route://${text}`;
  const url = new URL(withScheme);
  let host = url.hostname;
  if (host === "") throw new TypeError(`Route URL has no host: ${text}`);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  const port = url.port === "" ? DEFAULT_ROUTE_PORT : Number(url.port);
  const out: { -readonly [K in keyof RouteUrl]: RouteUrl[K] } = {
    text,
    host,
    port,
    key: joinHostPort(host, port),
  };
  if (url.username !== "") out.user = decodeURIComponent(url.username);
  if (url.password !== "") out.pass = decodeURIComponent(url.password);
  return out;
}

/** `host:port`, bracketing IPv6 literals. */

/** The URL for logs: the password replaced as nats-server redacts it. */
export function redactedUrl(url: RouteUrl): string {
  if (url.pass === undefined) return url.text;
  try {
    const u = new URL(url.text.includes("://") ? url.text : `nats-route://${url.text}`);
    u.password = "xxxxx";
    return u.toString();
  } catch {
    return url.key;
  }
}

/** A copy of `url` with credentials added (gossip-learned routes to an auth-requiring peer). */
export function withCredentials(url: RouteUrl, user: string, pass: string): RouteUrl {
  const scheme = url.text.includes("://")
    ? url.text.slice(0, url.text.indexOf("://"))
    : "nats-route";
  const text = `${scheme}://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@${url.key}/`;
  return { text, host: url.host, port: url.port, user, pass, key: url.key };
}
