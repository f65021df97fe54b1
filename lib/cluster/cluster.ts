/**
 * The cluster: the route listener, the dialer, and the registry of routes
 * (exactly one per remote server). It decides what a whole server decides
 * about routes: cluster names, duplicates, gossip, reconnects, and which
 * local interest the peers hear about. One connection's protocol lives in
 * ./route_connection.ts.
 *
 * @module
 */
import type * as net from "node:net";
import { LISTEN_BACKLOG } from "../ops/listen_backlog.ts";
import { DenoTransport, type Transport } from "../conn/transport.ts";
import { TlsTransport } from "../tls/backpressure.ts";
import { ClosedReason } from "../conn/closed_reason.ts";
import { LinkKind, type Subscription } from "../delivery/subscription.ts";
import { PermissionChecker } from "../auth/permissions.ts";
import { newNonce } from "../auth/nonce.ts";
import type { ClusterOptions, TlsOptions } from "../config/options.ts";
import type { RouteInfo } from "../monitor/types.ts";
import type { Account } from "../server/account.ts";
import type { Server } from "../server.ts";
import type { ClusterHandle } from "../server/feature_handles.ts";
import { gossipIp, gossipLine, gossipTarget } from "./gossip.ts";
import { LocalInterest, withoutOrigin } from "./interest.ts";
import { RouteAuth } from "./route_auth.ts";
import { RouteConnection, type RouteHost, type RouteInfoJson } from "./route_connection.ts";
import { dialTcp, RouteDialer } from "./route_dialer.ts";
import {
  dynamicClusterName,
  routeConnectLine,
  type RouteIdentity,
  routeInfoLine,
} from "./route_info.ts";
import type { RouteTls } from "./route_tls.ts";
import type { CertificateHolder } from "../tls/context.ts";
import { bindReleasedPort } from "../ops/rebind.ts";
import { type AcceptLoop, acceptLoop } from "../server/accept_loop.ts";
import { isBindError, routeListenError } from "../server/listen_error.ts";
import { parseRouteUrl, redactedUrl, type RouteUrl } from "./route_url.ts";
import { joinHostPort, parseAdvertise } from "../conn/address.ts";

/** Reconnect delay of a dropped solicited route: 1 s plus up to 100 ms of jitter. */
const RECONNECT_DELAY_MS = 1000;
const RECONNECT_JITTER_MS = 100;

/**
 * Two servers that dial each other at once register the crossing connections
 * within a few milliseconds of each other; a later duplicate (a retry, a
 * gossiped URL) meets an established route.
 */
const SIMULTANEOUS_DIAL_MS = 250;

/**
 * Starts the route listener and dials the configured routes.
 *
 * @param server The running server (its client listener is up).
 * @returns The handle the server keeps as `server.cluster` and as an extension.
 */
export async function startCluster(server: Server): Promise<Cluster> {
  const cluster = new Cluster(server);
  await cluster.start();
  return cluster;
}

export class Cluster implements ClusterHandle, RouteHost {
  readonly server: Server;
  readonly interest: LocalInterest;
  /** Bound route port (after start). */
  port = 0;
  #opts: ClusterOptions;
  #auth: RouteAuth;
  #name: string;
  #dynamic: boolean;
  /** The plain route listener's accept loop (null with route TLS, or while rebinding). */
  #accepting: AcceptLoop | null = null;
  /** Route TLS (handshake first, both sides verify), when `cluster.tls` is set. */
  #tls: RouteTls | null = null;
  #dialer: RouteDialer;
  /** Every route connection, registered or still in its handshake. */
  readonly #conns = new Set<RouteConnection>();
  /** Registered routes by remote server id. */
  readonly #remotes = new Map<string, RouteConnection>();
  /** Configured (explicit) routes by `host:port`. */
  readonly #configured = new Map<string, RouteUrl>();
  /** `host:port` found to be ourselves: never dialed again. */
  readonly #selfKeys = new Set<string>();
  #importChecker: PermissionChecker | null = null;
  #exportChecker: PermissionChecker | null = null;
  #nextRid = 1;
  #shuttingDown = false;

