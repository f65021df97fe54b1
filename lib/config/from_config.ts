/**
 * Maps a parsed configuration tree onto {@linkcode Options}: every key of
 * nats-server 2.9 that dnatsd models, their aliases (matched without regard to
 * case), and the checks and messages of nats-server. Blocks for features
 * dnatsd does not have (JetStream, gateways...) are refused with a
 * clear error unless their value switches them off.
 *
 * All errors and warnings are collected; nothing is thrown.
 *
 * @example
 * ```ts
 * import { parseConf } from "./conf_parser.ts";
 * import { optionsFromConfig } from "./from_config.ts";
 * import { defaultOptions } from "./options.ts";
 * const { options, errors } = optionsFromConfig(parseConf("listen: 127.0.0.1:4333"), defaultOptions());
 * console.assert(errors.length === 0 && options.port === 4333);
 * ```
 *
 * @module
 */
import type { ConfMap, ConfPos, ConfValue } from "./conf_parser.ts";
import {
  type ConfigIssue,
  entries,
  formatGoDuration,
  IssueCollector,
  readListen,
} from "./conf_values.ts";
import {
  type AccountsResult,
  isDisabledFeature,
  isEmptyCollection,
  readAccounts,
  readAuthorizationBlock,
} from "./from_config_auth.ts";
import { readClusterBlock } from "./from_config_cluster.ts";
import { readLeafNodesBlock, validateLeafNodes } from "./from_config_leaf.ts";
import { readMappings } from "./from_config_accounts.ts";
import { readTlsBlock } from "./from_config_tls.ts";
import { readWebSocketBlock, validateWebSocketOptions } from "./from_config_websocket.ts";
import type { AuthorizationOptions, Options, UserEntry } from "./options.ts";

export { ConfigError, type ConfigIssue, formatIssue } from "./conf_values.ts";

/** Result of {@linkcode optionsFromConfig}. */
export interface FromConfigResult {
  /** `base` with the file's values applied (a copy). */
  options: Options;
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
  /** Options field names the file set explicitly. */
  setKeys: Set<keyof Options>;
}

/** Knobs of {@linkcode optionsFromConfig}. */
export interface FromConfigOptions {
  /**
   * Check that TLS certificate/key/CA files exist and hold PEM data, as
   * nats-server does while parsing (default true).
   */
  checkFiles?: boolean;
}

const INT32_MAX = 2 ** 31 - 1;
const MIN_LAME_DUCK_MS = 30_000;

/**
 * Applies a configuration tree to a copy of `base`.
 * @param tree the top-level map from the conf, JSON or YAML loader
 * @param base the options to start from (usually `defaultOptions()`)
 * @returns the options plus every error and warning found
 */
export function optionsFromConfig(
  tree: ConfMap,
  base: Options,
  settings: FromConfigOptions = {},
): FromConfigResult {
  const state = new ApplyState(structuredClone(base), settings.checkFiles ?? true);
  for (const [key, rawKey, v] of entries(tree)) state.apply(key, rawKey, v);
  state.finish();
  return {
    options: state.options,
    errors: state.issues.errors,
    warnings: state.issues.warnings,
    setKeys: state.setKeys,
  };
}

/** Keys nats-server knows that only make sense for features dnatsd lacks. */
const UNSUPPORTED_FEATURES = new Set([
  "jetstream",
  "gateway",
  "mqtt",
]);
/** Keys whose value is a list or map that is harmless when empty. */
const UNSUPPORTED_UNLESS_EMPTY = new Set([
  "operator",
  "operators",
  "root",
  "roots",
  "root_operator",
  "root_operators",
  "trusted",
  "trusted_keys",
  "resolver",
  "account_resolver",
  "accounts_resolver",
  "resolver_tls",
  "resolver_preload",
  "resolver_pinned_accounts",
  "default_js_domain",
  "store_dir",
  "storedir",
  "system_account",
  "system",
]);

class ApplyState {
  readonly options: Options;
  readonly issues = new IssueCollector();
  readonly setKeys = new Set<keyof Options>();
  readonly #checkFiles: boolean;
  #authPos?: ConfPos;
  #auth?: AuthorizationOptions & { hasUsersArray: boolean };
  #accounts?: AccountsResult;

