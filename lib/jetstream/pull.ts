/**
 * Pull requests of a pull consumer (`$JS.API.CONSUMER.MSG.NEXT`): the
 * requests waiting for messages with their batch, byte budget, expiry and
 * idle heartbeat, served in arrival order, and nats-server's status messages
 * (404, 408, 409, 100), header for header. An ephemeral pull consumer is
 * deleted after `inactive_threshold` without a request.
 *
 * @module
 */
import { goDuration } from "../monitor/format.ts";
import type { Consumer } from "./consumer.ts";
import { DEFAULT_MAX_WAITING } from "./consumer_config.ts";
import { buildHeaders } from "./headers.ts";

const EMPTY = new Uint8Array(0);
const decoder = new TextDecoder();

interface WaitingRequest {
  reply: string;
  /** Messages still wanted. */
  n: number;
  /** Byte budget left; 0 = none. */
  b: number;
  /** Messages delivered so far. */
  d: number;
  noWait: boolean;
  /** Deadline (ms, performance.now()); 0 = none. */
  expires: number;
  /** Idle heartbeat interval (ms) and when the next one is due; 0 = none. */
  hb: number;
  hbt: number;
}

export class PullRequests {
  readonly #c: Consumer;
  readonly waiting: WaitingRequest[] = [];
  #expiryTimer: ReturnType<typeof setTimeout> | undefined;
  #inactiveTimer: ReturnType<typeof setInterval> | undefined;
  #lastActive = performance.now();
  #replayTimer: ReturnType<typeof setTimeout> | undefined;
  /** The message whose replay wait is over. */
  #replayNow = 0;

