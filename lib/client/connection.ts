/**
 * One client connection: protocol state, CONNECT/auth, subscriptions,
 * publishing, keep-alive and close. The byte parsing lives in
 * lib/protocol/client_parser.ts and the fan-out in ./deliver.ts.
 *
 * @module
 */
import { type ClientOps, ClientParser, type ParseFailure } from "../protocol/client_parser.ts";
import { decodeConnect } from "../protocol/connect_json.ts";
import {
  errLine,
  OK_LINE,
  PONG_LINE,
  pubViolation,
  replyViolation,
  subViolation,
  WireError,
} from "../protocol/wire_errors.ts";
import { isValidLiteralSubject } from "../router/subject.ts";
import type { MatchResult } from "../router/sublist.ts";
import { fanOut, fanOutRun, PublishContext } from "../delivery/deliver.ts";
import { latin1 } from "../protocol/bytes.ts";
import { Outbound } from "../conn/outbound.ts";
import { type InboundOwner, InboundPump, ReadBlock } from "../conn/inbound.ts";
import { KeepAlive } from "../conn/keep_alive.ts";
import { hashSubject, PublishCache, type PublishCacheEntry } from "./publish_cache.ts";
import { traceArgsLine, tracePayloadLine } from "../conn/trace.ts";
import { closeOnTransportEnd, closeOnWriteError } from "../conn/transport_failure.ts";
import { keptSidBytes, type PublisherDetails, Subscription } from "../delivery/subscription.ts";
import { clientLogTag, validInfo } from "./client_info.ts";
import { ClientLogin } from "./client_login.ts";
import { answerParseFailure } from "./parse_failure.ts";
import {
  type ConnectOptions,
  defaultConnectOptions,
  mergeConnect,
  mergeCredentials,
} from "./connect_options.ts";

import { joinHostPort } from "../conn/address.ts";
import { addShadows, removeShadows, replyInterestLost } from "../server/imports.ts";
import { ClosedReason } from "../conn/closed_reason.ts";
import type { TlsState, Transport } from "../conn/transport.ts";
import type { Account } from "../server/account.ts";
import type { ServerCore } from "../server/core.ts";
import type { AuthOutcome, ClientPermissions, ConnectCredentials } from "../server/auth_api.ts";

/** The queue group nats-server keeps for its own subscriptions; a client may not join it. */
const SYS_QUEUE = "_sys_";

/** How the client reached the server (/connz `type`): plain NATS or WebSocket. */
export type ClientType = "nats" | "websocket";
export type { ConnectOptions };

/** Keeps a leading byte-order mark: Go's decoder refuses it, so must we. */
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
/** nats-server sends the first PING 2 s after CONNECT to measure RTT. */
const FIRST_PING_MS = 2000;
/** Outbound bytes after which a flush starts mid-read (see countOut). */
const EAGER_FLUSH_BYTES = 64 * 1024;
/** Reserved reply prefixes a client may not use (docs/architecture.md, "Protocol facts"). */
const RESERVED_REPLY_PREFIXES = ["_R_.", "$JS.ACK.", "_GR_."];
export class ClientConnection implements ClientOps, InboundOwner {
  readonly cid: number;
  readonly server: ServerCore;
  readonly transport: Transport;
  readonly out: Outbound;
  readonly parser: ClientParser;
  readonly start: Date = new Date();
  readonly subs: Map<string, Subscription> = new Map();
  /** "websocket" for clients of the WebSocket listener. */
  readonly type: ClientType;
  tls: TlsState | null = null;
  account: Account;
  opts: ConnectOptions = defaultConnectOptions();
  /** Authenticated user name (for /connz auth), if any. */
  user: string | undefined;
  /** Credentials kept to re-check the client when authorization is reloaded. */
  credentials: ConnectCredentials | null = null;
  permissions: ClientPermissions | null = null;
  nonce: string | undefined;

  // statistics
  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;
  lastActivity: number = Date.now();

