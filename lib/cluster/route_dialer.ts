/**
 * Dialing routes: explicit ones (the configured `routes`) are tried forever,
 * implicit ones (learned by gossip) `connect_retries` more times, ~1 s apart
 * (docs/architecture.md, "Protocol facts"). One attempt loop per destination at a time.
 *
 * @module
 */
import type { Logger } from "../ops/logger.ts";
import type { RouteUrl } from "./route_url.ts";
import { joinHostPort } from "../conn/address.ts";

/** nats-server's route dial timeout and delay between attempts. */
const DIAL_TIMEOUT_MS = 1000;
const RETRY_DELAY_MS = 1000;
/** First-connect errors of explicit routes are logged at ERR once per this many attempts. */
const CONNECT_ERROR_REPORTS = 3600;

export interface DialerHooks {
  log: Logger;
  /** `cluster.connect_retries` (read at each attempt so reloads apply). */
  connectRetries(): number;
  /** Opens the connection (plain TCP by default; TLS when route TLS is configured). */
  connect(host: string, port: number, timeoutMs: number): Promise<unknown>;
  /** Hands over a connected socket. */
  connected(conn: unknown, url: RouteUrl, explicit: boolean): void;
}

interface Attempt {
  url: RouteUrl;
  explicit: boolean;
  cancelled: boolean;
  wake: (() => void) | null;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class RouteDialer {
  readonly #hooks: DialerHooks;
  readonly #attempts = new Map<string, Attempt>();
  #stopped = false;

  constructor(hooks: DialerHooks) {
    this.#hooks = hooks;
  }

  /** Whether an attempt loop runs for `host:port`. */
  dialing(key: string): boolean {
    return this.#attempts.has(key);
  }

  /**
   * Starts dialing `url` unless already dialing it.
   * @param options.delayMs wait before the first attempt (reconnects)
   * @param options.reconnect errors are reported every attempt (reconnect_error_reports = 1)
   */
  solicit(
    url: RouteUrl,
    options: { explicit: boolean; delayMs?: number; reconnect?: boolean },
  ): void {
    if (this.#stopped || this.#attempts.has(url.key)) return;
    const attempt: Attempt = {
      url,
      explicit: options.explicit,
      cancelled: false,
      wake: null,
      timer: undefined,
    };
    this.#attempts.set(url.key, attempt);
    this.#run(attempt, options.delayMs ?? 0, options.reconnect ?? false).finally(() => {
      if (this.#attempts.get(url.key) === attempt) this.#attempts.delete(url.key);
    });
  }

  /** Stops dialing `host:port` (route removed by a reload). */
  cancel(key: string): void {
    const attempt = this.#attempts.get(key);
    if (attempt === undefined) return;
    this.#attempts.delete(key);
    this.#cancel(attempt);
  }

  stopAll(): void {
    this.#stopped = true;
    for (const attempt of this.#attempts.values()) this.#cancel(attempt);
    this.#attempts.clear();
  }

  #cancel(attempt: Attempt): void {
    attempt.cancelled = true;
    clearTimeout(attempt.timer);
    attempt.wake?.();
  }

  async #run(attempt: Attempt, delayMs: number, reconnect: boolean): Promise<void> {
    const { log } = this.#hooks;
    const url = attempt.url;
    if (delayMs > 0) await this.#sleep(attempt, delayMs);
    let tries = 0;
    while (!attempt.cancelled) {
      log.debug(`Trying to connect to route on ${url.key} (${url.key})`);
      try {
        const conn = await this.#hooks.connect(url.host, url.port, DIAL_TIMEOUT_MS);
        if (attempt.cancelled) {
          (conn as { close?: () => void }).close?.();
          return;
        }
        // Hand over only after the attempt is forgotten, so a quick close can redial.
        this.#attempts.delete(url.key);
        this.#hooks.connected(conn, url, attempt.explicit);
        return;
      } catch (e) {
        tries++;
        const text = `Error trying to connect to route (attempt ${tries}): ${
          dialErrorText(e, url.host, url.port)
        }`;
        const report = reconnect || tries === 1 || tries % CONNECT_ERROR_REPORTS === 0;
        if (report && attempt.explicit) log.error(text);
        else log.debug(text);
        if (!attempt.explicit && tries > this.#hooks.connectRetries()) return;
      }
      await this.#sleep(attempt, RETRY_DELAY_MS);
    }
  }

  #sleep(attempt: Attempt, ms: number): Promise<void> {
    if (attempt.cancelled) return Promise.resolve();
    return new Promise((resolve) => {
      attempt.wake = () => {
        attempt.wake = null;
        resolve();
      };
      attempt.timer = setTimeout(() => attempt.wake?.(), ms);
    });
  }
}

/** Plain TCP dial with nats-server's 1 s timeout. */
export async function dialTcp(host: string, port: number, timeoutMs: number): Promise<Deno.Conn> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = Deno.connect({ hostname: host, port, transport: "tcp" });
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("i/o timeout")), timeoutMs);
  });
  try {
    return await Promise.race([pending, timeout]);
  } catch (e) {
    // A connect that completes after the timeout must not leak its socket.
    pending.then((c) => c.close(), () => {});
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Why a route dial failed, in Go's words where the cause is a socket error
 * (`dial tcp 127.0.0.1:6222: connect: connection refused`), as nats-server
 * logs it; other errors (a TLS handshake) keep their own text.
 *
 * @example
 * ```ts
 * import { dialErrorText } from "./route_dialer.ts";
 * const text = dialErrorText(new Deno.errors.ConnectionRefused("refused"), "127.0.0.1", 6222);
 * if (text !== "dial tcp 127.0.0.1:6222: connect: connection refused") throw new Error(text);
 * ```
 */
export function dialErrorText(e: unknown, host: string, port: number): string {
  const message = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown } | null)?.code;
  const addr = joinHostPort(host, port);
  if (message === "i/o timeout" || code === "ETIMEDOUT") return `dial tcp ${addr}: i/o timeout`;
  if (
    code === "ENOTFOUND" || code === "EAI_AGAIN" ||
    /failed to lookup address|Name or service not known|No address associated/i.test(message)
  ) {
    // Go also names the resolver it asked ("lookup <host> on 127.0.0.53:53: ..."), which we cannot.
    return `dial tcp: lookup ${host}: no such host`;
  }
  if (e instanceof Deno.errors.ConnectionRefused || code === "ECONNREFUSED") {
    return `dial tcp ${addr}: connect: connection refused`;
  }
  // The peer closed during a TLS handshake: Go's TLS layer reads EOF there.
  if (/socket hang up|disconnected before secure TLS connection/i.test(message)) return "EOF";
  if (code === "EHOSTUNREACH" || /no route to host/i.test(message)) {
    return `dial tcp ${addr}: connect: no route to host`;
  }
  if (code === "ENETUNREACH" || /network is unreachable/i.test(message)) {
    return `dial tcp ${addr}: connect: network is unreachable`;
  }
  return message;
}
