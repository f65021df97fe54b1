/**
 * One route: a TCP connection to another server of the cluster, either
 * accepted on the cluster port or dialed. It runs the handshake
 * (CONNECT/INFO), keeps the peer's interest (RS+/RS-) in the account
 * sublists as route subscriptions, delivers RMSG/HMSG to local clients only
 * (one hop), and frames local messages for the peer (`sendMessage`).
 *
 * Registration, gossip and reconnects are decisions about the whole cluster:
 * they are taken by the {@link RouteHost} (lib/cluster/cluster.ts).
 *
 * @module
 */
import { fanOut, fanOutRun, PublishContext } from "../delivery/deliver.ts";
import { copyBytes, latin1, sameBytes } from "../protocol/bytes.ts";
import { type JsonFields, optStr, parseJsonObject } from "../protocol/link_json.ts";
import { Outbound } from "../conn/outbound.ts";
import { type InboundOwner, InboundPump, ReadBlock } from "../conn/inbound.ts";
import { traceArgsLine, tracePayloadLine } from "../conn/trace.ts";
import { closeOnTransportEnd, closeOnWriteError } from "../conn/transport_failure.ts";
import { type RouteLink, Subscription } from "../delivery/subscription.ts";
import type { Transport } from "../conn/transport.ts";
import { ClosedReason } from "../conn/closed_reason.ts";
import { errLine, PONG_LINE, WireError } from "../protocol/wire_errors.ts";
import { KeepAlive } from "../conn/keep_alive.ts";
import type { MatchResult } from "../router/sublist.ts";
import type { Account } from "../server/account.ts";
import type { RouteServer } from "../server/core.ts";
import { InterestOp, type RouteOps, RouteParseFailure, RouteParser } from "./route_parser.ts";
import { writeRouteMsg } from "./route_encode.ts";
import type { RouteAuth } from "./route_auth.ts";
import type { RouteUrl } from "./route_url.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
const NO_QUEUES: readonly string[] = [];
/** nats-server sends the first route PING after ~1 s (plus jitter) to measure RTT. */
const FIRST_PING_MS = 1000;

/** A route INFO as JSON (fields of docs/architecture.md, "Protocol facts"). */
export type RouteInfoJson = JsonFields;

/** What a route needs from the cluster it belongs to. */
export interface RouteHost {
  readonly server: RouteServer;
  readonly auth: RouteAuth;
  /**
   * Checks (or adopts, for a dynamic name) the peer's cluster name; on a
   * mismatch it refuses the connection and returns false.
   */
  checkClusterName(conn: RouteConnection, theirs: string, dynamic: boolean): boolean;
  /** First INFO from the peer: register (or refuse) the route. */
  processFirstInfo(conn: RouteConnection, info: RouteInfoJson): void;
  /** An INFO about another server (gossip). */
  gossipReceived(conn: RouteConnection, info: RouteInfoJson): void;
  /** The peer entered lame duck mode or changed its client URLs. */
  peerUrlsChanged(conn: RouteConnection, urls: string[]): void;
  /** The connection closed (registered or not). */
  routeClosed(conn: RouteConnection): void;
  /** Route `export` permission: whether we accept interest on `subject`. */
  exportAllowed(subject: string): boolean;
  /**
   * The peer's INFO announced new import/export permissions (its config was
   * reloaded): what it now accepts from us may have grown.
   */
  peerPermissionsChanged(conn: RouteConnection): void;
}

/** How a connection came to be. */
export interface RouteOrigin {
  rid: number;
  /** We dialed it. */
  solicited: boolean;
  /** The URL dialed (solicited routes only). */
  url: RouteUrl | null;
  /** The URL is from the configured `routes` (reconnect forever). */
  explicit: boolean;
}

export class RouteConnection implements RouteLink, RouteOps, InboundOwner {
  readonly rid: number;
  readonly host: RouteHost;
  readonly server: RouteServer;
  readonly transport: Transport;
  readonly out: Outbound;
  readonly parser: RouteParser;
  readonly solicited: boolean;
  readonly start = new Date();

