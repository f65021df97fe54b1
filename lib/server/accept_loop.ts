/**
 * The accept loop every `Deno.listen` listener uses (clients, routes, the
 * `-sl` control channel). It behaves as nats-server's: an error about one
 * connection is logged and skipped, running out of file descriptors (or
 * kernel memory) is logged and retried after a pause that starts at 10 ms and
 * doubles up to 1 s, and only closing the listener ends the loop.
 *
 * Why a loop of its own: a `for await` over a `Deno.Listener` ends at the
 * first error the iterator throws, and Deno throws for a connection the peer
 * reset while it waited in the kernel's queue (`ENOTCONN` from reading the
 * peer address). One port scanner then stopped the server from accepting.
 *
 * @module
 */
import type { Logger } from "../ops/logger.ts";

/** First pause after a resource error, as nats-server (ACCEPT_MIN_SLEEP). */
export const ACCEPT_MIN_SLEEP_MS = 10;
/** Longest pause, as nats-server (ACCEPT_MAX_SLEEP). */
export const ACCEPT_MAX_SLEEP_MS = 1000;

/** Errors that belong to one connection: skip it and accept the next at once. */
const CONNECTION_ERRORS = new Set([
  "ENOTCONN",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EPROTO",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

/**
 * Errors about the process or the machine running out of something (what Go
 * calls a temporary accept error): pause, then retry. ENOBUFS/ENOMEM are not
 * temporary for Go, but retrying them after a pause is the safe choice.
 */
const RESOURCE_ERRORS = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM", "EINTR", "EAGAIN"]);

/** What to do after an accept error. */
export type AcceptErrorKind = "closed" | "connection" | "resource" | "other";

/** Sorts an error thrown by `Deno.Listener.accept()`. */
export function classifyAcceptError(e: unknown): AcceptErrorKind {
  if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) {
    return "closed";
  }
  const code = (e as { code?: unknown })?.code;
  if (typeof code === "string") {
    if (CONNECTION_ERRORS.has(code)) return "connection";
    if (RESOURCE_ERRORS.has(code)) return "resource";
  }
  if (
    e instanceof Deno.errors.NotConnected || e instanceof Deno.errors.ConnectionReset ||
    e instanceof Deno.errors.ConnectionAborted || e instanceof Deno.errors.BrokenPipe ||
    e instanceof Deno.errors.TimedOut
  ) {
    return "connection";
  }
  return "other";
}

/**
 * A system error as Go's `net` package words it: `Too many open files (os
 * error 24)` becomes `accept tcp 0.0.0.0:4222: accept4: too many open files`,
 * so the log lines read as nats-server's.
 */
export function goAcceptError(e: unknown, address: string): string {
  return `accept tcp ${address}: accept4: ${goErrorText(e)}`;
}

/** The strerror text of a Deno or node error, lower-cased as Go prints it. */
export function goErrorText(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const bare = message.replace(/\s*\(os error \d+\)\s*$/, "");
  return bare.length > 0 ? bare[0].toLowerCase() + bare.slice(1) : bare;
}

/** How an {@linkcode acceptLoop} reports and hands over connections. */
export interface AcceptLoopOptions {
  /** `Client`, `Route`, ...: the name nats-server gives this loop in its log lines. */
  name: string;
  /** Read on every use: a reload may replace the server's logger. */
  log: () => Logger;
  /** Takes one accepted connection; a throw closes that connection only. */
  accepted: (conn: Deno.Conn) => void;
  /** True while new connections are closed at once instead (shutdown, lame duck). */
  refuse?: () => boolean;
}

/** A running accept loop. */
export interface AcceptLoop {
  /** The bound address, `host:port`. */
  readonly addr: Deno.NetAddr;
  /** Resolves when the loop has ended (after {@linkcode AcceptLoop.close}). */
  readonly done: Promise<void>;
  /** Closes the listener and ends the loop, a pause in progress included. Idempotent. */
  close(): void;
}

/**
 * Accepts from `listener` until it is closed through the returned handle.
 *
 * @param listener A bound TCP listener; the loop owns it from now on.
 * @param opts Name for log lines, logger, and the connection handler.
 * @returns The handle that closes it.
 */
export function acceptLoop(listener: Deno.Listener, opts: AcceptLoopOptions): AcceptLoop {
  const addr = listener.addr as Deno.NetAddr;
  const where = addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
  let closed = false;
  let wake: (() => void) | null = null;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });

  const run = async () => {
    let delay = ACCEPT_MIN_SLEEP_MS;
    while (!closed) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (e) {
        const kind = closed ? "closed" : classifyAcceptError(e);
        if (kind === "closed") break;
        const log = opts.log();
        if (kind === "connection") {
          // nats-server accepted such a connection and closed it at once, logging
          // only at debug level ("Client connection closed: Read Error"); here the
          // runtime dropped it before handing it over.
          log.debug(`${opts.name} Accept error: ${goErrorText(e)} (reset before accept)`);
          continue;
        }
        if (kind === "resource") {
          log.error(
            `Temporary ${opts.name} Accept Error(${goAcceptError(e, where)}), sleeping ${delay}ms`,
          );
        } else {
          // Logged as nats-server does; the pause (which nats-server does not
          // take here) keeps an error that repeats from spinning the CPU.
          log.error(`${opts.name} Accept error: ${goAcceptError(e, where)}`);
        }
        await pause(delay);
        delay = Math.min(delay * 2, ACCEPT_MAX_SLEEP_MS);
        continue;
      }
      delay = ACCEPT_MIN_SLEEP_MS;
      if (closed) {
        conn.close();
        break;
      }
      if (opts.refuse?.()) {
        conn.close();
        continue;
      }
      try {
        opts.accepted(conn);
      } catch (e) {
        opts.log().error(`${opts.name} connection not created: ${(e as Error).message}`);
        try {
          conn.close();
        } catch { /* already closed */ }
      }
    }
    opts.log().debug(`${opts.name} accept loop exiting..`);
  };

  const done = run();
  return {
    addr,
    done,
    close() {
      if (closed) return;
      closed = true;
      try {
        listener.close();
      } catch { /* already closed */ }
      wake?.();
    },
  };
}
