/**
 * The one Options type of dnatsd. The config file, the command line and the
 * library API all produce an `Options`; the server reads nothing else.
 * Field names follow the nats-server config keys (snake case turned camel).
 *
 * @module
 */

import type { AccountJetStreamLimits } from "./from_config_jetstream.ts";

/** Subject permission lists; absent `allow` means "everything allowed". */
export interface SubjectPermission {
  allow?: string[];
  deny?: string[];
}

/** `allow_responses`: publish rights to reply subjects of received requests. */
export interface ResponsePermission {
  /** Maximum replies per request (nats-server default 1). */
  maxMsgs: number;
  /** Expiry in milliseconds (nats-server default 2 minutes). */
  expiresMs: number;
}

export interface Permissions {
  publish?: SubjectPermission;
  subscribe?: SubjectPermission;
  allowResponses?: ResponsePermission;
}

/** One entry of `authorization.users` (or of an account's `users`). */
export interface UserEntry {
  user?: string;
  /** Plain text or bcrypt (`$2a$`, `$2b$`, `$2y$`, `$2x$`). */
  password?: string;
  /** Public user NKey (`U...`). */
  nkey?: string;
  permissions?: Permissions;
  /** Account name; undefined = the global account `$G`. */
  account?: string;
  allowedConnectionTypes?: string[];
}

export interface AccountOptions {
  name: string;
  users: UserEntry[];
  defaultPermissions?: Permissions;
  limits?: {
    maxConnections?: number;
    maxSubscriptions?: number;
    maxPayload?: number;
  };
  /** Stream and service exports (docs/accounts.md). */
  exports?: ExportOptions[];
  /** Stream and service imports (docs/accounts.md). */
  imports?: ImportOptions[];
  /** Subject mappings applied to what the account's clients publish. */
  mappings?: SubjectMapping[];
  /** JetStream for this account and its limits (docs/jetstream.md); absent = off. */
  jetstream?: AccountJetStreamLimits;
}

/** How a service export answers: one reply, a stream of replies, or chunks ended by an empty one. */
export type ResponseType = "singleton" | "stream" | "chunked";

/** One entry of an account's `exports`. */
export interface ExportOptions {
  kind: "stream" | "service";
  subject: string;
  /** Accounts allowed to import; undefined = public. */
  accounts?: string[];
  /** `account_token_position`: the token that must name the importing account (0 = none). */
  accountTokenPosition?: number;
  /** Services only (nats-server's default: singleton). */
  responseType?: ResponseType;
  /** Services only: how long a stream/chunked response mapping lives (default 2 minutes). */
  responseThresholdMs?: number;
}

/** One entry of an account's `imports`. */
export interface ImportOptions {
  kind: "stream" | "service";
  /** The exporting account. */
  account: string;
  /** The subject in the exporting account. */
  subject: string;
  /** Subject in the importing account (stream: instead of `prefix`; service: what clients publish to). */
  to?: string;
  /** Streams only: prepended to the exported subject. */
  prefix?: string;
  share?: boolean;
}

/** One destination of a subject mapping. */
export interface MappingDestination {
  subject: string;
  /** Percent, 1-100. */
  weight: number;
  cluster?: string;
}

/** A `mappings` entry: published subjects matching `source` go to one of the destinations. */
export interface SubjectMapping {
  source: string;
  destinations: MappingDestination[];
}

/** The `authorization` block and its flag equivalents. */
export interface AuthorizationOptions {
  user?: string;
  password?: string;
  token?: string;
  /** Seconds (fractional allowed). */
  timeout?: number;
  users?: UserEntry[];
  defaultPermissions?: Permissions;
}

/** ACME settings inside `tls { acme { ... } }`; lib/acme owns their meaning. */
export interface AcmeOptions {
  domains: string[];
  email?: string;
  /** `production`, `staging`, or a directory URL. */
  caDirectory: string;
  agreeTos: boolean;
  keyType: "RSA2048" | "RSA4096" | "EC256" | "EC384";
  storageDir: string;
  /** Renew when less than this fraction of the lifetime is left (default 1/3). */
  renewFraction?: number;
  /** `renew_before`: renew when less than this many ms are left (instead of a fraction). */
  renewBeforeMs?: number;
  /** Check interval in ms (default 12 h). */
  checkIntervalMs?: number;
  /** `http-01` or `dns-01`. */
  challenge: "http-01" | "dns-01";
  /** HTTP-01 listener `host:port`. */
  httpListen?: string;
  dnsProvider?: string;
  dnsResolvers?: string[];
  /**
   * Give up starting (exit 1) when no first certificate arrived within this
   * many ms; unset: keep retrying with back-off, monitoring shows why.
   */
  startupTimeoutMs?: number;
  /** PEM file(s) with extra roots to trust a private ACME CA. */
  caRoots?: string[];
  eab?: { kid: string; hmacKey: string };
  /** Everything else of the block, for provider settings. */
  extra: Record<string, unknown>;
}

