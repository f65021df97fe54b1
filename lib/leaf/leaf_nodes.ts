/**
 * Leaf nodes: the leaf listener (this server as a hub), the remotes this
 * server dials (this server as a leaf), and the registry of leaf connections.
 * It decides what concerns the whole server: authorization of accepted
 * leafs, which interest each link hears (nats-server 2.9's rules, see
 * docs/leafnodes.md), loop detection subjects and reconnects. One
 * connection's protocol lives in ./leaf_connection.ts.
 *
 * @module
 */
import { LISTEN_BACKLOG } from "../ops/listen_backlog.ts";
import { newNonce } from "../auth/nonce.ts";
import { DenoTransport, type Transport } from "../conn/transport.ts";
import { ClosedReason } from "../conn/closed_reason.ts";
import { LinkKind, type Subscription } from "../delivery/subscription.ts";
import { PermissionChecker } from "../auth/permissions.ts";
import { goQuote } from "../protocol/go_quote.ts";
import {
  authTimeoutSeconds,
  type LeafNodeOptions,
  type LeafRemoteOptions,
} from "../config/options.ts";
import type { Account } from "../server/account.ts";
import { GLOBAL_ACCOUNT } from "../server/account.ts";
import type { Server } from "../server.ts";
import type { ServerExtension } from "../server/feature_handles.ts";
import { type AcceptLoop, acceptLoop } from "../server/accept_loop.ts";
import { leafListenError } from "../server/listen_error.ts";
import { joinHostPort, parseAdvertise } from "../conn/address.ts";
import { RouteAuth } from "../cluster/route_auth.ts";
import { dialTcp } from "../cluster/route_dialer.ts";
import { NATS_COMPAT_VERSION } from "../version.ts";
import type { LeafInfo } from "../monitor/types.ts";
import type { LeafTls } from "./leaf_tls.ts";
import {
  LDS_PREFIX,
  LeafConnection,
  type LeafConnection as LeafConnectionType,
  type LeafHost,
  type LeafJson,
} from "./leaf_connection.ts";

const encoder = new TextEncoder();
/** Leaf protocol version nats-server 2.9 announces. */
const LEAF_PROTO = 1;
const DIAL_TIMEOUT_MS = 1000;
/** First-connect errors are logged at ERR on the first attempt and then once per this many. */
const CONNECT_ERROR_REPORTS = 3600;
const DEFAULT_LEAF_PORT = 7422;

/** What the server keeps of the leaf node module (monitoring reads it). */
export interface LeafNodesHandle extends ServerExtension {
  /** Bound leaf port (0 without a listener). */
  readonly port: number;
  /** Registered leaf connections. */
  readonly count: number;
  /** One entry per registered leaf connection, for /leafz. */
  leafzInfo(subscriptions: boolean): LeafInfo[];
  /** Our leaf URL for route INFO (null without a leaf listener, or with no_advertise). */
  ownLeafUrl(): string | null;
  /** A route peer's leaf URL came or went: our leafs are told (INFO `leafnode_urls`). */
  peerLeafUrl(url: string, add: boolean): void;
}

/**
 * Starts the leaf listener (when `leafnodes.port` is set) and dials the remotes.
 * @param server The running server.
 */
/** What a leaf link of a non-system account denies both ways (nats-server's denyAllClientJs). */
const JS_DENY = ["$JS.API.>", "$KV.>", "$OBJ.>"];

export async function startLeafNodes(server: Server): Promise<LeafNodes> {
  const leafs = new LeafNodes(server);
  await leafs.start();
  return leafs;
}

/**
 * Binds the leaf listener only; {@link LeafNodes.dialRemotes} follows once the
 * cluster is up (as nats-server: routes then carry our leaf URL from the start).
 */
export async function listenLeafNodes(server: Server): Promise<LeafNodes> {
  const leafs = new LeafNodes(server);
  await leafs.listen();
  return leafs;
}

/** One configured remote and its dial state. */
class Remote {
  readonly options: LeafRemoteOptions;
  /** URLs to try, configured ones plus those the hub announced. */
  urls: URL[];
  readonly configured: URL[];
  current: URL | null = null;
  conn: LeafConnectionType | null = null;
  delayMs = 0;
  timer: ReturnType<typeof setTimeout> | undefined;
  attempts = 0;
  everConnected = false;
  readonly permissions: PermissionChecker | null;