  /** Dialed URL; for an accepted route it may be set when it survives a duplicate. */
  url: RouteUrl | null;
  explicit: boolean;
  /** Set when the cluster decided this route must not be dialed again. */
  noReconnect = false;

  // Peer identity, from CONNECT (name = server id) and then INFO.
  remoteId = "";
  remoteName = "";
  remoteInfo: RouteInfoJson | null = null;
  /** The peer accepts HMSG. */
  headers = false;
  /** The peer takes `LS+ <origin>` and `LMSG <origin>` (leaf node origin cluster). */
  lnoc = false;
  /** The peer's client URLs currently added to our connect_urls. */
  connectUrls: string[] = [];
  /** The peer's leaf node URL, passed on to our leafs ("" for none). */
  leafnodeUrl = "";
  /**
   * The credentials of an accepted route's CONNECT, kept so that a config
   * reload changing the cluster authorization can check them again.
   */
  credentials: { user?: string; pass?: string } | null = null;
  registered = false;
  /** When it was registered (performance.now()), for duplicate resolution. */
  registeredAt = 0;

  // RouteLink (lib/delivery/deliver.ts)
  deliveryStamp = 0;
  pendingQueues: string[] = [];

  // statistics
  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;
  lastActivity = Date.now();

  isClosed = false;
  closedReason: ClosedReason | null = null;
  flushQueued = false;

  /** The peer's interest: "acc subject[ queue]" -> route subscription. */
  readonly remoteSubs = new Map<string, { account: Account; sub: Subscription }>();

  #connectSeen = false;
  readonly #inbound: InboundPump;
  #authTimer: ReturnType<typeof setTimeout> | undefined;
  #keepAlive = new KeepAlive(this, "Route", false);

  // Inbound message path: one reusable context and an "L1" cache of the last
  // account and subject, so a steady stream builds no strings.
  #msg = new PublishContext();
  #queues: string[] = [];
  #lastAccBytes = new Uint8Array(64);
  #lastAccLen = -1;
  #lastAccount: Account | null = null;
  #lastSubj = new Uint8Array(128);
  #lastSubjLen = -1;
  #lastGen = -1;
  #lastSublistAcc: Account | null = null;
  #lastResult: MatchResult<Subscription> | null = null;

  // Outbound: the publisher's account name as bytes, cached.
  #outAccount: Account | null = null;
  #outAccountBytes: Uint8Array = EMPTY;
  #outOrigin = "";
  #outOriginBytes: Uint8Array = EMPTY;

  constructor(host: RouteHost, transport: Transport, origin: RouteOrigin) {
    this.host = host;
    this.server = host.server;
    this.transport = transport;
    this.rid = origin.rid;
    this.solicited = origin.solicited;
    this.url = origin.url;
    this.explicit = origin.explicit;
    this.parser = new RouteParser(this);
    this.out = new Outbound(transport, (e) => closeOnWriteError(this, e, "error"));
    this.#inbound = new InboundPump(this, transport);
    this.#msg.fromRoute = true;
    this.#msg.publisher = null;
  }

  /** Round-trip time of the last PING we sent (routez `rtt`), in ms. */
  get rttMs(): number {
    return this.#keepAlive.rttMs;
  }

  /** The `host:port - rid:N` prefix of nats-server's route log lines. */
  get logPrefix(): string {
    return `${this.transport.remoteAddress}:${this.transport.remotePort} - rid:${this.rid}`;
  }

