/**
 * The server: listeners, connections, accounts, the flush loop, limits and
 * the lifecycle. Feature modules (auth, TLS, cluster, monitoring) are loaded
 * only when the options ask for them, so a default server starts fast.
 *
 * What the server and those modules promise each other is in
 * server/feature_handles.ts; what it tells clients in INFO is decided in
 * server/server_info.ts, their authentication kept in server/client_auth.ts,
 * and the configured accounts put in force by server/account_sync.ts.
 *
 * @module
 */
import type { Options } from "./config/options.ts";
import { newNonce } from "./auth/nonce.ts";
import { syncAccounts } from "./server/account_sync.ts";
import { LISTEN_BACKLOG } from "./ops/listen_backlog.ts";
import { joinHostPort } from "./conn/address.ts";
import type { Logger } from "./ops/logger.ts";
import { redactSecrets } from "./ops/redact.ts";
import { ClientConnection, type ClientType } from "./client/connection.ts";
import type { TlsState } from "./conn/transport.ts";
import { type Flushable, FlushQueue } from "./conn/flush_queue.ts";
import { ClosedReason } from "./conn/closed_reason.ts";
import type { Subscription } from "./delivery/subscription.ts";
import { DenoTransport, type Transport } from "./conn/transport.ts";
import { errLine, WireError } from "./protocol/wire_errors.ts";
import { Account, DEFAULT_SYSTEM_ACCOUNT, GLOBAL_ACCOUNT } from "./server/account.ts";
import { type ServerCore, type ServerStats, zeroStats } from "./server/core.ts";
import type { AuthOutcome, ClientAuthenticator, ConnectCredentials } from "./server/auth_api.ts";
import { dynamicClusterName, newServerId } from "./server/server_id.ts";
import { NATS_COMPAT_VERSION, VERSION } from "./version.ts";
import { closedInfo, ClosedRing } from "./server/closed_ring.ts";
import { type AcceptLoop, acceptLoop } from "./server/accept_loop.ts";
import { needsAuthenticator } from "./server/auth_options.ts";
import { ClientAuth } from "./server/client_auth.ts";
import {
  advertisedHost,
  advertisedPort,
  clientInfoLine,
  connectUrls,
  type InfoTarget,
  infoTarget,
  ownClientUrls,
} from "./server/server_info.ts";
import type {
  ClusterHandle,
  MonitorHandle,
  PreparedClient,
  ServerExtension,
  SystemHandle,
} from "./server/feature_handles.ts";
import { clientListenError, isBindError, ListenError } from "./server/listen_error.ts";

/** Binds a TLS client listener (lib/tls/client_listener.ts) on a host and port. */
type BindTlsListener = (
  host: string,
  port: number,
) => Promise<import("./tls/client_listener.ts").TlsClientListener>;

/**
 * What monitoring reads of the server (lib/monitor): its state, never a way
 * to change it.
 */
export type MonitoredServer = Readonly<
  Pick<
    Server,
    | "serverId"
    | "serverName"
    | "options"
    | "stats"
    | "log"
    | "accounts"
    | "startTime"
    | "clientPort"
    | "cluster"
    | "leafnodes"
    | "clients"
    | "acme"
    | "acmeEnv"
    | "configLoadTime"
    | "closedClients"
    | "peerClientUrls"
    | "isLameDuck"
    | "authTimeoutMs"
    | "authActive"
    | "tlsCertificateInfo"
    | "connectUrls"
    | "systemAccount"
    | "monitor"
    | "websocket"
    | "jetstream"
  >
>;

