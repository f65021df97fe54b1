/**
 * A subscription as the router stores it: a client's SUB, or a remote
 * server's interest learned over a route (RS+).
 *
 * @module
 */
import type { Outbound } from "../conn/outbound.ts";
import type { Account } from "../server/account.ts";

/**
 * A local client as the delivery code sees it (implemented by
 * lib/client/connection.ts): where MSG lines go and what decides whether one
 * may be delivered.
 */
export interface LocalSubscriber {
  /** Client id (monitoring lists subscriptions by it). */
  readonly cid: number;
  readonly out: Outbound;
  readonly isClosed: boolean;
  /** CONNECT `echo`: false keeps a client's own messages from it. */
  readonly echo: boolean;
  /** CONNECT `headers`: HMSG, or MSG with the headers stripped. */
  readonly headers: boolean;
  /** Delivered reply subjects grant temporary publish rights (allow_responses). */
  readonly grantsReplies: boolean;
  /** The account the client publishes in (routes name it in RMSG). */
  readonly account: Account;
  deliveryAllowed(subject: string): boolean;
  grantReply(reply: string): void;
  /** Counts one delivery and applies the slow-consumer and flow-control limits. */
  countOut(bytes: number): void;
  /**
   * Optional: counts `msgs` deliveries of `bytes` in all, as that many
   * {@link countOut} calls would; a subscriber without it gets no runs
   * (lib/delivery/deliver.ts `fanOutRun`).
   */
  countOutRun?(msgs: number, bytes: number): void;
  /** Auto-unsubscribe reached its count. */
  removeSubscription(sub: Subscription): void;
  /** Round-trip time measured by the server's PINGs, ms (0 before the first one). */
  readonly rttMs?: number;
  /**
   * Who the publisher is, for a service import that shares it with the
   * exporting account (`share: true`): nats-server's ClientInfo fields.
   */
  details?(): PublisherDetails;
}

/** A client's identity as a shared service request carries it. */
export interface PublisherDetails {
  start: Date;
  host: string;
  cid: number;
  account: string;
  /** The user, NKey or token the client logged in with ("" without). */
  user: string;
  name: string;
  lang: string;
  version: string;
  /** `nats` or `websocket` (nats-server's client_type); absent means `nats`. */
  clientType?: string;
}

/**
 * A server-side subscription's handler (service imports and their
 * responses, lib/server/imports.ts). It runs after the fan-out that matched
 * it has finished, so it may publish with fanOut itself.
 */
export type InternalHandler = (msg: import("./deliver.ts").PublishContext) => void;

/**
 * The stream import a shadow subscription delivers through: the subject the
 * importer's client sees is computed from the exporter's (lib/server/imports.ts).
 */
export interface ShadowImport {
  readonly exporter: import("../server/account.ts").Account;
  /** The importer's subject for a subject published in the exporting account. */
  rename(subject: string): string;
}

/**
 * What kind of server link a {@link RouteLink} is. Leaf connections are
 * named from this server's side, as nats-server does: on a hub link we
 * accepted the connection (the peer is our leaf), on a spoke link we dialed a
 * hub (a `leafnodes.remotes` entry).
 */
export const LinkKind = {
  Route: 0,
  LeafHub: 1,
  LeafSpoke: 2,
} as const;
export type LinkKind = typeof LinkKind[keyof typeof LinkKind];

/**
 * A route or a leaf connection as the delivery code sees it (implemented by
 * lib/cluster and lib/leaf).
 */
export interface RouteLink {
  /** Route when absent. */
  readonly linkKind?: LinkKind;
  /** A leaf's cluster name (loop prevention between leafs of one cluster); "" for none. */
  readonly remoteCluster?: string;
  /** Per-message stamp so a route gets each message once (one hop). */
  deliveryStamp: number;
  /** Queue groups named for the message being fanned out. */
  pendingQueues: string[];
  /** Sends RMSG/HMSG for the current message (see lib/delivery/deliver.ts). */
  sendMessage(msg: import("./deliver.ts").PublishContext, queues: readonly string[]): void;
  /**
   * Optional, with {@link sendRun}: whether a run of `count` messages like
   * `msg` (lib/delivery/deliver.ts `fanOutRun`) would be sent as that many
   * {@link sendMessage} calls would send them, and leave at most `stallAt`
   * bytes owed to the peer.
   */
  takesRun?(msg: import("./deliver.ts").PublishContext, count: number, stallAt: number): boolean;
  /** Sends the run {@link takesRun} accepted: `count` messages, `stride` bytes apart. */
  sendRun?(msg: import("./deliver.ts").PublishContext, stride: number, count: number): void;
}

/** Size of the shared buffers small sids are copied into (see {@linkcode copySid}). */
const SID_SLAB_BYTES = 512;
/** Longer sids get a buffer of their own: few would fit a slab. */
const SID_SLAB_MAX = 64;
let sidSlab = new Uint8Array(SID_SLAB_BYTES);
let sidSlabUsed = 0;

/**
 * Copies a SUB's sid out of the read buffer (which the transport reuses) for
 * the MSG lines of later deliveries.
 *
 * Small sids are views into a shared slab rather than `slice()` copies: an
 * ArrayBuffer per subscription measured ~1.3 µs and ~200 B of heap each, a
 * sizeable part of a 10,000-SUB burst. A live view keeps its whole slab alive,
 * so slabs stay small: at worst each long-lived subscription pins one slab.
 */
export function copySid(buf: Uint8Array, start: number, end: number): Uint8Array {
  const length = end - start;
  if (length > SID_SLAB_MAX) return buf.slice(start, end);
  let at = sidSlabUsed;
  if (at + length > SID_SLAB_BYTES) {
    sidSlab = new Uint8Array(SID_SLAB_BYTES);
    at = 0;
  }
  const slab = sidSlab;
  for (let k = 0; k < length; k++) slab[at + k] = buf[start + k];
  sidSlabUsed = at + length;
  return slab.subarray(at, at + length);
}

