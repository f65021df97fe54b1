/**
 * Client authorization from the config tree: the `authorization` block, user
 * entries, permissions and `accounts`, with nats-server's checks and messages.
 *
 * @module
 */
import { base32Decode, crc16 } from "../auth/nkey_encoding.ts";
import type { ConfMap, ConfPos, ConfValue } from "./conf_parser.ts";
import {
  describeGoValue,
  entries,
  goTypeOf,
  type IssueCollector,
  parseGoDuration,
} from "./conf_values.ts";
import { readExports, readImports, readMappings } from "./from_config_accounts.ts";
import { resolveAccountLinks } from "./account_links.ts";
import { readAccountJetStream } from "./from_config_jetstream.ts";
import type {
  AccountOptions,
  AuthorizationOptions,
  Permissions,
  ResponsePermission,
  SubjectPermission,
  UserEntry,
} from "./options.ts";

/** nats-server defaults for `allow_responses: true`. */
export const DEFAULT_RESPONSE_PERMISSION: Readonly<ResponsePermission> = {
  maxMsgs: 1,
  expiresMs: 2 * 60 * 1000,
};

const CONNECTION_TYPES = ["STANDARD", "WEBSOCKET", "LEAFNODE", "LEAFNODE_WS", "MQTT", "MQTT_WS"];

/**
 * What an `authorization` block holds before it is checked against its
 * context (top level or cluster): the same fields as the options.
 */
export type AuthorizationBlock = AuthorizationOptions;

/** Reads an `authorization` block (top level or cluster). */
export function readAuthorizationBlock(
  issues: IssueCollector,
  block: ConfValue,
): AuthorizationBlock | undefined {
  const map = issues.map(block);
  if (!map) return undefined;
  const auth: AuthorizationBlock = {};
  for (const [key, rawKey, v] of entries(map)) {
    switch (key) {
      case "user":
      case "username":
        setIfDefined(auth, "user", issues.str(v));
        break;
      case "pass":
      case "password":
        setIfDefined(auth, "password", issues.str(v));
        break;
      case "token":
        setIfDefined(auth, "token", issues.str(v));
        break;
      case "timeout":
        // nats-server takes any number as seconds and anything else as 1.
        auth.timeout = v.kind === "integer" || v.kind === "float" ? v.value : 1;
        break;
      case "users": {
        const users = readUsers(issues, v);
        if (users) auth.users = users;
        break;
      }
      case "default_permission":
      case "default_permissions":
      case "permissions": {
        const perms = readPermissions(issues, v);
        if (perms) auth.defaultPermissions = perms;
        break;
      }
      default:
        issues.unknownField(v, rawKey);
    }
  }
  if (auth.users && auth.defaultPermissions) {
    for (const user of auth.users) user.permissions ??= auth.defaultPermissions;
  }
  return auth;
}

function setIfDefined<K extends keyof AuthorizationBlock>(
  target: AuthorizationBlock,
  key: K,
  value: AuthorizationBlock[K] | undefined,
): void {
  if (value !== undefined) target[key] = value;
}

/**
 * Reads a `users` array. As in nats-server, an entry without a user or with a
 * bad nkey stops the list (the error is reported, undefined returned).
 */
export function readUsers(issues: IssueCollector, v: ConfValue): UserEntry[] | undefined {
  if (v.kind !== "array") {
    issues.error(v, `Expected users field to be an array, got ${describeGoValue(v)}`);
    return undefined;
  }
  const users: UserEntry[] = [];
  for (const item of v.value) {
    if (item.kind !== "map") {
      issues.error(item, `Expected user entry to be a map/struct, got ${describeGoValue(item)}`);
      continue;
    }
    const user: UserEntry = {};
    // nats-server reports entry-level problems at the last key it looked at.
    let lastPos: ConfPos = item;
    for (const [key, rawKey, field] of entries(item.value)) {
      lastPos = field;
      switch (key) {
        case "nkey": {
          const s = issues.str(field);
          if (s !== undefined) user.nkey = s;
          break;
        }
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
        case "permission":
        case "permissions":
        case "authorization": {
          const perms = readPermissions(issues, field);
          if (perms) user.permissions = perms;
          break;
        }
        case "allowed_connection_types":
        case "connection_types":
        case "clients": {
          const types = readConnectionTypes(issues, field);
          if (types) user.allowedConnectionTypes = types;
          break;
        }
        default:
          issues.unknownField(field, rawKey);
      }
    }
    if (user.nkey === undefined && !user.user) {
      issues.error(lastPos, "User entry requires a user");
      return undefined;
    }
    if (user.nkey !== undefined) {
      if (!isValidPublicUserNkey(user.nkey)) {
        issues.error(lastPos, "Not a valid public nkey for a user");
        return undefined;
      }
      if (user.user || user.password) {
        issues.error(lastPos, "Nkey users do not take usernames or passwords");
        return undefined;
      }
    }
    users.push(user);
  }
  return users;
}