  // state
  isClosed = false;
  closedReason: ClosedReason | null = null;
  stop: Date | null = null;
  flushQueued = false;
  readonly #login: ClientLogin;
  readonly #inbound: InboundPump;
  #keepAlive = new KeepAlive(this, "Client", true);
  /** SUB and UNSUB seen: with inMsgs, what makes a read count as activity. */
  #subOps = 0;
  /**
   * When the client last sent PING (for the keep-alive's "Delaying PING" line), 0
   * before the first. `-0`, not `0`: V8 then stores the field as a double from the
   * start, and the first PING's `Date.now()` does not change the object's layout
   * (which threw away the compiled SUB path: docs/performance.md).
   */
  lastPingIn = -0;
  /** The pedantic check already traced the current PUB line. */
  #pubLineTraced = false;
  /** `"v<version>:<lang>:<name>"` from CONNECT for log lines, as nats-server tags clients. */
  #logTag = "";

  // publish path caches (the "L1" cache of nats-server's client)
  /** Made on the first PUB: a subscriber-only connection never needs one. */
  #msg: PublishContext | null = null;
  /** Recent subjects by hash of their bytes: a hit needs no string and no Map lookup. */
  #l1: PublishCache | null = null;
  /**
   * The entry of the last PUB. A publisher mostly repeats its subject, or goes
   * through the same subjects in the same order: the entry that came after
   * this one last time ({@link PublishCacheEntry.next}) is compared with the
   * next PUB's bytes first, which skips hashing and probing the cache.
   */
  #l1Last: PublishCacheEntry | undefined = undefined;
  /**
   * The last lookup found the entry {@link #l1Last} predicted: only then is
   * the prediction compared first (a publisher in no order would pay that
   * compare for nothing on every message).
   */
  #l1Predicts = false;
  /** Bumped to invalidate every L1 entry (account or permissions changed). */
  #l1Epoch = 0;