/**
 * The bytes of a SUB's sid when they must be kept as they came, else `null`:
 * an ASCII sid's bytes are made from its string on the first delivery
 * ({@linkcode Subscription.sidBytes}), so a subscription that never receives
 * a message holds no view for them (a `Uint8Array` is about 100 B of heap,
 * a sixth of what a wildcard subscription costs).
 */
export function keptSidBytes(buf: Uint8Array, start: number, end: number): Uint8Array | null {
  for (let i = start; i < end; i++) if (buf[i] >= 0x80) return copySid(buf, start, end);
  return null;
}

/** An ASCII sid's bytes, made from its string (in a slab, as {@linkcode copySid}). */
function asciiSidBytes(sid: string): Uint8Array {
  const length = sid.length;
  if (length > SID_SLAB_MAX) return new TextEncoder().encode(sid);
  let at = sidSlabUsed;
  if (at + length > SID_SLAB_BYTES) {
    sidSlab = new Uint8Array(SID_SLAB_BYTES);
    at = 0;
  }
  const slab = sidSlab;
  for (let k = 0; k < length; k++) slab[at + k] = sid.charCodeAt(k);
  sidSlabUsed = at + length;
  return slab.subarray(at, at + length);
}

export class Subscription {
  readonly subject: string;
  readonly queue: string | null;
  readonly sid: string;
  /** The sid's bytes for MSG lines; `null` until the first delivery for an ASCII sid. */
  #sidBytes: Uint8Array | null;
  /** Set for a local client subscription. */
  readonly client: LocalSubscriber | null;
  /** Set for a remote interest entry. */
  readonly route: RouteLink | null;
  /** Messages delivered so far (auto-unsubscribe counts these). */
  msgs = 0;
  /** Auto-unsubscribe after this many messages; 0 = never. */
  max = 0;
  /** Delivery filter when permissions deny part of a wildcard subscription. */
  deliveryFiltered = false;
  closed = false;
  /**
   * The fields few subscriptions set (routes' weights and origins, imports'
   * handlers and shadows), made by the first such assignment: a client's
   * plain subscription is 48 B smaller without them (docs/performance.md).
   */
  #rare: RareFields | null = null;

  /** Queue weight announced by a route (RS+ ... <queue> <weight>). */
  get weight(): number {
    return this.#rare === null ? 1 : this.#rare.weight;
  }
  set weight(value: number) {
    if (this.#rare !== null || value !== 1) this.#rareFields().weight = value;
  }

  /**
   * The leaf cluster the interest comes from (a leaf link's, or the origin a
   * route's `LS+` named); "" for none. Never sent back to that cluster.
   */
  get origin(): string {
    return this.#rare === null ? "" : this.#rare.origin;
  }
  set origin(value: string) {
    if (this.#rare !== null || value !== "") this.#rareFields().origin = value;
  }

  /** Set for a server-side subscription (neither client nor route). */
  get internal(): InternalHandler | null {
    return this.#rare === null ? null : this.#rare.internal;
  }
  set internal(value: InternalHandler | null) {
    if (this.#rare !== null || value !== null) this.#rareFields().internal = value;
  }

  /** Not announced to routes (service import subscriptions: each server imports for itself). */
  get noForward(): boolean {
    return this.#rare === null ? false : this.#rare.noForward;
  }
  set noForward(value: boolean) {
    if (this.#rare !== null || value) this.#rareFields().noForward = value;
  }

  /** For a shadow in an exporting account: the importing client's own subscription. */
  get shadowOf(): Subscription | null {
    return this.#rare === null ? null : this.#rare.shadowOf;
  }
  set shadowOf(value: Subscription | null) {
    if (this.#rare !== null || value !== null) this.#rareFields().shadowOf = value;
  }

  /** For a shadow: the stream import it delivers through. */
  get shadowImport(): ShadowImport | null {
    return this.#rare === null ? null : this.#rare.shadowImport;
  }
  set shadowImport(value: ShadowImport | null) {
    if (this.#rare !== null || value !== null) this.#rareFields().shadowImport = value;
  }

  /** The shadows a client subscription has in exporting accounts, if any. */
  get shadows(): Subscription[] | null {
    return this.#rare === null ? null : this.#rare.shadows;
  }
  set shadows(value: Subscription[] | null) {
    if (this.#rare !== null || value !== null) this.#rareFields().shadows = value;
  }

  #rareFields(): RareFields {
    return this.#rare ??= new RareFields();
  }

  constructor(init: {
    subject: string;
    queue: string | null;
    sid: string;
    /** The sid's bytes; `null` (ASCII sids only) makes them from `sid` when first needed. */
    sidBytes: Uint8Array | null;
    client?: LocalSubscriber;
    route?: RouteLink;
  }) {
    this.subject = init.subject;
    this.queue = init.queue;
    this.sid = init.sid;
    this.#sidBytes = init.sidBytes;
    this.client = init.client ?? null;
    this.route = init.route ?? null;
  }

  /** The sid as MSG lines carry it. */
  get sidBytes(): Uint8Array {
    return this.#sidBytes ??= asciiSidBytes(this.sid);
  }
}

/** The seldom-set fields of a {@linkcode Subscription}, with their defaults. */
class RareFields {
  weight = 1;
  origin = "";
  internal: InternalHandler | null = null;
  noForward = false;
  shadowOf: Subscription | null = null;
  shadowImport: ShadowImport | null = null;
  shadows: Subscription[] | null = null;
}