  constructor(server: Server) {
    this.server = server;
    const opts = server.options.cluster;
    if (!opts) throw new TypeError("startCluster() needs options.cluster");
    this.#opts = opts;
    this.#auth = new RouteAuth(opts.authorization, opts.tls);
    this.#dynamic = !opts.name;
    this.#name = opts.name || server.clusterNameAtStart || dynamicClusterName();
    this.#setPermissions(opts.permissions);
    this.interest = new LocalInterest((s) => this.#importAllowed(s));
    this.#dialer = new RouteDialer({
      log: server.log,
      connectRetries: () => this.#opts.connectRetries,
      connect: (host, port, timeoutMs) =>
        this.#tls === null ? dialTcp(host, port, timeoutMs) : this.#tls.dial(host, port),
      connected: (conn, url, explicit) =>
        this.#dialed(conn as Deno.Conn | net.Socket, url, explicit),
    });
  }

  /** Route authorization (replaced on reload). */
  get auth(): RouteAuth {
    return this.#auth;
  }

  /** The cluster name in use (a dynamic one may be replaced by a peer's). */
  get name(): string {
    return this.#name;
  }

  get nameIsDynamic(): boolean {
    return this.#dynamic;
  }

  /**
   * The route certificate's owner (null without route TLS). A reload may
   * replace it; ACME renewals swap their certificate into the current one.
   */
  get routeTlsCertificate(): CertificateHolder | null {
    return this.#tls?.certificate ?? null;
  }

  async start(): Promise<void> {
    const o = this.#opts;
    const log = this.server.log;
    log.notice(`Cluster name is ${this.#name}`);
    if (this.#dynamic) log.warn("Cluster name was dynamically generated, consider setting one");
    const host = o.host || "0.0.0.0";
    const port = o.port === -1 ? 0 : o.port;
    if (o.tls) {
      // TLS needs node:net sockets (node:tls upgrades them); plain routes use Deno's sockets.
      // A cluster tls block with `acme` has no cert_file; ACME holds the PEM.
      const certificate = o.tls.acme ? this.server.acme?.pemFor("route") : undefined;
      this.#tls = await this.#startTls(o.tls, port, certificate ? { certificate } : {}).catch(
        (e) => {
          throw isBindError(e) ? routeListenError(e, host, o.port) : e;
        },
      );
      this.port = this.#tls.port;
    } else {
      try {
        this.#listenPlain(port);
      } catch (e) {
        throw routeListenError(e, host, o.port);
      }
    }
    log.notice(`Listening for route connections on ${joinHostPort(host, this.port)}`);
    // Interest that existed before the cluster came up (clients may already be connected).
    for (const account of this.server.accounts.values()) {
      for (const sub of account.sublist.all()) {
        if (announced(sub)) this.interest.change(account.name, sub, true);
      }
    }
    for (const text of o.routes) this.addRoute(text);
    await Promise.resolve();
  }

  #startTls(
    options: TlsOptions,
    port: number,
    material: { certificate?: { certPem: string; keyPem: string }; holder?: CertificateHolder },
  ): Promise<RouteTls> {
    return import("./route_tls.ts").then(({ startRouteTls }) =>
      startRouteTls(options, {
        host: this.#opts.host || "0.0.0.0",
        port,
        log: this.server.log,
        accepted: (t) => this.#accepted(t),
        refuse: () => this.#shuttingDown,
        ...material,
      })
    );
  }

  #listenPlain(port: number): void {
    const listener = Deno.listen({
      hostname: this.#opts.host || "0.0.0.0",
      port,
      tcpBacklog: LISTEN_BACKLOG,
    });
    this.#accepting = acceptLoop(listener, {
      name: "Route",
      log: () => this.server.log,
      refuse: () => this.#shuttingDown,
      accepted: (conn) => this.#accepted(new DenoTransport(conn)),
    });
    this.port = this.#accepting.addr.port;
  }

  #accepted(transport: Transport): void {
    const conn = new RouteConnection(this, transport, {
      rid: this.#nextRid++,
      solicited: false,
      url: null,
      explicit: false,
    });
    this.#conns.add(conn);
    this.server.log.notice(`${conn.logPrefix} - Route connection created`);
    conn.begin([routeInfoLine(this.#identity(), { nonce: newNonce() })]);
  }

  #dialed(socket: Deno.Conn | net.Socket, url: RouteUrl, explicit: boolean): void {
    // TLS routes need the handle-level pause (flow control stalls reads).
    const transport = "destroy" in socket
      ? new TlsTransport(socket)
      : new DenoTransport(socket as Deno.Conn);
    if (this.#shuttingDown) {
      transport.close();
      return;
    }
    const conn = new RouteConnection(this, transport, {
      rid: this.#nextRid++,
      solicited: true,
      url,
      explicit,
    });
    this.#conns.add(conn);
    const id = this.#identity();
    conn.begin([routeConnectLine(id, url), routeInfoLine(id, { nonce: newNonce() })]);
    this.server.log.debug(`${conn.logPrefix} - Route connect msg sent`);
    this.server.log.notice(`${conn.logPrefix} - Route connection created`);
  }

  /** What our INFO and CONNECT say about us right now. */
  #identity(): RouteIdentity {
    const o = this.#opts;
    const server = this.server;
    let host = o.host || "0.0.0.0";
    let port = this.port;
    let advertiseUrl: string | null = null;
    if (o.advertise) {
      const adv = parseAdvertise(o.advertise, port);
      host = adv.host;
      port = adv.port;
      advertiseUrl = `nats-route://${joinHostPort(host, port)}/`;
    }
    let connectUrls: string[] | null = null;
    if (!o.noAdvertise) {
      connectUrls = server.ownClientUrls();
    }
    return {
      serverId: server.serverId,
      serverName: server.serverName,
      host,
      port,
      advertiseUrl,
      clusterName: this.#name,
      clusterDynamic: this.#dynamic,
      headers: !server.options.noHeaderSupport,
      maxPayload: server.options.maxPayload,
      authRequired: this.auth.required,
      tls: this.#tls !== null,
      connectUrls,
      permissions: o.permissions,
      leafnodeUrl: server.leafnodes?.ownLeafUrl() ?? null,
    };
  }

  // ------------------------------------------------------------ RouteHost

  checkClusterName(conn: RouteConnection, theirs: string, dynamic: boolean): boolean {
    if (theirs === this.#name) return true;
    // A generated name gives way to a configured one, or to a larger generated one,
    // so every server of a cluster started without names converges on one name.
    if (this.#dynamic && theirs !== "" && (!dynamic || theirs > this.#name)) {
      this.#name = theirs;
      this.server.log.notice(`Cluster name updated to ${theirs}`);
      for (const other of [...this.#conns]) {
        if (other !== conn) other.close(ClosedReason.ClusterNameConflict);
      }
      return true;
    }
    if (conn.solicited) {
      conn.close(ClosedReason.ClusterNameConflict);
    } else {
      const text = `Rejecting connection, cluster name "${theirs}" does not match "${this.#name}"`;
      this.server.log.error(`${conn.logPrefix} - ${text}`);
      conn.sendErrAndClose(text, ClosedReason.ClusterNameConflict);
      // nats-server then reports the refused CONNECT as a read-loop error.
      this.server.log.error(`${conn.logPrefix} - cluster name from remote server conflicts`);
    }
    return false;
  }

  processFirstInfo(conn: RouteConnection, info: RouteInfoJson): void {
    const server = this.server;
    const id = conn.remoteId;
    if (id === server.serverId) {
      if (conn.solicited && conn.url) {
        server.log.debug(`Detected route to self, ignoring "${redactedUrl(conn.url)}"`);
        this.#selfKeys.add(conn.url.key);
      }
      conn.noReconnect = true;
      conn.close(ClosedReason.DuplicateRoute);
      return;
    }
    if (id === "") {
      conn.close(ClosedReason.ProtocolViolation);
      return;
    }
    if (conn.solicited) {
      const cluster = typeof info.cluster === "string" ? info.cluster : "";
      if (!this.checkClusterName(conn, cluster, info.cluster_dynamic === true)) return;
    } else if (conn.remoteName !== "" && conn.remoteName === server.serverName) {
      server.log.error(
        `${conn.logPrefix} - Remote server has a duplicate name: "${conn.remoteName}"`,
      );
      conn.noReconnect = true;
      conn.close(ClosedReason.DuplicateServerName);
      return;
    }
    const existing = this.#remotes.get(id);
    if (existing !== undefined && existing !== conn) {
      if (!this.#newWins(existing, conn, info)) {
        // The survivor takes over the duplicate's URL: if it drops, it is dialed again.
        if (conn.url !== null && existing.url === null) {
          existing.url = conn.url;
          existing.explicit = conn.explicit;
        }
        conn.noReconnect = true;
        conn.close(ClosedReason.DuplicateRoute);
        return;
      }
      if (existing.url !== null && conn.url === null) {
        conn.url = existing.url;
        conn.explicit = existing.explicit;
      }
      existing.noReconnect = true;
      existing.close(ClosedReason.DuplicateRoute);
    }
    this.#remotes.set(id, conn);
    conn.registeredWith(this.#forPeer(conn, this.interest.snapshot()));
    const urls = stringList(info.connect_urls);
    conn.connectUrls = urls;
    // The peer's leaf URL is passed on to our leafs (they may dial it when we go away).
    const leafUrls = stringList(info.leafnode_urls);
    if (leafUrls.length === 1) {
      conn.leafnodeUrl = leafUrls[0];
      server.leafnodes?.peerLeafUrl(leafUrls[0], true);
    }
    if (this.#remotes.size > 1) {
      const line = gossipLine(info, gossipIp(info, conn.transport.remoteAddress));
      for (const other of this.#remotes.values()) if (other !== conn) other.send(line);
    }
    if (urls.length > 0) server.updatePeerClientUrls(urls, true);
  }

  /**
   * Which of two connections to the same server survives. nats-server keeps the
   * first registered, which can drop both when two servers dial each other at
   * once. Between dnatsd servers (INFO `go` says deno) a duplicate that comes
   * within {@link SIMULTANEOUS_DIAL_MS} of the first is such a crossing, and
   * both sides keep the connection dialed by the smaller server id, so they
   * agree. A route registered longer ago stays, as in nats-server: it may be
   * carrying traffic, and closing it would drop what is queued on it.
   */
  #newWins(existing: RouteConnection, conn: RouteConnection, info: RouteInfoJson): boolean {
    if (typeof info.go !== "string" || !info.go.startsWith("deno")) return false;
    if (performance.now() - existing.registeredAt > SIMULTANEOUS_DIAL_MS) return false;
    const own = this.server.serverId;
    const dialerOf = (c: RouteConnection) => c.solicited ? own : c.remoteId;
    const a = dialerOf(existing);
    const b = dialerOf(conn);
    return a !== b && b < a;
  }

  gossipReceived(_conn: RouteConnection, info: RouteInfoJson): void {
    const a = this.#opts.authorization;
    const url = gossipTarget(info, {
      ownId: this.server.serverId,
      connected: (id) => this.#remotes.has(id),
      configured: new Set(this.#configured.keys()),
      dialing: (key) => this.#dialer.dialing(key),
      credentials: a ? { user: a.user, password: a.password } : undefined,
    });
    if (url === null || this.#selfKeys.has(url.key) || this.#shuttingDown) return;
    this.#dialer.solicit(url, { explicit: false });
  }

  peerUrlsChanged(conn: RouteConnection, urls: string[]): void {
    if (!conn.registered || this.#remotes.get(conn.remoteId) !== conn) return;
    const old = conn.connectUrls;
    if (old.length === urls.length && old.every((u, i) => u === urls[i])) return;
    conn.connectUrls = urls;
    if (old.length > 0) this.server.updatePeerClientUrls(old, false);
    if (urls.length > 0) this.server.updatePeerClientUrls(urls, true);
  }

  routeClosed(conn: RouteConnection): void {
    this.#conns.delete(conn);
    if (conn.registered && this.#remotes.get(conn.remoteId) === conn) {
      this.#remotes.delete(conn.remoteId);
      if (conn.connectUrls.length > 0) this.server.updatePeerClientUrls(conn.connectUrls, false);
      conn.connectUrls = [];
      if (conn.leafnodeUrl !== "" && !this.#shuttingDown) {
        this.server.leafnodes?.peerLeafUrl(conn.leafnodeUrl, false);
      }
      conn.leafnodeUrl = "";
    }
    const url = conn.url;
    if (this.#shuttingDown || conn.noReconnect || url === null) return;
    if (conn.explicit && !this.#configured.has(url.key)) return; // removed by a reload
    this.server.log.debug(`Attempting reconnect for solicited route "${redactedUrl(url)}"`);
    this.#dialer.solicit(url, {
      explicit: conn.explicit,
      delayMs: RECONNECT_DELAY_MS + Math.random() * RECONNECT_JITTER_MS,
      reconnect: true,
    });
  }

  exportAllowed(subject: string): boolean {
    return this.#exportChecker === null || this.#exportChecker.canSubscribe(subject, null);
  }

  #importAllowed(subject: string): boolean {
    return this.#importChecker === null || this.#importChecker.canPublish(subject);
  }

  #setPermissions(p: ClusterOptions["permissions"]): void {
    // import = what we take from peers (so the interest we announce); export = what
    // we let peers subscribe to (the interest we accept). nats-server maps them to
    // publish and subscribe permissions the same way.
    this.#importChecker = p?.import ? new PermissionChecker({ publish: p.import }) : null;
    this.#exportChecker = p?.export ? new PermissionChecker({ subscribe: p.export }) : null;
  }

  // ------------------------------------------------------------ ServerExtension

  interestChanged(account: Account, sub: Subscription, added: boolean): void {
    if (!announced(sub)) return;
    const line = this.interest.change(account.name, sub, added);
    if (line === null) return;
    for (const conn of this.#remotes.values()) conn.send(this.#forPeer(conn, line));
  }

  /** Interest lines as a peer takes them: with leaf origins only when it announced `lnoc`. */
  #forPeer(conn: RouteConnection, lines: Uint8Array): Uint8Array {
    return conn.lnoc ? lines : withoutOrigin(lines);
  }

  /** Closes every route and stops listening and dialing. */
  shutdown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    this.#accepting?.close();
    this.#dialer.stopAll();
    this.#tls?.close();
    for (const conn of [...this.#conns]) conn.close(ClosedReason.ServerShutdown, true);
    this.auth.close();
  }

  // ------------------------------------------------------------ management

  /** Lame duck: peers are told (route INFO with `ldm:true`) to drop our client URLs. */
  lameDuck(): void {
    const line = routeInfoLine(this.#identity(), { ldm: true });
    for (const conn of this.#remotes.values()) conn.send(line);
  }

  /**
   * Config reload: takes the new cluster options. Routes are added and removed
   * by difference. As nats-server does: accepted routes whose CONNECT
   * credentials fail the new authorization are closed; a permissions change
   * re-announces local interest (RS+/RS-), forgets peer interest no longer
   * exportable and sends every peer our new INFO (so it resends what it may
   * now send); name, connect_retries and advertise settings apply to what
   * comes next. Listen host and port are not reloadable (the reload diff
   * refuses them); route TLS is {@link reloadTls}.
   */
  applyOptions(next: ClusterOptions): void {
    const old = this.#opts;
    const before = new Set(this.#configured.keys());
    const wanted = new Map<string, string>();
    for (const text of next.routes) {
      try {
        wanted.set(parseRouteUrl(text).key, text);
      } catch {
        this.server.log.error(`Invalid route URL "${text}"`);
      }
    }
    this.#opts = next;
    if (!sameJson(old.authorization, next.authorization)) {
      const previous = this.#auth;
      this.#auth = new RouteAuth(next.authorization, next.tls);
      this.#recheckRoutes();
      previous.close();
    }
    if (next.name && next.name !== this.#name) {
      this.#name = next.name;
      this.#dynamic = false;
      this.server.log.notice(`Cluster name updated to ${next.name}`);
    }
    if (!sameJson(old.permissions, next.permissions)) this.#reloadPermissions(next.permissions);
    for (const key of before) {
      const text = wanted.get(key);
      const current = this.#configured.get(key)!.text;
      // Same host:port with other credentials in the URL: dial again with the new ones.
      if (text === undefined || text !== current) this.removeRoute(current);
    }
    for (const [key, text] of wanted) if (!this.#configured.has(key)) this.addRoute(text);
  }

  /** Closes accepted routes whose stored CONNECT credentials the new authorization refuses. */
  #recheckRoutes(): void {
    const auth = this.#auth;
    for (const conn of [...this.#conns]) {
      // A dialed route authenticated at the peer; we hold nothing to check.
      if (conn.solicited || conn.credentials === null || conn.isClosed) continue;
      const verdict = auth.check(conn.credentials.user, conn.credentials.pass);
      const settle = (ok: boolean) => {
        if (!ok && !conn.isClosed) conn.revokeAuthorization();
      };
      if (verdict instanceof Promise) verdict.then(settle);
      else settle(verdict);
    }
  }

  #reloadPermissions(p: ClusterOptions["permissions"]): void {
    const importChecker = p?.import ? new PermissionChecker({ publish: p.import }) : null;
    // Evaluated against the old checker inside setFilter, so it must run first.
    const lines = this.interest.setFilter(
      importChecker === null ? null : (s) => importChecker.canPublish(s),
    );
    this.#setPermissions(p);
    const info = routeInfoLine(this.#identity());
    for (const conn of this.#remotes.values()) {
      if (lines.length > 0) conn.send(this.#forPeer(conn, lines));
      conn.dropRemoteInterest((s) => this.exportAllowed(s));
      conn.send(info);
    }
  }

  /** A peer's permissions changed: send it all our interest again (it skips what it has). */
  peerPermissionsChanged(conn: RouteConnection): void {
    if (!conn.registered || this.#remotes.get(conn.remoteId) !== conn) return;
    const snapshot = this.interest.snapshot();
    if (snapshot.length > 0) conn.send(this.#forPeer(conn, snapshot));
  }

  /**
   * Config reload of `cluster.tls`: new handshakes (accepted and dialed) use
   * `holder`, built and validated by the caller; routes already up stay.
   * Turning route TLS on or off replaces the listener on the same port, as
   * nats-server applies the block to every new route. Never throws: when the
   * other kind of listener cannot bind, the old kind is bound again and the
   * error is logged.
   *
   * @param options The new `cluster.tls` (undefined: route TLS off).
   * @param holder Its certificate holder (null when `options` is undefined).
   */
  async reloadTls(
    options: TlsOptions | undefined,
    holder: CertificateHolder | null,
  ): Promise<void> {
    if (this.#shuttingDown) return;
    const current = this.#tls;
    if (current !== null && holder !== null) {
      current.reconfigure(holder);
      return;
    }
    if (current === null && holder === null) return;
    const port = this.port;
    // Close what listens now, then bind the other kind; on failure, the old kind again.
    let bindNew: () => Promise<void>;
    let bindOld: () => Promise<void>;
    const plain = () => Promise.resolve(this.#listenPlain(port));
    if (current !== null) {
      current.close();
      this.#tls = null;
      bindNew = plain;
      bindOld = async () => {
        this.#tls = await this.#startTls(current.certificate.options, port, {
          holder: current.certificate,
        });
      };
    } else {
      const accepting = this.#accepting;
      this.#accepting = null;
      accepting?.close();
      await accepting?.done;
      bindNew = async () => {
        this.#tls = await this.#startTls(options!, port, { holder: holder! });
      };
      bindOld = plain;
    }
    const log = this.server.log;
    try {
      await bindReleasedPort(bindNew);
      return;
    } catch (e) {
      const what = holder === null ? "off" : "on";
      log.error(`Error listening for route connections with TLS ${what}: ${(e as Error).message}`);
    }
    try {
      await bindReleasedPort(bindOld);
      log.warn(`Route listener kept TLS ${holder === null ? "on" : "off"}`);
    } catch (e) {
      log.error(`Error listening for route connections: ${(e as Error).message}`);
    }
  }

  /** Adds a configured route and dials it (start, config reload). */
  addRoute(text: string): void {
    let url: RouteUrl;
    try {
      url = parseRouteUrl(text);
    } catch (e) {
      this.server.log.error(`Invalid route URL "${text}": ${(e as Error).message}`);
      return;
    }
    if (this.#configured.has(url.key)) return;
    this.#configured.set(url.key, url);
    if (!this.#shuttingDown) this.#dialer.solicit(url, { explicit: true });
  }

  /** Removes a configured route: stops dialing it and closes its connection. */
  removeRoute(text: string): void {
    let url: RouteUrl;
    try {
      url = parseRouteUrl(text);
    } catch {
      return;
    }
    if (!this.#configured.delete(url.key)) return;
    this.#dialer.cancel(url.key);
    for (const conn of [...this.#conns]) {
      if (conn.url?.key === url.key && conn.explicit) {
        conn.noReconnect = true;
        conn.close(ClosedReason.RouteRemoved);
      }
    }
  }

  /** Number of registered routes. */
  get numRoutes(): number {
    return this.#remotes.size;
  }

  /** Server ids of the registered routes. */
  remotes(): string[] {
    return [...this.#remotes.keys()];
  }

  /** The registered route connections (tests, monitoring). */
  routes(): RouteConnection[] {
    return [...this.#remotes.values()];
  }

  /** One entry per registered route, for /routez. */
  routezInfo(): RouteInfo[] {
    const out: RouteInfo[] = [];
    for (const conn of this.#remotes.values()) {
      const subjects: string[] = [];
      for (const { sub } of conn.remoteSubs.values()) subjects.push(sub.subject);
      const entry: RouteInfo = {
        rid: conn.rid,
        remote_id: conn.remoteId,
        did_solicit: conn.solicited,
        is_configured: conn.explicit && conn.url !== null && this.#configured.has(conn.url.key),
        ip: conn.transport.remoteAddress,
        port: conn.transport.remotePort,
        start: conn.start,
        last_activity: new Date(conn.lastActivity),
        pending_size: conn.out.pending,
        in_msgs: conn.inMsgs,
        out_msgs: conn.outMsgs,
        in_bytes: conn.inBytes,
        out_bytes: conn.outBytes,
        subscriptions: conn.remoteSubs.size,
        subscriptions_list: subjects,
      };
      if (conn.rttMs > 0) entry.rtt = conn.rttMs;
      if (conn.remoteName !== "") entry.remote_name = conn.remoteName;
      const p = this.#opts.permissions;
      if (p?.import) entry.import = p.import;
      if (p?.export) entry.export = p.export;
      out.push(entry);
    }
    return out;
  }
}

/**
 * Interest routes hear about: local interest (clients, their stream import
 * shadows, the service reply wildcards) and our leafs' (hub links), never what
 * other servers told us.
 */
function announced(sub: Subscription): boolean {
  if (sub.route === null) return !sub.noForward;
  return sub.route.linkKind === LinkKind.LeafHub;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((u): u is string => typeof u === "string") : [];
}
