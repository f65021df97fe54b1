/**
 * An account: an isolated subject space with its own interest table. Users
 * without an account live in the global account `$G`.
 *
 * @module
 */
import { Sublist } from "../router/sublist.ts";
import type { Subscription } from "../delivery/subscription.ts";
import type { ClientConnection } from "../client/connection.ts";

export const GLOBAL_ACCOUNT = "$G";
/** The system account nats-server creates when `system_account` names none. */
export const DEFAULT_SYSTEM_ACCOUNT = "$SYS";

export class Account {
  readonly name: string;
  readonly sublist: Sublist<Subscription>;
  readonly clients: Set<ClientConnection> = new Set();
  maxConnections = 0;
  maxSubscriptions = 0;
  maxPayload = 0;
  /**
   * Traffic of the account's clients that have closed: with the open ones',
   * the account's totals, which nats-server keeps per account (/accstatz).
   */
  readonly retired = { inMsgs: 0, inBytes: 0, outMsgs: 0, outBytes: 0 };

  constructor(name: string, options: { cache: boolean }) {
    this.name = name;
    this.sublist = new Sublist<Subscription>({ cache: options.cache });
  }
}
