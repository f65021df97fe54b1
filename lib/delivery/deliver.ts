/**
 * Fan-out of one published message to the subscriptions that matched it:
 * local clients get MSG/HMSG framed into their outbound buffers, routes get
 * the message once each (one hop) with the queue groups they must serve.
 *
 * Everything here runs once per delivered message: no allocation, no string
 * building, no await. The message is described by a reusable PublishContext
 * whose fields point into the publisher's read buffer.
 *
 * @module
 */
import type { MatchResult } from "../router/sublist.ts";
import type { Account } from "../server/account.ts";
import {
  LinkKind,
  type LocalSubscriber,
  type RouteLink,
  type Subscription,
} from "./subscription.ts";
import { CR, LF, SPACE } from "../protocol/chars.ts";
import { copyBytes, latin1, sameBytes, writeDecimal } from "../protocol/bytes.ts";

/** Placeholder for PublishContext's buffers: one shared empty array, not five per connection. */
const NO_BYTES = new Uint8Array(0);

/** One message in flight through the router. Reused per connection, never per message. */
export class PublishContext {
  subject = "";
  subjBuf: Uint8Array = NO_BYTES;
  subjStart = 0;
  subjEnd = 0;
  /** Reply subject bytes; replyStart < 0 when there is none. */
  replyBuf: Uint8Array = NO_BYTES;
  replyStart = -1;
  replyEnd = -1;
  /**
   * Without a reply, keep its slot empty in MSG/HMSG (`MSG <subject> <sid>  <size>`),
   * as nats-server frames what a stream sends (acks, direct get, consumer status).
   */
  emptyReplySlot = false;
  /** The size token as the publisher wrote it (echoed verbatim, as nats-server). */
  sizeBuf: Uint8Array = NO_BYTES;
  sizeStart = 0;
  sizeEnd = 0;
  /** Header bytes at the start of payload; -1 when the message has no headers. */
  hdrSize = -1;
  /** Header size token (HPUB/HMSG); valid when hdrSize >= 0. */
  hdrBuf: Uint8Array = NO_BYTES;
  hdrStart = 0;
  hdrEnd = 0;
  /** Headers and body: `payloadBuf[payloadStart, payloadEnd)` (no view made unless needed). */
  payloadBuf: Uint8Array = NO_BYTES;
  payloadStart = 0;
  payloadEnd = 0;
  /** Publishing client (echo suppression), null for route-originated messages. */
  publisher: LocalSubscriber | null = null;
  /**
   * The account the message travels in when it is not the publisher's (a
   * service import republishes in the exporting account, a leaf link's message
   * is in the link's account); routes name it in RMSG.
   */
  account: Account | null = null;
  /** Queue groups named by an incoming RMSG/LMSG; null = none (then no queue delivery). */
  routeQueues: readonly string[] | null = null;
  fromRoute = false;
  /**
   * Republished by a service import (a request or its response): stream
   * import shadows skip it, as nats-server does, and a routed response reaches
   * local queue members without the sender naming them.
   */
  viaService = false;
  /**
   * The leaf cluster the message comes from (its leaf link's, or the origin of
   * a route's LMSG); "" for none. Never sent back to that cluster.
   */
  origin = "";
  /** The leaf connection the message came from (null for clients and routes). */
  fromLeaf: RouteLink | null = null;

  /** Headers and body as a view (allocates: for routes and rare paths). */
  get payload(): Uint8Array {
    return this.payloadBuf.subarray(this.payloadStart, this.payloadEnd);
  }

  set payload(bytes: Uint8Array) {
    this.payloadBuf = bytes;
    this.payloadStart = 0;
    this.payloadEnd = bytes.length;
  }

  /** The reply subject as a string (decoded lazily: only permissions need it). */
  replyString(): string {
    return this.replyStart < 0 ? "" : latin1(this.replyBuf, this.replyStart, this.replyEnd);
  }
}

let stamp = 0;
const touchedRoutes: RouteLink[] = [];
const removals: Subscription[] = [];
/** Internal subscriptions matched by the current fan-out (run when it is done). */
let internals: Subscription[] = [];

