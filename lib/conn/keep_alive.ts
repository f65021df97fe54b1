/**
 * The PING/PONG keep-alive of a client or route connection: a PING every
 * `ping_interval`, the connection closed as stale once `ping_max` PINGs are
 * outstanding, and the round-trip time taken from the PONG that answers ours.
 *
 * @module
 */
import type { Logger } from "../ops/logger.ts";
import { PING_LINE, WireError } from "../protocol/wire_errors.ts";
import { ClosedReason } from "./closed_reason.ts";

/** What the keep-alive needs from its connection. */
export interface KeepAliveOwner {
  readonly isClosed: boolean;
  readonly logPrefix: string;
  readonly server: {
    readonly options: { readonly maxPingsOut: number; readonly pingIntervalMs: number };
    readonly log: Logger;
  };
  send(bytes: Uint8Array): void;
  sendErrAndClose(text: string, reason: ClosedReason): void;
  /** When the peer last sent messages or changed subscriptions, or got messages (`Date.now()`). */
  readonly lastActivity?: number;
  /** When the peer last sent PING (`Date.now()`, 0 never). */
  readonly lastPingIn?: number;
}

/** A duration rounded to whole seconds as Go prints it: `0s`, `45s`, `2m5s`, `1h0m0s`. */
export function goSeconds(ms: number): string {
  let s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return h > 0 ? `${h}h${m}m${s}s` : `${m}m${s}s`;
}

/** A client active all along still gets a PING this often, to measure its RTT (nats-server: 1 h). */
const RTT_MEASUREMENT_INTERVAL_MS = 3_600_000;

/** See the module comment. */
export class KeepAlive {
  /** Round-trip time of the last PING we sent, in ms (0 until measured). */
  rttMs = 0;
  /** Set by the owner on inbound traffic (see `skipWhenActive`). */
  active = false;
  #owner: KeepAliveOwner;
  #skipWhenActive: boolean;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #pingsOut = 0;
  #sentAt = 0;
  /** When the last PING was sent (performance.now()), 0 before the first. */
  #lastPingAt = 0;
  /** nats-server's name for the connection kind in its "Ping Timer" debug line. */
  #kindName: string;

  /**
   * @param owner The connection.
   * @param kind Which connection this is, for the `<Kind> Ping Timer` debug line.
   *   Not in the stale-connection log line: nats-server writes
   *   `Stale Client Connection - Closing` for routes too.
   * @param skipWhenActive Clients: a peer that sent something since the last
   *   tick has proved it is alive, so no PING is sent (unless an RTT is due: the
   *   first tick, then hourly), and a busy publisher that is slow to answer PINGs
   *   is not cut as stale, as with nats-server.
   */
  constructor(owner: KeepAliveOwner, kind: "Client" | "Route", skipWhenActive: boolean) {
    this.#owner = owner;
    this.#kindName = kind === "Route" ? "Router" : kind;
    this.#skipWhenActive = skipWhenActive;
  }

  /** (Re)arms the next tick `delayMs` from now; 0 or a closed connection disarms. */
  schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    if (this.#owner.isClosed || delayMs <= 0) return;
    this.#timer = setTimeout(() => this.#tick(), delayMs);
  }

  /**
   * The client sent CONNECT: until a PONG times a PING, the round-trip time is
   * taken to be how long the CONNECT took to come (as nats-server does).
   */
  connected(sinceAcceptMs: number): void {
    if (this.rttMs === 0) this.rttMs = Math.max(sinceAcceptMs, 0.001);
  }

  /** A PONG arrived: nothing is outstanding, and it times our PING if one was pending. */
  onPong(): void {
    this.#pingsOut = 0;
    if (this.#sentAt > 0) {
      this.rttMs = performance.now() - this.#sentAt;
      this.#sentAt = 0;
    }
  }

  /** Stops the timer (connection closed). */
  stop(): void {
    clearTimeout(this.#timer);
  }

  /**
   * Why no PING is due, or null. With the owner's activity times this is
   * nats-server's rule: messages or subscription changes within the interval
   * (`client activity 0s ago`), else a PING from the peer within it (`remote
   * ping 0s ago`). Without them, any inbound traffic since the last tick.
   */
  #delayReason(intervalMs: number): string | null {
    const owner = this.#owner;
    if (owner.lastActivity === undefined || owner.lastPingIn === undefined) {
      return this.active ? "client activity" : null;
    }
    const now = Date.now();
    if (now - owner.lastActivity < intervalMs) {
      return `client activity ${goSeconds(now - owner.lastActivity)} ago`;
    }
    if (now - owner.lastPingIn < intervalMs) {
      return `remote ping ${goSeconds(now - owner.lastPingIn)} ago`;
    }
    return null;
  }

  #tick(): void {
    const owner = this.#owner;
    if (owner.isClosed) return;
    const o = owner.server.options;
    const log = owner.server.log;
    if (log.debugEnabled) log.debug(`${owner.logPrefix} - ${this.#kindName} Ping Timer`);
    const now = performance.now();
    const rttDue = this.rttMs === 0 || this.#lastPingAt === 0 ||
      now - this.#lastPingAt > RTT_MEASUREMENT_INTERVAL_MS;
    const delay = this.#skipWhenActive && !rttDue ? this.#delayReason(o.pingIntervalMs) : null;
    if (delay !== null) {
      // As nats-server: an active peer is not pinged, nor cut as stale, this time.
      if (log.debugEnabled) log.debug(`${owner.logPrefix} - Delaying PING due to ${delay}`);
    } else {
      if (this.#pingsOut + 1 > o.maxPingsOut) {
        log.debug(`${owner.logPrefix} - Stale Client Connection - Closing`);
        owner.sendErrAndClose(WireError.StaleConnection, ClosedReason.StaleConnection);
        return;
      }
      this.#pingsOut++;
      this.#sentAt = now;
      this.#lastPingAt = now;
      if (log.traceEnabled) log.trace(`${owner.logPrefix} - ->> [PING]`);
      owner.send(PING_LINE);
    }
    this.active = false;
    this.schedule(o.pingIntervalMs);
  }
}
