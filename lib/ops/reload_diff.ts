/**
 * The option-by-option comparison behind a config reload (SIGHUP, `-sl reload`):
 * every {@linkcode Options} field has a rule saying whether a change to it can be
 * applied to the running server, which part of the server it touches, and how it
 * is announced (`Reloaded: <option> = <value>`), or whether it aborts the whole
 * reload with nats-server's `config reload not supported for <Field>: old=<v>,
 * new=<v>`.
 *
 * Field names, value formats and the order fields are checked in (the first
 * refused field is the one reported) follow nats-server 2.9.10, as captured from
 * the real binary; the Go `Options` struct order decides which refusal wins.
 *
 * @module
 */
import { formatGoDuration } from "../config/conf_values.ts";
import type { Options } from "../config/options.ts";

/** Which part of the server a change needs to reach. */
export const ChangeKind = {
  Logging: "logging",
  Auth: "auth",
  Tls: "tls",
  Cluster: "cluster",
  Routes: "routes",
  Limits: "limits",
  Files: "files",
  /** Read straight from `server.options` where used: replacing the options is enough. */
  Passive: "passive",
} as const;
/** One of the {@linkcode ChangeKind} values. */
export type ChangeKind = typeof ChangeKind[keyof typeof ChangeKind];

/** One reloadable difference between the running and the new options. */
export interface OptionChange {
  key: keyof Options;
  kind: ChangeKind;
  /** What follows `Reloaded: ` in the log (none for silent changes such as pid_file). */
  notices: string[];
}

/** A reload that must not be applied at all; the message is nats-server's. */
export class ReloadRefusedError extends Error {
  /** The nats-server field name, e.g. `Port`. */
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.name = "ReloadRefusedError";
    this.field = field;
  }
}

/** Facts about the running server the comparison needs. */
export interface DiffContext {
  /** The bound client port (so `port: -1` at start compares with what was picked). */
  clientPort: number;
}

type Fmt = (v: unknown) => string;
const plain: Fmt = (v) => v === undefined || v === null ? "" : String(v);
const duration: Fmt = (v) => formatGoDuration(Number(v));

type Rule =
  /** Not reloadable: refuse with nats-server's Go field name. */
  | { refuse: string; fmt?: Fmt }
  /** Reloadable; `name` (when set) is logged as `Reloaded: <name> = <value>`. */
  | { kind: ChangeKind; name?: string; fmt?: Fmt; notices?: string[] }
  /** Handled by a custom check in {@link diffOptions}. */
  | { custom: true }
  /** Bookkeeping, never compared. */
  | { ignore: true };

function reloadable(kind: ChangeKind, name?: string, fmt?: Fmt): Rule {
  return name === undefined ? { kind } : fmt === undefined ? { kind, name } : { kind, name, fmt };
}

/**
 * Every Options field, in the order of nats-server's Go `Options` struct. Typed as
 * a full record so that a new field in options.ts fails type checking here until
 * someone decides whether it is reloadable.
 */
const RULES: Record<keyof Options, Rule> = {
  configFile: { ignore: true },
  serverName: { refuse: "ServerName" },
  host: { refuse: "Host" },
  port: { custom: true },
  clientAdvertise: { custom: true },
  trace: reloadable(ChangeKind.Logging, "trace"),
  debug: reloadable(ChangeKind.Logging, "debug"),
  traceVerbose: reloadable(ChangeKind.Logging, "trace_verbose"),
  disableSublistCache: { refuse: "NoSublistCache" },
  noHeaderSupport: { refuse: "NoHeaderSupport" },
  logtime: reloadable(ChangeKind.Logging, "logtime"),
  maxConnections: reloadable(ChangeKind.Passive, "max_connections"),
  maxSubscriptions: { refuse: "MaxSubs" },
  accounts: { kind: ChangeKind.Auth, notices: ["accounts"] },
  // nats-server keeps top-level mappings as the global account's: an accounts change.
  mappings: { kind: ChangeKind.Auth, notices: ["accounts"] },
  noAuthUser: { custom: true },
  authorization: { custom: true },
  pingIntervalMs: reloadable(ChangeKind.Passive, "ping_interval", duration),
  maxPingsOut: reloadable(ChangeKind.Passive, "ping_max"),
  httpHost: { refuse: "HTTPHost" },
  httpPort: { refuse: "HTTPPort" },
  httpBasePath: { refuse: "HTTPBasePath" },
  httpsPort: { refuse: "HTTPSPort" },
  maxControlLine: reloadable(ChangeKind.Limits, "max_control_line"),
  maxPayload: reloadable(ChangeKind.Limits, "max_payload"),
  maxPending: { refuse: "MaxPending" },
  cluster: { custom: true },
  // Leaf node settings apply to connections made at start; a reload does not redo them.
  leafnodes: { refuse: "LeafNode", fmt: (v) => v === undefined ? "" : JSON.stringify(v) },
  // nats-server refuses any change of the websocket block (but of its TLS certificates).
  websocket: { refuse: "Websocket", fmt: (v) => v === undefined ? "{}" : JSON.stringify(v) },
  pidFile: { kind: ChangeKind.Files },
  portsFileDir: reloadable(ChangeKind.Files, "ports_file_dir"),
  logFile: reloadable(ChangeKind.Logging, "log_file"),
  logSizeLimit: { refuse: "LogSizeLimit" },
  // 2.9 has no backup count; a change would need the logger rebuilt with its
  // rotation state, which nats-server never does for LogSizeLimit either.
  logMaxFiles: { refuse: "LogMaxFiles" },
  syslog: reloadable(ChangeKind.Logging, "syslog"),
  remoteSyslog: reloadable(ChangeKind.Logging, "remote_syslog"),
  tls: { custom: true },
  allowNonTls: { refuse: "AllowNonTLS" },
  writeDeadlineMs: reloadable(ChangeKind.Limits, "write_deadline", duration),
  lameDuckDurationMs: { refuse: "LameDuckDuration", fmt: duration },
  lameDuckGracePeriodMs: { refuse: "LameDuckGracePeriod", fmt: duration },
  maxTracedMsgLen: reloadable(ChangeKind.Passive, "max_traced_msg_len"),
};

