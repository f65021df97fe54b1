/**
 * The `leafnodes { ... }` block mapped to {@linkcode LeafNodeOptions}, with
 * nats-server 2.9's keys, aliases and messages. Keys that need what dnatsd
 * does not have are refused with a reason: `credentials` (JWT), WebSocket
 * remotes, `hub`, `min_version` and `jetstream_cluster_migrate`.
 *
 * @module
 */
import type { ConfValue } from "./conf_parser.ts";
import {
  describeGoValue,
  entries,
  goTypeOf,
  type IssueCollector,
  readListen,
} from "./conf_values.ts";
import { readSubjects } from "./from_config_auth.ts";
import { readTlsBlock } from "./from_config_tls.ts";
import type { LeafNodeOptions, LeafRemoteOptions, LeafUser } from "./options.ts";

/** nats-server's default delay between attempts of a remote. */
export const DEFAULT_LEAF_RECONNECT_MS = 1000;

/** Leaf node defaults before the block is applied. */
export function defaultLeafNodeOptions(): LeafNodeOptions {
  return {
    host: "0.0.0.0",
    port: 0,
    noAdvertise: false,
    remotes: [],
    reconnectMs: DEFAULT_LEAF_RECONNECT_MS,
  };
}

/**
 * Reads a `leafnodes` block over `base` (a copy is returned).
 * @param checkFiles verify TLS files exist, as nats-server does while parsing
 */
export function readLeafNodesBlock(
  issues: IssueCollector,
  block: ConfValue,
  base: LeafNodeOptions | undefined,
  checkFiles: boolean,
): LeafNodeOptions | undefined {
  if (block.kind !== "map") {
    issues.error(block, `Expected map to define a leafnode, got ${goTypeOf(block)}`);
    return undefined;
  }
  const leaf: LeafNodeOptions = { ...(base ?? defaultLeafNodeOptions()) };
  for (const [key, rawKey, v] of entries(block.value)) {
    switch (key) {
      case "listen": {
        const hp = readListen(issues, v);
        if (hp) {
          leaf.host = hp.host ?? "";
          leaf.port = hp.port;
        }
        break;
      }
      case "port": {
        const n = issues.int(v);
        if (n !== undefined) leaf.port = n;
        break;
      }
      case "host":
      case "net": {
        const s = issues.str(v);
        if (s !== undefined) leaf.host = s;
        break;
      }
      case "authorization": {
        const auth = readLeafAuthorization(issues, v);
        if (!auth) break;
        if (auth.users && auth.users.length > 0) {
          if (auth.user !== undefined && auth.user !== "") {
            issues.error(v, "can not have a single user/pass and a users array");
            break;
          }
          const seen = new Set<string>();
          const dup = auth.users.find((u) => seen.has(u.user) || !seen.add(u.user));
          if (dup) {
            issues.error(v, `duplicate user "${dup.user}" detected in leafnode authorization`);
            break;
          }
        }
        leaf.authorization = auth;
        break;
      }
      case "remotes": {
        const remotes = readRemotes(issues, v, checkFiles);
        if (remotes) leaf.remotes = remotes;
        break;
      }
      case "reconnect":
      case "reconnect_delay":
      case "reconnect_interval": {
        const n = issues.int(v);
        if (n !== undefined) leaf.reconnectMs = n * 1000;
        break;
      }
      case "tls": {
        const tls = readTlsBlock(issues, v, { isClient: true, checkFiles });
        if (tls?.verifyAndMap) {
          issues.error(v, 'leafnode tls "verify_and_map" is not supported by dnatsd');
          break;
        }
        if (tls) leaf.tls = tls;
        break;
      }
      case "leafnode_advertise":
      case "advertise": {
        const s = issues.str(v);
        if (s !== undefined) leaf.advertise = s;
        break;
      }
      case "no_advertise": {
        const b = issues.bool(v);
        if (b !== undefined) leaf.noAdvertise = b;
        break;
      }
      case "min_version":
      case "minimum_version":
        issues.error(v, `leafnode "${rawKey}" is not supported by dnatsd`);
        break;
      default:
        issues.unknownField(v, rawKey);
    }
  }
  return leaf;
}

function readLeafAuthorization(
  issues: IssueCollector,
  v: ConfValue,
): LeafNodeOptions["authorization"] | undefined {
  const map = issues.map(v);
  if (!map) return undefined;
  const auth: NonNullable<LeafNodeOptions["authorization"]> = {};
  for (const [key, rawKey, field] of entries(map)) {
    switch (key) {
      case "user":
      case "username": {
        const s = issues.str(field);
        if (s !== undefined) auth.user = s;
        break;
      }
      case "pass":
      case "password": {
        const s = issues.str(field);
        if (s !== undefined) auth.password = s;
        break;
      }
      case "timeout":
        // nats-server takes an integer or a float; anything else means 1 s.
        auth.timeout = field.kind === "integer" || field.kind === "float"
          ? field.value as number
          : 1;
        break;
      case "account": {
        const s = issues.str(field);
        if (s !== undefined) auth.account = s;
        break;
      }
      case "users": {
        const users = readLeafUsers(issues, field);
        if (users) auth.users = users;
        break;
      }
      default:
        issues.unknownField(field, rawKey);
    }
  }
  return auth;
}

