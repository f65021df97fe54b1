/**
 * Bind failures worded as nats-server words them, so a busy port reads the
 * same in either server's log:
 *
 * - clients: `Error listening on port: 0.0.0.0:4222, "listen tcp 0.0.0.0:4222: bind: address already in use"`
 * - routes: `Error listening on router port: 6222 - listen tcp 0.0.0.0:6222: bind: address already in use`
 * - leaf nodes: `Error listening on leafnode port: 7422 - listen tcp 0.0.0.0:7422: bind: address already in use`
 * - monitoring: `Can't start monitoring: can't listen to the monitor port: listen tcp ...`
 *
 * @module
 */
import { goErrorText } from "./accept_loop.ts";
import { joinHostPort } from "../conn/address.ts";

/** Go's strerror for the codes a bind reports (Deno's and node's own texts differ). */
const BIND_ERRORS: Record<string, string> = {
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "cannot assign requested address",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EAFNOSUPPORT: "address family not supported by protocol",
};

/** An error thrown by a listener that could not bind; `cause` is the runtime's error. */
export class ListenError extends Error {
  override name = "ListenError";
}

/**
 * Go's text for a failed listen on `host`:`port`: `listen tcp <addr>: bind:
 * <reason>`, or Go's own wording when the port is out of range or the host
 * does not resolve (Go finds both before it binds).
 */
export function goListenError(e: unknown, host: string, port: number): string {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return `listen tcp: address ${port}: invalid port`;
  }
  const message = e instanceof Error ? e.message : String(e);
  if (/failed to lookup address|ENOTFOUND|EAI_NONAME|Name or service not known/i.test(message)) {
    return `listen tcp: lookup ${host}: no such host`;
  }
  const code = (e as { code?: unknown })?.code;
  let reason = typeof code === "string" ? BIND_ERRORS[code] : undefined;
  if (reason === undefined && e instanceof Deno.errors.AddrInUse) reason = BIND_ERRORS.EADDRINUSE;
  if (reason === undefined && e instanceof Deno.errors.AddrNotAvailable) {
    reason = BIND_ERRORS.EADDRNOTAVAIL;
  }
  if (reason === undefined && e instanceof Deno.errors.PermissionDenied) {
    reason = BIND_ERRORS.EACCES;
  }
  return `listen tcp ${joinHostPort(host, port)}: bind: ${reason ?? goErrorText(e)}`;
}

/** True when `e` is a failed bind (Deno's or node's), not e.g. a bad certificate. */
export function isBindError(e: unknown): boolean {
  // Deno and node refuse an out-of-range port with a TypeError/RangeError.
  if (e instanceof Error && /invalid port|out of range/i.test(e.message)) return true;
  const { code, syscall } = (e ?? {}) as { code?: unknown; syscall?: unknown };
  // node:net names the failed call; a file error (EACCES on a key) is not a bind.
  if (syscall === "listen" || syscall === "bind") return typeof code === "string";
  return e instanceof Deno.errors.AddrInUse || e instanceof Deno.errors.AddrNotAvailable ||
    code === "EADDRINUSE" || code === "EADDRNOTAVAIL";
}

/** Go's `%q`: a double-quoted string with Go escapes (JSON's are the same for text). */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** The client port could not be bound: nats-server's fatal line. */
export function clientListenError(e: unknown, host: string, port: number): ListenError {
  const hp = joinHostPort(host, port);
  return new ListenError(
    `Error listening on port: ${hp}, ${goQuote(goListenError(e, host, port))}`,
    { cause: e },
  );
}

/** The route port could not be bound: nats-server's fatal line (port as configured). */
export function routeListenError(e: unknown, host: string, port: number): ListenError {
  return new ListenError(
    `Error listening on router port: ${port} - ${goListenError(e, host, port)}`,
    { cause: e },
  );
}

/** The leaf node port could not be bound: nats-server's fatal line (port as configured). */
export function leafListenError(e: unknown, host: string, port: number): ListenError {
  return new ListenError(
    `Error listening on leafnode port: ${port} - ${goListenError(e, host, port)}`,
    { cause: e },
  );
}

/** The monitoring port could not be bound (the server prefixes `Can't start monitoring: `). */
export function monitorListenError(e: unknown, host: string, port: number): ListenError {
  return new ListenError(
    `can't listen to the monitor port: ${goListenError(e, host, port)}`,
    { cause: e },
  );
}

/** The websocket port could not be bound: nats-server's fatal line. */
export function websocketListenError(e: unknown, host: string, port: number): ListenError {
  return new ListenError(
    `Unable to listen for websocket connections: ${goListenError(e, host, port)}`,
    { cause: e },
  );
}
