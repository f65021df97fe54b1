/**
 * One leaf node connection, from either end (docs/leafnodes.md):
 *
 * - **hub link**: accepted on the leaf port. We send INFO (nonce, client_id,
 *   leafnode_urls, `info_on_connect`), the peer sends CONNECT, we answer with
 *   INFO (`connect_info`, `remote_account`) and our interest.
 * - **spoke link**: we dialed a `leafnodes.remotes` URL. We wait for the hub's
 *   INFO, send CONNECT, and once the hub's `connect_info` INFO arrives we send
 *   our interest.
 *
 * Then both ends speak the same protocol: `LS+ <subject> [<queue> <weight>]`,
 * `LS- <subject> [<queue>]`, `LMSG`/`HMSG <subject> [reply | + reply queues |
 * \| queues] [hdr] <size>` (no account: the link is bound to one), PING/PONG.
 * A peer's interest is kept in the account's sublist as link subscriptions,
 * like a route's. Decisions about the whole server (authorization, which
 * interest each link hears, loops) belong to the {@link LeafHost}.
 *
 * @module
 */
import { fanOut, PublishContext } from "../delivery/deliver.ts";
import { copyBytes, latin1, sameBytes, writeDecimal } from "../protocol/bytes.ts";
import { type JsonFields, optStr, parseJsonObject } from "../protocol/link_json.ts";
import { CR, LF, SPACE } from "../protocol/chars.ts";
import { Outbound } from "../conn/outbound.ts";
import { type InboundOwner, InboundPump, ReadBlock } from "../conn/inbound.ts";
import { traceArgsLine, tracePayloadLine } from "../conn/trace.ts";
import { closeOnTransportEnd, closeOnWriteError } from "../conn/transport_failure.ts";
import { LinkKind, type RouteLink, Subscription } from "../delivery/subscription.ts";
import type { Transport } from "../conn/transport.ts";
import { ClosedReason } from "../conn/closed_reason.ts";
import { errLine, PONG_LINE, WireError } from "../protocol/wire_errors.ts";
import { KeepAlive } from "../conn/keep_alive.ts";
import type { MatchResult } from "../router/sublist.ts";
import type { Account } from "../server/account.ts";
import type { RouteServer } from "../server/core.ts";
import { PermissionChecker } from "../auth/permissions.ts";
import {
  InterestOp,
  type RouteOps,
  RouteParseFailure,
  RouteParser,
} from "../cluster/route_parser.ts";
import { queueBytes } from "../cluster/route_encode.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
const PLUS = 0x2b;
const PIPE = 0x7c;

/** nats-server sends the first PING on a server link within ~1 s (plus up to 20 %). */
const FIRST_PING_MS = 1000;
/** How long a dialing leaf waits for the hub's first INFO, and then for `connect_info`. */
export const INFO_WAIT_MS = 1000;
export const CONNECT_PROCESS_MS = 2000;
/** Loop detection: the prefix of each account's unique subject. */
export const LDS_PREFIX = "$LDS.";

export type LeafJson = JsonFields;

/** What a leaf connection needs from the leaf node manager (lib/leaf/leaf_nodes.ts). */
export interface LeafHost {
  readonly server: RouteServer;
  /** Authentication timeout of accepted connections, in ms. */
  readonly authTimeoutMs: number;
  /** This server's cluster name for leafs ("" without one). */
  clusterName(): string;
  /**
   * Checks an accepted connection's CONNECT credentials; the account it binds
   * to, or null to refuse.
   */
  authorize(
    user: string | undefined,
    pass: string | undefined,
  ): Account | null | Promise<Account | null>;
  /** The INFO answering a CONNECT (hub side), with `connect_info` and the bound account. */
  connectInfoLine(conn: LeafConnection): Uint8Array;
  /** The CONNECT a dialing leaf sends after the hub's INFO. */
  connectLine(conn: LeafConnection, info: LeafJson): Uint8Array;
  /** The link is up: record it and send it our interest (LS+ lines). */
  register(conn: LeafConnection): void;
  /** The account's loop detection subject (`$LDS.` + a unique token). */
  loopSubject(account: Account): string;
  /** A peer's interest changed by `delta` (weights for queue groups). */
  peerInterest(conn: LeafConnection, account: Account, sub: Subscription, delta: number): void;
  /** The hub's INFO listed its leafnode URLs (spoke side). */
  hubUrls(conn: LeafConnection, urls: string[]): void;
  /** The peer reported a loop or a cluster name clash: do not redial for a while. */
  delayReconnect(conn: LeafConnection, ms: number): void;
  /** The connection closed (registered or not). */
  closed(conn: LeafConnection): void;
}