function readLeafUsers(issues: IssueCollector, v: ConfValue): LeafUser[] | undefined {
  if (v.kind !== "array") {
    issues.error(v, `Expected users field to be an array, got ${describeGoValue(v)}`);
    return undefined;
  }
  const users: LeafUser[] = [];
  for (const item of v.value) {
    if (item.kind !== "map") {
      issues.error(item, `Expected user entry to be a map/struct, got ${describeGoValue(item)}`);
      continue;
    }
    const user: LeafUser = { user: "", password: "" };
    for (const [key, rawKey, field] of entries(item.value)) {
      switch (key) {
        case "user":
        case "username": {
          const s = issues.str(field);
          if (s !== undefined) user.user = s;
          break;
        }
        case "pass":
        case "password": {
          const s = issues.str(field);
          if (s !== undefined) user.password = s;
          break;
        }
        case "account": {
          const s = issues.str(field);
          if (s !== undefined) user.account = s;
          break;
        }
        default:
          issues.unknownField(field, rawKey);
      }
    }
    users.push(user);
  }
  return users;
}

function readRemotes(
  issues: IssueCollector,
  v: ConfValue,
  checkFiles: boolean,
): LeafRemoteOptions[] | undefined {
  if (v.kind !== "array") {
    issues.error(v, `Expected remotes field to be an array, got ${goTypeOf(v)}`);
    return undefined;
  }
  const remotes: LeafRemoteOptions[] = [];
  for (const item of v.value) {
    if (item.kind !== "map") {
      issues.error(
        item,
        `Expected remote leafnode entry to be a map/struct, got ${describeGoValue(item)}`,
      );
      continue;
    }
    const remote: LeafRemoteOptions = { urls: [], noRandomize: false };
    for (const [key, rawKey, field] of entries(item.value)) {
      switch (key) {
        case "no_randomize":
        case "dont_randomize": {
          const b = issues.bool(field);
          if (b !== undefined) remote.noRandomize = b;
          break;
        }
        case "url":
        case "urls": {
          const urls = readUrls(issues, field);
          if (urls) remote.urls = [...remote.urls, ...urls];
          break;
        }
        case "account":
        case "local": {
          const s = issues.str(field);
          if (s !== undefined) remote.account = s;
          break;
        }
        case "creds":
        case "credentials":
          issues.error(
            field,
            `leafnode remote "${rawKey}" is not supported by dnatsd: ` +
              "a credentials file holds a user JWT, and dnatsd has no JWT authentication " +
              "(put user and password in the remote's URL instead)",
          );
          break;
        case "tls": {
          const tls = readTlsBlock(issues, field, { isClient: true, checkFiles });
          if (tls) remote.tls = tls;
          break;
        }
        case "deny_imports":
        case "deny_import": {
          const s = readSubjects(issues, field);
          if (s) remote.denyImports = s;
          break;
        }
        case "deny_exports":
        case "deny_export": {
          const s = readSubjects(issues, field);
          if (s) remote.denyExports = s;
          break;
        }
        case "hub":
        case "ws_compress":
        case "ws_compression":
        case "websocket_compress":
        case "websocket_compression":
        case "ws_no_masking":
        case "websocket_no_masking":
        case "jetstream_cluster_migrate":
        case "js_cluster_migrate":
          issues.error(field, `leafnode remote "${rawKey}" is not supported by dnatsd`);
          break;
        default:
          issues.unknownField(field, rawKey);
      }
    }
    for (const url of remote.urls) {
      if (/^wss?:/i.test(url)) {
        issues.error(item, `leafnode remote url "${url}": WebSocket remotes are not supported`);
      }
    }
    remotes.push(remote);
  }
  return remotes;
}

/** A URL or a list of them; duplicates are dropped with a warning, as nats-server does. */
function readUrls(issues: IssueCollector, v: ConfValue): string[] | undefined {
  if (v.kind === "string") {
    const url = v.value.trim();
    if (!parsable(url)) {
      issues.error(v, `error parsing leafnode url ["${url}"]`);
      return undefined;
    }
    return [url];
  }
  if (v.kind !== "array") {
    issues.error(
      v,
      `Expected remote leafnode url to be an array or string, got ${describeGoValue(v)}`,
    );
    return undefined;
  }
  const seen = new Set<string>();
  const out: string[] = [];
  for (const item of v.value) {
    const raw = issues.str(item);
    if (raw === undefined) return undefined;
    if (seen.has(raw)) {
      issues.warn(item, raw, "Duplicate leafnode entry detected");
      continue;
    }
    seen.add(raw);
    const url = raw.trim();
    if (!parsable(url)) {
      issues.error(item, `error parsing leafnode url ["${url}"]`);
      continue;
    }
    out.push(url);
  }
  return out;
}

function parsable(url: string): boolean {
  try {
    new URL(url);
    return true;
  } catch {
    return false;
  }
}

/**
 * Start-up checks of the block that need the whole configuration (accounts),
 * with nats-server's messages.
 */
export function validateLeafNodes(
  leaf: LeafNodeOptions,
  accountNames: readonly string[],
): string[] {
  const problems: string[] = [];
  const known = new Set(["$G", "", ...accountNames]);
  const check = (name: string | undefined, where: string) => {
    if (name !== undefined && !known.has(name)) {
      problems.push(`cannot find local account "${name}" specified in leafnode ${where}`);
    }
  };
  check(leaf.authorization?.account, "authorization");
  for (const u of leaf.authorization?.users ?? []) check(u.account, "authorization");
  for (const r of leaf.remotes) check(r.account, "remote");
  return problems;
}
