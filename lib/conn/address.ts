/**
 * Host and port text, written and read as nats-server does (Go's
 * `net.JoinHostPort` / `net.SplitHostPort`, and its lenient advertise form).
 * Pure functions with no imports: every layer may use them.
 *
 * @module
 */

/**
 * `host:port`, with an IPv6 literal in brackets (`[::1]:4222`).
 *
 * @example
 * ```ts
 * import { joinHostPort } from "./address.ts";
 * console.assert(joinHostPort("::1", 4222) === "[::1]:4222");
 * console.assert(joinHostPort("127.0.0.1", 4222) === "127.0.0.1:4222");
 * ```
 */
export function joinHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Splits `host:port` strictly, as Go's `net.SplitHostPort` (`[v6]:port`).
 *
 * @throws {SyntaxError} when the port is missing or the host has a bare colon
 */
export function splitHostPort(hostport: string): { host: string; port: string } {
  if (hostport.startsWith("[")) {
    const end = hostport.indexOf("]");
    if (end < 0 || hostport[end + 1] !== ":") {
      throw new SyntaxError(`address ${hostport}: missing port in address`);
    }
    return { host: hostport.slice(1, end), port: hostport.slice(end + 2) };
  }
  const i = hostport.lastIndexOf(":");
  if (i < 0) throw new SyntaxError(`address ${hostport}: missing port in address`);
  const host = hostport.slice(0, i);
  if (host.includes(":")) throw new SyntaxError(`address ${hostport}: too many colons in address`);
  return { host, port: hostport.slice(i + 1) };
}

/**
 * Reads an advertise address (`client_advertise`, `cluster.advertise`):
 * `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 literal, with an
 * optional `scheme://` and trailing `/`; a missing port is `defaultPort`.
 *
 * @example
 * ```ts
 * import { parseAdvertise } from "./address.ts";
 * const { host, port } = parseAdvertise("nats://example.com", 4222);
 * console.assert(host === "example.com" && port === 4222);
 * console.assert(parseAdvertise("[::1]:5222", 4222).port === 5222);
 * console.assert(parseAdvertise("fe80::1", 4222).host === "fe80::1");
 * ```
 */
export function parseAdvertise(s: string, defaultPort: number): { host: string; port: number } {
  const text = s.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/\/$/, "");
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed !== null) {
    return { host: bracketed[1]!, port: bracketed[2] ? Number(bracketed[2]) : defaultPort };
  }
  // More than one colon and no brackets: an IPv6 literal without a port.
  if (text.indexOf(":") !== text.lastIndexOf(":")) return { host: text, port: defaultPort };
  const m = /^([^:]*)(?::(\d+))?$/.exec(text);
  if (m === null) return { host: text, port: defaultPort };
  return { host: m[1]!, port: m[2] ? Number(m[2]) : defaultPort };
}