/** Structural equality for option values (plain data: no cycles, no class instances). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) {
      return false;
    }
  }
  return true;
}

function refused(field: string, oldV: string, newV: string): ReloadRefusedError {
  return new ReloadRefusedError(
    field,
    `config reload not supported for ${field}: old=${oldV}, new=${newV}`,
  );
}

/**
 * Compares the running options with freshly loaded ones.
 *
 * @param old The options the server runs with.
 * @param next The options just built from the file and the flags.
 * @param ctx Facts about the running server.
 * @returns The reloadable changes, in nats-server's order (empty: nothing to do).
 * @throws {ReloadRefusedError} At the first field that cannot be reloaded.
 *
 * @example
 * ```ts
 * import { defaultOptions } from "../config/options.ts";
 * import { diffOptions } from "./reload_diff.ts";
 * const old = defaultOptions();
 * const changes = diffOptions(old, { ...old, debug: true }, { clientPort: 4222 });
 * if (changes[0].notices[0] !== "debug = true") throw new Error("unexpected");
 * ```
 */
export function diffOptions(old: Options, next: Options, ctx: DiffContext): OptionChange[] {
  const changes: OptionChange[] = [];
  for (const key of Object.keys(RULES) as (keyof Options)[]) {
    const rule = RULES[key];
    if ("ignore" in rule) continue;
    if ("custom" in rule) {
      custom(key, old, next, ctx, changes);
      continue;
    }
    if (sameValue(old[key], next[key])) continue;
    if ("refuse" in rule) {
      const fmt = rule.fmt ?? plain;
      throw refused(rule.refuse, fmt(old[key]), fmt(next[key]));
    }
    const notices = rule.name !== undefined
      ? [`${rule.name} = ${(rule.fmt ?? plain)(next[key])}`]
      : [...(rule.notices ?? [])];
    changes.push({ key, kind: rule.kind, notices });
  }
  return changes;
}

function custom(
  key: keyof Options,
  old: Options,
  next: Options,
  ctx: DiffContext,
  out: OptionChange[],
): void {
  switch (key) {
    case "port": {
      // A random port (-1) or 0 in the new file keeps the bound one, as in nats-server.
      if (next.port === old.port || next.port <= 0) return;
      if (old.port <= 0 && next.port === ctx.clientPort) return;
      throw refused("Port", String(old.port <= 0 ? ctx.clientPort : old.port), String(next.port));
    }
    case "clientAdvertise":
      // nats-server really logs "Reload:" (not "Reloaded:") for this one; the caller
      // adds the prefix, so the text carries a marker it strips.
      if (sameValue(old.clientAdvertise, next.clientAdvertise)) return;
      out.push({
        key,
        kind: ChangeKind.Passive,
        notices: [`\u0000Reload: client_advertise = ${plain(next.clientAdvertise)}`],
      });
      return;
    case "authorization": {
      const a = old.authorization ?? {};
      const b = next.authorization ?? {};
      if (sameValue(a, b)) return;
      const notices: string[] = [];
      if (!sameValue(a.users, b.users) || !sameValue(a.defaultPermissions, b.defaultPermissions)) {
        notices.push("authorization users");
      }
      if (a.user !== b.user) notices.push("authorization user");
      if (a.password !== b.password) notices.push("authorization password");
      if (a.token !== b.token) notices.push("authorization token");
      if (a.timeout !== b.timeout) notices.push(`authorization timeout = ${authTimeout(next)}`);
      out.push({ key, kind: ChangeKind.Auth, notices });
      return;
    }
    case "noAuthUser": {
      if (old.noAuthUser === next.noAuthUser) return;
      // Only dropping no_auth_user together with the user it named is allowed.
      if (next.noAuthUser === undefined && !userExists(next, old.noAuthUser!)) {
        out.push({ key, kind: ChangeKind.Auth, notices: [] });
        return;
      }
      throw refused("NoAuthUser", plain(old.noAuthUser), plain(next.noAuthUser));
    }
    case "cluster":
      return diffCluster(old, next, out);
    case "tls":
      return diffTls(old, next, out);
  }
}