  constructor(options: Options, checkFiles: boolean) {
    this.options = options;
    this.#checkFiles = checkFiles;
  }

  #set<K extends keyof Options>(key: K, value: Options[K] | undefined): void {
    if (value === undefined) return;
    this.options[key] = value;
    this.setKeys.add(key);
  }

  apply(key: string, rawKey: string, v: ConfValue): void {
    const is = this.issues;
    switch (key) {
      // --- listeners and identity
      case "listen": {
        const hp = readListen(is, v);
        if (hp) {
          this.#set("host", hp.host ?? "");
          this.#set("port", hp.port);
        }
        return;
      }
      case "host":
      case "net":
        return this.#set("host", is.str(v));
      case "port":
        return this.#set("port", is.int(v));
      case "client_advertise":
        return this.#set("clientAdvertise", is.str(v));
      case "server_name":
        return this.#set("serverName", is.str(v));
      case "server_tags":
        // Only shown by /varz in nats-server; accepted and not used.
        is.stringOrStrings(v);
        return;
      // --- monitoring
      case "http":
      case "https": {
        const hp = readListen(is, v);
        if (hp) {
          if (hp.host !== undefined) this.#set("httpHost", hp.host);
          this.#set(key === "http" ? "httpPort" : "httpsPort", hp.port);
        }
        return;
      }
      case "http_port":
      case "monitor_port":
        return this.#set("httpPort", is.int(v));
      case "https_port":
        return this.#set("httpsPort", is.int(v));
      case "http_base_path":
        return this.#set("httpBasePath", is.str(v));
      // --- logging
      case "debug":
        return this.#set("debug", is.bool(v));
      case "trace":
        return this.#set("trace", is.bool(v));
      case "trace_verbose": {
        const b = is.bool(v);
        this.#set("traceVerbose", b);
        this.#set("trace", b);
        return;
      }
      case "logtime":
        return this.#set("logtime", is.bool(v));
      case "log_file":
      case "logfile":
        return this.#set("logFile", is.str(v));
      case "log_size_limit":
      case "logfile_size_limit":
        return this.#set("logSizeLimit", is.int(v));
      case "syslog":
        return this.#set("syslog", is.bool(v));
      case "remote_syslog":
        return this.#set("remoteSyslog", is.str(v));
      case "max_traced_msg_len":
        return this.#set("maxTracedMsgLen", is.int(v));
      case "pid_file":
      case "pidfile":
        return this.#set("pidFile", is.str(v));
      case "ports_file_dir":
        return this.#set("portsFileDir", is.str(v));
      // --- limits
      case "max_connections":
      case "max_conn":
        return this.#set("maxConnections", is.int(v));
      case "max_subscriptions":
      case "max_subs":
        return this.#set("maxSubscriptions", is.int(v));
      case "max_control_line":
      case "max_payload": {
        const n = is.int(v);
        if (n !== undefined && n > INT32_MAX) {
          is.error(v, `${rawKey} value is too big`);
          return;
        }
        return this.#set(key === "max_payload" ? "maxPayload" : "maxControlLine", n);
      }
      case "max_pending":
        return this.#set("maxPending", is.int(v));
      case "ping_interval":
        return this.#set("pingIntervalMs", is.durationOrSecondsMs(v, rawKey));
      case "ping_max":
        return this.#set("maxPingsOut", is.int(v));
      case "write_deadline":
        return this.#set("writeDeadlineMs", is.durationOrSecondsMs(v, rawKey));
      case "no_header_support":
        return this.#set("noHeaderSupport", is.bool(v));
      case "disable_sublist_cache":
      case "no_sublist_cache":
        return this.#set("disableSublistCache", is.bool(v));
      // --- lame duck
      case "lame_duck_duration": {
        const ms = is.durationMs(v, rawKey);
        if (ms !== undefined && ms < MIN_LAME_DUCK_MS) {
          is.error(
            v,
            `invalid lame_duck_duration of ${formatGoDuration(ms)}, minimum is 30 seconds`,
          );
          return;
        }
        return this.#set("lameDuckDurationMs", ms);
      }
      case "lame_duck_grace_period": {
        const ms = is.durationMs(v, rawKey);
        if (ms !== undefined && ms < 0) {
          is.error(v, "invalid lame_duck_grace_period, needs to be positive");
          return;
        }
        return this.#set("lameDuckGracePeriodMs", ms);
      }
      // --- auth
      case "authorization":
        return this.#applyAuthorization(v);
      case "no_auth_user":
        return this.#set("noAuthUser", is.str(v));
      case "accounts": {
        const result = readAccounts(is, v);
        if (!result) return;
        this.#accounts = result;
        this.#set("accounts", result.accounts);
        return;
      }
      case "mappings":
      case "maps":
        return this.#set("mappings", readMappings(is, v));
      // --- tls and cluster
      case "tls":
        return this.#set(
          "tls",
          readTlsBlock(is, v, { isClient: true, checkFiles: this.#checkFiles }),
        );
      case "allow_non_tls":
        return this.#set("allowNonTls", is.bool(v));
      case "cluster":
        return this.#set(
          "cluster",
          readClusterBlock(is, v, this.options.cluster, this.#checkFiles),
        );
      case "leafnodes":
      case "leaf":
        return this.#set(
          "leafnodes",
          readLeafNodesBlock(is, v, this.options.leafnodes, this.#checkFiles),
        );
      case "websocket":
      case "ws":
        return this.#set(
          "websocket",
          readWebSocketBlock(is, v, this.options.websocket, this.#checkFiles),
        );
      // --- accepted, no effect in dnatsd
      case "connect_error_reports":
      case "reconnect_error_reports":
        is.int(v);
        return;
      case "no_system_account":
      case "no_system":
      case "no_sys_acc": {
        // dnatsd never creates a system account: only `true` describes it.
        const b = is.bool(v);
        if (b === false) this.#unsupported(v, rawKey);
        return;
      }
      case "prof_port":
      case "max_sub_tokens":
      case "max_subscription_tokens":
        if (!(v.kind === "integer" && v.value === 0)) this.#unsupported(v, rawKey);
        return;
      case "ocsp":
        if (!isOcspOff(v)) this.#unsupported(v, rawKey);
        return;
    }
    if (UNSUPPORTED_FEATURES.has(key)) {
      if (!isDisabledFeature(v)) this.#unsupported(v, rawKey);
      return;
    }
    if (UNSUPPORTED_UNLESS_EMPTY.has(key)) {
      const empty = isEmptyCollection(v) || (v.kind === "string" && v.value === "");
      if (!empty) this.#unsupported(v, rawKey);
      return;
    }
    is.unknownField(v, rawKey);
  }

  #unsupported(v: ConfValue, rawKey: string): void {
    this.issues.error(v, `"${rawKey}" is not supported by dnatsd`);
  }

  #applyAuthorization(v: ConfValue): void {
    const is = this.issues;
    const block = readAuthorizationBlock(is, v);
    if (!block) return;
    this.#authPos = v;
    if ((block.user || block.password) && block.token) {
      is.error(v, "Cannot have a user/pass and token");
      return;
    }
    if (block.users) {
      if (block.user) {
        is.error(v, "Can not have a single user/pass and a users array");
        return;
      }
      if (block.token) {
        is.error(v, "Can not have a token and a users array");
        return;
      }
      const dup = firstDuplicate(block.users);
      if (dup) {
        is.error(v, dup);
        return;
      }
    }
    const auth: AuthorizationOptions = {};
    if (block.user !== undefined) auth.user = block.user;
    if (block.password !== undefined) auth.password = block.password;
    if (block.token !== undefined) auth.token = block.token;
    if (block.timeout !== undefined) auth.timeout = block.timeout;
    if (block.users) auth.users = block.users;
    if (block.defaultPermissions) auth.defaultPermissions = block.defaultPermissions;
    this.#auth = { ...auth, hasUsersArray: block.users !== undefined };
    this.#set("authorization", auth);
  }

  /** Checks that need both `authorization` and `accounts`, whatever their order. */
  finish(): void {
    const accounts = this.#accounts;
    if (!accounts) return;
    const accountUsers = accounts.accounts.flatMap((a) => a.users);
    const firstUsersPos = accounts.usersPos.values().next().value as ConfPos | undefined;
    // Users must be unique across all accounts...
    const seen = new Set<string>();
    for (const account of accounts.accounts) {
      for (const u of account.users) {
        const id = u.nkey ?? u.user ?? "";
        if (seen.has(id)) {
          this.issues.error(
            accounts.usersPos.get(account.name),
            u.nkey ? `Duplicate nkey "${id}" detected` : `Duplicate user "${id}" detected`,
          );
          return;
        }
        seen.add(id);
      }
    }
    const auth = this.#auth;
    if (!auth || accountUsers.length === 0) return;
    // ...and against the authorization block.
    const dup = firstDuplicate([...accountUsers, ...(auth.users ?? [])]);
    if (dup) {
      this.issues.error(this.#authPos, dup);
      return;
    }
    if (auth.user) {
      this.issues.error(firstUsersPos, "Can not have a single user/pass and accounts");
    } else if (auth.token) {
      this.issues.error(this.#authPos, "Can not have a token and a users array");
    }
  }
}

function firstDuplicate(users: UserEntry[]): string | undefined {
  const names = new Set<string>();
  const nkeys = new Set<string>();
  for (const u of users) {
    if (u.nkey !== undefined) {
      if (nkeys.has(u.nkey)) return `Duplicate nkey "${u.nkey}" detected`;
      nkeys.add(u.nkey);
    } else if (u.user !== undefined) {
      if (names.has(u.user)) return `Duplicate user "${u.user}" detected`;
      names.add(u.user);
    }
  }
  return undefined;
}

function isOcspOff(v: ConfValue): boolean {
  if (v.kind === "bool") return !v.value;
  if (v.kind === "map") {
    for (const [k, item] of v.value) {
      if (k.toLowerCase() === "mode" && item.kind === "string") {
        return item.value.toLowerCase() === "never";
      }
    }
  }
  return false;
}

/**
 * Start-time checks on the final (merged) options, with nats-server's
 * messages; these have no position because flags may have set the values.
 * @returns one issue per problem, empty when the options are usable
 */
export function validateOptions(o: Options): ConfigIssue[] {
  const problems: string[] = [];
  if (o.maxPayload > o.maxPending) {
    problems.push(
      `max_payload (${o.maxPayload}) cannot be higher than max_pending (${o.maxPending})`,
    );
  }
  if (o.noAuthUser) {
    const users = [
      ...(o.authorization?.users ?? []),
      ...(o.accounts ?? []).flatMap((a) => a.users),
    ];
    // nats-server counts only users with a password entry (not NKeys, not an empty list).
    if (!users.some((u) => u.nkey === undefined)) {
      problems.push(`no_auth_user: "${o.noAuthUser}" present, but users are not defined`);
    } else if (!users.some((u) => u.nkey === undefined && u.user === o.noAuthUser)) {
      // nats-server looks for it among the users with a password entry only (not NKeys).
      problems.push(
        `no_auth_user: "${o.noAuthUser}" not present as user in authorization block or account configuration`,
      );
    }
  }
  if (o.lameDuckGracePeriodMs >= o.lameDuckDurationMs) {
    problems.push(
      `lame duck grace period (${
        formatGoDuration(o.lameDuckGracePeriodMs)
      }) should be strictly lower than lame duck duration (${
        formatGoDuration(o.lameDuckDurationMs)
      })`,
    );
  }
  if (o.httpPort !== 0 && o.httpsPort !== 0) {
    problems.push(`can't specify both HTTP (${o.httpPort}) and HTTPs (${o.httpsPort}) ports`);
  }
  if (o.leafnodes) {
    problems.push(...validateLeafNodes(o.leafnodes, (o.accounts ?? []).map((a) => a.name)));
  }
  const ws = validateWebSocketOptions(o);
  if (ws !== null) problems.push(ws);
  return problems.map((reason) => ({ severity: "error", reason }));
}