/**
 * Delivers `msg` to everything in `result`; returns how many deliveries were
 * made (local and remote), which decides no_responders.
 */
export function fanOut(msg: PublishContext, result: MatchResult<Subscription>): number {
  const plain = result.plain;
  const queues = result.queues;
  // Both lengths read every time: the first miss after matches deoptimizes nothing.
  if ((plain.length | queues.length) === 0) return 0;
  let delivered = 0;
  const routeStamp = ++stamp;
  const leaf = msg.fromLeaf;
  // Where the message came from decides where it may go (nats-server's rules):
  // routes take what clients and our leafs (hub links) publish, never what a
  // route or a hub (spoke link) sent us; leafs take everything but their own
  // messages, except that what a route sent goes only to our own leafs.
  const toRoutes = leaf === null ? !msg.fromRoute : leaf.linkKind === LinkKind.LeafHub;
  for (let i = 0; i < plain.length; i++) {
    const sub = plain[i];
    if (sub.client !== null) {
      if (deliverToClient(sub, msg)) delivered++;
      continue;
    }
    const link = sub.route;
    if (link === null) {
      if (sub.internal !== null) {
        internals.push(sub);
        delivered++;
      }
      continue;
    }
    if (link.linkKind === undefined || link.linkKind === LinkKind.Route) {
      if (toRoutes) markRoute(link, routeStamp);
    } else if (leafTakes(link, msg, leaf)) {
      markRoute(link, routeStamp);
    }
  }
  const fromServer = msg.fromRoute || leaf !== null;
  for (let g = 0; g < queues.length; g++) {
    const members = queues[g];
    if (members.length === 0) continue;
    if (fromServer) {
      // A message from another server reaches only the queue groups it named for us.
      const named = msg.routeQueues;
      // A service response (viaService) reaches local queue members without being named.
      if (!msg.viaService && (named === null || !named.includes(members[0].queue!))) continue;
    }
    if (deliverToQueue(members, msg)) {
      delivered++;
      continue;
    }
    // No local member could take it: a route with that group, else a leaf.
    let link = msg.fromRoute ? null : pickLinkMember(members, msg, false);
    if (link === null) link = pickLinkMember(members, msg, true);
    if (link !== null) {
      markRoute(link, routeStamp);
      link.pendingQueues.push(members[0].queue!);
    }
  }
  if (touchedRoutes.length > 0) {
    for (let i = 0; i < touchedRoutes.length; i++) {
      const route = touchedRoutes[i];
      route.sendMessage(msg, route.pendingQueues);
      route.pendingQueues.length = 0;
      delivered++;
    }
    touchedRoutes.length = 0;
  }
  if (removals.length > 0) {
    // Auto-unsubscribe is applied after the loop: the match result may be shared.
    for (let i = 0; i < removals.length; i++) removals[i].client?.removeSubscription(removals[i]);
    removals.length = 0;
  }
  if (internals.length > 0) {
    // Handlers publish with fanOut themselves: take the list first.
    const run = internals;
    internals = [];
    for (let i = 0; i < run.length; i++) run[i].internal!(msg);
  }
  return delivered;
}

/**
 * Delivers a run of `count` messages that differ only in their payload: the
 * first described by `msg` (no reply, no headers), the others `stride` bytes
 * after it in `msg.payloadBuf`, each followed by CR LF there. It frames each
 * subscriber's MSG line once and copies it per message, and a subscriber with
 * the same sid as the one before gets that one's bytes in one copy.
 *
 * Returns false, having delivered nothing, unless every match is a plain
 * client subscription without auto-unsubscribe, delivery filter or stream
 * import, or a route's interest in a client's message (RMSG, one per route),
 * no client or route has two of them, and every subscriber stays at or under `stallAt` bytes owed (half
 * of max_pending) with the whole run in its buffer: then no message of the run
 * could meet a slow-consumer or flow-control limit, and delivering it in one
 * pass is what `count` calls of {@link fanOut} would do. The caller then
 * delivers one message at a time.
 */
