/**
 * A subscription as the router stores it: a client's SUB, or a remote
 * server's interest learned over a route (RS+).
 *
 * @module
 */
import type { ClientConnection } from "./connection.ts";

/** A route as the delivery code sees it (implemented by lib/cluster). */
export interface RouteLink {
  /** Per-message stamp so a route gets each message once (one hop). */
  deliveryStamp: number;
  /** Queue groups named for the message being fanned out. */
  pendingQueues: string[];
  /** Sends RMSG/HMSG for the current message (see lib/client/deliver.ts). */
  sendMessage(msg: import("./deliver.ts").PublishContext, queues: readonly string[]): void;
}

export class Subscription {
  readonly subject: string;
  readonly queue: string | null;
  readonly sid: string;
  readonly sidBytes: Uint8Array;
  /** Set for a local client subscription. */
  readonly client: ClientConnection | null;
  /** Set for a remote interest entry. */
  readonly route: RouteLink | null;
  /** Messages delivered so far (auto-unsubscribe counts these). */
  msgs = 0;
  /** Auto-unsubscribe after this many messages; 0 = never. */
  max = 0;
  /** Queue weight announced by a route (RS+ ... <queue> <weight>). */
  weight = 1;
  /** Delivery filter when permissions deny part of a wildcard subscription. */
  deliveryFiltered = false;
  closed = false;

  constructor(init: {
    subject: string;
    queue: string | null;
    sid: string;
    sidBytes: Uint8Array;
    client?: ClientConnection;
    route?: RouteLink;
  }) {
    this.subject = init.subject;
    this.queue = init.queue;
    this.sid = init.sid;
    this.sidBytes = init.sidBytes;
    this.client = init.client ?? null;
    this.route = init.route ?? null;
  }
}