export class Server implements ServerCore {
  readonly serverId: string = newServerId();
  readonly serverName: string;
  readonly stats: ServerStats = zeroStats();
  readonly accounts: Map<string, Account> = new Map();
  readonly globalAccount: Account;
  readonly clients: Map<number, ClientConnection> = new Map();
  readonly closedClients: ClosedRing = new ClosedRing(10_000);
  readonly startTime: Date = new Date();
  /** Client URLs of other cluster members, advertised in INFO connect_urls. */
  readonly peerClientUrls: Map<string, number> = new Map();
  readonly extensions: ServerExtension[] = [];
  /** Host and port clients can reach (after binding, with client_advertise applied). */
  clientHost = "";
  clientPort = 0;
  /** Monitoring endpoints (lib/monitor), when -m/-ms or http/https is set. */
  monitor: MonitorHandle | null = null;
  /** Routes (lib/cluster), when a cluster block or --cluster is set. */
  cluster: ClusterHandle | null = null;
  /** The system account (`$SYS` or `system_account`), null with `no_system_account`. */
  systemAccount: Account | null = null;
  /** Its events and requests (lib/system), once started. */
  system: SystemHandle | null = null;
  /** Leaf nodes (lib/leaf), when a leafnodes block has a port or remotes. */
  leafnodes: import("./leaf/leaf_nodes.ts").LeafNodesHandle | null = null;
  /** The WebSocket listener (lib/websocket), when `websocket.port` is set. */
  websocket: import("./websocket/listener.ts").WebSocketListener | null = null;
  /** JetStream (lib/jetstream), null when off: the publish path never looks at it. */
  jetstream: import("./jetstream/handle.ts").JetStreamHandle | null = null;
  /** The TLS client listener, kept so a config reload can swap its certificate. */
  clientTls: import("./tls/client_listener.ts").TlsClientListener | null = null;
  /** Letsgo-nats variables for ACME env mode (set by the CLI when DOMAINS is set). */
  acmeEnv: Record<string, string | undefined> | null = null;

  // What a config reload replaces, through the methods below (lib/ops/reload.ts).
  #options: Options;
  #log: Logger;
  #configLoadTime = new Date();
  /** Client authentication, server-wide and WebSocket (lib/server/client_auth.ts). */
  readonly #clientAuth: ClientAuth = new ClientAuth(this);
  #acme: import("./tls/acme_tls.ts").AcmeTls | null = null;
  #nextCid = 1;
  /** The plain client listener's accept loop (null with TLS, or while rebinding). */
  #accepting: AcceptLoop | null = null;
  readonly #writes = new FlushQueue();
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #shuttingDown = false;
  #connectUrlsVersion = 0;
  /** connect_urls version each client's INFO carried, until its first PING. */
  #infoUrlsVersion = new WeakMap<ClientConnection, number>();
  #lameDuck = false;
  /** The default system account was created (not configured): logged at start. */
  #createdSystemAccount = false;
  #done: { promise: Promise<void>; resolve: () => void };

  constructor(options: Options, log: Logger) {
    this.#options = options;
    this.#log = log;
    this.serverName = options.serverName ?? this.serverId;
    this.globalAccount = new Account(GLOBAL_ACCOUNT, { cache: !options.disableSublistCache });
    this.accounts.set(GLOBAL_ACCOUNT, this.globalAccount);
    this.syncAccounts(options);
    if (!options.noSystemAccount) {
      // nats-server creates the default system account when none is configured.
      const name = options.systemAccount ?? DEFAULT_SYSTEM_ACCOUNT;
      let account = this.accounts.get(name);
      if (account === undefined) {
        account = new Account(name, { cache: !options.disableSublistCache });
        this.accounts.set(name, account);
        this.#createdSystemAccount = true;
      }
      this.systemAccount = account;
    }
    let resolve!: () => void;
    const promise = new Promise<void>((r) => resolve = r);
    this.#done = { promise, resolve };
  }

  /** Puts the accounts `o` names in force (lib/server/account_sync.ts): start and config reload. */
  syncAccounts(o: Options): void {
    syncAccounts(this, o);
  }

  /**
   * Takes the next client id for an internal client (the system account's,
   * one per account), which nats-server numbers with its connections.
   */
  reserveClientId(): number {
    return this.#nextCid++;
  }

  /** The options in force; a reload replaces them as a whole, so read them fresh. */
  get options(): Options {
    return this.#options;
  }

  /** When the options in force were loaded (/varz `config_load_time`). */
  get configLoadTime(): Date {
    return this.#configLoadTime;
  }

  /**
   * Puts `next` in force (config reload, or a reload undoing part of itself).
   *
   * @param loadedAt When the file was loaded; omitted when only correcting
   *   what is in force.
   */
  setOptions(next: Options, loadedAt?: Date): void {
    this.#options = next;
    if (loadedAt !== undefined) this.#configLoadTime = loadedAt;
  }