export function fanOutRun(
  msg: PublishContext,
  result: MatchResult<Subscription>,
  stride: number,
  count: number,
  stallAt: number,
): boolean {
  const plain = result.plain;
  if (result.queues.length !== 0 || plain.length === 0) return false;
  const size = msg.payloadEnd - msg.payloadStart;
  // The frame without the sid: "MSG " subject " " sid " " size CR LF payload CR LF.
  const fixed = 4 + (msg.subjEnd - msg.subjStart) + 1 + 1 + (msg.sizeEnd - msg.sizeStart) + 2 +
    size + 2;
  const most = plain.length;
  const seen = runClients;
  let ok = true;
  const toRoutes = !msg.fromRoute && msg.fromLeaf === null;
  for (let i = 0; i < most && ok; i++) {
    const sub = plain[i];
    const client = sub.client;
    const link = sub.route;
    if (client === null && link !== null && link.takesRun !== undefined && toRoutes) {
      // A route (never a leaf: takesRun is a route's) gets the message once.
      ok = (link.linkKind === undefined || link.linkKind === LinkKind.Route) && !seen.has(link) &&
        link.takesRun(msg, count, stallAt);
      seen.add(link);
    } else if (
      client === null || client.countOutRun === undefined || sub.max !== 0 ||
      sub.deliveryFiltered || sub.shadowOf !== null
    ) {
      ok = false;
    } else if (!sub.closed && !client.isClosed) {
      // A client with two matching subscriptions gets each message once per
      // subscription, in turn: a run would send all of one sid's first.
      ok = !seen.has(client) &&
        client.out.pending + (fixed + sub.sidBytes.length) * count <= stallAt;
      seen.add(client);
    }
  }
  seen.clear();
  if (!ok) return false;
  let prevSid: Uint8Array | null = null;
  let prevBuf: Uint8Array = NO_BYTES;
  let prevStart = 0;
  let prevEnd = 0;
  for (let i = 0; i < most; i++) {
    const sub = plain[i];
    const link = sub.route;
    if (link !== null) {
      link.sendRun!(msg, stride, count);
      continue;
    }
    const client = sub.client!;
    if (sub.closed || client.isClosed) continue;
    if (client === msg.publisher && !client.echo) continue;
    const sid = sub.sidBytes;
    const bytes = (fixed + sid.length) * count;
    const out = client.out;
    out.reserve(bytes);
    const b = out.buf;
    const start = out.len;
    if (
      prevSid !== null && prevSid.length === sid.length && sameBytes(prevSid, sid, 0, sid.length)
    ) {
      b.set(prevBuf.subarray(prevStart, prevEnd), start);
    } else {
      writeRun(b, start, sid, msg, stride, count);
    }
    out.len = start + bytes;
    prevSid = sid;
    prevBuf = b;
    prevStart = start;
    prevEnd = start + bytes;
    sub.msgs += count;
    client.countOutRun!(count, size * count);
  }
  return true;
}

/** The clients and routes {@link fanOutRun} has checked (emptied after each check). */
const runClients = new Set<LocalSubscriber | RouteLink>();

/** Frames a run (see {@link fanOutRun}) for one sid into `b` at `p`: the MSG line once, then copies. */
function writeRun(
  b: Uint8Array,
  p: number,
  sid: Uint8Array,
  msg: PublishContext,
  stride: number,
  count: number,
): void {
  const line = p;
  b[p++] = 0x4d; // M
  b[p++] = 0x53; // S
  b[p++] = 0x47; // G
  b[p++] = SPACE;
  p = copyBytes(b, p, msg.subjBuf, msg.subjStart, msg.subjEnd);
  b[p++] = SPACE;
  p = copyBytes(b, p, sid, 0, sid.length);
  b[p++] = SPACE;
  p = copyBytes(b, p, msg.sizeBuf, msg.sizeStart, msg.sizeEnd);
  b[p++] = CR;
  b[p++] = LF;
  const lineEnd = p;
  const src = msg.payloadBuf;
  // The payload and the CR LF after it, as the publisher sent them (the parser checked the CR LF).
  let from = msg.payloadStart;
  const take = msg.payloadEnd - from + 2;
  p = copyBytes(b, p, src, from, from + take);
  for (let m = 1; m < count; m++) {
    b.copyWithin(p, line, lineEnd);
    p += lineEnd - line;
    from += stride;
    p = copyBytes(b, p, src, from, from + take);
  }
}

