/**
 * Which client authentication the options ask for: whether any is
 * configured, and the options WebSocket clients are checked with (the
 * websocket block may replace the top-level users). Pure functions of the
 * options, kept apart from the Server because start-up and a config reload
 * (lib/ops/reload.ts) both decide with them.
 *
 * @module
 */
import type { Options } from "../config/options.ts";

/**
 * The options WebSocket clients are authenticated with, or null when they
 * need none: the server's users and accounts; the websocket block's own
 * user/password/token/no_auth_user when it sets any (they then replace the
 * top-level ones, as in nats-server), its TLS block for verify_and_map, and
 * its authorization timeout when set.
 */
export function webSocketAuthOptions(o: Options): Options | null {
  const ws = o.websocket;
  if (!ws || ws.port === 0) return null;
  const override = Boolean(ws.username || ws.token || ws.noAuthUser);
  const authorization = { ...(o.authorization ?? {}) };
  let noAuthUser = o.noAuthUser;
  if (override) {
    delete authorization.user;
    delete authorization.password;
    delete authorization.token;
    if (ws.username) authorization.user = ws.username;
    if (ws.password) authorization.password = ws.password;
    if (ws.token) authorization.token = ws.token;
    noAuthUser = ws.noAuthUser;
  }
  if (ws.authTimeout > 0) authorization.timeout = ws.authTimeout;
  else if (authorization.timeout === undefined) {
    // The server's derived timeout, not one derived from the websocket TLS block.
    authorization.timeout = o.tls ? o.tls.timeout + 1 : 2;
  }
  const derived: Options = { ...o, authorization, tls: ws.tls };
  if (noAuthUser === undefined) delete derived.noAuthUser;
  else derived.noAuthUser = noAuthUser;
  if (!derived.tls) delete derived.tls;
  return needsAuthenticator(derived) ? derived : null;
}

/** Whether any client authentication is configured. */
export function needsAuthenticator(o: Options): boolean {
  const a = o.authorization;
  return Boolean(
    a?.user || a?.password || a?.token || a?.users || (o.accounts && o.accounts.length > 0) ||
      o.tls?.verifyAndMap,
  );
}