  /**
   * Starts the connection. Accepted: sends our INFO (with nonce) and waits for
   * CONNECT. Dialed: sends CONNECT then INFO without waiting (as nats-server).
   */
  begin(first: Uint8Array[]): void {
    for (const line of first) this.out.append(line);
    this.out.flush();
    const auth = this.host.auth;
    if (!this.solicited && auth.required) {
      this.#authTimer = setTimeout(() => this.#authTimeout(), auth.timeoutMs);
    }
    this.#keepAlive.schedule(FIRST_PING_MS + Math.random() * FIRST_PING_MS * 0.2);
    this.transport.start((chunk) => this.#onData(chunk), (e) => closeOnTransportEnd(this, e));
  }

  #onData(chunk: Uint8Array): void {
    if (this.isClosed) return;
    this.lastActivity = Date.now();
    this.#inbound.onData(chunk);
  }

  /**
   * InboundOwner: parses a chunk; deliveries to local clients go out now, once
   * per client. A local subscriber slower than this route makes the route wait
   * (bounded), so TCP back-pressure reaches the peer, whose publishers then
   * wait on this route instead of the route being cut as a slow consumer.
   */
  parseChunk(chunk: Uint8Array): number {
    const stop = this.parser.parse(chunk);
    this.server.flushPending();
    return stop;
  }

  // ------------------------------------------------------------ handshake