/** Whether leaf connection `link` should get a message (plain interest). */
function leafTakes(link: RouteLink, msg: PublishContext, from: RouteLink | null): boolean {
  if (link === from) return false;
  // Another link of the cluster the message comes from: that cluster already has it.
  if (msg.origin !== "" && msg.origin === link.remoteCluster) return false;
  // What a route brought goes only to our own leafs (the peer serves its own).
  return !msg.fromRoute || link.linkKind === LinkKind.LeafHub;
}

function markRoute(route: RouteLink, routeStamp: number): void {
  if (route.deliveryStamp === routeStamp) return;
  route.deliveryStamp = routeStamp;
  touchedRoutes.push(route);
}

/** One member of a queue group, starting at a random one, local clients only. */
function deliverToQueue(members: readonly Subscription[], msg: PublishContext): boolean {
  const n = members.length;
  const start = n === 1 ? 0 : (Math.random() * n) | 0;
  for (let k = 0; k < n; k++) {
    const sub = members[(start + k) % n];
    if (sub.client === null || sub.closed) continue;
    if (deliverToClient(sub, msg)) return true;
  }
  return false;
}

/** A remote member by weight: routes (`leafs` false) or leaf connections that may take it. */
function pickLinkMember(
  members: readonly Subscription[],
  msg: PublishContext,
  leafs: boolean,
): RouteLink | null {
  let total = 0;
  for (let i = 0; i < members.length; i++) {
    if (memberLink(members[i], msg, leafs) !== null) total += members[i].weight;
  }
  if (total === 0) return null;
  let r = Math.random() * total;
  for (let i = 0; i < members.length; i++) {
    const link = memberLink(members[i], msg, leafs);
    if (link === null) continue;
    r -= members[i].weight;
    if (r < 0) return link;
  }
  return null;
}

function memberLink(sub: Subscription, msg: PublishContext, leafs: boolean): RouteLink | null {
  const link = sub.route;
  if (link === null || sub.closed) return null;
  const isLeaf = link.linkKind !== undefined && link.linkKind !== LinkKind.Route;
  if (isLeaf !== leafs) return null;
  if (!isLeaf) {
    return msg.fromLeaf === null || msg.fromLeaf.linkKind === LinkKind.LeafHub ? link : null;
  }
  return leafTakes(link, msg, msg.fromLeaf) ? link : null;
}

/** Frames the message for one client subscription. Returns false when skipped. */
function deliverToClient(sub: Subscription, msg: PublishContext): boolean {
  const client = sub.client!;
  if (sub.closed || client.isClosed) return false;
  if (sub.shadowOf !== null) return deliverShadow(sub, sub.shadowOf, msg);
  if (client === msg.publisher && !client.echo) return false;
  if (sub.deliveryFiltered && !client.deliveryAllowed(msg.subject)) return false;
  writeMsg(client, sub, msg);
  if (msg.replyStart >= 0 && client.grantsReplies) client.grantReply(msg.replyString());
  if (++sub.msgs === sub.max) {
    sub.closed = true;
    removals.push(sub);
  }
  return true;
}

const encoder = new TextEncoder();

/** Delivery through a stream import: under the importer's subject, counted on its own subscription. */
function deliverShadow(shadow: Subscription, origin: Subscription, msg: PublishContext): boolean {
  const client = origin.client!;
  if (msg.viaService || origin.closed) return false;
  if (client === msg.publisher && !client.echo) return false;
  const subject = shadow.shadowImport!.rename(msg.subject);
  if (origin.deliveryFiltered && !client.deliveryAllowed(subject)) return false;
  const saved = msg.subject;
  const savedBuf = msg.subjBuf;
  const savedStart = msg.subjStart;
  const savedEnd = msg.subjEnd;
  const bytes = encoder.encode(subject);
  msg.subject = subject;
  msg.subjBuf = bytes;
  msg.subjStart = 0;
  msg.subjEnd = bytes.length;
  writeMsg(client, origin, msg);
  msg.subject = saved;
  msg.subjBuf = savedBuf;
  msg.subjStart = savedStart;
  msg.subjEnd = savedEnd;
  if (msg.replyStart >= 0 && client.grantsReplies) client.grantReply(msg.replyString());
  if (++origin.msgs === origin.max) {
    origin.closed = true;
    removals.push(origin);
  }
  return true;
}