  constructor(c: Consumer) {
    this.#c = c;
    const inactive = c.config.inactive_threshold ?? 0;
    if (inactive > 0) {
      const ms = Math.max(10, inactive / 1e6);
      this.#inactiveTimer = setInterval(() => {
        if (this.waiting.length === 0 && performance.now() - this.#lastActive >= ms) {
          c.host.expired(c);
        }
      }, Math.max(10, Math.min(ms / 2, 1000)));
    }
  }

  /** A `$JS.API.CONSUMER.MSG.NEXT` request. */
  request(reply: string, body: Uint8Array): void {
    this.#lastActive = performance.now();
    const c = this.#c;
    const sendErr = (status: string): void => {
      this.#c.host.publish(reply, "", buildHeaders(status), EMPTY);
    };
    let batch = 1;
    let expiresNs = 0;
    let maxBytes = 0;
    let noWait = false;
    let hbNs = 0;
    const text = body.length === 0 ? "" : decoder.decode(body).trim();
    if (text.startsWith("{")) {
      let req: Record<string, unknown>;
      try {
        req = JSON.parse(text);
      } catch (e) {
        return sendErr(`400 Bad Request - ${(e as Error).message}`);
      }
      batch = typeof req.batch === "number" ? req.batch : 0;
      expiresNs = typeof req.expires === "number" ? req.expires : 0;
      maxBytes = typeof req.max_bytes === "number" ? req.max_bytes : 0;
      noWait = req.no_wait === true;
      hbNs = typeof req.idle_heartbeat === "number" ? req.idle_heartbeat : 0;
      if (hbNs > 0 && hbNs * 2 > expiresNs) {
        return sendErr("400 Bad Request - heartbeat value too large");
      }
    } else if (/^[+-]?\d+$/.test(text)) {
      batch = Number(text);
    }
    const cfg = c.config;
    if (cfg.max_batch && batch > cfg.max_batch) {
      return sendErr(`409 Exceeded MaxRequestBatch of ${cfg.max_batch}`);
    }
    if (expiresNs > 0 && cfg.max_expires && expiresNs > cfg.max_expires) {
      return sendErr(`409 Exceeded MaxRequestExpires of ${goDuration(cfg.max_expires)}`);
    }
    if (maxBytes > 0 && cfg.max_bytes && maxBytes > cfg.max_bytes) {
      return sendErr(`409 Exceeded MaxRequestMaxBytes of ${cfg.max_bytes}`);
    }
    if (this.waiting.length >= (cfg.max_waiting ?? DEFAULT_MAX_WAITING)) this.expire(false);
    if (noWait) {
      const msgsPending = c.numPending() + c.rdq.length;
      if (msgsPending === 0 && expiresNs === 0) return sendErr("404 No Messages");
      if (msgsPending > 0) {
        const batchPending = this.expire(false);
        if (msgsPending < batchPending) return sendErr("408 Requests Pending");
      }
    }
    if (this.waiting.length >= (cfg.max_waiting ?? DEFAULT_MAX_WAITING)) {
      return sendErr("409 Exceeded MaxWaiting");
    }
    this.waiting.push({
      reply,
      n: batch,
      b: maxBytes,
      d: 0,
      noWait,
      expires: expiresNs > 0 ? performance.now() + expiresNs / 1e6 : 0,
      hb: hbNs / 1e6,
      hbt: hbNs > 0 ? performance.now() + hbNs / 1e6 : 0,
    });
    this.#scheduleExpiry();
    c.deliver();
  }

  /**
   * Drops expired requests (408 Request Timeout) and those nobody listens to;
   * at the end of the stream (`eos`) also no-wait requests that got something.
   * Returns the batch still wanted by the requests that stay.
   */
  expire(eos: boolean): number {
    const now = performance.now();
    let brp = 0;
    for (let i = 0; i < this.waiting.length; i++) {
      const wr = this.waiting[i];
      if ((eos && wr.noWait && wr.d > 0) || (wr.expires > 0 && now >= wr.expires)) {
        this.#c.host.publish(
          wr.reply,
          "",
          buildHeaders("408 Request Timeout", [
            ["Nats-Pending-Messages", String(wr.n)],
            ["Nats-Pending-Bytes", String(wr.b)],
          ]),
          EMPTY,
        );
        this.waiting.splice(i--, 1);
        continue;
      }
      if (!this.#c.host.hasInterest(wr.reply)) {
        this.waiting.splice(i--, 1);
        continue;
      }
      if (wr.hbt > 0 && now >= wr.hbt) {
        this.#c.host.publish(
          wr.reply,
          "",
          buildHeaders("100 Idle Heartbeat", [
            ["Nats-Last-Consumer", String(this.#c.dseq - 1)],
            ["Nats-Last-Stream", String(this.#c.sseq - 1)],
          ]),
          EMPTY,
        );
        wr.hbt = now + wr.hb;
      }
      brp += wr.n;
    }
    return brp;
  }

  #scheduleExpiry(): void {
    if (this.#expiryTimer !== undefined) clearTimeout(this.#expiryTimer);
    this.#expiryTimer = undefined;
    let first = 0;
    for (const wr of this.waiting) {
      if (wr.expires && (!first || wr.expires < first)) first = wr.expires;
      if (wr.hbt && (!first || wr.hbt < first)) first = wr.hbt;
    }
    if (!first || this.#c.closed) return;
    this.#expiryTimer = setTimeout(() => {
      this.#expiryTimer = undefined;
      this.expire(false);
      this.#scheduleExpiry();
    }, Math.max(1, first - performance.now() + 1));
  }

  /** The next request that can take a message of `size` bytes (max_bytes checked). */
  #nextWaiting(size: number): WaitingRequest | null {
    while (this.waiting.length > 0) {
      const wr = this.waiting[0];
      if (wr.b > 0) {
        if (size <= wr.b) {
          wr.b -= size;
          if (wr.b === 0) wr.n = 1;
        } else {
          this.#c.host.publish(
            wr.reply,
            "",
            buildHeaders("409 Message Size Exceeds MaxBytes", [
              ["Nats-Pending-Messages", String(wr.n)],
              ["Nats-Pending-Bytes", String(wr.b)],
            ]),
            EMPTY,
          );
          this.waiting.shift();
          continue;
        }
      }
      if (
        (wr.expires === 0 || performance.now() < wr.expires) && this.#c.host.hasInterest(wr.reply)
      ) {
        return wr;
      }
      this.waiting.shift();
    }
    return null;
  }

  /** Delivers what it can to the waiting requests. */
  run(): void {
    const c = this.#c;
    if (this.#replayTimer !== undefined) return;
    while (this.waiting.length > 0) {
      const next = c.next();
      if (next === null) break;
      // replay_policy original: the message waits for its turn, then goes without waiting.
      const wait = this.#replayNow === next.m.seq ? 0 : c.replayWait(next.m);
      if (wait > 0) {
        c.putBack(next);
        this.#replayNow = next.m.seq;
        this.#replayTimer = setTimeout(() => {
          this.#replayTimer = undefined;
          c.deliver();
        }, wait);
        return;
      }
      this.#replayNow = 0;
      c.replayed(next.m);
      const o = c.outgoing(next);
      const wr = this.#nextWaiting(o.size);
      if (wr === null) {
        // Nobody to take it: put it back.
        c.putBack(next);
        break;
      }
      wr.n--;
      wr.d++;
      if (wr.n <= 0) this.waiting.splice(this.waiting.indexOf(wr), 1);
      else if (wr.hb > 0) wr.hbt = performance.now() + wr.hb;
      this.#lastActive = performance.now();
      c.deliverMsg(wr.reply, o);
    }
    c.replayCaughtUp();
    // At the end of what there is: no-wait requests that got something are done.
    if (this.waiting.length > 0) this.expire(c.atEnd());
    this.#scheduleExpiry();
  }

  /** The consumer is deleted: waiting requests hear it, timers stop. */
  close(): void {
    for (const wr of this.waiting) {
      this.#c.host.publish(wr.reply, "", buildHeaders("409 Consumer Deleted"), EMPTY);
    }
    this.waiting.length = 0;
    clearTimeout(this.#expiryTimer);
    clearTimeout(this.#replayTimer);
    clearInterval(this.#inactiveTimer);
  }
}
