/**
 * The `websocket { ... }` block mapped to {@linkcode WebSocketOptions}, with
 * nats-server 2.9's keys, aliases and messages, and the start-up checks
 * nats-server makes on it ({@linkcode validateWebSocketOptions}).
 *
 * @example
 * ```ts
 * import { parseConf } from "./conf_parser.ts";
 * import { IssueCollector } from "./conf_values.ts";
 * import { readWebSocketBlock } from "./from_config_websocket.ts";
 * const tree = parseConf("websocket { port: 8080, no_tls: true, compression: true }");
 * const ws = readWebSocketBlock(new IssueCollector(), tree.get("websocket")!, undefined, false);
 * console.assert(ws?.port === 8080 && ws.noTls && ws.compression);
 * ```
 *
 * @module
 */
import type { ConfValue } from "./conf_parser.ts";
import {
  entries,
  goTypeOf,
  type IssueCollector,
  parseGoDuration,
  readListen,
} from "./conf_values.ts";
import { readTlsBlock } from "./from_config_tls.ts";
import { defaultWebSocketOptions, type Options, type WebSocketOptions } from "./options.ts";

/**
 * Reads a `websocket` block over `base` (a copy is returned).
 * @param checkFiles verify TLS files exist, as nats-server does while parsing
 */
export function readWebSocketBlock(
  issues: IssueCollector,
  block: ConfValue,
  base: WebSocketOptions | undefined,
  checkFiles: boolean,
): WebSocketOptions | undefined {
  if (block.kind !== "map") {
    issues.error(block, `Expected websocket to be a map, got ${goTypeOf(block)}`);
    return undefined;
  }
  const ws: WebSocketOptions = { ...(base ?? defaultWebSocketOptions()) };
  ws.allowedOrigins = [...ws.allowedOrigins];
  for (const [key, rawKey, v] of entries(block.value)) {
    switch (key) {
      case "listen": {
        const hp = readListen(issues, v);
        if (hp) {
          ws.host = hp.host ?? "";
          ws.port = hp.port;
        }
        break;
      }
      case "port":
        assign(ws, "port", issues.int(v));
        break;
      case "host":
      case "net":
        assign(ws, "host", issues.str(v));
        break;
      case "advertise":
        assign(ws, "advertise", issues.str(v));
        break;
      case "no_tls":
        assign(ws, "noTls", issues.bool(v));
        break;
      case "tls":
        assign(ws, "tls", readTlsBlock(issues, v, { isClient: true, checkFiles }));
        break;
      case "same_origin":
        assign(ws, "sameOrigin", issues.bool(v));
        break;
      case "allowed_origins":
      case "allowed_origin":
      case "allow_origins":
      case "allow_origin":
      case "origins":
      case "origin": {
        const list = readStringArray(issues, v, "allowed origins");
        if (list) ws.allowedOrigins = list;
        break;
      }
      case "handshake_timeout": {
        // An integer is seconds, a string a Go duration (no warning, unlike other keys).
        if (v.kind === "integer") ws.handshakeTimeoutMs = v.value * 1000;
        else if (v.kind === "string") {
          try {
            ws.handshakeTimeoutMs = parseGoDuration(v.value);
          } catch (e) {
            issues.error(v, (e as Error).message);
          }
        } else {
          issues.error(
            v,
            `error parsing handshake timeout: unsupported type ${goTypeOf(v)}`,
          );
          ws.handshakeTimeoutMs = 0;
        }
        break;
      }
      case "compress":
      case "compression":
        assign(ws, "compression", issues.bool(v));
        break;
      case "authorization":
      case "authentication":
        readSimpleAuth(issues, v, ws);
        break;
      case "jwt_cookie":
        assign(ws, "jwtCookie", issues.str(v));
        break;
      case "no_auth_user":
        assign(ws, "noAuthUser", issues.str(v));
        break;
      default:
        issues.unknownField(v, rawKey);
    }
  }
  return ws;
}

function assign<K extends keyof WebSocketOptions>(
  ws: WebSocketOptions,
  key: K,
  value: WebSocketOptions[K] | undefined,
): void {
  if (value !== undefined) ws[key] = value;
}

