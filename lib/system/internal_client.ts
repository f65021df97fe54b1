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
import type { Transport } from "../conn/transport.ts";
import { type LocalSubscriber, Subscription } from "../delivery/subscription.ts";
import type { Account } from "../server/account.ts";
import { latin1 } from "../protocol/bytes.ts";

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

/** Internal clients never write to a socket: their buffer is read back in countOut. */
const NO_TRANSPORT: Transport = {
  remoteAddress: "",
  remotePort: 0,
  start() {},
  write: () => Promise.resolve(),
  pause() {},
  resume() {},
  close() {},
};

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
    let eol = 0;
    while (eol + 1 < len && !(b[eol] === 0x0d && b[eol + 1] === 0x0a)) eol++;
    const args = latin1(b, 0, eol).split(" ");
    const withHeaders = args[0] === "HMSG";
    // MSG <subject> <sid> [reply] <size> / HMSG <subject> <sid> [reply] <hdr> <total>
    const fixed = withHeaders ? 5 : 4;
    const reply = args.length > fixed ? args[3] : "";
    const total = Number(args[args.length - 1]);
    const hdr = withHeaders ? Number(args[args.length - 2]) : 0;
    const start = eol + 2;
    const body = b.slice(start + hdr, start + total);
    const handler = this.#handlers.get(args[2]);
    if (handler === undefined) return;
    const msg: InternalMessage = { subject: args[1], reply, body };
    this.#schedule(() => handler(msg));
  }
}