function readConnectionTypes(issues: IssueCollector, v: ConfValue): string[] | undefined {
  const list = issues.stringOrStrings(v);
  if (!list) return undefined;
  const unknown = list.filter((t) => !CONNECTION_TYPES.includes(t.toUpperCase()));
  if (unknown.length > 0) {
    issues.error(v, `invalid connection types [${unknown.map((t) => `"${t}"`).join(" ")}]`);
    return undefined;
  }
  return list.map((t) => t.toUpperCase());
}

/**
 * Reads a permissions map: `publish`/`pub`/`import`, `subscribe`/`sub`/`export`
 * and `allow_responses`.
 */
export function readPermissions(issues: IssueCollector, v: ConfValue): Permissions | undefined {
  if (v.kind !== "map") {
    issues.error(v, `Expected permissions to be a map/struct, got ${describeGoValue(v)}`);
    return undefined;
  }
  const perms: Permissions = {};
  for (const [key, rawKey, field] of entries(v.value)) {
    switch (key) {
      case "pub":
      case "publish":
      case "import": {
        const p = readSubjectPermission(issues, field);
        if (p) perms.publish = p;
        else delete perms.publish;
        break;
      }
      case "sub":
      case "subscribe":
      case "export": {
        const p = readSubjectPermission(issues, field);
        if (p) perms.subscribe = p;
        else delete perms.subscribe;
        break;
      }
      case "allow_responses":
      case "publish_allow_responses": {
        const rp = readResponsePermission(issues, field);
        if (rp) perms.allowResponses = rp;
        break;
      }
      default:
        if (!field.usedAsVariable) {
          issues.error(field, `Unknown field "${rawKey}" parsing permissions`);
        }
    }
  }
  if (perms.allowResponses) {
    // Response rights turn the implicit "publish anything" into "publish nothing else".
    perms.publish ??= {};
    perms.publish.allow ??= [];
  }
  return perms;
}

function readResponsePermission(
  issues: IssueCollector,
  v: ConfValue,
): ResponsePermission | undefined {
  if (v.kind === "bool") return v.value ? { ...DEFAULT_RESPONSE_PERMISSION } : undefined;
  if (v.kind !== "map") {
    issues.error(v, "error parsing response permissions, expected a boolean or a map");
    return undefined;
  }
  const rp = { ...DEFAULT_RESPONSE_PERMISSION };
  for (const [key, rawKey, field] of entries(v.value)) {
    switch (key) {
      case "max":
      case "max_msgs":
      case "max_messages":
      case "max_responses": {
        const n = issues.int(field);
        // 0 keeps the default; negative means unlimited.
        if (n !== undefined && n !== 0) rp.maxMsgs = n;
        break;
      }
      case "expires":
      case "expiration":
      case "ttl": {
        if (field.kind !== "string") {
          issues.error(field, "error parsing expires, not a duration string");
          return undefined;
        }
        let ms: number;
        try {
          ms = parseGoDuration(field.value);
        } catch (err) {
          issues.error(field, `error parsing expires: ${(err as Error).message}`);
          return undefined;
        }
        if (ms !== 0) rp.expiresMs = ms;
        break;
      }
      default:
        if (!field.usedAsVariable) {
          issues.error(field, `Unknown field "${rawKey}" parsing permissions`);
        }
    }
  }
  return rp;
}