function userExists(o: Options, name: string): boolean {
  if (o.authorization?.users?.some((u) => u.user === name)) return true;
  return (o.accounts ?? []).some((acc) => acc.users.some((u) => u.user === name));
}

function diffCluster(old: Options, next: Options, out: OptionChange[]): void {
  const a = old.cluster;
  const b = next.cluster;
  if (sameValue(a, b)) return;
  const aOn = a !== undefined && a.port !== 0;
  const bOn = b !== undefined && b.port !== 0;
  // nats-server compares host first, then port; a cluster appearing or going away
  // shows as a host change (old= or new= empty).
  const aHost = aOn ? a.host : "";
  const bHost = bOn ? b.host : "";
  if (aHost !== bHost) {
    throw new ReloadRefusedError(
      "cluster host",
      `config reload not supported for cluster host: old=${aHost}, new=${bHost}`,
    );
  }
  if (!aOn || !bOn) return;
  if (a.port !== b.port && b.port !== -1) {
    throw new ReloadRefusedError(
      "cluster port",
      `config reload not supported for cluster port: old=${a.port}, new=${b.port}`,
    );
  }
  const { routes: ra, ...restA } = a;
  const { routes: rb, ...restB } = b;
  const notices = ["cluster"];
  if (!sameValue(restA, restB) || !sameValue(ra, rb)) {
    if (!sameValue(ra, rb)) notices.push("cluster routes");
    out.push({ key: "cluster", kind: ChangeKind.Cluster, notices });
  }
  if (!sameValue(ra, rb)) out.push({ key: "cluster", kind: ChangeKind.Routes, notices: [] });
}

/** nats-server's TLS handshake timeout when none is set (seconds; also with TLS off). */
const DEFAULT_TLS_TIMEOUT = 2;

/** The client auth timeout in force (seconds): set, else the TLS timeout + 1 with TLS, else 2. */
function authTimeout(o: Options): number {
  const set = o.authorization?.timeout;
  if (set !== undefined && set > 0) return set;
  return o.tls ? o.tls.timeout + 1 : 2;
}

function diffTls(old: Options, next: Options, out: OptionChange[]): void {
  const a = old.tls;
  const b = next.tls;
  if (sameValue(a, b)) return;
  // Checked in the order of nats-server's Options struct: the first refusal wins.
  if ((a?.verifyAndMap ?? false) !== (b?.verifyAndMap ?? false)) {
    throw refused("TLSMap", String(a?.verifyAndMap ?? false), String(b?.verifyAndMap ?? false));
  }
  if ((a?.connectionRateLimit ?? 0) !== (b?.connectionRateLimit ?? 0)) {
    throw refused(
      "TLSRateLimit",
      String(a?.connectionRateLimit ?? 0),
      String(b?.connectionRateLimit ?? 0),
    );
  }
  // The auth timeout follows the TLS timeout when not set: nats-server reports it too.
  const authBefore = authTimeout(old);
  const authAfter = authTimeout(next);
  const explicitChanged = old.authorization?.timeout !== next.authorization?.timeout;
  if (authBefore !== authAfter && !explicitChanged) {
    out.push({
      key: "authorization",
      kind: ChangeKind.Auth,
      notices: [`authorization timeout = ${authAfter}`],
    });
  }
  const notices: string[] = [];
  const timeoutA = a?.timeout ?? DEFAULT_TLS_TIMEOUT;
  const timeoutB = b?.timeout ?? DEFAULT_TLS_TIMEOUT;
  if (timeoutA !== timeoutB) notices.push(`tls timeout = ${timeoutB}`);
  // Turning TLS on or off is reloadable: lib/ops/reload_tls.ts swaps the listener.
  notices.push(b ? "tls = enabled" : "tls = disabled");
  if (!sameValue(a?.pinnedCerts, b?.pinnedCerts)) notices.push("pinned_certs");
  out.push({ key: "tls", kind: ChangeKind.Tls, notices });
}
