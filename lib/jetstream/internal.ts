/**
 * JetStream's in-process client: it subscribes in an account's sublist like a
 * connection does (so the publish path needs no change and pays nothing when
 * JetStream is off), receives the MSG/HMSG frames the fan-out writes into its
 * buffer, and publishes through the same fan-out.
 *
 * Frames are taken out of the buffer in a microtask, never during the
 * fan-out that wrote them: handling one (storing it, sending an ack) publishes
 * again, and the fan-out is not re-entrant.
 *
 * @module
 */
import { Outbound } from "../conn/outbound.ts";
import { fanOut, PublishContext } from "../delivery/deliver.ts";
import { describeInternalPublish, NO_TRANSPORT, readMsgFrame } from "../delivery/internal.ts";
import { type LocalSubscriber, Subscription } from "../delivery/subscription.ts";
import type { Account } from "../server/account.ts";

/** One message received on an internal subscription. */
export interface InternalMsg {
  subject: string;
  reply: string;
  /** Header block (`NATS/1.0...\r\n\r\n`), null when the message has none. */
  hdr: Uint8Array | null;
  data: Uint8Array;
}

export type InternalHandler = (msg: InternalMsg) => void;

const encoder = new TextEncoder();

export class InternalClient implements LocalSubscriber {
  readonly cid = 0;
  readonly out: Outbound;
  isClosed = false;
  readonly echo = false;
  readonly headers = true;
  readonly grantsReplies = false;
  readonly account: Account;
  readonly #handlers = new Map<string, InternalHandler>();
  readonly #subs = new Map<string, Subscription>();
  #nextSid = 1;
  #scheduled = false;
  readonly #ctx = new PublishContext();
  #onError: (e: unknown) => void;
  /** Runs after each batch of received messages (JetStream syncs and acks there). */
  afterDrain: (() => void) | null = null;

  constructor(account: Account, onError: (e: unknown) => void) {
    this.account = account;
    this.out = new Outbound(NO_TRANSPORT, () => {});
    this.#onError = onError;
  }

  /**
   * Subscribes `subject` (wildcards allowed), in queue group `queue` if given;
   * returns the sid for unsubscribe().
   */
  subscribe(subject: string, handler: InternalHandler, queue: string | null = null): string {
    const sid = String(this.#nextSid++);
    const sub = new Subscription({
      subject,
      queue,
      sid,
      sidBytes: encoder.encode(sid),
      client: this,
    });
    this.#handlers.set(sid, handler);
    this.#subs.set(sid, sub);
    this.account.sublist.insert(sub);
    return sid;
  }

  unsubscribe(sid: string): void {
    const sub = this.#subs.get(sid);
    if (!sub) return;
    sub.closed = true;
    this.account.sublist.remove(sub);
    this.#subs.delete(sid);
    this.#handlers.delete(sid);
  }

  /**
   * Publishes a message to whoever is interested; returns the number of deliveries.
   * With `deliverTo`, the message goes to the subscribers of that subject but
   * keeps `subject` in its MSG line (how consumers deliver stored messages).
   */
  publish(
    subject: string,
    reply: string,
    hdr: Uint8Array | null,
    data: Uint8Array,
    deliverTo: string = subject,
  ): number {
    if (this.isClosed) return 0;
    const hlen = hdr === null ? 0 : hdr.length;
    // The fan-out copies the payload into each destination: without headers
    // the data goes as it is.
    let payload = data;
    if (hdr !== null) {
      payload = new Uint8Array(hlen + data.length);
      payload.set(hdr, 0);
      payload.set(data, hlen);
    }
    const ctx = this.#ctx;
    describeInternalPublish(ctx, subject, reply, payload, hdr === null ? -1 : hlen);
    ctx.publisher = this;
    return fanOut(ctx, this.account.sublist.match(deliverTo));
  }

  /**
   * Publishes without a reply subject as nats-server's per-stream send queue
   * does (publish acks, direct get answers, consumer status messages): local
   * clients get the reply slot of MSG/HMSG left empty (two spaces).
   */
  send(subject: string, hdr: Uint8Array | null, data: Uint8Array): number {
    this.#ctx.emptyReplySlot = true;
    try {
      return this.publish(subject, "", hdr, data);
    } finally {
      this.#ctx.emptyReplySlot = false;
    }
  }

  deliveryAllowed(): boolean {
    return true;
  }

  grantReply(): void {}

  countOut(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#drain());
  }

  removeSubscription(sub: Subscription): void {
    this.unsubscribe(sub.sid);
  }

  close(): void {
    for (const sid of [...this.#subs.keys()]) this.unsubscribe(sid);
    this.isClosed = true;
  }

  /** Parses the frames written since the last drain and hands each to its handler. */
  #drain(): void {
    this.#scheduled = false;
    const out = this.out;
    const buf = out.buf.slice(0, out.len);
    out.len = 0;
    let p = 0;
    while (p < buf.length) {
      const frame = readMsgFrame(buf, p, buf.length);
      if (frame === null) break;
      const { subject, sid, reply, start, hdrSize: hsize, total } = frame;
      const hdr = frame.withHeaders ? buf.subarray(start, start + hsize) : null;
      const data = buf.subarray(start + hsize, start + total);
      p = frame.next;
      const handler = this.#handlers.get(sid);
      if (!handler) continue;
      try {
        handler({ subject, reply, hdr, data });
      } catch (e) {
        this.#onError(e);
      }
    }
    try {
      this.afterDrain?.();
    } catch (e) {
      this.#onError(e);
    }
  }
}