  constructor(options: LeafRemoteOptions) {
    this.options = options;
    this.configured = options.urls.map((u) => new URL(u));
    this.urls = [...this.configured];
    if (!options.noRandomize) shuffle(this.urls);
    const deny: { publish?: { deny: string[] }; subscribe?: { deny: string[] } } = {};
    if (options.denyExports?.length) deny.publish = { deny: options.denyExports };
    if (options.denyImports?.length) deny.subscribe = { deny: options.denyImports };
    this.permissions = deny.publish || deny.subscribe ? new PermissionChecker(deny) : null;
  }

  /** The next URL: the one after the current one, round robin. */
  next(): URL {
    if (this.current !== null && this.urls.length > 1 && sameHost(this.current, this.urls[0])) {
      this.urls.push(this.urls.shift()!);
    }
    this.current = this.urls[0];
    return this.current;
  }
}

export class LeafNodes implements LeafNodesHandle, LeafHost {
  readonly server: Server;
  port = 0;
  #opts: LeafNodeOptions;
  #accepting: AcceptLoop | null = null;
  #tls: LeafTls | null = null;
  readonly #conns = new Set<LeafConnection>();
  readonly #leafs = new Map<number, LeafConnection>();
  readonly #remotes: Remote[] = [];
  readonly #byConn = new Map<LeafConnection, Remote>();
  /** Per account: the loop detection subject. */
  readonly #lds = new Map<Account, string>();
  /** The weight each subscription contributed to the subject maps (removals use it). */
  readonly #weights = new WeakMap<Subscription, number>();
  readonly #leafAuth: { auth: RouteAuth; account: string | undefined }[] = [];
  /** Leaf URLs of route peers (reference counts), added to our leafnode_urls. */
  readonly #peerUrls = new Map<string, number>();
  readonly #clientAuth: { auth: RouteAuth; account: string | undefined }[] = [];
  #shuttingDown = false;