/** A subject, a list of subjects (allow list) or `{ allow, deny }`. */
function readSubjectPermission(
  issues: IssueCollector,
  v: ConfValue,
): SubjectPermission | undefined {
  if (v.kind !== "map") {
    const allow = readSubjects(issues, v);
    return allow ? { allow } : undefined;
  }
  if (v.value.size === 0) return undefined;
  const p: SubjectPermission = {};
  for (const [key, rawKey, field] of entries(v.value)) {
    if (key === "allow" || key === "deny") {
      const subjects = readSubjects(issues, field);
      if (subjects) p[key] = subjects;
    } else if (!field.usedAsVariable) {
      issues.error(
        field,
        `Unknown field name "${rawKey}" parsing subject permissions, only 'allow' or 'deny' are permitted`,
      );
    }
  }
  return p;
}

/**
 * A subject or a list of subjects in a permission (client permissions, a leaf
 * remote's `deny_imports`/`deny_exports`); each may be "subject queue".
 */
export function readSubjects(issues: IssueCollector, v: ConfValue): string[] | undefined {
  let subjects: string[];
  if (v.kind === "string") {
    subjects = [v.value];
  } else if (v.kind === "array") {
    subjects = [];
    for (const item of v.value) {
      if (item.kind !== "string") {
        issues.error(item, "Subject in permissions array cannot be cast to string");
        return undefined;
      }
      subjects.push(item.value);
    }
  } else {
    issues.error(
      v,
      `Expected subject permissions to be a subject, or array of subjects, got ${goTypeOf(v)}`,
    );
    return undefined;
  }
  for (const s of subjects) {
    const problem = permissionSubjectProblem(s);
    if (problem) {
      issues.error(v, problem);
      return undefined;
    }
  }
  return subjects;
}

/** A permission entry is a subject, or "subject queue" for queue subscriptions. */
function permissionSubjectProblem(s: string): string | undefined {
  if (isValidSubject(s)) return undefined;
  const words = s.trim().split(/\s+/);
  if (words.length !== 2) return `subject "${s}" is not a valid subject`;
  if (!isValidSubject(words[0]!)) return `subject "${words[0]}" is not a valid subject`;
  return undefined;
}

/** nats-server's subject rule: non-empty tokens, no whitespace, `>` only last. */
export function isValidSubject(subject: string): boolean {
  if (subject === "") return false;
  const tokens = subject.split(".");
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === "" || /[\s]/.test(t)) return false;
    if (t === ">" && i !== tokens.length - 1) return false;
  }
  return true;
}

// --- nkeys -----------------------------------------------------------------------

/** First byte of a public user key (`U`): prefix 20 << 3. */
const USER_PREFIX_BYTE = 20 << 3;

/** Checks a public user NKey: base32, `U` prefix, 32-byte key and CRC-16 trailer. */
export function isValidPublicUserNkey(key: string): boolean {
  if (key.length !== 56 || key[0] !== "U") return false;
  const bytes = base32Decode(key);
  if (bytes === null) return false;
  if (bytes.length !== 35 || bytes[0] !== USER_PREFIX_BYTE) return false;
  const payload = bytes.slice(0, 33);
  const expected = bytes[33]! | (bytes[34]! << 8);
  return crc16(payload) === expected;
}

// --- accounts ------------------------------------------------------------------

/** The accounts and where their `users` keys were, for cross-checks. */
export interface AccountsResult {
  accounts: AccountOptions[];
  /** Position of each account's `users` key, by account name. */
  usersPos: Map<string, ConfPos>;
}