/** How the connection came to be. */
export interface LeafOrigin {
  cid: number;
  /** Dialed (a remote); else accepted. */
  solicited: boolean;
  /** The account a dialed link binds to. */
  account: Account | null;
  /** Dialed link: what we may send (deny_exports) and take (deny_imports). */
  permissions: PermissionChecker | null;
}

export class LeafConnection implements RouteLink, RouteOps, InboundOwner {
  readonly cid: number;
  readonly host: LeafHost;
  readonly server: RouteServer;
  readonly transport: Transport;
  readonly out: Outbound;
  readonly parser: RouteParser;
  readonly solicited: boolean;
  readonly start = new Date();
  readonly linkKind: LinkKind;

  /** The account the link is bound to (known at once when dialed, after CONNECT when accepted). */
  account: Account | null;
  /**
   * Dialed links: deny_exports as publish, deny_imports as subscribe. Accepted
   * links: the leaf's `deny_pub` (its deny_imports) as publish deny.
   */
  permissions: PermissionChecker | null;
  /** The peer's cluster name ("" when it has none). */
  remoteCluster = "";
  /** The peer's server name (or id for peers that send no name). */
  remoteName = "";
  remoteId = "";
  /** The account name the peer says we are bound to on its side (spoke links). */
  remoteAccount = "";
  /** The peer's INFO or CONNECT as received. */
  remoteJson: LeafJson | null = null;
  headers = false;
  /** The link runs over TLS (CONNECT `tls_required`). */
  tlsRequired = false;
  /** The peer's nonce (unused: no signatures without JWT). */
  nonce = "";
  /** Set by the host when this link's remote must wait before redialing. */
  reconnectDelayMs = 0;
  registered = false;

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

  /**
   * What we told the peer: "subject" or "subject queue" -> count (a queue
   * group's count is its weight), as nats-server's per-leaf subject map.
   */
  readonly smap = new Map<string, number>();
  /** The peer's interest: "subject" or "subject queue" -> link subscription. */
  readonly remoteSubs = new Map<string, Subscription>();

  #infoSeen = false;
  #connectSeen = false;
  #finished = false;
  readonly #inbound: InboundPump;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #keepAlive = new KeepAlive(this, "Route", false);

  #msg = new PublishContext();
  #queues: string[] = [];
  #lastSubj = new Uint8Array(128);
  #lastSubjLen = -1;
  #lastGen = -1;
  #lastResult: MatchResult<Subscription> | null = null;

  constructor(host: LeafHost, transport: Transport, origin: LeafOrigin) {
    this.host = host;
    this.server = host.server;
    this.transport = transport;
    this.cid = origin.cid;
    this.solicited = origin.solicited;
    this.linkKind = origin.solicited ? LinkKind.LeafSpoke : LinkKind.LeafHub;
    this.account = origin.account;
    this.permissions = origin.permissions;
    this.parser = new RouteParser(this, { leaf: true });
    this.out = new Outbound(transport, (e) => closeOnWriteError(this, e));
    this.#inbound = new InboundPump(this, transport);
    this.#msg.fromLeaf = this;
    this.#msg.publisher = null;
  }