  onConnect(buf: Uint8Array, start: number, end: number): boolean {
    if (this.solicited || this.#connectSeen) return true; // nats-server ignores repeats
    const text = decoder.decode(buf.subarray(start, end));
    if (this.server.log.traceEnabled) {
      this.#trace(`<<- [CONNECT ${this.server.redact(text)}]`);
    }
    const json = parseJsonObject(text);
    if (json === null) {
      this.close(ClosedReason.ProtocolViolation);
      return false;
    }
    this.#connectSeen = true;
    this.credentials = { user: optStr(json.user), pass: optStr(json.pass) };
    const auth = this.host.auth;
    if (auth.required) {
      const verdict = auth.check(optStr(json.user), optStr(json.pass));
      if (verdict instanceof Promise) {
        this.#inbound.block(ReadBlock.Auth);
        verdict.then((ok) => this.#finishAsyncAuth(ok, json));
        return false;
      }
      if (!verdict) {
        this.#authFailed();
        return false;
      }
    }
    return this.#connectChecks(json);
  }

  #finishAsyncAuth(ok: boolean, json: RouteInfoJson): void {
    if (this.isClosed) return;
    if (!ok) return this.#authFailed();
    if (!this.#connectChecks(json)) return;
    this.#inbound.unblock(ReadBlock.Auth);
  }

  /** CONNECT checks after authentication, in nats-server's order. */
  #connectChecks(json: RouteInfoJson): boolean {
    clearTimeout(this.#authTimer);
    this.#authTimer = undefined;
    if (optStr(json.lang)) {
      this.server.log.error(`${this.logPrefix} - ${WireError.IncorrectRoutePort}`);
      this.sendErrAndClose(WireError.IncorrectRoutePort, ClosedReason.WrongPort);
      return false;
    }
    const gateway = optStr(json.gateway);
    if (gateway) {
      const text = `Rejecting connection from gateway "${gateway}" on the Route port`;
      this.server.log.error(`${this.logPrefix} - ${text}`);
      this.sendErrAndClose(text, ClosedReason.WrongPort);
      return false;
    }
    const cluster = optStr(json.cluster) ?? "";
    if (!this.host.checkClusterName(this, cluster, json.cluster_dynamic === true)) return false;
    this.remoteId = optStr(json.name) ?? "";
    if (json.headers === true) this.headers = !this.server.options.noHeaderSupport;
    if (json.lnoc === true) this.lnoc = true;
    return true;
  }

  /**
   * Config reload: the CONNECT credentials no longer pass the cluster
   * authorization, so the route is closed as a failed login would be.
   */
  revokeAuthorization(): void {
    this.noReconnect = true;
    this.#authFailed();
  }

  #authFailed(): void {
    this.server.log.error(`${this.logPrefix} - authentication error`);
    this.sendErrAndClose(WireError.AuthorizationViolation, ClosedReason.AuthenticationViolation);
  }

  #authTimeout(): void {
    if (this.isClosed || this.#connectSeen) return;
    this.server.log.error(`${this.logPrefix} - Authentication Timeout`);
    this.sendErrAndClose(WireError.AuthenticationTimeout, ClosedReason.AuthenticationTimeout);
  }

  onInfo(buf: Uint8Array, start: number, end: number): void {
    const text = decoder.decode(buf.subarray(start, end));
    if (this.server.log.traceEnabled) this.#trace(`<<- [INFO ${text}]`);
    const info = parseJsonObject(text);
    if (info === null) {
      this.close(ClosedReason.ProtocolViolation);
      return;
    }
    if (!this.registered) {
      if (!this.solicited && !this.#connectSeen) {
        // An accepted route must start with CONNECT.
        this.#authFailed();
        return;
      }
      this.remoteInfo = info;
      this.remoteId = optStr(info.server_id) ?? this.remoteId;
      this.remoteName = optStr(info.server_name) ?? "";
      this.headers = info.headers === true && !this.server.options.noHeaderSupport;
      if (info.lnoc === true) this.lnoc = true;
      this.host.processFirstInfo(this, info);
      return;
    }
    const id = optStr(info.server_id);
    if (id !== undefined && id !== this.remoteId) {
      this.host.gossipReceived(this, info);
    } else if (info.ldm === true) {
      this.server.log.debug(`${this.logPrefix} - Peer entered lame duck mode`);
      this.host.peerUrlsChanged(this, []);
    } else {
      const before = this.remoteInfo;
      this.remoteInfo = info;
      if (
        before !== null &&
        (JSON.stringify(before.import) !== JSON.stringify(info.import) ||
          JSON.stringify(before.export) !== JSON.stringify(info.export))
      ) {
        this.host.peerPermissionsChanged(this);
      }
      if (Array.isArray(info.connect_urls)) {
        this.host.peerUrlsChanged(this, info.connect_urls.filter((u) => typeof u === "string"));
      }
    }
  }

  /** Marks the route registered and sends it all local interest (called by the host). */
  registeredWith(snapshot: Uint8Array): void {
    this.registered = true;
    this.registeredAt = performance.now();
    this.server.log.debug(`${this.logPrefix} - Registering remote route "${this.remoteId}"`);
    if (snapshot.length > 0) this.send(snapshot);
    this.server.log.debug(`${this.logPrefix} - Sent local subscriptions to route`);
  }

  // ------------------------------------------------------------ interest

  onInterest(p: RouteParser, op: InterestOp): void {
    if (!this.registered || op === InterestOp.Account) return;
    // LS+ carries the origin cluster first; LS- does not.
    const k = op === InterestOp.LeafAdd ? 1 : 0;
    const n = p.argCount - k;
    const adding = op === InterestOp.RemoteAdd || op === InterestOp.LeafAdd;
    if (n < 2 || n > 4 || (!adding && n > 3)) {
      this.server.log.debug(`${this.logPrefix} - Ignoring malformed interest line`);
      return;
    }
    const ab = p.argBuf;
    const accName = latin1(ab, p.argStart[k], p.argEnd[k]);
    const subject = latin1(ab, p.argStart[k + 1], p.argEnd[k + 1]);
    const queue = n >= 3 ? latin1(ab, p.argStart[k + 2], p.argEnd[k + 2]) : null;
    if (this.server.log.traceEnabled) {
      const verb = op === InterestOp.RemoteAdd
        ? "RS+"
        : op === InterestOp.RemoteRemove
        ? "RS-"
        : op === InterestOp.LeafAdd
        ? "LS+"
        : "LS-";
      this.#trace(`<<- [${verb} ${accName} ${subject}${queue === null ? "" : " " + queue}]`);
    }
    const account = this.server.accounts.get(accName);
    if (account === undefined) {
      // $SYS interest is exchanged by nats-server's system account: ignore it quietly.
      if (accName !== "$SYS") {
        this.server.log.debug(
          `${this.logPrefix} - Unknown account "${accName}" for subject "${subject}"`,
        );
      }
      return;
    }
    const key = queue === null ? `${accName} ${subject}` : `${accName} ${subject} ${queue}`;
    const existing = this.remoteSubs.get(key);
    if (!adding) {
      if (existing === undefined) return;
      this.remoteSubs.delete(key);
      existing.sub.closed = true;
      existing.account.sublist.remove(existing.sub);
      this.server.interestChanged?.(existing.account, existing.sub, false);
      return;
    }
    const weight = n === 4 ? p.parseSize(k + 3) : 1;
    if (existing !== undefined) {
      // A repeated RS+ for a queue group carries its new weight.
      if (weight > 0) existing.sub.weight = weight;
      return;
    }
    if (!this.host.exportAllowed(subject)) {
      this.server.log.debug(`${this.logPrefix} - Not permitted to export "${subject}"`);
      return;
    }
    const sub = new Subscription({ subject, queue, sid: key, sidBytes: EMPTY, route: this });
    if (weight > 0) sub.weight = weight;
    if (k === 1) sub.origin = latin1(ab, p.argStart[0], p.argEnd[0]);
    if (!account.sublist.insert(sub)) {
      this.server.log.error(`${this.logPrefix} - Invalid subscription "${subject}"`);
      this.send(errLine("Invalid Subscription"));
      return;
    }
    this.remoteSubs.set(key, { account, sub });
    this.server.interestChanged?.(account, sub, true);
  }

  /**
   * Config reload narrowed the route `export` permission: forgets the peer's
   * interest in subjects it may no longer subscribe to.
   */
  dropRemoteInterest(allowed: (subject: string) => boolean): void {
    for (const [key, { account, sub }] of this.remoteSubs) {
      if (allowed(sub.subject)) continue;
      this.remoteSubs.delete(key);
      sub.closed = true;
      account.sublist.remove(sub);
      this.server.interestChanged?.(account, sub, false);
    }
  }

  /** Drops all of the peer's interest (route closed or replaced). */
  #removeRemoteSubs(): void {
    if (this.remoteSubs.size === 0) return;
    const perAccount = new Map<string, number>();
    for (const { account, sub } of this.remoteSubs.values()) {
      sub.closed = true;
      account.sublist.remove(sub);
      this.server.interestChanged?.(account, sub, false);
      perAccount.set(account.name, (perAccount.get(account.name) ?? 0) + 1);
    }
    this.remoteSubs.clear();
    if (this.server.log.debugEnabled) {
      for (const [name, n] of perAccount) {
        this.server.log.debug(
          `${this.logPrefix} - Removing ${n} subscriptions for account "${name}"`,
        );
      }
    }
  }