  constructor(server: Server) {
    this.server = server;
    const opts = server.options.leafnodes;
    if (!opts) throw new TypeError("startLeafNodes() needs options.leafnodes");
    this.#opts = opts;
    const a = opts.authorization;
    const timeout = { timeout: a?.timeout };
    if (a?.user) {
      this.#leafAuth.push({
        auth: new RouteAuth({ user: a.user, password: a.password ?? "", ...timeout }),
        account: a.account,
      });
    } else if (a?.users && a.users.length > 0) {
      for (const u of a.users) {
        this.#leafAuth.push({
          auth: new RouteAuth({ user: u.user, password: u.password }),
          account: u.account,
        });
      }
    }
    // Without leaf credentials, nats-server checks a leaf as it would a client.
    const o = server.options;
    if (o.authorization?.user) {
      this.#clientAuth.push({
        auth: new RouteAuth({ user: o.authorization.user, password: o.authorization.password }),
        account: undefined,
      });
    }
    for (const u of o.authorization?.users ?? []) {
      if (u.user === undefined) continue;
      this.#clientAuth.push({
        auth: new RouteAuth({ user: u.user, password: u.password ?? "" }),
        account: u.account,
      });
    }
    for (const acc of o.accounts ?? []) {
      for (const u of acc.users) {
        if (u.user === undefined) continue;
        this.#clientAuth.push({
          auth: new RouteAuth({ user: u.user, password: u.password ?? "" }),
          account: acc.name,
        });
      }
    }
  }

  get count(): number {
    return this.#leafs.size;
  }

  get authTimeoutMs(): number {
    const a = this.#opts.authorization;
    return authTimeoutSeconds(a?.timeout, this.#opts.tls) * 1000;
  }

  async start(): Promise<void> {
    await this.listen();
    this.dialRemotes();
  }

  /** Binds the leaf listener when `leafnodes.port` is set. */
  async listen(): Promise<void> {
    const o = this.#opts;
    const log = this.server.log;
    if (o.port !== 0) {
      const host = o.host || "0.0.0.0";
      const port = o.port === -1 ? 0 : o.port;
      try {
        if (o.tls) {
          const { startLeafTls } = await import("./leaf_tls.ts");
          this.#tls = await startLeafTls(o.tls, {
            host,
            port,
            log,
            prepare: () => {
              const cid = this.server.nextClientId();
              return { cid, info: this.#infoLine(cid) };
            },
            accepted: (t, cid) => this.#accepted(t, cid),
            refuse: () => this.#shuttingDown,
          });
          this.port = this.#tls.port;
        } else {
          const listener = Deno.listen({ hostname: host, port, tcpBacklog: LISTEN_BACKLOG });
          this.#accepting = acceptLoop(listener, {
            name: "Leafnode",
            log: () => this.server.log,
            refuse: () => this.#shuttingDown,
            accepted: (conn) => this.#accepted(new DenoTransport(conn)),
          });
          this.port = this.#accepting.addr.port;
        }
      } catch (e) {
        throw leafListenError(e, host, o.port);
      }
      log.notice(`Listening for leafnode connections on ${joinHostPort(host, this.port)}`);
      if (o.advertise) {
        const adv = parseAdvertise(o.advertise, this.port);
        log.notice(`Advertise address for leafnode is set to ${joinHostPort(adv.host, adv.port)}`);
      }
    }
  }

  /** Starts dialing the configured remotes. */
  dialRemotes(): void {
    for (const r of this.#opts.remotes) {
      const remote = new Remote(r);
      this.#remotes.push(remote);
      this.#dial(remote, 0);
    }
  }

  ownLeafUrl(): string | null {
    if (this.port === 0 || this.#opts.noAdvertise) return null;
    const { host, port } = this.#advertised();
    return joinHostPort(host, port);
  }

  peerLeafUrl(url: string, add: boolean): void {
    const n = this.#peerUrls.get(url) ?? 0;
    if (add) {
      this.#peerUrls.set(url, n + 1);
      if (n > 0) return;
    } else {
      if (n === 0) return;
      if (n > 1) {
        this.#peerUrls.set(url, n - 1);
        return;
      }
      this.#peerUrls.delete(url);
    }
    // As nats-server: every leaf we host gets an INFO with the new list.
    const info = this.#acceptInfo();
    const cluster = this.clusterName();
    if (cluster) info.cluster = cluster;
    if (this.#domain()) info.domain = this.#domain();
    info.info_on_connect = true;
    info.leafnode_urls = this.#leafnodeUrls();
    const line = encoder.encode(`INFO ${JSON.stringify(info)} \r\n`);
    for (const conn of this.#leafs.values()) {
      if (conn.linkKind === LinkKind.LeafHub) conn.send(line);
    }
  }

  // ------------------------------------------------------------ accepting

  /** The INFO an accepted leaf gets first (nonce and client id are added per connection). */
  #acceptInfo(): LeafJson {
    const server = this.server;
    const o = this.#opts;
    const { host, port } = this.#advertised();
    const info: LeafJson = {
      server_id: server.serverId,
      server_name: server.serverName,
      version: NATS_COMPAT_VERSION,
      proto: LEAF_PROTO,
      go: `deno${Deno.version.deno}`,
      host,
      port,
      headers: !server.options.noHeaderSupport,
      auth_required: true,
    };
    if (o.tls) {
      info.tls_required = true;
      if (o.tls.verify) info.tls_verify = true;
    }
    info.max_payload = server.options.maxPayload;
    if (server.options.jetstream) info.jetstream = true;
    info.ip = joinHostPort(host, port);
    return info;
  }

  /** Host and port leafs should dial (advertise, or the listen address resolved). */
  #advertised(): { host: string; port: number } {
    const o = this.#opts;
    if (o.advertise) return parseAdvertise(o.advertise, this.port);
    let host = o.host || "0.0.0.0";
    if (host === "0.0.0.0" || host === "::") host = firstNonLocalIp() ?? host;
    return { host, port: this.port };
  }

  /**
   * This server's own leaf URL (always sent, as nats-server; `no_advertise`
   * only matters for what routes tell each other, which dnatsd does not do).
   */
  #leafnodeUrls(): string[] {
    const { host, port } = this.#advertised();
    return [joinHostPort(host, port), ...this.#peerUrls.keys()];
  }

  /** An accepted connection; `cid` is set when its INFO was already sent (TLS). */
  #accepted(transport: Transport, cid?: number): void {
    const conn = new LeafConnection(this, transport, {
      cid: cid ?? this.server.nextClientId(),
      solicited: false,
      account: null,
      permissions: null,
    });
    conn.tlsRequired = cid !== undefined;
    this.#conns.add(conn);
    this.server.log.notice(`${conn.logPrefix} - Leafnode connection created `);
    conn.begin(cid === undefined ? this.#infoLine(conn.cid) : null);
  }

  #infoLine(cid: number): Uint8Array {
    const info = this.#acceptInfo();
    info.client_id = cid;
    info.nonce = newNonce();
    const cluster = this.clusterName();
    if (cluster) info.cluster = cluster;
    if (this.#domain()) info.domain = this.#domain();
    info.info_on_connect = true;
    info.leafnode_urls = this.#leafnodeUrls();
    return encoder.encode(`INFO ${JSON.stringify(info)} \r\n`);
  }

  // ------------------------------------------------------------ LeafHost

  clusterName(): string {
    const o = this.server.options;
    const cluster = this.server.cluster?.name ?? o.cluster?.name;
    if (cluster) return cluster;
    // As nats-server: a standalone server with remotes uses its name (stable loop detection).
    if (this.#opts.remotes.length > 0 && (o.cluster?.port ?? 0) === 0) {
      return this.server.serverName;
    }
    return "";
  }

  authorize(
    user: string | undefined,
    pass: string | undefined,
  ): Account | null | Promise<Account | null> {
    const candidates = this.#leafAuth.length > 0
      ? this.#leafAuth
      : this.server.authActive
      ? this.#clientAuth
      : null;
    if (candidates === null) return this.#account(this.#opts.authorization?.account);
    const entry = candidates.find((c) => c.auth.user === (user ?? ""));
    if (entry === undefined) return null;
    const verdict = entry.auth.check(user, pass);
    const bind = (ok: boolean) => ok ? this.#account(entry.account) : null;
    return verdict instanceof Promise ? verdict.then(bind) : bind(verdict);
  }

  #account(name: string | undefined): Account | null {
    return this.server.accountFor(name || GLOBAL_ACCOUNT);
  }

  connectInfoLine(conn: LeafConnection): Uint8Array {
    const info = this.#acceptInfo();
    info.client_id = conn.cid;
    const cluster = this.clusterName();
    if (cluster) info.cluster = cluster;
    if (this.#domain()) info.domain = this.#domain();
    info.info_on_connect = true;
    info.connect_info = true;
    info.leafnode_urls = this.#leafnodeUrls();
    info.remote_account = conn.account?.name ?? GLOBAL_ACCOUNT;
    return encoder.encode(`INFO ${JSON.stringify(info)} \r\n`);
  }

  connectLine(conn: LeafConnection, _info: LeafJson): Uint8Array {
    const remote = this.#byConn.get(conn);
    const url = remote?.current ?? null;
    const connect: LeafJson = { version: NATS_COMPAT_VERSION };
    if (url !== null && url.username !== "") {
      connect.user = decodeURIComponent(url.username);
      connect.pass = decodeURIComponent(url.password);
    }
    connect.tls_required = conn.tlsRequired;
    connect.server_id = this.server.serverId;
    if (this.#domain()) connect.domain = this.#domain();
    connect.name = this.server.serverName;
    const cluster = this.clusterName();
    if (cluster) connect.cluster = cluster;
    if (!this.server.options.noHeaderSupport) connect.headers = true;
    if (conn.account && this.server.jetstream?.enabledFor(conn.account.name)) {
      connect.jetstream = true;
    }
    const denyPub = remote?.options.denyImports;
    if (denyPub && denyPub.length > 0) connect.deny_pub = denyPub;
    return encoder.encode(`CONNECT ${JSON.stringify(connect)}\r\n`);
  }

  register(conn: LeafConnection): void {
    const account = conn.account;
    if (account === null) {
      conn.close(ClosedReason.ProtocolViolation);
      return;
    }
    if (!conn.solicited && conn.remoteName !== "") {
      // A leaf that reconnects before we noticed its old connection died replaces it.
      for (const old of this.#leafs.values()) {
        if (
          !old.solicited && old.remoteName === conn.remoteName &&
          old.remoteCluster === conn.remoteCluster && old.account === account
        ) {
          old.sendErrAndClose(
            "Duplicate Remote LeafNode Connection",
            ClosedReason.DuplicateRemoteLeafnodeConnection,
          );
          this.server.log.warn(`${conn.logPrefix} - Replacing connection from same server`);
          break;
        }
      }
    }
    this.#denyJetStream(conn, account);
    this.#leafs.set(conn.cid, conn);
    const remote = this.#byConn.get(conn);
    if (remote) {
      remote.attempts = 0;
      remote.everConnected = true;
    }
    this.#sendSnapshot(conn, account);
  }

  /** The JetStream domain of this server ("" without one). */
  #domain(): string {
    return this.server.options.jetstream?.domain ?? "";
  }

  /**
   * As nats-server 2.9: the JetStream API, key-value and object subjects
   * (`$JS.API.>`, `$KV.>`, `$OBJ.>`) do not cross a link bound to an account
   * other than the system account, in either direction, neither messages nor
   * interest: a leaf's clients reach their own server's JetStream, not the
   * other side's (docs/leafnodes.md). The notice says "JetStream Not
   * Extended" when the two sides' domains differ, or when this server has
   * neither JetStream nor a domain. The system account's own rules
   * (extending a JetStream domain) and the `$JS.<domain>.API` mappings are
   * not built (docs/nats-server-differences.md).
   */
  #denyJetStream(conn: LeafConnection, account: Account): void {
    if (account === this.server.systemAccount) return;
    const mine = this.#domain();
    const theirs = typeof conn.remoteJson?.domain === "string" ? conn.remoteJson.domain : "";
    const notExtended = mine !== theirs || (!this.server.options.jetstream && mine === "") ||
      this.server.systemAccount === null;
    this.server.log.notice(
      `${conn.logPrefix} - ${
        notExtended ? "JetStream Not Extended, adding deny" : "Adding deny"
      } ` +
        `[${JS_DENY.join(" ")}] for account ${goQuote(account.name)}`,
    );
    // Merged with the link's own denies (a remote's deny_exports and
    // deny_imports, or an accepted leaf's deny_pub).
    const remote = this.#byConn.get(conn);
    const json = conn.remoteJson;
    const accepted = !conn.solicited && Array.isArray(json?.deny_pub)
      ? (json!.deny_pub as unknown[]).filter((x): x is string => typeof x === "string")
      : [];
    const pub = [...(remote?.options.denyExports ?? accepted), ...JS_DENY];
    const sub = [...(remote?.options.denyImports ?? []), ...JS_DENY];
    conn.permissions = new PermissionChecker({ publish: { deny: pub }, subscribe: { deny: sub } });
  }

  /** Every LS+ the link should hear now (nats-server's initial subject map). */
  #sendSnapshot(conn: LeafConnection, account: Account): void {
    const spoke = conn.linkKind === LinkKind.LeafSpoke;
    const smap = conn.smap;
    smap.clear();
    for (const sub of account.sublist.all()) {
      if (sub.closed || sub.route === conn) continue;
      if (spoke && !this.#localForSpoke(sub)) continue;
      if (conn.permissions !== null && !conn.permissions.canSubscribe(sub.subject, null)) continue;
      if (sub.origin !== "" && sub.origin === conn.remoteCluster) continue;
      const w = sub.queue !== null && sub.weight > 0 ? sub.weight : 1;
      const key = sub.queue === null ? sub.subject : `${sub.subject} ${sub.queue}`;
      smap.set(key, (smap.get(key) ?? 0) + w);
    }
    const lds = this.loopSubject(account);
    smap.set(lds, (smap.get(lds) ?? 0) + 1);
    for (const [key, n] of smap) conn.sendInterest(key, n);
  }

  /**
   * A spoke link announces local interest (clients, stream import shadows,
   * service import subscriptions) and our own leafs', never what routes or
   * other hubs told us.
   */
  #localForSpoke(sub: Subscription): boolean {
    return sub.route === null || sub.route.linkKind === LinkKind.LeafHub;
  }

  loopSubject(account: Account): string {
    let lds = this.#lds.get(account);
    if (lds === undefined) {
      lds = LDS_PREFIX + randomToken();
      this.#lds.set(account, lds);
    }
    return lds;
  }

  peerInterest(_conn: LeafConnection, account: Account, sub: Subscription, delta: number): void {
    const known = this.#weights.get(sub);
    if (known === undefined && delta > 0) {
      // A new subscription: routes (for hub links) and the other leafs hear about it.
      this.server.interestChanged(account, sub, true);
    } else if (known !== undefined && known + delta <= 0) {
      this.server.interestChanged(account, sub, false);
    } else if (known !== undefined) {
      // A queue group's weight changed.
      this.#weights.set(sub, known + delta);
      this.#propagate(account, sub, delta);
    }
  }

  /** ServerExtension: interest changed (clients, routes, leafs). */
  interestChanged(account: Account, sub: Subscription, added: boolean): void {
    let delta: number;
    if (added) {
      delta = sub.queue !== null && sub.weight > 0 ? sub.weight : 1;
      this.#weights.set(sub, delta);
    } else {
      delta = -(this.#weights.get(sub) ?? 1);
      this.#weights.delete(sub);
    }
    this.#propagate(account, sub, delta);
  }

  /** Applies an interest change to every link that should hear it (docs/leafnodes.md). */
  #propagate(account: Account, sub: Subscription, delta: number): void {
    if (this.#leafs.size === 0) return;
    const key = sub.queue === null ? sub.subject : `${sub.subject} ${sub.queue}`;
    const origin = sub.origin;
    const isLds = sub.subject.startsWith(LDS_PREFIX);
    for (const conn of this.#leafs.values()) {
      if (conn.account !== account || sub.route === conn || conn.isClosed) continue;
      let skip = (origin !== "" && origin === conn.remoteCluster) ||
        (conn.permissions !== null && !conn.permissions.canSubscribe(sub.subject, null));
      if (skip && isLds) skip = false;
      if (skip) continue;
      if (conn.linkKind === LinkKind.LeafSpoke && !this.#localForSpoke(sub)) continue;
      const smap = conn.smap;
      let n = smap.get(key) ?? 0;
      const update = sub.queue !== null || n === 0 || n + delta <= 0;
      n += delta;
      if (n > 0) smap.set(key, n);
      else smap.delete(key);
      if (update) conn.sendInterest(key, n);
    }
  }

  hubUrls(conn: LeafConnection, urls: string[]): void {
    const remote = this.#byConn.get(conn);
    if (remote === undefined) return;
    const scheme = remote.configured[0]?.protocol ?? "nats-leaf:";
    const learned: URL[] = [];
    for (const hp of urls) {
      let url: URL;
      try {
        url = new URL(`${scheme}//${hp}`);
      } catch {
        this.server.log.error(`${conn.logPrefix} - Error parsing url "${hp}"`);
        continue;
      }
      if (!remote.configured.some((c) => sameHost(c, url))) learned.push(url);
    }
    remote.urls = [...learned, ...remote.configured];
  }

  delayReconnect(conn: LeafConnection, ms: number): void {
    const remote = this.#byConn.get(conn);
    if (remote) remote.delayMs = ms;
  }

  closed(conn: LeafConnection): void {
    this.#conns.delete(conn);
    if (this.#leafs.get(conn.cid) === conn) this.#leafs.delete(conn.cid);
    const remote = this.#byConn.get(conn);
    if (remote === undefined) return;
    this.#byConn.delete(conn);
    if (remote.conn === conn) remote.conn = null;
    if (this.#shuttingDown) return;
    const delay = remote.delayMs > 0 ? remote.delayMs : this.#opts.reconnectMs;
    remote.delayMs = 0;
    this.#dial(remote, delay);
  }

  // ------------------------------------------------------------ dialing

  #dial(remote: Remote, delayMs: number): void {
    clearTimeout(remote.timer);
    remote.timer = setTimeout(() => this.#attempt(remote), delayMs);
  }

  async #attempt(remote: Remote): Promise<void> {
    if (this.#shuttingDown || remote.conn !== null) return;
    const url = remote.next();
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const port = url.port ? Number(url.port) : DEFAULT_LEAF_PORT;
    const log = this.server.log;
    log.debug(`Trying to connect as leafnode to remote server on "${joinHostPort(host, port)}"`);
    const useTls = remote.options.tls !== undefined || url.protocol.toLowerCase() === "tls:";
    let transport: Transport;
    let received: Uint8Array | null = null;
    try {
      if (useTls) {
        const { dialLeafTls } = await import("./leaf_tls.ts");
        const dialed = await dialLeafTls(host, port, remote.options.tls, DIAL_TIMEOUT_MS);
        transport = dialed.transport;
        received = dialed.info;
      } else {
        transport = new DenoTransport(await dialTcp(host, port, DIAL_TIMEOUT_MS));
      }
    } catch (e) {
      remote.attempts++;
      const text = `Error trying to connect as leafnode to remote server "${
        joinHostPort(host, port)
      }" (attempt ${remote.attempts}): ${(e as Error).message}`;
      const report = remote.everConnected || remote.attempts === 1 ||
        remote.attempts % CONNECT_ERROR_REPORTS === 0;
      if (report) log.error(text);
      else log.debug(text);
      if (!this.#shuttingDown) this.#dial(remote, this.#opts.reconnectMs);
      return;
    }
    if (this.#shuttingDown) {
      transport.close();
      return;
    }
    const account = this.#account(remote.options.account);
    if (account === null) {
      transport.close();
      log.error(
        `Unable to lookup account ${remote.options.account} for solicited leafnode connection`,
      );
      this.#dial(remote, this.#opts.reconnectMs);
      return;
    }
    const conn = new LeafConnection(this, transport, {
      cid: this.server.nextClientId(),
      solicited: true,
      account,
      permissions: remote.permissions,
    });
    conn.tlsRequired = useTls;
    remote.conn = conn;
    this.#byConn.set(conn, remote);
    this.#conns.add(conn);
    log.notice(`${conn.logPrefix} - Leafnode connection created for account: ${account.name} `);
    conn.begin(null, received);
  }

  // ------------------------------------------------------------ lifecycle and monitoring

  shutdown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    this.#accepting?.close();
    this.#tls?.close();
    for (const remote of this.#remotes) clearTimeout(remote.timer);
    for (const conn of [...this.#conns]) conn.close(ClosedReason.ServerShutdown, true);
    for (const { auth } of [...this.#leafAuth, ...this.#clientAuth]) auth.close();
  }

  /** The registered leaf connections (tests, monitoring). */
  connections(): LeafConnection[] {
    return [...this.#leafs.values()];
  }

  leafzInfo(subscriptions: boolean): LeafInfo[] {
    const out: LeafInfo[] = [];
    for (const conn of this.#leafs.values()) {
      const entry: LeafInfo = {
        account: conn.account?.name ?? "",
        ip: conn.transport.remoteAddress,
        port: conn.transport.remotePort,
        rttMs: conn.rttMs,
        in_msgs: conn.inMsgs,
        out_msgs: conn.outMsgs,
        in_bytes: conn.inBytes,
        out_bytes: conn.outBytes,
        subscriptions: conn.remoteSubs.size,
      };
      if (subscriptions) {
        entry.subscriptions_list = [...conn.remoteSubs.values()].map((s) => s.subject);
      }
      out.push(entry);
    }
    return out;
  }
}

function sameHost(a: URL, b: URL): boolean {
  return a.hostname === b.hostname && (a.port || "7422") === (b.port || "7422");
}

function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
}

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** 22 base62 characters, like the NUID nats-server puts after `$LDS.`. */
function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(22));
  let s = "";
  for (const b of bytes) s += ALPHABET[b % ALPHABET.length];
  return s;
}

function firstNonLocalIp(): string | null {
  try {
    for (const i of Deno.networkInterfaces()) {
      if (i.family === "IPv4" && !i.address.startsWith("127.")) return i.address;
    }
  } catch {
    // no permission: keep the listen host
  }
  return null;
}