  /** Round-trip time of the last PING we sent, in ms. */
  get rttMs(): number {
    return this.#keepAlive.rttMs;
  }

  /** The `host:port - lid:N` prefix of nats-server's leaf log lines. */
  get logPrefix(): string {
    return `${this.transport.remoteAddress}:${this.transport.remotePort} - lid:${this.cid}`;
  }

  /**
   * Starts the connection: accepted, `first` is our INFO and the CONNECT must
   * come within the auth timeout; dialed, nothing is sent until the hub's INFO.
   */
  begin(first: Uint8Array | null, received: Uint8Array | null = null): void {
    if (first !== null) {
      this.out.append(first);
      this.out.flush();
    }
    const wait = this.solicited ? INFO_WAIT_MS : this.host.authTimeoutMs;
    this.#timer = setTimeout(() => this.#handshakeTimeout(), wait);
    // A TLS hub's INFO was read before the handshake: it is parsed first.
    if (received !== null) this.#onData(received);
    this.transport.start((chunk) => this.#onData(chunk), (e) => closeOnTransportEnd(this, e));
  }

  #onData(chunk: Uint8Array): void {
    if (this.isClosed) return;
    this.lastActivity = Date.now();
    this.#inbound.onData(chunk);
  }

  parseChunk(chunk: Uint8Array): number {
    const stop = this.parser.parse(chunk);
    this.server.flushPending();
    return stop;
  }

  #handshakeTimeout(): void {
    if (this.isClosed || this.#finished) return;
    if (this.solicited) {
      this.server.log.debug(`${this.logPrefix} - Leafnode handshake timed out`);
      this.close(ClosedReason.StaleConnection);
      return;
    }
    this.server.log.error(`${this.logPrefix} - Authentication Timeout`);
    this.sendErrAndClose(WireError.AuthenticationTimeout, ClosedReason.AuthenticationTimeout);
  }

  // ------------------------------------------------------------ handshake