/** Appends `MSG`/`HMSG` + payload to the client's outbound buffer. */
export function writeMsg(client: LocalSubscriber, sub: Subscription, msg: PublishContext): void {
  const out = client.out;
  const subjLen = msg.subjEnd - msg.subjStart;
  const replyLen = msg.replyStart < 0 ? -1 : msg.replyEnd - msg.replyStart;
  const sid = sub.sidBytes;
  const withHeaders = msg.hdrSize >= 0 && client.headers;
  // A header-less client gets the body only (nats-server strips the headers).
  const bodyStart = msg.hdrSize > 0 && !client.headers
    ? msg.payloadStart + msg.hdrSize
    : msg.payloadStart;
  const bodyLen = msg.payloadEnd - bodyStart;
  // Upper bound for the control line: verb + tokens + 2 sizes of <= 10 digits + spaces + CRLF.
  const room = 5 + subjLen + 1 + sid.length + 1 + replyLen + 1 + 24 + bodyLen + 4;
  out.reserve(room);
  const b = out.buf;
  let p = out.len;
  if (msg.hdrSize < 0 && replyLen < 0 && !msg.emptyReplySlot) {
    // The usual MSG: the short tokens by byte loops here, the payload by one set().
    b[p++] = 0x4d; // M
    b[p++] = 0x53; // S
    b[p++] = 0x47; // G
    b[p++] = SPACE;
    const sb = msg.subjBuf;
    for (let i = msg.subjStart, e = msg.subjEnd; i < e; i++) b[p++] = sb[i];
    b[p++] = SPACE;
    for (let i = 0, e = sid.length; i < e; i++) b[p++] = sid[i];
    b[p++] = SPACE;
    const zb = msg.sizeBuf;
    for (let i = msg.sizeStart, e = msg.sizeEnd; i < e; i++) b[p++] = zb[i];
    b[p++] = CR;
    b[p++] = LF;
    b.set(msg.payloadBuf.subarray(bodyStart, msg.payloadEnd), p);
    p += bodyLen;
    b[p++] = CR;
    b[p++] = LF;
    out.len = p;
    client.countOut(bodyLen);
    return;
  }
  if (withHeaders) b[p++] = 0x48; // H
  b[p++] = 0x4d; // M
  b[p++] = 0x53; // S
  b[p++] = 0x47; // G
  b[p++] = SPACE;
  p = copyBytes(b, p, msg.subjBuf, msg.subjStart, msg.subjEnd);
  b[p++] = SPACE;
  p = copyBytes(b, p, sid, 0, sid.length);
  b[p++] = SPACE;
  if (replyLen >= 0) {
    p = copyBytes(b, p, msg.replyBuf, msg.replyStart, msg.replyEnd);
    b[p++] = SPACE;
  } else if (msg.emptyReplySlot) {
    b[p++] = SPACE;
  }
  if (withHeaders) {
    p = copyBytes(b, p, msg.hdrBuf, msg.hdrStart, msg.hdrEnd);
    b[p++] = SPACE;
    p = copyBytes(b, p, msg.sizeBuf, msg.sizeStart, msg.sizeEnd);
  } else if (msg.hdrSize >= 0) {
    p = writeDecimal(b, p, bodyLen);
  } else {
    p = copyBytes(b, p, msg.sizeBuf, msg.sizeStart, msg.sizeEnd);
  }
  b[p++] = CR;
  b[p++] = LF;
  p = copyBytes(b, p, msg.payloadBuf, bodyStart, msg.payloadEnd);
  b[p++] = CR;
  b[p++] = LF;
  out.len = p;
  client.countOut(bodyLen);
}