  // ------------------------------------------------------------ messages

  onMsg(p: RouteParser, buf: Uint8Array, start: number, end: number): void {
    if (!this.registered) return;
    const size = end - start;
    this.inMsgs++;
    this.inBytes += size;
    const stats = this.server.stats;
    stats.inMsgs++;
    stats.inBytes += size;
    const ab = p.argBuf;
    const account = this.#accountFor(ab, p.argStart[p.msgAccount], p.argEnd[p.msgAccount]);
    if (account === null) return;
    const s0 = p.argStart[p.msgSubject];
    const s1 = p.argEnd[p.msgSubject];
    const msg = this.#msg;
    const sublist = account.sublist;
    let result: MatchResult<Subscription>;
    if (
      this.#lastSublistAcc === account && this.#lastGen === sublist.generation &&
      s1 - s0 === this.#lastSubjLen && sameBytes(this.#lastSubj, ab, s0, s1)
    ) {
      result = this.#lastResult!;
    } else {
      const subject = latin1(ab, s0, s1);
      msg.subject = subject;
      result = sublist.match(subject);
      this.#rememberSubject(ab, s0, s1, account, result);
    }
    if (this.server.log.traceEnabled) this.#traceMsg(p, buf.subarray(start, end));
    msg.subjBuf = ab;
    msg.subjStart = s0;
    msg.subjEnd = s1;
    if (p.msgReply >= 0) {
      msg.replyBuf = ab;
      msg.replyStart = p.argStart[p.msgReply];
      msg.replyEnd = p.argEnd[p.msgReply];
    } else {
      msg.replyStart = -1;
    }
    msg.origin = p.msgOrigin < 0 ? "" : latin1(ab, p.argStart[p.msgOrigin], p.argEnd[p.msgOrigin]);
    msg.sizeBuf = ab;
    msg.sizeStart = p.argStart[p.msgSizeArg];
    msg.sizeEnd = p.argEnd[p.msgSizeArg];
    // LMSG always carries a header size: 0 means "no headers".
    if (p.msgHdrArg < 0 || (p.msgOrigin >= 0 && p.msgHdrSize === 0)) {
      msg.hdrSize = -1;
    } else {
      msg.hdrSize = p.msgHdrSize;
      msg.hdrBuf = ab;
      msg.hdrStart = p.argStart[p.msgHdrArg];
      msg.hdrEnd = p.argEnd[p.msgHdrArg];
    }
    if (p.msgQueueEnd > p.msgQueueFirst) {
      const queues = this.#queues;
      queues.length = 0;
      for (let q = p.msgQueueFirst; q < p.msgQueueEnd; q++) {
        queues.push(latin1(ab, p.argStart[q], p.argEnd[q]));
      }
      msg.routeQueues = queues;
    } else {
      msg.routeQueues = null;
    }
    msg.payloadBuf = buf;
    msg.payloadStart = start;
    msg.payloadEnd = end;
    fanOut(msg, result);
  }

