/**
 * The part of the server a connection talks to. Connections depend on this
 * interface, not on the Server class, so the wiring stays one-directional.
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

export interface ServerCore {
  readonly options: Options;
  readonly log: Logger;
  readonly stats: ServerStats;
  readonly authRequired: boolean;
  /** Client auth is configured (with or without no_auth_user): CONNECTs are checked. */
  readonly authActive: boolean;
  readonly authTimeoutMs: number;
  authenticate(
    client: ClientConnection,
    creds: ConnectCredentials,
  ): AuthOutcome | Promise<AuthOutcome>;
  /** The no_auth_user for a client whose first op is not CONNECT; null without one. */
  anonymousLogin(creds: ConnectCredentials): AuthOutcome | null;
  /** nats-server's log text for a refused client. */
  authViolationLine(creds: ConnectCredentials): string;
  accountFor(name: string): Account | null;
  maxSubscriptionsFor(client: ClientConnection): number;
  /** Local interest changed (SUB/UNSUB/close): routes are told. */
  interestChanged(account: Account, sub: Subscription, added: boolean): void;
  /** A PONG was queued for `client` (the first one may be followed by a fresher INFO). */
  pongSent(client: ClientConnection): void;
  /** Queues a connection for this turn's coalesced write (lib/conn/flush_queue.ts). */
  queueFlush(conn: Flushable): void;
  flushPending(): void;
  slowConsumer(client: ClientConnection, kind: "pending" | "deadline"): void;
  clientClosed(client: ClientConnection): void;
  /** Trace-safe copy of a CONNECT JSON (secrets replaced). */
  redact(text: string): string;
}