  onConnect(buf: Uint8Array, start: number, end: number): boolean {
    if (this.solicited || this.#connectSeen) return true;
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
    const verdict = this.host.authorize(optStr(json.user), optStr(json.pass));
    if (verdict instanceof Promise) {
      this.#inbound.block(ReadBlock.Auth);
      verdict.then((account) => {
        if (this.isClosed) return;
        if (account === null) return this.#authFailed();
        if (this.#accepted(json, account)) this.#inbound.unblock(ReadBlock.Auth);
      });
      return false;
    }
    if (verdict === null) {
      this.#authFailed();
      return false;
    }
    return this.#accepted(json, verdict);
  }

  #authFailed(): void {
    this.server.log.error(`${this.logPrefix} - authentication error`);
    this.sendErrAndClose(WireError.AuthorizationViolation, ClosedReason.AuthenticationViolation);
  }

  /** CONNECT checks after authentication, in nats-server's order; then the link is up. */
  #accepted(json: LeafJson, account: Account): boolean {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (optStr(json.lang)) {
      this.sendErrAndClose("attempted to connect to leaf node port", ClosedReason.WrongPort);
      return false;
    }
    const theirCluster = optStr(json.cluster) ?? "";
    const ours = this.host.clusterName();
    if (ours !== "" && theirCluster === ours) {
      this.server.log.error(`${this.logPrefix} - remote leafnode has same cluster name`);
      this.sendErrAndClose(
        "remote leafnode has same cluster name",
        ClosedReason.ClusterNamesIdentical,
      );
      return false;
    }
    const gateway = optStr(json.gateway);
    if (gateway) {
      const text = `Rejecting connection from gateway "${gateway}" on the leafnode port`;
      this.server.log.error(`${this.logPrefix} - ${text}`);
      this.sendErrAndClose(text, ClosedReason.WrongPort);
      return false;
    }
    this.remoteJson = json;
    this.account = account;
    // The leaf's deny_imports: subjects we must not send it (nor take its interest in).
    const denyPub = Array.isArray(json.deny_pub)
      ? json.deny_pub.filter((s): s is string => typeof s === "string")
      : [];
    if (denyPub.length > 0) {
      this.permissions = new PermissionChecker({ publish: { deny: denyPub } });
    }
    this.headers = json.headers === true && !this.server.options.noHeaderSupport;
    this.remoteName = optStr(json.name) ?? "";
    this.remoteId = optStr(json.server_id) ?? "";
    this.remoteCluster = theirCluster;
    this.send(this.host.connectInfoLine(this));
    this.#finish();
    return true;
  }

  onInfo(buf: Uint8Array, start: number, end: number): void {
    const text = decoder.decode(buf.subarray(start, end));
    if (this.server.log.traceEnabled) this.#trace(`<<- [INFO ${text}]`);
    if (this.#beforeConnect()) return;
    const info = parseJsonObject(text);
    if (info === null) {
      this.close(ClosedReason.ProtocolViolation);
      return;
    }
    if (!this.solicited) return;
    const urls = Array.isArray(info.leafnode_urls)
      ? info.leafnode_urls.filter((u): u is string => typeof u === "string")
      : null;
    if (!this.#infoSeen) {
      this.#infoSeen = true;
      // A leaf port's INFO always has a client id and leafnode_urls; anything else is another port.
      if (typeof info.client_id !== "number" || info.client_id === 0 || urls === null) {
        this.server.log.error(`${this.logPrefix} - attempted to connect to wrong port`);
        this.close(ClosedReason.WrongPort);
        return;
      }
      if (info.tls_required === true && !this.tlsRequired) {
        this.server.log.error(
          `${this.logPrefix} - The hub requires TLS: give this remote a tls block or a tls:// URL`,
        );
        this.close(ClosedReason.TlsHandshakeError);
        return;
      }
      this.remoteJson = info;
      this.nonce = optStr(info.nonce) ?? "";
      this.headers = info.headers === true && !this.server.options.noHeaderSupport;
      this.remoteId = optStr(info.server_id) ?? "";
      this.remoteName = optStr(info.server_name) || this.remoteId;
      this.remoteCluster = optStr(info.cluster) ?? "";
      if (urls.length > 0) this.host.hubUrls(this, urls);
      clearTimeout(this.#timer);
      this.send(this.host.connectLine(this, info));
      this.server.log.debug(`${this.logPrefix} - Remote leafnode connect msg sent`);
      if (info.info_on_connect === true) {
        this.#timer = setTimeout(() => {
          if (this.isClosed || this.#finished) return;
          this.send(errLine("Stale Leaf Node Connection - Closing"));
          this.close(ClosedReason.StaleConnection, true);
        }, CONNECT_PROCESS_MS);
      } else {
        this.#finish();
      }
      return;
    }
    if (urls !== null && urls.length > 0) this.host.hubUrls(this, urls);
    if (typeof info.remote_account === "string") this.remoteAccount = info.remote_account;
    if (info.connect_info === true) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#finish();
    }
  }

  /** Registers the link and sends it our interest; both ends do this once. */
  #finish(): void {
    if (this.#finished || this.isClosed) return;
    this.#finished = true;
    this.registered = true;
    this.host.register(this);
    this.#keepAlive.schedule(FIRST_PING_MS + Math.random() * FIRST_PING_MS * 0.2);
  }

  // ------------------------------------------------------------ interest

  onInterest(p: RouteParser, op: InterestOp): void {
    if (this.#beforeConnect()) return;
    const account = this.account;
    if (!this.registered || account === null) return;
    const adding = op === InterestOp.LeafAdd;
    if (!adding && op !== InterestOp.LeafRemove) {
      this.server.log.debug(`${this.logPrefix} - Ignoring non-leaf interest line`);
      return;
    }
    const n = p.argCount;
    if ((adding && n !== 1 && n !== 3) || (!adding && n !== 1 && n !== 2)) {
      this.server.log.error(`${this.logPrefix} - processLeafSub Parse Error`);
      this.close(ClosedReason.ProtocolViolation);
      return;
    }
    const ab = p.argBuf;
    const subject = latin1(ab, p.argStart[0], p.argEnd[0]);
    const queue = n >= 2 ? latin1(ab, p.argStart[1], p.argEnd[1]) : null;
    if (this.server.log.traceEnabled) {
      const w = adding && n === 3 ? ` ${latin1(ab, p.argStart[2], p.argEnd[2])}` : "";
      this.#trace(
        `<<- [${adding ? "LS+" : "LS-"} ${subject}${queue === null ? "" : " " + queue}${w}]`,
      );
    }
    const key = queue === null ? subject : `${subject} ${queue}`;
    const existing = this.remoteSubs.get(key);
    if (!adding) {
      if (existing === undefined) return;
      this.remoteSubs.delete(key);
      existing.closed = true;
      account.sublist.remove(existing);
      this.host.peerInterest(this, account, existing, -(queue === null ? 1 : existing.weight));
      return;
    }
    const isLds = subject.startsWith(LDS_PREFIX);
    if (isLds && subject === this.host.loopSubject(account)) {
      this.#loopDetected();
      return;
    }
    // Our deny_exports: the hub's interest in a subject we may not send is ignored.
    if (
      !isLds && this.permissions !== null && !subject.startsWith("_GR_.") &&
      !subject.startsWith("$GR.") && !hasWildcard(subject) &&
      !this.permissions.canPublish(subject)
    ) {
      this.server.log.debug(
        `${this.logPrefix} - Permissions Violation for Subscription to "${subject}"`,
      );
      return;
    }
    const weight = n === 3 ? p.parseSize(2) : 1;
    if (existing !== undefined) {
      if (queue !== null && weight > 0 && weight !== existing.weight) {
        const delta = weight - existing.weight;
        existing.weight = weight;
        this.host.peerInterest(this, account, existing, delta);
      }
      return;
    }
    const sub = new Subscription({ subject, queue, sid: key, sidBytes: EMPTY, route: this });
    if (weight > 0) sub.weight = weight;
    sub.origin = this.remoteCluster;
    if (!account.sublist.insert(sub)) {
      this.server.log.error(`${this.logPrefix} - Could not insert subscription: invalid subject`);
      this.send(errLine("Invalid Subscription"));
      return;
    }
    this.remoteSubs.set(key, sub);
    this.host.peerInterest(this, account, sub, queue === null ? 1 : sub.weight);
  }

  #loopDetected(): void {
    const name = this.account?.name ?? "";
    const text =
      `Loop detected for leafnode account="${name}". Delaying attempt to reconnect for 30s`;
    this.host.delayReconnect(this, 30_000);
    this.send(errLine(text));
    this.server.log.error(`${this.logPrefix} - ${text}`);
    this.close(ClosedReason.ProtocolViolation, true);
  }

  /** Sends `LS+`/`LS-` for a changed entry of the subject map (called by the host). */
  sendInterest(key: string, n: number): void {
    if (key === "") return;
    let line: string;
    if (n > 0) {
      line = key.includes(" ") ? `LS+ ${key} ${n}` : `LS+ ${key}`;
    } else {
      line = `LS- ${key}`;
    }
    if (this.server.log.traceEnabled) this.#trace(`->> [${line}]`);
    this.send(encoder.encode(line + "\r\n"));
  }

  #removeRemoteSubs(): void {
    const account = this.account;
    if (account === null || this.remoteSubs.size === 0) return;
    for (const sub of this.remoteSubs.values()) {
      sub.closed = true;
      account.sublist.remove(sub);
      this.host.peerInterest(this, account, sub, -(sub.queue === null ? 1 : sub.weight));
    }
    this.remoteSubs.clear();
  }

  // ------------------------------------------------------------ messages

  onMsg(p: RouteParser, buf: Uint8Array, start: number, end: number): void {
    if (this.#beforeConnect()) return;
    const account = this.account;
    if (!this.registered || account === null) return;
    const size = end - start;
    this.inMsgs++;
    this.inBytes += size;
    const stats = this.server.stats;
    stats.inMsgs++;
    stats.inBytes += size;
    const ab = p.argBuf;
    const s0 = p.argStart[p.msgSubject];
    const s1 = p.argEnd[p.msgSubject];
    const msg = this.#msg;
    const sublist = account.sublist;
    let result: MatchResult<Subscription>;
    if (
      this.#lastGen === sublist.generation && s1 - s0 === this.#lastSubjLen &&
      sameBytes(this.#lastSubj, ab, s0, s1)
    ) {
      result = this.#lastResult!;
    } else {
      const subject = latin1(ab, s0, s1);
      msg.subject = subject;
      // Our deny_imports: what the hub sends on a denied subject is dropped.
      if (this.permissions !== null && !this.permissions.canSubscribe(subject, null)) return;
      result = sublist.match(subject);
      this.#remember(ab, s0, s1, sublist.generation, result);
    }
    if (this.server.log.traceEnabled) this.#traceMsg(p, buf.subarray(start, end));
    msg.account = account;
    msg.origin = this.remoteCluster;
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
    msg.sizeBuf = ab;
    msg.sizeStart = p.argStart[p.msgSizeArg];
    msg.sizeEnd = p.argEnd[p.msgSizeArg];
    if (p.msgHdrArg < 0) {
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

  #remember(
    buf: Uint8Array,
    s: number,
    e: number,
    generation: number,
    result: MatchResult<Subscription>,
  ): void {
    const n = e - s;
    if (n > this.#lastSubj.length) {
      this.#lastSubjLen = -1;
      return;
    }
    for (let i = 0; i < n; i++) this.#lastSubj[i] = buf[s + i];
    this.#lastSubjLen = n;
    this.#lastGen = generation;
    this.#lastResult = result;
  }

  /** RouteLink: frames a message for the peer as LMSG (or HMSG with headers). */
  sendMessage(msg: PublishContext, queues: readonly string[]): void {
    if (this.isClosed || !this.registered) return;
    if (this.permissions !== null && !this.permissions.canPublish(msg.subject)) return;
    const size = writeLeafMsg(this.out, msg, queues, this.headers);
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

  // ------------------------------------------------------------ keep-alive

  onPing(): void {
    if (this.#beforeConnect()) return;
    if (this.server.log.traceEnabled) this.#trace("<<- [PING]");
    this.send(PONG_LINE);
  }

  onPong(): void {
    if (this.#beforeConnect()) return;
    if (this.server.log.traceEnabled) this.#trace("<<- [PONG]");
    this.#keepAlive.onPong();
  }

  // ------------------------------------------------------------ errors

  /**
   * `-ERR` from the peer: logged; as nats-server, a leaf link stays open
   * (the peer closes it if it means to), except for a loop report.
   */
  onPeerError(buf: Uint8Array, start: number, end: number): void {
    if (this.#beforeConnect()) return;
    const text = decoder.decode(buf.subarray(start, end));
    this.server.log.error(`${this.logPrefix} - Leafnode Error ${text}`);
    if (text.includes("remote leafnode has same cluster name")) {
      this.host.delayReconnect(this, 30_000);
      this.server.log.error(
        `${this.logPrefix} - Leafnode connection dropped with same cluster name error. ` +
          "Delaying attempt to reconnect for 30s",
      );
    } else if (text.includes("Loop detected")) {
      this.host.delayReconnect(this, 30_000);
      const name = this.account?.name ?? "";
      this.server.log.error(
        `${this.logPrefix} - Loop detected for leafnode account="${name}". ` +
          "Delaying attempt to reconnect for 30s",
      );
      this.close(ClosedReason.ProtocolViolation);
    }
  }

  /**
   * An accepted link must start with CONNECT: anything else first is an
   * authorization violation, as nats-server answers it.
   */
  #beforeConnect(): boolean {
    if (this.solicited || this.#connectSeen) return false;
    this.#authFailed();
    return true;
  }

  onError(failure: RouteParseFailure): void {
    if (this.#beforeConnect()) return;
    if (failure === RouteParseFailure.UnknownOp) {
      this.sendErrAndClose(WireError.UnknownProtocol, ClosedReason.ProtocolViolation);
    } else {
      this.close(ClosedReason.ProtocolViolation);
    }
  }

  // ------------------------------------------------------------ output and close

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

  close(reason: ClosedReason, flushFirst = false): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closedReason = reason;
    this.parser.stop();
    clearTimeout(this.#timer);
    this.#keepAlive.stop();
    this.#inbound.close();
    this.server.log.notice(
      `${this.logPrefix} - Leafnode connection closed: ${reason} account: ${
        this.account?.name ?? ""
      }`,
    );
    this.#removeRemoteSubs();
    this.host.closed(this);
    this.out.closeTransport(flushFirst);
  }

  // ------------------------------------------------------------ tracing

  #trace(line: string): void {
    this.server.log.trace(`${this.logPrefix} - ${line}`);
  }

  #traceMsg(p: RouteParser, payload: Uint8Array): void {
    this.#trace(traceArgsLine(p.msgHdrArg >= 0 ? "HMSG" : "LMSG", p));
    this.#trace(tracePayloadLine(payload, this.server.options.maxTracedMsgLen));
  }
}

/**
 * Appends `LMSG <subject> [reply | + reply q... | \| q...] <size>` (or HMSG
 * with the header size) for a leaf peer; headers go only to a peer that
 * announced them, as nats-server (a header size of 0 counts as none).
 *
 * @returns the payload bytes written
 */
export function writeLeafMsg(
  out: Outbound,
  msg: PublishContext,
  queues: readonly string[],
  headers: boolean,
): number {
  const hasHeader = msg.hdrSize > 0;
  const withHeaders = hasHeader && headers;
  const bodyStart = hasHeader && !headers ? msg.payloadStart + msg.hdrSize : msg.payloadStart;
  const bodyLen = msg.payloadEnd - bodyStart;
  const subjLen = msg.subjEnd - msg.subjStart;
  const replyLen = msg.replyStart < 0 ? 0 : msg.replyEnd - msg.replyStart;
  let queueLen = 0;
  for (let i = 0; i < queues.length; i++) queueLen += 1 + queueBytes(queues[i]).length;
  out.reserve(5 + subjLen + 3 + replyLen + 1 + queueLen + 32 + bodyLen + 4);
  const b = out.buf;
  let p = out.len;
  b[p++] = withHeaders ? 0x48 : 0x4c; // H or L
  b[p++] = 0x4d; // M
  b[p++] = 0x53; // S
  b[p++] = 0x47; // G
  b[p++] = SPACE;
  p = copyBytes(b, p, msg.subjBuf, msg.subjStart, msg.subjEnd);
  b[p++] = SPACE;
  if (queues.length > 0) {
    if (msg.replyStart >= 0) {
      b[p++] = PLUS;
      b[p++] = SPACE;
      p = copyBytes(b, p, msg.replyBuf, msg.replyStart, msg.replyEnd);
    } else {
      b[p++] = PIPE;
    }
    for (let i = 0; i < queues.length; i++) {
      const q = queueBytes(queues[i]);
      b[p++] = SPACE;
      p = copyBytes(b, p, q, 0, q.length);
    }
    b[p++] = SPACE;
  } else if (msg.replyStart >= 0) {
    p = copyBytes(b, p, msg.replyBuf, msg.replyStart, msg.replyEnd);
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
  return bodyLen;
}

function hasWildcard(subject: string): boolean {
  return subject.includes("*") || subject.includes(">");
}