  /**
   * RouteOps: `count` more RMSGs with the line of the one just given to
   * {@link onMsg}. Without reply, headers, origin, queue groups or trace, and
   * with the subject's match still the one remembered, they go to the local
   * subscribers in one pass (lib/delivery/deliver.ts `fanOutRun`); otherwise
   * one by one.
   */
  onMsgRun(p: RouteParser, buf: Uint8Array, first: number, stride: number, count: number): void {
    const size = p.msgSize;
    if (
      this.registered && p.msgReply < 0 && p.msgHdrArg < 0 && p.msgOrigin < 0 &&
      p.msgQueueEnd === p.msgQueueFirst && !this.server.log.traceEnabled
    ) {
      const ab = p.argBuf;
      const account = this.#accountFor(ab, p.argStart[p.msgAccount], p.argEnd[p.msgAccount]);
      const s0 = p.argStart[p.msgSubject];
      const s1 = p.argEnd[p.msgSubject];
      if (
        account !== null && this.#lastSublistAcc === account &&
        this.#lastGen === account.sublist.generation && s1 - s0 === this.#lastSubjLen &&
        sameBytes(this.#lastSubj, ab, s0, s1)
      ) {
        const msg = this.#msg;
        msg.subjBuf = msg.sizeBuf = ab;
        msg.subjStart = s0;
        msg.subjEnd = s1;
        msg.sizeStart = p.argStart[p.msgSizeArg];
        msg.sizeEnd = p.argEnd[p.msgSizeArg];
        msg.replyStart = -1;
        msg.hdrSize = -1;
        msg.origin = "";
        msg.routeQueues = null;
        msg.payloadBuf = buf;
        msg.payloadStart = first;
        msg.payloadEnd = first + size;
        const stallAt = this.server.options.maxPending / 2;
        if (fanOutRun(msg, this.#lastResult!, stride, count, stallAt)) {
          this.inMsgs += count;
          this.inBytes += size * count;
          const stats = this.server.stats;
          stats.inMsgs += count;
          stats.inBytes += size * count;
          return;
        }
      }
    }
    for (let m = 0, at = first; m < count && !this.isClosed; m++, at += stride) {
      this.onMsg(p, buf, at, at + size);
    }
  }

  #accountFor(buf: Uint8Array, s: number, e: number): Account | null {
    if (e - s === this.#lastAccLen && sameBytes(this.#lastAccBytes, buf, s, e)) {
      return this.#lastAccount;
    }
    const name = latin1(buf, s, e);
    const account = this.server.accounts.get(name) ?? null;
    if (account === null) {
      if (name !== "$SYS") {
        this.server.log.debug(`${this.logPrefix} - Unknown account "${name}" for routed message`);
      }
      return null;
    }
    if (e - s <= this.#lastAccBytes.length) {
      for (let i = s, j = 0; i < e; i++, j++) this.#lastAccBytes[j] = buf[i];
      this.#lastAccLen = e - s;
      this.#lastAccount = account;
    }
    return account;
  }

  #rememberSubject(
    buf: Uint8Array,
    s: number,
    e: number,
    account: Account,
    result: MatchResult<Subscription>,
  ): void {
    const n = e - s;
    if (n > this.#lastSubj.length) {
      this.#lastSubjLen = -1;
      return;
    }
    for (let i = 0; i < n; i++) this.#lastSubj[i] = buf[s + i];
    this.#lastSubjLen = n;
    this.#lastSublistAcc = account;
    this.#lastGen = account.sublist.generation;
    this.#lastResult = result;
  }

