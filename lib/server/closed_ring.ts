/**
 * The ring of recently closed connections that /connz?state=closed shows
 * (nats-server keeps the last 10,000).
 *
 * @module
 */
import type { ClientConnection } from "../client/connection.ts";
import { ClosedReason } from "../conn/closed_reason.ts";

/** The facts about a client connection that /connz shows, open or closed. */
export interface ClientFacts {
  cid: number;
  ip: string;
  port: number;
  start: Date;
  lastActivity: Date;
  rttMs: number;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
  name: string;
  lang: string;
  version: string;
  user?: string;
  account: string;
  tlsVersion?: string;
  tlsCipher?: string;
  /** `websocket` for WebSocket clients; absent means `nats`. */
  type?: string;
}

/** What is kept of a closed client connection. */
export interface ClosedClientInfo extends ClientFacts {
  stop: Date;
  reason: string;
  subscriptions: string[];
}

/** The facts of a client connection as they are now. */
export function clientFacts(c: ClientConnection): ClientFacts {
  return {
    cid: c.cid,
    ip: c.transport.remoteAddress,
    port: c.transport.remotePort,
    start: c.start,
    lastActivity: new Date(c.lastActivity),
    rttMs: c.rttMs,
    inMsgs: c.inMsgs,
    outMsgs: c.outMsgs,
    inBytes: c.inBytes,
    outBytes: c.outBytes,
    name: c.opts.name,
    lang: c.opts.lang,
    version: c.opts.version,
    user: c.user,
    account: c.account.name,
    tlsVersion: c.tls?.version,
    tlsCipher: c.tls?.cipher,
    type: c.type,
  };
}

/** What the ring keeps of `c` once it has closed. */
export function closedInfo(c: ClientConnection): ClosedClientInfo {
  return {
    ...clientFacts(c),
    stop: c.stop ?? new Date(),
    reason: c.closedReason ?? ClosedReason.ClientClosed,
    subscriptions: [...c.subs.values()].map((s) => s.subject),
  };
}

export class ClosedRing {
  readonly capacity: number;
  #items: ClosedClientInfo[] = [];
  #next = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  push(info: ClosedClientInfo): void {
    if (this.#items.length < this.capacity) {
      this.#items.push(info);
      return;
    }
    this.#items[this.#next] = info;
    this.#next = (this.#next + 1) % this.capacity;
  }

  /** Oldest first. */
  list(): ClosedClientInfo[] {
    return [...this.#items.slice(this.#next), ...this.#items.slice(0, this.#next)];
  }

  get size(): number {
    return this.#items.length;
  }
}