/** A string or an array of strings, with nats-server's messages for other types. */
function readStringArray(
  issues: IssueCollector,
  v: ConfValue,
  field: string,
): string[] | undefined {
  if (v.kind === "string") return [v.value];
  if (v.kind !== "array") {
    issues.error(v, `error parsing ${field}: unsupported type ${goTypeOf(v)}`);
    return undefined;
  }
  const out: string[] = [];
  for (const item of v.value) {
    if (item.kind === "string") out.push(item.value);
    else issues.error(item, `error parsing ${field}: unsupported type in array ${goTypeOf(item)}`);
  }
  return out;
}

/**
 * The websocket `authorization` block: only user, password, token and
 * timeout, as nats-server 2.9 (a `users` list there is an unknown field).
 */
function readSimpleAuth(issues: IssueCollector, v: ConfValue, ws: WebSocketOptions): void {
  const map = issues.map(v);
  if (!map) return;
  // A block replaces what an earlier one said (nats-server assigns every field).
  ws.username = undefined;
  ws.password = undefined;
  ws.token = undefined;
  ws.authTimeout = 0;
  for (const [key, rawKey, item] of entries(map)) {
    switch (key) {
      case "user":
      case "username":
        assign(ws, "username", issues.str(item));
        break;
      case "pass":
      case "password":
        assign(ws, "password", issues.str(item));
        break;
      case "token":
        assign(ws, "token", issues.str(item));
        break;
      case "timeout":
        // Any number is seconds; anything else is 1 (nats-server).
        ws.authTimeout = item.kind === "integer" || item.kind === "float" ? item.value : 1;
        break;
      default:
        issues.unknownField(item, rawKey);
    }
  }
  for (const k of ["username", "password", "token"] as const) {
    if (ws[k] === undefined) delete ws[k];
  }
}

/** True when the websocket block overrides client authentication (nats-server's rule). */
export function webSocketAuthOverride(ws: WebSocketOptions): boolean {
  return Boolean(ws.username || ws.token || ws.noAuthUser);
}

/**
 * nats-server's start-up checks of the websocket options, in its order
 * (only when a port is set); the first failure is the message.
 * @returns the error text, or null when the options are usable
 */
export function validateWebSocketOptions(o: Options): string | null {
  const ws = o.websocket;
  if (!ws || ws.port === 0) return null;
  if (!ws.tls && !ws.noTls) return "websocket requires TLS configuration";
  for (const origin of ws.allowedOrigins) {
    const problem = originParseError(origin);
    if (problem !== null) {
      return `unable to parse allowed origin: parse ${JSON.stringify(origin)}: ${problem}`;
    }
  }
  if (ws.noAuthUser) {
    const users = [
      ...(o.authorization?.users ?? []),
      ...(o.accounts ?? []).flatMap((a) => a.users),
    ].filter((u) => u.nkey === undefined);
    if (users.length === 0) {
      return `no_auth_user: "${ws.noAuthUser}" present, but users are not defined`;
    }
    if (!users.some((u) => u.user === ws.noAuthUser)) {
      return `no_auth_user: "${ws.noAuthUser}" not present as user in authorization block or account configuration`;
    }
  }
  const hasUsers = (o.authorization?.users?.length ?? 0) > 0 ||
    (o.accounts ?? []).some((a) => a.users.length > 0);
  if (hasUsers) {
    if (ws.username) {
      return "websocket authentication username not compatible with presence of users/nkeys";
    }
    if (ws.token) {
      return "websocket authentication token not compatible with presence of users/nkeys";
    }
  }
  if (ws.jwtCookie) {
    return `trusted operators or trusted keys configuration is required for JWT authentication via cookie "${ws.jwtCookie}"`;
  }
  return null;
}

/** What Go's url.Parse refuses that an origin may hold: a control character, a bad escape. */
function originParseError(s: string): string | null {
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(s)) return "net/url: invalid control character in URL";
  const bad = /%(?![0-9a-fA-F]{2})/.exec(s);
  if (bad) return `invalid URL escape ${JSON.stringify(s.slice(bad.index, bad.index + 3))}`;
  return null;
}