  get log(): Logger {
    return this.#log;
  }

  /** Replaces the logger (config reload of logging options, or a failed start going quiet). */
  setLogger(log: Logger): void {
    this.#log = log;
  }

  /** Client authentication in force, null without any. */
  get auth(): ClientAuthenticator | null {
    return this.#clientAuth.current;
  }

  /** Puts a new authenticator in force and returns the previous one (to close). */
  setAuthenticator(auth: ClientAuthenticator | null): ClientAuthenticator | null {
    return this.#clientAuth.set(auth);
  }

  /** The ACME side of the server (lib/tls/acme_tls.ts), when ACME is on. */
  get acme(): import("./tls/acme_tls.ts").AcmeTls | null {
    return this.#acme;
  }

  /** A reload added, replaced or removed every ACME block. */
  setAcme(acme: import("./tls/acme_tls.ts").AcmeTls | null): void {
    this.#acme = acme;
  }

  get authRequired(): boolean {
    return this.auth?.authRequired ?? false;
  }

  get authActive(): boolean {
    return this.auth?.active ?? false;
  }

  get authTimeoutMs(): number {
    return this.auth?.timeoutMs ?? 2000;
  }

  /** Resolves when the server has shut down. */
  get done(): Promise<void> {
    return this.#done.promise;
  }

  get isLameDuck(): boolean {
    return this.#lameDuck;
  }

  /**
   * The certificate clients are served, for /varz `tls_cert`, /metrics and
   * the dashboard (lib/monitor/cert_info.ts). Null lets monitoring parse cert_file.
   */
  tlsCertificateInfo(): import("./monitor/types.ts").TlsCertificateInfo[] | null {
    return this.acme?.certificateInfo() ?? null;
  }

  /** Builds the authenticator for `options` (start and reload), sharing the server's bcrypt pool. */
  buildAuthenticator(options: Options): Promise<ClientAuthenticator> {
    return this.#clientAuth.build(options);
  }

  /** Binds the listeners and starts accepting. */
  async start(): Promise<void> {
    const o = this.options;
    this.#logBanner();
    if (needsAuthenticator(o)) {
      const { hasPlaintextPasswords } = await import("./auth/plaintext.ts");
      if (hasPlaintextPasswords(o)) {
        this.log.warn("Plaintext passwords detected, use nkeys or bcrypt");
      }
    }
    if (o.configFile) this.log.notice(`Using configuration file: ${o.configFile}`);
    await this.#clientAuth.start(o);
    if (this.systemAccount !== null) {
      if (this.#createdSystemAccount) {
        this.log.debug(`Created system account: "${this.systemAccount.name}"`);
      }
      // Before any client: internal clients take the first ids, as in nats-server.
      const { startSystem } = await import("./system/system.ts");
      this.system = await startSystem(this, this.systemAccount);
      this.extensions.push(this.system);
    }
    const port = o.port === -1 ? 0 : o.port;
    this.clientHost = o.host;
    if (o.tls?.acme || o.cluster?.tls?.acme || this.acmeEnv) {
      const { AcmeTls } = await import("./tls/acme_tls.ts");
      this.#acme = AcmeTls.create(this, { env: this.acmeEnv });
    }
    // Monitoring first, as nats-server: with ACME it shows (/varz tls_cert,
    // /healthz) why the listeners are not up yet while the first order runs.
    if (o.httpPort !== 0 || o.httpsPort !== 0) {
      const { startMonitoring } = await import("./monitor/monitor.ts");
      try {
        this.monitor = await startMonitoring(this);
      } catch (e) {
        throw new ListenError(`Can't start monitoring: ${(e as Error).message}`);
      }
      this.extensions.push({ shutdown: () => this.monitor?.close() });
    }
    // JetStream is up before the first client is accepted (as nats-server
    // enables it before its accept loop): a request sent at once is answered.
    if (o.jetstream) {
      const { startJetStreamAccounts } = await import("./jetstream/accounts.ts");
      const js = await startJetStreamAccounts(this, o.jetstream, o.accounts ?? []);
      this.jetstream = js;
      // Its push consumers hear of subscriptions as they change (interestChanged).
      this.extensions.push(js);
    }
    // Load or obtain the certificates before the listeners bind.
    if (this.acme) await this.acme.ready();
    if (o.tls) {
      // TLS needs node:net/node:tls (upgrade after a plain-text INFO); see lib/tls.
      const { startTlsClientListener } = await import("./tls/client_listener.ts");
      const certificate = this.acme?.pemFor("client"); // No cert_file to read
      const listener = await startTlsClientListener(this, {
        host: o.host,
        port,
        ...(certificate ? { certificate } : {}),
      }).catch((e) => {
        throw isBindError(e) ? clientListenError(e, o.host, port) : e;
      });
      this.clientTls = listener; // Reload swaps the certificate here
      this.clientPort = listener.port;
    } else {
      this.#listenPlain(o.host, port);
    }
    if (o.websocket && o.websocket.port !== 0) {
      const { startWebSocketListener } = await import("./websocket/listener.ts");
      this.websocket = await startWebSocketListener(this);
    }
    this.log.notice(`Listening for client connections on ${joinHostPort(o.host, this.clientPort)}`);
    if (o.tls) this.log.notice("TLS required for client connections");
    this.#startSweeper();
    this.log.notice("Server is ready");
    // The leaf listener binds before the routes start, so they carry our leaf URL.
    const leaf = o.leafnodes;
    let leafnodes: import("./leaf/leaf_nodes.ts").LeafNodes | null = null;
    if (leaf && (leaf.port !== 0 || leaf.remotes.length > 0)) {
      const { listenLeafNodes } = await import("./leaf/leaf_nodes.ts");
      leafnodes = await listenLeafNodes(this);
      this.leafnodes = leafnodes;
      this.extensions.push(leafnodes);
    }
    if (o.cluster && o.cluster.port !== 0) {
      const { startCluster } = await import("./cluster/cluster.ts");
      const cluster = await startCluster(this);
      this.cluster = cluster;
      this.extensions.push(cluster);
    }
    leafnodes?.dialRemotes();
  }