  /** RouteLink: frames a local client's message for this peer (one hop). */
  sendMessage(msg: PublishContext, queues: readonly string[]): void {
    if (this.isClosed) return;
    // A leaf's message and a service import's republish name their account.
    const account = msg.account ?? msg.publisher?.account;
    if (account === undefined || msg.fromRoute) return; // routed messages are never forwarded
    if (account !== this.#outAccount) {
      this.#outAccount = account;
      this.#outAccountBytes = encoder.encode(account.name);
    }
    let origin: Uint8Array | null = null;
    if (msg.origin !== "" && this.lnoc) {
      if (msg.origin !== this.#outOrigin) {
        this.#outOrigin = msg.origin;
        this.#outOriginBytes = encoder.encode(msg.origin);
      }
      origin = this.#outOriginBytes;
    }
    const size = writeRouteMsg(this.out, this.#outAccountBytes, msg, queues, this.headers, origin);
    this.outMsgs++;
    this.outBytes += size;
    const stats = this.server.stats;
    stats.outMsgs++;
    stats.outBytes += size;
    const pending = this.out.pending;
    const maxPending = this.server.options.maxPending;
    if (pending > maxPending / 2) {
      if (pending > maxPending) {
        this.server.log.notice(
          `${this.logPrefix} - Slow Consumer Detected: MaxPending of ${maxPending} Exceeded`,
        );
        stats.slowConsumers++;
        this.close(ClosedReason.SlowConsumerPendingBytes);
        return;
      }
      this.out.markBacklogged();
    }
    this.server.queueFlush(this);
  }

  /**
   * RouteLink: whether a run of `count` messages like `msg` (a local
   * client's, no reply or headers: lib/delivery/deliver.ts `fanOutRun`) may
   * go out in one pass: as {@link sendMessage} would send each, with at most
   * `stallAt` bytes owed after it.
   */
  takesRun(msg: PublishContext, count: number, stallAt: number): boolean {
    if (this.isClosed || msg.origin !== "" || msg.account !== null) return false;
    const account = msg.publisher?.account;
    if (account === undefined) return false;
    const frame = 5 + account.name.length * 4 + 1 + (msg.subjEnd - msg.subjStart) + 1 +
      (msg.sizeEnd - msg.sizeStart) + 2 + (msg.payloadEnd - msg.payloadStart) + 2;
    return this.out.pending + frame * count <= stallAt;
  }

  /**
   * RouteLink: sends the run {@link takesRun} accepted: the first message as
   * {@link sendMessage} frames it, then that RMSG line copied in front of
   * each further payload (`stride` bytes apart in `msg.payloadBuf`).
   */
  sendRun(msg: PublishContext, stride: number, count: number): void {
    const out = this.out;
    const owed = out.pending;
    this.sendMessage(msg, NO_QUEUES);
    if (this.isClosed || count === 1) return;
    // The frame just written ends the buffer. Not at the length before it:
    // making room in a full 1 MiB buffer seals it and starts the frame at 0.
    const start = out.len - (out.pending - owed);
    const size = msg.payloadEnd - msg.payloadStart;
    // A copy: making room below may move the buffer (the old one goes back to the pool).
    const line = out.buf.slice(start, out.len - size - 2);
    const frame = line.length + size + 2;
    out.reserve(frame * (count - 1));
    const b = out.buf;
    let p = out.len;
    let from = msg.payloadStart;
    for (let m = 1; m < count; m++) {
      b.set(line, p);
      p += line.length;
      from += stride;
      // The payload and the CR LF after it (the parser checked it).
      p = copyBytes(b, p, msg.payloadBuf, from, from + size + 2);
    }
    out.len = p;
    const more = count - 1;
    this.outMsgs += more;
    this.outBytes += size * more;
    const stats = this.server.stats;
    stats.outMsgs += more;
    stats.outBytes += size * more;
  }

  // ------------------------------------------------------------ keep-alive

  onPing(): void {
    if (this.server.log.traceEnabled) {
      this.#trace("<<- [PING]");
      this.#trace("->> [PONG]");
    }
    this.send(PONG_LINE);
  }

  onPong(): void {
    if (this.server.log.traceEnabled) this.#trace("<<- [PONG]");
    this.#keepAlive.onPong();
  }

  // ------------------------------------------------------------ errors

  onPeerError(buf: Uint8Array, start: number, end: number): void {
    const text = decoder.decode(buf.subarray(start, end));
    this.server.log.error(`${this.logPrefix} - Route Error ${text}`);
    this.close(ClosedReason.ParseError);
  }

  onError(failure: RouteParseFailure): void {
    if (failure === RouteParseFailure.UnknownOp) {
      this.sendErrAndClose(WireError.UnknownProtocol, ClosedReason.ProtocolViolation);
    } else {
      this.close(ClosedReason.ProtocolViolation);
    }
  }

  // ------------------------------------------------------------ output and close

  /** Queues raw protocol bytes; written with everything else this turn. */
  send(bytes: Uint8Array): void {
    if (this.isClosed) return;
    this.out.append(bytes);
    this.server.queueFlush(this);
  }

  sendErrAndClose(text: string, reason: ClosedReason): void {
    if (this.isClosed) return;
    this.send(errLine(text));
    this.close(reason, true);
  }

  /**
   * Closes the route: its interest leaves the sublists at once, the host
   * unregisters it (and may schedule a reconnect); with `flushFirst`, what is
   * queued (an -ERR) is written before the socket closes.
   */
  close(reason: ClosedReason, flushFirst = false): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closedReason = reason;
    this.parser.stop();
    clearTimeout(this.#authTimer);
    this.#keepAlive.stop();
    this.#inbound.close();
    this.server.log.notice(`${this.logPrefix} - Router connection closed: ${reason}`);
    this.#removeRemoteSubs();
    this.host.routeClosed(this);
    this.out.closeTransport(flushFirst);
  }

  // ------------------------------------------------------------ tracing

  #trace(line: string): void {
    this.server.log.trace(`${this.logPrefix} - ${line}`);
  }

  #traceMsg(p: RouteParser, payload: Uint8Array): void {
    const verb = p.msgOrigin >= 0 ? "LMSG" : p.msgHdrArg >= 0 ? "HMSG" : "RMSG";
    this.#trace(traceArgsLine(verb, p));
    this.#trace(tracePayloadLine(payload, this.server.options.maxTracedMsgLen));
  }
}