/** A `tls` block (client, cluster, or monitoring). */
export interface TlsOptions {
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  verify: boolean;
  verifyAndMap: boolean;
  insecure: boolean;
  /** Go cipher suite names as given; lib/tls decides what can be enforced. */
  cipherSuites?: string[];
  curvePreferences?: string[];
  /** Handshake timeout in seconds (2.9 default 2). */
  timeout: number;
  pinnedCerts?: string[];
  handshakeFirst: boolean;
  connectionRateLimit?: number;
  acme?: AcmeOptions;
}

export interface ClusterOptions {
  name?: string;
  host: string;
  /** 0 = off, -1 = random. */
  port: number;
  authorization?: { user?: string; password?: string; timeout?: number };
  routes: string[];
  tls?: TlsOptions;
  advertise?: string;
  noAdvertise: boolean;
  connectRetries: number;
  permissions?: { import?: SubjectPermission; export?: SubjectPermission };
}

/** The `jetstream` block, `-js` and `-sd` (lib/jetstream owns their meaning). */
export interface JetStreamOptions {
  /** Store directory as configured; empty: a `jetstream` folder under the temp dir. */
  storeDir: string;
  /** Bytes; -1: derived from the machine (75% of memory), as nats-server. */
  maxMemory: number;
  /** Bytes; -1: derived from the disk (1 TB cap), as nats-server. */
  maxStore: number;
  domain?: string;
}

/** A `leafnodes.authorization.users` entry. */
export interface LeafUser {
  user: string;
  password: string;
  /** Account the leaf connection binds to (default: the global account). */
  account?: string;
}

/** One entry of `leafnodes.remotes`: a hub this server connects to as a leaf. */
export interface LeafRemoteOptions {
  /** `nats-leaf://`, `nats://` or `tls://` URLs (user info allowed). */
  urls: string[];
  /** Local account bound to the connection (default: the global account). */
  account?: string;
  tls?: TlsOptions;
  /** Subjects this side does not take from the hub (subscribe deny). */
  denyImports?: string[];
  /** Subjects this side does not send to the hub (publish deny). */
  denyExports?: string[];
  noRandomize: boolean;
}

/** The `leafnodes { ... }` block. */
export interface LeafNodeOptions {
  host: string;
  /** 0 = no leaf listener (remotes may still be set), -1 = random. */
  port: number;
  advertise?: string;
  noAdvertise: boolean;
  authorization?: {
    user?: string;
    password?: string;
    /** Seconds. */
    timeout?: number;
    account?: string;
    users?: LeafUser[];
  };
  tls?: TlsOptions;
  remotes: LeafRemoteOptions[];
  /** Delay between connection attempts of a remote, in milliseconds (default 1 s). */
  reconnectMs: number;
}

/** The `websocket { ... }` block (nats-server 2.9 semantics; docs in README). */
export interface WebSocketOptions {
  host: string;
  /** 0 = off, -1 = random. */
  port: number;
  advertise?: string;
  /** Allows a listener without TLS (refused at start otherwise). */
  noTls: boolean;
  tls?: TlsOptions;
  sameOrigin: boolean;
  /** Origins (`scheme://host[:port]`) allowed; empty = any. */
  allowedOrigins: string[];
  compression: boolean;
  /** Time to read the HTTP upgrade request (and the TLS handshake); 0 = none. */
  handshakeTimeoutMs: number;
  /** `authorization { user, password, token, timeout }` overrides for WebSocket clients. */
  username?: string;
  password?: string;
  token?: string;
  /** Seconds; 0 = the server's auth timeout. */
  authTimeout: number;
  noAuthUser?: string;
  /** `jwt_cookie`: only with operator mode (which dnatsd refuses). */
  jwtCookie?: string;
}

