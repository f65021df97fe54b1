/**
 * The server's own client in an account: it holds the system account's
 * subscriptions (request subjects, other servers' events) and, in each other
 * account, the subscriptions that stand for nats-server's automatic service
 * imports. The fan-out delivers to it like to any client (MSG/HMSG framed into
 * its buffer); it takes each message out of the buffer at once and queues it
 * for a handler run after the current read, so a handler never publishes from
 * inside another fan-out.
 *
 * @module
 */
import { Outbound } from "../conn/outbound.ts";
import { type LocalSubscriber, Subscription } from "../delivery/subscription.ts";
import type { Account } from "../server/account.ts";
import { NO_TRANSPORT, readMsgFrame } from "../delivery/internal.ts";

/** A message delivered to an internal subscription. */
export interface InternalMessage {
  subject: string;
  /** "" when the message has no reply subject. */
  reply: string;
  /** The body, without headers. */
  body: Uint8Array;
}

/** What an internal subscription does with a message (runs after the read that delivered it). */
export type InternalHandler = (msg: InternalMessage) => void;

export class InternalClient implements LocalSubscriber {
  readonly cid: number;
  readonly account: Account;
  readonly out: Outbound = new Outbound(NO_TRANSPORT, () => {});
  readonly isClosed = false;
  /**
   * Whether the client hears what it publishes itself. The system account's
   * client does: a request it relays for an account reaches its own
   * handlers, and their answers its own inbox (it ignores its own events).
   */
  readonly echo: boolean;
  readonly headers = true;
  readonly grantsReplies = false;
  /**
   * Subscriptions kept on this server: nats-server does not send the
   * interest of service-import subscriptions to routes.
   */
  readonly localOnly: boolean;
  readonly #handlers = new Map<string, InternalHandler>();
  readonly #schedule: (run: () => void) => void;
  #nextSid = 1;

  /**
   * @param schedule Runs a handler after the current read (the system module's queue).
   */
  constructor(
    cid: number,
    account: Account,
    schedule: (run: () => void) => void,
    flags: { localOnly?: boolean; echo?: boolean } = {},
  ) {
    this.cid = cid;
    this.account = account;
    this.#schedule = schedule;
    this.localOnly = flags.localOnly ?? false;
    this.echo = flags.echo ?? false;
  }

  /** Creates a subscription (the caller inserts it and tells routes, or not). */
  subscription(
    subject: string,
    handler: InternalHandler,
    sid = String(this.#nextSid++),
  ): Subscription {
    this.#handlers.set(sid, handler);
    const sub = new Subscription({
      subject,
      queue: null,
      sid,
      sidBytes: new TextEncoder().encode(sid),
      client: this,
    });
    sub.noForward = this.localOnly;
    return sub;
  }

  /** Next sid this client would give (nats-server numbers system subscriptions from 1). */
  takeSid(): string {
    return String(this.#nextSid++);
  }

  deliveryAllowed(): boolean {
    return true;
  }

  grantReply(): void {}

  removeSubscription(sub: Subscription): void {
    this.#handlers.delete(sub.sid);
    this.account.sublist.remove(sub);
  }

  /** The fan-out framed one message into `out`: take it out and queue its handler. */
  countOut(): void {
    const b = this.out.buf;
    const len = this.out.len;
    this.out.len = 0;
    const frame = readMsgFrame(b, 0, len);
    if (frame === null) return;
    const { start, hdrSize, total } = frame;
    const body = b.slice(start + hdrSize, start + total);
    const handler = this.#handlers.get(frame.sid);
    if (handler === undefined) return;
    const msg: InternalMessage = { subject: frame.subject, reply: frame.reply, body };
    this.#schedule(() => handler(msg));
  }
}
