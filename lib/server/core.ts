/**
 * The parts of the server connections talk to. Connections depend on these
 * interfaces, not on the Server class, so the wiring stays one-directional:
 * {@link ConnectionHost} for what every kind uses, {@link ServerCore} for
 * client connections, {@link RouteServer} for routes.
 *
 * @module
 */
import type { Options } from "../config/options.ts";
import type { Logger } from "../ops/logger.ts";
import type { ClientConnection } from "../client/connection.ts";
import type { Flushable } from "../conn/flush_queue.ts";
import type { Subscription } from "../delivery/subscription.ts";
import type { Account } from "./account.ts";
import type { AuthOutcome, ConnectCredentials } from "./auth_api.ts";

/** Server-wide counters (/varz). */
export interface ServerStats {
  inMsgs: number;
  inBytes: number;
  outMsgs: number;
  outBytes: number;
  slowConsumers: number;
  totalConnections: number;
}

/** Counters at zero (a new server). */
export function zeroStats(): ServerStats {
  return { inMsgs: 0, inBytes: 0, outMsgs: 0, outBytes: 0, slowConsumers: 0, totalConnections: 0 };
}

/** What every connection kind (client, route) uses of the server. */
export interface ConnectionHost {
  /** The options in force (a reload replaces them: read them fresh). */
  readonly options: Options;
  readonly log: Logger;
  readonly stats: ServerStats;
  /** Queues a connection for this turn's coalesced write (lib/conn/flush_queue.ts). */
  queueFlush(conn: Flushable): void;
  /** Writes what the current read produced (end of a parsed chunk). */
  flushPending(): void;
  /** Trace-safe copy of a CONNECT JSON (secrets replaced). */
  redact(text: string): string;
}

/** What a route connection uses of the server. */
export interface RouteServer extends ConnectionHost {
  readonly accounts: ReadonlyMap<string, Account>;
  /**
   * Interest learned from a peer server changed (leaf connections are told,
   * lib/leaf); absent in test fakes.
   */
  interestChanged?(account: Account, sub: Subscription, added: boolean): void;
}

/** What a client connection uses of the server. */
export interface ServerCore extends ConnectionHost {
  readonly authRequired: boolean;
  /** Client auth is configured (with or without no_auth_user): CONNECTs are checked. */
  readonly authActive: boolean;
  readonly authTimeoutMs: number;
  /** Per-client answer (WebSocket clients may have their own auth); absent: {@link authActive}. */
  authActiveFor?(client: ClientConnection): boolean;
  /** Per-client answer; absent: {@link authTimeoutMs}. */
  authTimeoutMsFor?(client: ClientConnection): number;
  authenticate(
    client: ClientConnection,
    creds: ConnectCredentials,
  ): AuthOutcome | Promise<AuthOutcome>;
  /** The no_auth_user for a client whose first op is not CONNECT; null without one. */
  anonymousLogin(creds: ConnectCredentials, client?: ClientConnection): AuthOutcome | null;
  /** nats-server's log text for a refused client. */
  authViolationLine(creds: ConnectCredentials, client?: ClientConnection): string;
  accountFor(name: string): Account | null;
  maxSubscriptionsFor(client: ClientConnection): number;
  /** Local interest changed (SUB/UNSUB/close): routes are told. */
  interestChanged(account: Account, sub: Subscription, added: boolean): void;
  /** A PONG was queued for `client` (the first one may be followed by a fresher INFO). */
  pongSent(client: ClientConnection): void;
  slowConsumer(client: ClientConnection, kind: "pending" | "deadline"): void;
  clientClosed(client: ClientConnection): void;
}