  /** A cached publish verdict stays valid only without reply grants (allow_responses). */
  get #pubVerdictCacheable(): boolean {
    return this.permissions === null || !this.permissions.respondsToReplies;
  }

  constructor(
    server: ServerCore,
    transport: Transport,
    cid: number,
    account: Account,
    type: ClientType = "nats",
  ) {
    this.server = server;
    this.transport = transport;
    this.cid = cid;
    this.account = account;
    this.type = type;
    const o = server.options;
    this.parser = new ClientParser(this, {
      maxControlLine: o.maxControlLine,
      maxPayload: o.maxPayload,
    });
    this.parser.pedantic = this.opts.pedantic;
    this.out = new Outbound(transport, (e) => closeOnWriteError(this, e));
    this.#inbound = new InboundPump(this, transport);
    this.#login = new ClientLogin(this, !(server.authActiveFor?.(this) ?? server.authActive));
  }

  get echo(): boolean {
    return this.opts.echo;
  }

  get headers(): boolean {
    return this.opts.headers;
  }

  /** True when delivered messages with a reply grant temporary publish rights. */
  get grantsReplies(): boolean {
    return this.permissions !== null && this.permissions.respondsToReplies;
  }

  /** Round-trip time of the last PING we sent (connz `rtt`), in ms. */
  get rttMs(): number {
    return this.#keepAlive.rttMs;
  }

  /**
   * The prefix nats-server puts on connection log lines: `host:port - cid:N`
   * (`wid:N` for WebSocket, after a proxy's X-Forwarded-For address: `ip/host:port`),
   * then `- "v<version>:<lang>:<name>"` once a CONNECT named any of them.
   */
  get logPrefix(): string {
    const t = this.transport;
    const id = this.type === "websocket" ? "wid" : "cid";
    const fwd = t.forwardedFor === undefined
      ? ""
      : `${t.forwardedFor.includes(":") ? `[${t.forwardedFor}]` : t.forwardedFor}/`;
    return `${fwd}${
      joinHostPort(t.remoteAddress, t.remotePort)
    } - ${id}:${this.cid}${this.#logTag}`;
  }

  /** Sends INFO (unless already sent before a TLS upgrade) and starts reading. */
  begin(info: Uint8Array | null): void {
    if (info !== null) {
      this.out.append(info);
      this.out.flush();
    }
    const o = this.server.options;
    // With no_auth_user too (nats-server): a silent client still times out, and a
    // first op other than CONNECT makes it the no_auth_user (ClientLogin.requireAuth).
    this.#login.startTimeout(this.server.authTimeoutMsFor?.(this) ?? this.server.authTimeoutMs);
    // A client that never sends CONNECT still gets pinged, after a full interval.
    this.#keepAlive.schedule(o.pingIntervalMs);
    this.transport.start((chunk) => this.onData(chunk), (e) => closeOnTransportEnd(this, e));
  }

  onData(chunk: Uint8Array): void {
    if (this.isClosed) return;
    this.#keepAlive.active = true;
    this.#inbound.onData(chunk);
  }

  /** InboundOwner: parses a chunk and writes what it produced (the pump applies flow control). */
  parseChunk(chunk: Uint8Array): number {
    const msgs = this.inMsgs;
    const subOps = this.#subOps;
    const stop = this.parser.parse(chunk);
    // Activity as nats-server counts it (/connz last_activity): messages and
    // subscription changes, not PING/PONG. Deliveries count too (countOut).
    if (this.inMsgs !== msgs || this.#subOps !== subOps) this.lastActivity = Date.now();
    this.server.flushPending();
    return stop;
  }

  // ---------------------------------------------------------------- CONNECT

  onConnect(buf: Uint8Array, start: number, end: number): boolean {
    const text = decoder.decode(buf.subarray(start, end));
    this.lastActivity = Date.now();
    if (this.server.log.traceEnabled) this.#trace(`<<- [CONNECT ${this.server.redact(text)}]`);
    // Every CONNECT is decoded as nats-server's Go decoder does (same refusals) and
    // merged into what earlier CONNECTs said: absent and null fields keep their value.
    const decoded = decodeConnect(text);
    if (!decoded.ok) {
      // nats-server logs the decoder's error and closes without an -ERR (after what is queued).
      this.server.log.error(`${this.logPrefix} - ${decoded.error}`);
      this.close(ClosedReason.ProtocolViolation, true);
      return false;
    }
    const f = decoded.fields;
    const o = this.opts;
    mergeConnect(o, f, this.server.options.noHeaderSupport);
    // nats-server appends the tag at each CONNECT that names something (a second one adds another).
    this.#logTag += clientLogTag(o.version, o.lang, o.name);
    this.parser.headersAllowed = o.headers;
    this.parser.pedantic = o.pedantic;
    mergeCredentials(this.credentials ??= {}, f);
    return this.#login.onConnect(f.account, f.new_account);
  }

  /**
   * Moves an authenticated client into its account. A later CONNECT can log in a
   * user of another account: the client's subscriptions move with it (nats-server
   * leaves them behind in the old account, still delivering its messages).
   */
  enterAccount(account: Account): void {
    if (account === this.account) return;
    const subs = [...this.subs.values()];
    for (const sub of subs) {
      this.account.sublist.remove(sub);
      this.server.interestChanged(this.account, sub, false);
      if (sub.shadows !== null) removeShadows(this.server, sub);
    }
    if (this.account.reverseReplies !== null) {
      for (const sub of subs) replyInterestLost(this.account, sub.subject);
    }
    this.account.clients.delete(this);
    this.account = account;
    account.clients.add(this);
    for (const sub of subs) {
      if (account.sublist.insert(sub)) this.server.interestChanged(account, sub, true);
      if (account.streamImports.length > 0) addShadows(this.server, account, sub);
    }
  }

  /** Re-checks a connected client after an authorization reload; closes it if refused. */
  reauthorize(outcome: AuthOutcome): void {
    this.#login.reauthorize(outcome);
  }

  /** ClientLogin: the account or permissions changed, so no cached publish verdict holds. */
  permissionsChanged(): void {
    this.#l1Epoch++;
  }

  /** ClientLogin: no reads are parsed while a CONNECT waits for its (bcrypt) answer. */
  holdReadsForAuth(hold: boolean): void {
    if (hold) this.#inbound.block(ReadBlock.Auth);
    else this.#inbound.unblock(ReadBlock.Auth);
  }

  /** ClientLogin: the first CONNECT was accepted; the RTT ping and the connect event follow. */
  loggedIn(): void {
    this.#keepAlive.connected(Date.now() - this.start.getTime());
    this.#keepAlive.schedule(Math.min(FIRST_PING_MS, this.server.options.pingIntervalMs));
    this.server.clientConnected?.(this);
  }

  /** `User "name", ` (or `Nkey "U...", `) for violation log lines, as nats-server; auth tests. */
  #authUser(): string {
    if (this.user === undefined) return "";
    return `${/^U[A-Z2-7]{55}$/.test(this.user) ? "Nkey" : "User"} "${this.user}", `;
  }

  // ---------------------------------------------------------------- PUB

  onPub(p: ClientParser, buf: Uint8Array, start: number, end: number): void {
    if (!this.#login.authenticated && !this.#login.requireAuth()) return;
    const ab = p.argBuf;
    const s0 = p.argStart[0];
    const s1 = p.argEnd[0];
    const msg = this.#msg ?? this.#newPublishContext();
    const size = end - start;
    this.inMsgs++;
    this.inBytes += size;
    const stats = this.server.stats;
    stats.inMsgs++;
    stats.inBytes += size;
    if (this.account.mappings !== null) return this.#pubMapped(p, buf, start, end);
    if (this.server.log.traceEnabled) this.#tracePub(p, buf.subarray(start, end), null);
    const sublist = this.account.sublist;
    const gen = sublist.generation;
    let result: MatchResult<Subscription>;
    const l1 = this.#l1 ??= new PublishCache();
    const epoch = this.#l1Epoch;
    const last = this.#l1Last;
    // The subject that followed the last one the previous time (itself for a
    // publisher repeating a subject): compared first while that has been right.
    let entry = last === undefined ? undefined : last.next;
    let hash = 0;
    if (
      !this.#l1Predicts || entry === undefined || entry.gen !== gen || entry.epoch !== epoch ||
      !entry.matches(ab, s0, s1)
    ) {
      hash = hashSubject(ab, s0, s1);
      const found = l1.get(ab, s0, s1, hash, gen, epoch);
      this.#l1Predicts = found === entry && found !== undefined;
      if (last !== undefined && found !== undefined) last.next = found;
      entry = found;
    }
    this.#l1Last = entry;
    if (entry !== undefined) {
      msg.subject = entry.subject;
      // Reply grants (allow_responses) are consumed per publish: never cache those verdicts.
      const allowed = entry.allowed && this.#pubVerdictCacheable ||
        this.#publishAllowed(entry.subject);
      if (!allowed) return this.#pubDenied(entry.subject);
      result = entry.result;
      // Nothing to deliver and nothing else to do (no reply, no +OK): stop here.
      // The checks a matching message also runs come first, and both lengths are
      // read, so the first miss runs no operation the compiled code has not seen.
      if (
        p.pubReply < 0 && !this.opts.verbose &&
        (result.plain.length | result.queues.length) === 0
      ) return;
    } else {
      const subject = latin1(ab, s0, s1);
      msg.subject = subject;
      const allowed = this.#publishAllowed(subject);
      result = sublist.match(subject);
      const added = l1.put(ab, s0, s1, hash, subject, result, allowed, gen, epoch);
      if (last !== undefined && added !== undefined) last.next = added;
      this.#l1Last = added;
      if (!allowed) return this.#pubDenied(subject);
    }
    this.#deliver(p, buf, start, end, result, ab, s0, s1);
  }

  /**
   * ClientOps: `count` more PUBs with the line of the one just given to
   * {@link onPub}. When nothing needs a per-message decision (no reply,
   * headers, mapping, trace, verbose or reply grants, the publish cache entry
   * still valid, and only plain client subscriptions with room: see
   * {@link fanOutRun}), they are delivered in one pass; otherwise one by one.
   */
  onPubRun(p: ClientParser, buf: Uint8Array, first: number, stride: number, count: number): void {
    const size = p.pubSize;
    const entry = this.#l1Last;
    const msg = this.#msg;
    if (
      msg !== null && entry !== undefined && this.#login.authenticated && p.pubReply < 0 &&
      p.pubHeaderSize < 0 && this.account.mappings === null && !this.opts.verbose &&
      !this.server.log.traceEnabled && entry.gen === this.account.sublist.generation &&
      entry.epoch === this.#l1Epoch && entry.allowed && this.#pubVerdictCacheable &&
      entry.matches(p.argBuf, p.argStart[0], p.argEnd[0])
    ) {
      const ab = p.argBuf;
      msg.subjBuf = msg.sizeBuf = ab;
      msg.subjStart = p.argStart[0];
      msg.subjEnd = p.argEnd[0];
      msg.sizeStart = p.argStart[p.pubSizeArg];
      msg.sizeEnd = p.argEnd[p.pubSizeArg];
      msg.replyStart = -1;
      msg.hdrSize = -1;
      msg.payloadBuf = buf;
      msg.payloadStart = first;
      msg.payloadEnd = first + size;
      if (fanOutRun(msg, entry.result, stride, count, this.server.options.maxPending / 2)) {
        this.inMsgs += count;
        this.inBytes += size * count;
        const stats = this.server.stats;
        stats.inMsgs += count;
        stats.inBytes += size * count;
        return;
      }
    }
    for (let m = 0, at = first; m < count && !p.failed; m++, at += stride) {
      this.onPub(p, buf, at, at + size);
    }
  }

  /**
   * PUB in an account with subject mappings: the subject is mapped first and
   * the permissions apply to the mapped one, as nats-server does; weighted
   * mappings draw per message, so nothing is cached.
   */
  #pubMapped(p: ClientParser, buf: Uint8Array, start: number, end: number): void {
    const ab = p.argBuf;
    const original = latin1(ab, p.argStart[0], p.argEnd[0]);
    const subject = this.account.mapSubject(original);
    if (this.server.log.traceEnabled) {
      // As nats-server: the PUB line, the mapping (when it changed the subject), the payload.
      const mapping = subject === original ? null : `<<- [MAPPING ${original} -> ${subject}]`;
      this.#tracePub(p, buf.subarray(start, end), mapping);
    }
    if (subject === original) {
      this.#msg!.subject = subject; // made by onPub
      if (!this.#publishAllowed(subject)) return this.#pubDenied(subject);
      const result = this.account.sublist.match(subject);
      return this.#deliver(p, buf, start, end, result, ab, p.argStart[0], p.argEnd[0]);
    }
    if (subject === "") return; // a weighted mapping that drew no destination drops it
    this.#msg!.subject = subject;
    if (!this.#publishAllowed(subject)) return this.#pubDenied(subject);
    const bytes = new TextEncoder().encode(subject);
    const result = this.account.sublist.match(subject);
    this.#deliver(p, buf, start, end, result, bytes, 0, bytes.length);
  }

  /** Fills the publish context from the parsed PUB and fans the message out. */
  #deliver(
    p: ClientParser,
    buf: Uint8Array,
    start: number,
    end: number,
    result: MatchResult<Subscription>,
    subjBuf: Uint8Array,
    s0: number,
    s1: number,
  ): void {
    const ab = p.argBuf;
    const msg = this.#msg!; // made by onPub, which every PUB goes through first
    // Compare before storing: skips V8's write barrier when the buffer is unchanged,
    // which is the common case (the transport reuses its read buffer).
    if (msg.replyBuf !== ab) {
      msg.replyBuf =
        msg.sizeBuf =
        msg.hdrBuf =
          ab;
    }
    if (msg.subjBuf !== subjBuf) msg.subjBuf = subjBuf;
    msg.subjStart = s0;
    msg.subjEnd = s1;
    if (p.pubReply > 0) {
      msg.replyStart = p.argStart[p.pubReply];
      msg.replyEnd = p.argEnd[p.pubReply];
      if (this.#replyReserved(ab, msg.replyStart, msg.replyEnd)) {
        this.sendErr(replyViolation(msg.replyString()));
        return;
      }
    } else {
      msg.replyStart = -1;
    }
    msg.sizeStart = p.argStart[p.pubSizeArg];
    msg.sizeEnd = p.argEnd[p.pubSizeArg];
    // An HPUB with a zero header size goes out as a plain MSG, as from nats-server.
    msg.hdrSize = p.pubHeaderSize > 0 ? p.pubHeaderSize : -1;
    if (msg.hdrSize >= 0) {
      msg.hdrStart = p.argStart[p.pubSizeArg - 1];
      msg.hdrEnd = p.argEnd[p.pubSizeArg - 1];
    }
    if (msg.payloadBuf !== buf) msg.payloadBuf = buf;
    msg.payloadStart = start;
    msg.payloadEnd = end;
    // nats-server acknowledges before delivering (a client's own subscription sees +OK first).
    if (this.opts.verbose) this.sendOk();
    const delivered = fanOut(msg, result);
    // The reply first: it is read for every message, so the first one nobody
    // receives runs no operation the compiled code has not seen.
    if (msg.replyStart >= 0 && delivered === 0 && this.opts.noResponders) this.#noResponders();
  }

  #newPublishContext(): PublishContext {
    const msg = new PublishContext();
    msg.publisher = this;
    return this.#msg = msg;
  }

  onPedanticPub(p: ClientParser): void {
    // nats-server reports it when it reads the PUB line, and still routes the message.
    if (!this.#login.authenticated) return;
    // nats-server traces the line before it checks it (the payload follows later).
    if (this.server.log.traceEnabled) {
      this.#trace(traceArgsLine(p.pubHeaderSize >= 0 ? "HPUB" : "PUB", p));
      this.#pubLineTraced = true;
    }
    if (!isValidLiteralSubject(latin1(p.argBuf, p.argStart[0], p.argEnd[0]))) {
      this.sendErr(WireError.InvalidPublishSubject);
    }
  }

  #publishAllowed(subject: string): boolean {
    // Clients may not publish into the gateway reply space (nats-server rule).
    if (subject.startsWith("_GR_.")) return false;
    return this.permissions === null || this.permissions.canPublish(subject);
  }

  #pubDenied(subject: string): void {
    // Same log line as nats-server.
    this.server.log.error(
      `${this.logPrefix} - Publish Violation - ${this.#authUser()}Subject "${subject}"`,
    );
    this.sendErr(pubViolation(subject));
  }

  #replyReserved(buf: Uint8Array, s: number, e: number): boolean {
    const c = buf[s];
    if (c !== 0x5f && c !== 0x24) return false; // only "_" and "$" can start one
    const reply = latin1(buf, s, e);
    return RESERVED_REPLY_PREFIXES.some((prefix) => reply.startsWith(prefix));
  }

  /** Sends the `NATS/1.0 503` status to the requester's own reply subscription. */
  #noResponders(): void {
    const reply = this.#msg!.replyString();
    const result = this.account.sublist.match(reply);
    let target: Subscription | undefined;
    for (const sub of result.plain) {
      if (sub.client === this) {
        target = sub;
        break;
      }
    }
    if (target === undefined) return;
    const line = `HMSG ${reply} ${target.sid} 16 16\r\nNATS/1.0 503\r\n\r\n\r\n`;
    this.send(new TextEncoder().encode(line));
  }

  // ---------------------------------------------------------------- SUB / UNSUB

  onSub(p: ClientParser): void {
    if (!this.#login.authenticated && !this.#login.requireAuth()) return;
    this.#subOps++;
    const ab = p.argBuf;
    const subject = latin1(ab, p.argStart[0], p.argEnd[0]);
    const sidArg = p.argCount - 1;
    const queue = p.argCount === 3 ? latin1(ab, p.argStart[1], p.argEnd[1]) : null;
    const sid = latin1(ab, p.argStart[sidArg], p.argEnd[sidArg]);
    if (this.server.log.traceEnabled) {
      this.#trace(`<<- [SUB ${subject}${queue === null ? "" : " " + queue} ${sid}]`);
    }
    // Checked in nats-server's order: permissions, the limit, a re-used sid, then the subject.
    // The queue group `_sys_` is the server's own (JetStream's direct get): never a client's.
    if (
      queue === SYS_QUEUE ||
      (this.permissions !== null && !this.permissions.canSubscribe(subject, queue))
    ) {
      this.server.log.error(
        // Same log line as nats-server.
        `${this.logPrefix} - Subscription Violation - ${
          this.#authUser() || 'User "N/A", '
        }Subject "${subject}"${queue === null ? "" : `, Queue: "${queue}"`}, SID ${sid}`,
      );
      this.sendErr(subViolation(subject, queue));
      return;
    }
    const max = this.server.maxSubscriptionsFor(this);
    if (max > 0 && this.subs.size >= max) {
      this.server.log.error(`${this.logPrefix} - maximum subscriptions exceeded`);
      this.sendErr(WireError.MaxSubscriptions);
      return;
    }
    if (this.subs.has(sid)) {
      // Re-using a sid is ignored (still acknowledged), as nats-server.
      if (this.opts.verbose) this.sendOk();
      return;
    }
    const sidBytes = keptSidBytes(ab, p.argStart[sidArg], p.argEnd[sidArg]);
    const sub = new Subscription({ subject, queue, sid, sidBytes, client: this });
    if (this.permissions !== null) {
      sub.deliveryFiltered = this.permissions.needsDeliveryFilter(subject);
    }
    // insert() checks the subject and queue name as it walks: an invalid one is
    // refused here, with nothing stored and nothing else changed by the SUB.
    if (!this.account.sublist.insert(sub)) {
      this.sendErr(WireError.InvalidSubject);
      return;
    }
    this.subs.set(sid, sub);
    this.server.interestChanged(this.account, sub, true);
    if (this.account.streamImports.length > 0) addShadows(this.server, this.account, sub);
    if (this.opts.verbose) this.sendOk();
  }

  onUnsub(p: ClientParser): void {
    if (!this.#login.authenticated && !this.#login.requireAuth()) return;
    this.#subOps++;
    const ab = p.argBuf;
    const sid = latin1(ab, p.argStart[0], p.argEnd[0]);
    let max = 0;
    if (p.argCount === 2) {
      // Up to nine digits, as a PUB size: anything else ("1e3", "0x10", "5.0", ten digits)
      // is no max, and so unsubscribes at once, as nats-server.
      max = Math.max(0, p.parseSize(1));
    }
    if (this.server.log.traceEnabled) this.#trace(`<<- [UNSUB ${sid}${max ? " " + max : ""}]`);
    const sub = this.subs.get(sid);
    if (sub !== undefined) {
      if (max > 0 && sub.msgs < max) sub.max = max;
      else this.removeSubscription(sub);
    }
    if (this.opts.verbose) this.sendOk();
  }

  removeSubscription(sub: Subscription): void {
    sub.closed = true;
    if (this.subs.get(sub.sid) !== sub) return;
    this.subs.delete(sub.sid);
    this.account.sublist.remove(sub);
    this.server.interestChanged(this.account, sub, false);
    if (sub.shadows !== null) removeShadows(this.server, sub);
    if (this.account.reverseReplies !== null) replyInterestLost(this.account, sub.subject);
  }

  // ---------------------------------------------------------------- PING / PONG / INFO

  onPing(): void {
    // As nats-server, any first op but CONNECT is refused when auth is required.
    if (!this.#login.authenticated && !this.#login.requireAuth()) return;
    if (this.server.log.traceEnabled) {
      this.#trace("<<- [PING]");
      this.#trace("->> [PONG]");
    }
    this.lastPingIn = Date.now();
    this.send(PONG_LINE);
    this.server.pongSent(this);
  }

  onPong(): void {
    if (!this.#login.authenticated && !this.#login.requireAuth()) return; // refused as in onPing
    if (this.server.log.traceEnabled) this.#trace("<<- [PONG]");
    this.#keepAlive.onPong();
  }

  onInfo(buf: Uint8Array, start: number, end: number): boolean {
    // A client-sent INFO is accepted and ignored (but not before CONNECT when auth is required).
    if (!this.#login.authenticated && !this.#login.requireAuth()) return false; // refused as in onPing
    // nats-server decodes it, and closes (without -ERR) when it is not a JSON object.
    if (validInfo(decoder.decode(buf.subarray(start, end)))) return true;
    this.close(ClosedReason.ProtocolViolation, true);
    return false;
  }

  // ---------------------------------------------------------------- errors

  /** Each failure is logged as nats-server logs it: same text, level and order. */
  onError(failure: ParseFailure): void {
    answerParseFailure(this, failure);
  }

  // ---------------------------------------------------------------- output

  /** Queues raw protocol bytes; flushed with everything else this turn. */
  send(bytes: Uint8Array): void {
    if (this.isClosed) return;
    this.out.append(bytes);
    this.server.queueFlush(this);
  }

  sendOk(): void {
    if (this.server.log.traceEnabled) this.#trace("->> [OK]");
    this.send(OK_LINE);
  }

  sendErr(text: string): void {
    if (this.server.log.traceEnabled) this.#trace(`->> [-ERR ${text}]`);
    this.send(errLine(text));
  }

  /** Sends -ERR, flushes it, then closes (as nats-server does for fatal errors). */
  sendErrAndClose(text: string, reason: ClosedReason): void {
    if (this.isClosed) return;
    this.sendErr(text);
    this.close(reason, true);
  }

  /** Counts one delivered message (called by the fan-out). */
  countOut(bytes: number): void {
    this.countOutRun(1, bytes);
  }

  /** Counts `msgs` deliveries of `bytes` in all (one message, or a run from {@link fanOutRun}). */
  countOutRun(msgs: number, bytes: number): void {
    this.outMsgs += msgs;
    this.outBytes += bytes;
    const stats = this.server.stats;
    stats.outMsgs += msgs;
    stats.outBytes += bytes;
    const out = this.out;
    const pending = out.pending;
    const maxPending = this.server.options.maxPending;
    if (pending > maxPending / 2) {
      if (pending > maxPending) {
        this.server.slowConsumer(this, "pending");
        return;
      }
      out.markBacklogged();
    }
    // A big buffer goes to the socket now rather than at the end of the read:
    // Deno starts the write at once, which keeps a fast reader's pending bytes low.
    // Once per read of the producer (when first queued): a delivery is activity.
    if (!this.flushQueued) this.lastActivity = Date.now();
    if (out.len >= EAGER_FLUSH_BYTES && !out.writing) out.flush();
    else this.server.queueFlush(this);
  }

  /** nats-server's ClientInfo fields for a shared service request. */
  details(): PublisherDetails {
    const c = this.credentials ?? {};
    return {
      start: this.start,
      host: this.transport.remoteAddress,
      cid: this.cid,
      account: this.account.name,
      user: c.nkey ?? c.user ?? c.auth_token ?? "",
      name: this.opts.name,
      lang: this.opts.lang,
      version: this.opts.version,
      clientType: this.type,
    };
  }

  deliveryAllowed(subject: string): boolean {
    return this.permissions === null || this.permissions.deliverAllowed(subject);
  }

  grantReply(reply: string): void {
    this.permissions?.grantReply(reply);
  }

  /**
   * Closes the connection: subscriptions go at once (no more deliveries);
   * with `flushFirst`, what is already queued (an -ERR) is written before the socket closes.
   */
  close(reason: ClosedReason, flushFirst = false): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closedReason = reason;
    this.stop = new Date();
    this.#login.stop();
    this.#keepAlive.stop();
    this.#inbound.close();
    for (const sub of this.subs.values()) {
      sub.closed = true;
      this.account.sublist.remove(sub);
      this.server.interestChanged(this.account, sub, false);
      if (sub.shadows !== null) removeShadows(this.server, sub);
    }
    if (this.account.reverseReplies !== null) {
      for (const sub of this.subs.values()) replyInterestLost(this.account, sub.subject);
    }
    this.server.clientClosed(this);
    this.transport.closing?.(reason);
    this.out.closeTransport(flushFirst);
  }

  // ---------------------------------------------------------------- tracing

  #trace(line: string): void {
    this.server.log.trace(`${this.logPrefix} - ${line}`);
  }

  #tracePub(p: ClientParser, payload: Uint8Array, mapping: string | null): void {
    const verb = p.pubHeaderSize >= 0 ? "HPUB" : "PUB";
    if (!this.#pubLineTraced) this.#trace(traceArgsLine(verb, p));
    this.#pubLineTraced = false;
    if (mapping !== null) this.#trace(mapping);
    this.#trace(tracePayloadLine(payload, this.server.options.maxTracedMsgLen));
  }
}