export interface Options {
  // --- identity and listeners
  serverName?: string;
  host: string;
  /** -1 = random. */
  port: number;
  clientAdvertise?: string;
  // --- limits
  maxConnections: number;
  maxSubscriptions: number;
  maxPayload: number;
  maxControlLine: number;
  maxPending: number;
  /** Milliseconds. */
  pingIntervalMs: number;
  maxPingsOut: number;
  /** Milliseconds. */
  writeDeadlineMs: number;
  noHeaderSupport: boolean;
  disableSublistCache: boolean;
  // --- logging
  debug: boolean;
  trace: boolean;
  traceVerbose: boolean;
  logtime: boolean;
  logFile?: string;
  syslog: boolean;
  remoteSyslog?: string;
  logSizeLimit: number;
  logMaxFiles: number;
  maxTracedMsgLen: number;
  // --- process files
  pidFile?: string;
  portsFileDir?: string;
  // --- auth
  authorization?: AuthorizationOptions;
  accounts?: AccountOptions[];
  /** Top-level `mappings` (the global account's). */
  mappings?: SubjectMapping[];
  noAuthUser?: string;
  /** `system_account`: the account of the server's events and requests (default `$SYS`). */
  systemAccount?: string;
  /** `no_system_account`: no system account at all (no events, no `$SYS` requests). */
  noSystemAccount?: boolean;
  // --- tls
  tls?: TlsOptions;
  allowNonTls: boolean;
  // --- cluster
  cluster?: ClusterOptions;
  leafnodes?: LeafNodeOptions;
  // --- websocket
  websocket?: WebSocketOptions;
  // --- monitoring
  httpHost?: string;
  /** 0 = off, -1 = random. */
  httpPort: number;
  httpsPort: number;
  httpBasePath: string;
  // --- jetstream (undefined: off)
  jetstream?: JetStreamOptions;
  /** `store_dir` given without JetStream on (used if `-js` turns it on). */
  storeDir?: string;
  // --- lame duck
  lameDuckDurationMs: number;
  lameDuckGracePeriodMs: number;
  // --- bookkeeping
  /** Config file the options came from, if any. */
  configFile?: string;
}

/** nats-server 2.9 defaults (server/const.go). */
/**
 * The authentication timeout in seconds, as nats-server derives it: the
 * configured one, else the TLS handshake timeout plus one second when TLS is
 * on (the handshake counts against it), else 2 s. Clients and routes alike.
 */
export function authTimeoutSeconds(
  configured: number | undefined,
  tls: { timeout: number } | undefined,
): number {
  if (configured !== undefined && configured > 0) return configured;
  return tls ? tls.timeout + 1 : 2;
}

export function defaultOptions(): Options {
  return {
    host: "0.0.0.0",
    port: 4222,
    maxConnections: 64 * 1024,
    maxSubscriptions: 0,
    maxPayload: 1024 * 1024,
    maxControlLine: 4096,
    maxPending: 64 * 1024 * 1024,
    pingIntervalMs: 2 * 60 * 1000,
    maxPingsOut: 2,
    writeDeadlineMs: 10 * 1000,
    noHeaderSupport: false,
    disableSublistCache: false,
    debug: false,
    trace: false,
    traceVerbose: false,
    logtime: true,
    syslog: false,
    logSizeLimit: 0,
    logMaxFiles: 0,
    maxTracedMsgLen: 0,
    allowNonTls: false,
    httpPort: 0,
    httpsPort: 0,
    httpBasePath: "",
    lameDuckDurationMs: 2 * 60 * 1000,
    lameDuckGracePeriodMs: 10 * 1000,
  };
}

/** Defaults of a `websocket` block before it is applied. */
export function defaultWebSocketOptions(): WebSocketOptions {
  return {
    host: "",
    port: 0,
    noTls: false,
    sameOrigin: false,
    allowedOrigins: [],
    compression: false,
    handshakeTimeoutMs: 0,
    authTimeout: 0,
  };
}

/** Defaults of a `tls` block. */
export function defaultTlsOptions(): TlsOptions {
  return {
    verify: false,
    verifyAndMap: false,
    insecure: false,
    timeout: 2,
    handshakeFirst: false,
  };
}