  /** A new connection id (clients and leaf connections share the sequence, as in nats-server). */
  nextClientId(): number {
    return this.#nextCid++;
  }

  /** The cluster name shown at start-up (configured or generated); the cluster starts with it. */
  clusterNameAtStart = "";

  #logBanner(): void {
    this.log.notice("Starting nats-server");
    this.log.notice(`  Version:  ${NATS_COMPAT_VERSION} (dnatsd ${VERSION})`);
    this.log.notice(`  Git:      [not set]`);
    const c = this.options.cluster;
    if (c && c.port !== 0) {
      // nats-server names the cluster before it starts, a generated name too.
      this.clusterNameAtStart = c.name || dynamicClusterName();
      this.log.notice(`  Cluster:  ${this.clusterNameAtStart}`);
    }
    this.log.notice(`  Name:     ${this.serverName}`);
    this.log.notice(`  ID:       ${this.serverId}`);
  }

  /** Binds the plain client listener and starts accepting (shared accept loop). */
  #listenPlain(host: string, port: number): void {
    let listener: Deno.Listener;
    try {
      listener = Deno.listen({
        hostname: host,
        port,
        transport: "tcp",
        tcpBacklog: LISTEN_BACKLOG,
      });
    } catch (e) {
      throw clientListenError(e, host, port);
    }
    this.#accepting = acceptLoop(listener, {
      name: "Client",
      log: () => this.log,
      refuse: () => this.#shuttingDown || this.#lameDuck,
      accepted: (conn) => this.acceptClient(new DenoTransport(conn, this.options.maxPending / 4)),
    });
    this.clientPort = this.#accepting.addr.port;
  }

  /**
   * A config reload turned TLS on or off: the client listener is replaced
   * by the other kind on the same host and port; connected clients stay.
   *
   * @param bindTls Binds the TLS listener (lib/tls/client_listener.ts); null binds a plain one.
   * @throws {Error} When the new listener cannot bind; the old one is closed by then.
   */
  async replaceClientListener(bindTls: BindTlsListener | null): Promise<void> {
    if (this.#shuttingDown || this.#lameDuck) return;
    const accepting = this.#accepting;
    this.#accepting = null;
    accepting?.close();
    await accepting?.done;
    const tls = this.clientTls;
    this.clientTls = null;
    await tls?.close();
    if (bindTls !== null) {
      this.clientTls = await bindTls(this.clientHost, this.clientPort);
      return;
    }
    this.#listenPlain(this.clientHost, this.clientPort);
  }

  /**
   * Reserves a client id (and nonce) for a connection about to be accepted and
   * builds its INFO line. The TLS listener sends that INFO in plain text before
   * the handshake, then calls acceptClient() with the upgraded transport.
   */
  prepareClient(remoteAddress: string, type: ClientType = "nats"): PreparedClient {
    const cid = this.#nextCid++;
    const nonce = this.#clientAuth.of({ type })?.needsNonce ? newNonce() : undefined;
    const info = this.infoLine({ cid, ip: remoteAddress, nonce, type });
    return { cid, nonce, info, infoSent: false, urlsVersion: this.#connectUrlsVersion };
  }

  /** True when max_connections is reached (a new client gets INFO then -ERR). */
  get atConnectionLimit(): boolean {
    return this.clients.size >= this.options.maxConnections;
  }

  /** Takes a new client transport (plain, or already upgraded to TLS by the caller). */
  acceptClient(
    transport: Transport,
    prepared: PreparedClient = this.prepareClient(transport.remoteAddress),
    tls: TlsState | null = null,
    type: ClientType = "nats",
  ): ClientConnection {
    const client = new ClientConnection(this, transport, prepared.cid, this.globalAccount, type);
    this.#infoUrlsVersion.set(client, prepared.urlsVersion);
    client.nonce = prepared.nonce;
    client.tls = tls;
    this.stats.totalConnections++;
    if (this.atConnectionLimit) {
      // INFO first, then the error, as nats-server does.
      if (!prepared.infoSent) client.out.append(prepared.info);
      client.out.append(errLine(WireError.MaxConnections));
      this.log.error(`${client.logPrefix} - maximum connections exceeded`);
      client.close(ClosedReason.MaxConnectionsExceeded, true);
      return client;
    }
    this.clients.set(client.cid, client);
    this.globalAccount.clients.add(client);
    this.system?.clientAccepted(client);
    if (!prepared.createdLogged) this.log.debug(`${client.logPrefix} - Client connection created`);
    client.begin(prepared.infoSent ? null : prepared.info);
    return client;
  }

  /** The INFO line for one client, fields in nats-server's order (lib/server/server_info.ts). */
  infoLine(client: InfoTarget | null, extra?: { ldm?: boolean }): Uint8Array {
    // WebSocket clients: auth is required whenever any is configured for them (a
    // no_auth_user does not clear it there, as in nats-server).
    const authRequired = client?.type === "websocket"
      ? this.#clientAuth.webSocket?.active ?? false
      : this.authRequired;
    return clientInfoLine(this, client, authRequired, extra);
  }

  advertisedHost(): string {
    return advertisedHost(this);
  }

  advertisedPort(): number {
    return advertisedPort(this);
  }

  /** This server's own client URL(s), as routes announce them to peers. */
  ownClientUrls(): string[] {
    return ownClientUrls(this);
  }

  /** Client INFO `connect_urls` (lib/server/server_info.ts). */
  connectUrls(): string[] {
    return connectUrls(this);
  }

  /** Adds or removes a peer's client URLs and tells protocol-1 clients (async INFO). */
  updatePeerClientUrls(urls: readonly string[], added: boolean): void {
    let changed = false;
    for (const url of urls) {
      const n = this.peerClientUrls.get(url) ?? 0;
      if (added) {
        this.peerClientUrls.set(url, n + 1);
        if (n === 0) changed = true;
      } else if (n <= 1) {
        if (this.peerClientUrls.delete(url)) changed = true;
      } else {
        this.peerClientUrls.set(url, n - 1);
      }
    }
    if (!changed || this.options.cluster?.noAdvertise) return;
    this.#connectUrlsVersion++;
    // Shutdown closes routes before clients: an INFO now would tell clients to
    // forget the peers they must fail over to (nats-server sends none either).
    if (this.#shuttingDown) return;
    for (const client of this.clients.values()) {
      // Before its first PING a client is owed the change then (pongSent).
      if (
        client.opts.protocol >= 1 && !this.#infoUrlsVersion.has(client) &&
        client.type !== "websocket"
      ) {
        client.send(this.infoLine(infoTarget(client)));
      }
    }
  }

  get connectUrlsVersion(): number {
    return this.#connectUrlsVersion;
  }

  // ------------------------------------------------------------ ServerCore

  authenticate(
    client: ClientConnection,
    creds: ConnectCredentials,
  ): AuthOutcome | Promise<AuthOutcome> {
    const auth = this.#clientAuth.of(client);
    if (auth === null) return { ok: true, account: GLOBAL_ACCOUNT, permissions: null };
    return auth.authenticate(creds, {
      nonce: client.nonce,
      cert: client.tls?.peerCert,
      connectionType: client.type === "websocket" ? "WEBSOCKET" : "STANDARD",
    });
  }

  authActiveFor(client: ClientConnection): boolean {
    return this.#clientAuth.of(client)?.active ?? false;
  }

  authTimeoutMsFor(client: ClientConnection): number {
    return this.#clientAuth.of(client)?.timeoutMs ?? 2000;
  }

  anonymousLogin(creds: ConnectCredentials, client?: ClientConnection): AuthOutcome | null {
    return this.#clientAuth.of(client)?.anonymous(creds) ?? null;
  }

  authViolationLine(creds: ConnectCredentials, client?: ClientConnection): string {
    return this.#clientAuth.of(client)?.violationLine(creds) ?? "authentication error";
  }

  get isShuttingDown(): boolean {
    return this.#shuttingDown;
  }

  accountFor(name: string): Account | null {
    return this.accounts.get(name) ?? null;
  }

  maxSubscriptionsFor(client: ClientConnection): number {
    const acc = client.account.maxSubscriptions;
    const srv = this.options.maxSubscriptions;
    if (acc > 0 && srv > 0) return Math.min(acc, srv);
    return acc > 0 ? acc : srv;
  }

  clientConnected(client: ClientConnection): void {
    this.system?.clientConnected(client);
  }

  interestChanged(account: Account, sub: Subscription, added: boolean): void {
    for (const ext of this.extensions) ext.interestChanged?.(account, sub, added);
  }

  /**
   * A client's first PONG went out: if connect_urls changed since its INFO
   * was built (a route came up between INFO and CONNECT), the new INFO follows
   * the PONG (which the client awaits as the answer to its CONNECT), as
   * nats-server does. Later changes are pushed as they happen
   * (updatePeerClientUrls).
   */
  pongSent(client: ClientConnection): void {
    const version = this.#infoUrlsVersion.get(client);
    if (version === undefined) return;
    this.#infoUrlsVersion.delete(client);
    if (client.opts.protocol < 1 || version === this.#connectUrlsVersion) return;
    if (client.type === "websocket") return;
    if (!this.#shuttingDown) client.send(this.infoLine(infoTarget(client)));
  }

  /** Queues a connection (client or route) for this turn's coalesced write. */
  queueFlush(conn: Flushable): void {
    this.#writes.add(conn);
  }

  /** Writes every connection touched since the last flush: one write each per turn. */
  flushPending(): void {
    this.#writes.flush();
  }

  slowConsumer(client: ClientConnection, kind: "pending" | "deadline"): void {
    if (client.isClosed) return;
    this.stats.slowConsumers++;
    if (kind === "pending") {
      this.log.notice(
        `${client.logPrefix} - Slow Consumer Detected: MaxPending of ${this.options.maxPending} Exceeded`,
      );
      client.close(ClosedReason.SlowConsumerPendingBytes);
    } else {
      this.log.notice(
        `${client.logPrefix} - Slow Consumer Detected: WriteDeadline of ${this.options.writeDeadlineMs}ms exceeded with ${client.out.pending} total bytes pending`,
      );
      client.close(ClosedReason.SlowConsumerWriteDeadline);
    }
  }

  clientClosed(client: ClientConnection): void {
    if (!this.clients.delete(client.cid)) return;
    const account = client.account;
    account.clients.delete(client);
    account.retired.inMsgs += client.inMsgs;
    account.retired.inBytes += client.inBytes;
    account.retired.outMsgs += client.outMsgs;
    account.retired.outBytes += client.outBytes;
    this.closedClients.push(closedInfo(client));
    this.system?.clientClosed(client);
    this.log.debug(`${client.logPrefix} - Client connection closed: ${client.closedReason}`);
  }

  redact(text: string): string {
    return redactSecrets(text);
  }

  /** A write stuck longer than write_deadline makes a slow consumer. */
  #startSweeper(): void {
    const deadline = this.options.writeDeadlineMs;
    const every = Math.max(50, Math.min(1000, deadline / 2));
    this.#sweeper = setInterval(() => {
      // Write_deadline is reloadable; re-arm at the new pace when it changed.
      if (this.options.writeDeadlineMs !== deadline) {
        clearInterval(this.#sweeper);
        this.#startSweeper();
        return;
      }
      const now = performance.now();
      for (const c of this.clients.values()) {
        const started = c.out.writeStartedAt;
        if (started > 0 && now - started > deadline) this.slowConsumer(c, "deadline");
      }
    }, every);
    Deno.unrefTimer(Number(this.#sweeper));
  }

  // ------------------------------------------------------------ lifecycle

  /** Stops accepting, flushes what clients are owed, closes everything. */
  async shutdown(): Promise<void> {
    if (this.#shuttingDown) return this.#done.promise;
    this.#shuttingDown = true;
    this.log.notice("Initiating Shutdown...");
    this.#accepting?.close(); // idempotent: lame duck may have closed it
    await this.clientTls?.close(); // Idempotent; a reload may have replaced it
    await this.websocket?.close();
    clearInterval(this.#sweeper);
    // Routes close before clients; the clients are not told of the peers going
    // away (updatePeerClientUrls is silent from here on), so they keep them to
    // reconnect to.
    for (const ext of this.extensions) await ext.shutdown?.();
    const drains: Promise<void>[] = [];
    for (const client of [...this.clients.values()]) {
      drains.push(client.out.drain(500));
    }
    await Promise.all(drains);
    for (const client of [...this.clients.values()]) client.close(ClosedReason.ServerShutdown);
    this.#clientAuth.close();
    this.log.notice("Server Exiting..");
    this.#done.resolve();
  }

  /** Lame duck: stop accepting, announce, then close clients gradually and shut down. */
  async lameDuck(): Promise<void> {
    if (this.#lameDuck || this.#shuttingDown) return;
    this.#lameDuck = true;
    this.log.notice("Entering lame duck mode, stop accepting new clients");
    this.#accepting?.close();
    await this.clientTls?.close(); // The TLS listener (a reload may have replaced it)
    await this.websocket?.close();
    // The cluster (route INFO with ldm:true) learns through this hook.
    for (const ext of this.extensions) {
      try {
        await ext.lameDuck?.();
      } catch (e) {
        this.log.error(`Lame duck: ${(e as Error).message}`);
      }
    }
    const o = this.options;
    if (this.clients.size === 0) return this.shutdown();
    for (const client of this.clients.values()) {
      if (client.opts.protocol >= 1) client.send(this.infoLine(infoTarget(client), { ldm: true }));
    }
    this.flushPending();
    await delay(o.lameDuckGracePeriodMs, () => this.#shuttingDown);
    if (this.#shuttingDown) return;
    this.log.notice("Closing existing clients");
    const clients = [...this.clients.values()];
    const span = Math.max(0, o.lameDuckDurationMs - o.lameDuckGracePeriodMs);
    const pause = clients.length > 0 ? Math.min(1000, span / clients.length) : 0;
    for (const client of clients) {
      if (this.#shuttingDown) return;
      client.close(ClosedReason.ServerShutdown);
      if (pause > 0) await delay(pause / 2 + Math.random() * pause / 2, () => this.#shuttingDown);
    }
    await this.shutdown();
  }
}

/** Waits `ms`, waking early (polled every 100 ms) when `stop()` turns true. */
async function delay(ms: number, stop: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!stop() && Date.now() < end) {
    await new Promise((r) => setTimeout(r, Math.min(100, end - Date.now())));
  }
}
