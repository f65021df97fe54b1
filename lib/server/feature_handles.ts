/**
 * What the server and the feature modules it loads on demand promise each
 * other: the handles lib/monitor, lib/system and lib/cluster return, the
 * hooks every extension may attach (lib/leaf, lib/jetstream too), and the
 * client a listener (lib/tls, lib/websocket) gets reserved before it accepts.
 * Kept apart from the Server (lib/server.ts) so the whole contract reads in
 * one place, and a feature module or an embedder (through mod.ts) names its
 * side of it without the Server's implementation.
 *
 * @module
 */
import type { Account } from "./account.ts";
import type { ClientConnection } from "../client/connection.ts";
import type { Subscription } from "../delivery/subscription.ts";

/** What lib/monitor returns: its bound ports and a way to stop it. */
export interface MonitorHandle {
  readonly httpPort: number;
  readonly httpsPort: number;
  /**
   * Replaces the HTTPS certificate (PEM texts) for new handshakes, after an
   * ACME renewal or a reload; a no-op for plain HTTP.
   */
  setCertificate(certPem: string, keyPem: string): void;
  close(): Promise<void> | void;
  /** Hits per endpoint path (/varz `http_req_stats`, also answered over `$SYS`). */
  readonly reqStats?: ReadonlyMap<string, number>;
}

/**
 * What lib/system returns: the system account's events and requests. The
 * server tells it of clients coming and going and of accounts a reload adds.
 */
export interface SystemHandle extends ServerExtension {
  readonly account: Account;
  /** A client was accepted (it is in the global account until it authenticates). */
  clientAccepted(client: ClientConnection): void;
  /** A client finished CONNECT (authenticated, in its account). */
  clientConnected(client: ClientConnection): void;
  /** A client closed and left the client table. */
  clientClosed(client: ClientConnection): void;
  /** A config reload created `account`. */
  accountAdded(account: Account): void;
}

/**
 * What lib/cluster returns, and everything the rest of the server may use of
 * it: monitoring reads it, a config reload changes it through its methods. It
 * is also the server extension that sees interest changes.
 */
export interface ClusterHandle extends ServerExtension {
  /** Bound route port. */
  readonly port: number;
  /** The cluster name in force (configured, generated, or adopted from a peer). */
  readonly name: string;
  /** The current route certificate holder (null without route TLS); a reload may replace it. */
  readonly routeTlsCertificate: import("../tls/context.ts").CertificateHolder | null;
  /** One entry per registered route, for /routez. */
  routezInfo(): import("../monitor/types.ts").RouteInfo[];
  /** Config reload: authorization, permissions, name and configured routes (by difference). */
  applyOptions(next: import("../config/options.ts").ClusterOptions): void;
  /**
   * Config reload of `cluster.tls`: route handshakes from now on use `options`
   * with `holder`'s certificate (both undefined/null: TLS off).
   */
  reloadTls(
    options: import("../config/options.ts").TlsOptions | undefined,
    holder: import("../tls/context.ts").CertificateHolder | null,
  ): Promise<void>;
}

/** A client id, nonce and INFO reserved before the connection object exists. */
export interface PreparedClient {
  cid: number;
  nonce: string | undefined;
  info: Uint8Array;
  /** The INFO was already written (TLS: in plain text before the handshake). */
  infoSent: boolean;
  /** connect_urls version the INFO carried (a newer one is sent at the first PING). */
  urlsVersion: number;
  /** "Client connection created" was logged already (TLS: before the handshake, as nats-server). */
  createdLogged?: boolean;
}

/** Hooks feature modules attach to the server (cluster, TLS, monitoring). */
export interface ServerExtension {
  /** Called when local interest changes in an account. */
  interestChanged?(account: Account, sub: Subscription, added: boolean): void;
  /** The server is shutting down: close what the extension opened (listeners, connections). */
  shutdown?(): Promise<void> | void;
  /** Lame duck mode began (stop accepting, tell peers); see lib/ops/signals.ts. */
  lameDuck?(): Promise<void> | void;
}
