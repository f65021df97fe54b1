/**
 * The ring of recently closed connections that /connz?state=closed shows
 * (nats-server keeps the last 10,000).
 *
 * @module
 */

/** What is kept of a closed client connection. */
export interface ClosedClientInfo {
  cid: number;
  ip: string;
  port: number;
  start: Date;
  stop: Date;
  reason: string;
  lastActivity: Date;
  rttMs: number;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
  subscriptions: string[];
  name: string;
  lang: string;
  version: string;
  user?: string;
  account: string;
  tlsVersion?: string;
  tlsCipher?: string;
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