/** Reads `accounts` in its map form or its array-of-names form. */
export function readAccounts(issues: IssueCollector, v: ConfValue): AccountsResult | undefined {
  const result: AccountsResult = { accounts: [], usersPos: new Map() };
  if (v.kind === "array") {
    for (const item of v.value) {
      const name = issues.str(item);
      if (name === undefined) continue;
      if (name === "$G") {
        issues.error(item, `"$G" is a Reserved Account`);
        continue;
      }
      result.accounts.push({ name, users: [] });
    }
    return result;
  }
  const map = issues.map(v);
  if (!map) return undefined;
  for (const [name, block] of map) {
    if (name === "$G") {
      issues.error(block, `"$G" is a Reserved Account`);
      continue;
    }
    const account = readAccount(issues, name, block, result.usersPos);
    if (account) result.accounts.push(account);
  }
  // As nats-server: links between accounts are checked only when all else parsed cleanly.
  if (issues.errors.length === 0) {
    for (const reason of resolveAccountLinks(result.accounts).errors) issues.error(v, reason);
  }
  return result;
}

function readAccount(
  issues: IssueCollector,
  name: string,
  block: ConfValue,
  usersPos: Map<string, ConfPos>,
): AccountOptions | undefined {
  const account: AccountOptions = { name, users: [] };
  // An account may be declared with no body at all: `accounts { A: {} }`.
  const map: ConfMap | undefined = issues.map(block);
  if (!map) return undefined;
  for (const [key, rawKey, v] of entries(map)) {
    switch (key) {
      case "users": {
        usersPos.set(name, v);
        const users = readUsers(issues, v);
        if (users) account.users = users;
        break;
      }
      case "default_permissions":
      case "default_permission": {
        const perms = readPermissions(issues, v);
        if (perms) account.defaultPermissions = perms;
        break;
      }
      case "limits": {
        const limits = readAccountLimits(issues, v);
        if (limits) account.limits = limits;
        break;
      }
      case "exports": {
        const list = readExports(issues, v);
        if (list) account.exports = list;
        break;
      }
      case "imports": {
        const list = readImports(issues, v);
        if (list) account.imports = list;
        break;
      }
      case "mappings":
      case "maps": {
        const list = readMappings(issues, v);
        if (list) account.mappings = list;
        break;
      }
      case "jetstream": {
        const js = readAccountJetStream(issues, v);
        if (js) account.jetstream = js;
        break;
      }
      case "nkey":
        issues.error(v, `"${rawKey}" is not supported by dnatsd yet (operator/JWT mode)`);
        break;
      default:
        issues.unknownField(v, rawKey);
    }
  }
  for (const user of account.users) {
    user.account = name;
    if (account.defaultPermissions) user.permissions ??= account.defaultPermissions;
  }
  return account;
}

function readAccountLimits(
  issues: IssueCollector,
  v: ConfValue,
): AccountOptions["limits"] | undefined {
  const map = issues.map(v);
  if (!map) return undefined;
  const limits: NonNullable<AccountOptions["limits"]> = {};
  for (const [key, rawKey, field] of entries(map)) {
    const n = () => issues.int(field);
    switch (key) {
      case "max_connections":
      case "max_conn":
        limits.maxConnections = n();
        break;
      case "max_subscriptions":
      case "max_subs":
        limits.maxSubscriptions = n();
        break;
      case "max_payload":
      case "max_pay":
        limits.maxPayload = n();
        break;
      case "max_leafnodes":
      case "max_leafs":
        n(); // leaf nodes do not exist in dnatsd; the limit has nothing to apply to
        break;
      default:
        issues.unknownField(field, rawKey);
    }
  }
  for (const k of Object.keys(limits) as Array<keyof typeof limits>) {
    if (limits[k] === undefined) delete limits[k];
  }
  return limits;
}

/** An empty array or map. */
export function isEmptyCollection(v: ConfValue): boolean {
  return (v.kind === "array" && v.value.length === 0) || (v.kind === "map" && v.value.size === 0);
}

/**
 * Whether a feature block is switched off: `false`, `"disabled"`, an empty
 * map, or a map with `enabled: false`.
 */
export function isDisabledFeature(v: ConfValue): boolean {
  if (v.kind === "bool") return !v.value;
  if (v.kind === "string") {
    return ["disabled", "disable", "false", "off"].includes(v.value.toLowerCase());
  }
  if (v.kind === "map") {
    if (v.value.size === 0) return true;
    for (const [k, item] of v.value) {
      const key = k.toLowerCase();
      if ((key === "enabled" || key === "enable") && item.kind === "bool") return !item.value;
    }
  }
  return false;
}
