/**
 * The /accountz and /accstatz bodies. dnatsd has no system account of its
 * own; it reports the `$SYS` name nats-server reports, as an empty account,
 * so tools that expect it keep working.
 *
 * @module
 */
import type { MonitoredServer } from "../server.ts";
import type { Account } from "../server/account.ts";
import { preciseNowMs, queryBool, QueryError, rfc3339Nano } from "./format.ts";
import { statsJson } from "./subsz.ts";
import type { JsonObject } from "./types.ts";

/** nats-server's default system account name. */
export const SYSTEM_ACCOUNT = "$SYS";

/** Account names as /accountz lists them: configured ones, then `$SYS`. */
export function accountNames(server: MonitoredServer): string[] {
  const names = [...server.accounts.keys()];
  if (!names.includes(SYSTEM_ACCOUNT)) names.push(SYSTEM_ACCOUNT);
  return names;
}

/**
 * Builds the /accountz object: the account list, or one account's detail.
 *
 * @throws {QueryError} `Account <name> does not exist`.
 */
export function buildAccountz(server: MonitoredServer, params: { acc: string }): JsonObject {
  const out: JsonObject = {
    server_id: server.serverId,
    now: rfc3339Nano(preciseNowMs()),
    system_account: SYSTEM_ACCOUNT,
  };
  if (params.acc === "") {
    out.accounts = accountNames(server);
    return out;
  }
  const acc = server.accounts.get(params.acc);
  if (acc === undefined && params.acc !== SYSTEM_ACCOUNT) {
    throw new QueryError(`Account ${params.acc} does not exist`);
  }
  out.account_detail = accountDetail(server, params.acc, acc);
  return out;
}

function accountDetail(
  server: MonitoredServer,
  name: string,
  acc: Account | undefined,
): JsonObject {
  const d: JsonObject = {
    account_name: name,
    // Accounts come from the configuration: they change when it is (re)loaded.
    update_time: rfc3339Nano(server.configLoadTime.getTime()),
  };
  if (name === SYSTEM_ACCOUNT) d.is_system = true;
  d.expired = false;
  d.complete = true;
  d.jetstream_enabled = false;
  d.leafnode_connections = 0;
  d.client_connections = acc?.clients.size ?? 0;
  d.subscriptions = acc?.sublist.count ?? 0;
  if (acc) Object.assign(d, linksJson(acc));
  if (acc) d.sublist_stats = statsJson(acc.sublist.stats());
  return d;
}

/** `mappings`, `exports` and `imports` as nats-server shows them (each only when not empty). */
function linksJson(acc: Account): JsonObject {
  const out: JsonObject = {};
  if (acc.mappings !== null) out.mappings = acc.mappings.describe();
  const exports: JsonObject[] = [];
  for (const [subject, se] of acc.serviceExports) {
    const e: JsonObject = { subject, type: "service" };
    if (se.approved !== null && se.approved.size === 0) e.token_req = true;
    e.response_type = RESPONSE_TYPE_NAMES[se.responseType];
    if (se.accountPos > 0) e.account_token_position = se.accountPos;
    if (se.approved !== null && se.approved.size > 0) e.approved_accounts = [...se.approved];
    exports.push(e);
  }
  for (const [subject, auth] of acc.streamExports) {
    const e: JsonObject = { subject, type: "stream" };
    if (auth.approved !== null && auth.approved.size === 0) e.token_req = true;
    if (auth.accountPos > 0) e.account_token_position = auth.accountPos;
    if (auth.approved !== null && auth.approved.size > 0) e.approved_accounts = [...auth.approved];
    exports.push(e);
  }
  if (exports.length > 0) out.exports = exports;
  const imports: JsonObject[] = [];
  const flags = { invalid: false, share: false, tracking: false };
  for (const si of acc.streamImports) {
    imports.push({
      subject: si.from,
      account: si.account,
      local_subject: si.to,
      type: "stream",
      ...flags,
    });
  }
  for (const si of acc.serviceImports) {
    imports.push({
      subject: si.from,
      account: si.account,
      to: si.to,
      type: "service",
      ...flags,
      share: si.share,
    });
  }
  if (imports.length > 0) out.imports = imports;
  return out;
}

/** nats-server's names for the response types. */
const RESPONSE_TYPE_NAMES = { singleton: "Singleton", stream: "Streamed", chunked: "Chunked" };

/** Parses /accstatz's `unused`. */
export function parseAccstatzParams(q: URLSearchParams): { unused: boolean } {
  return { unused: queryBool(q, "unused") };
}

/**
 * Builds the /accstatz object: per-account connections and traffic. Traffic
 * is summed over the account's current connections (dnatsd keeps no
 * per-account history); accounts without connections appear with `unused`.
 */
export function buildAccstatz(server: MonitoredServer, params: { unused: boolean }): JsonObject {
  const list: JsonObject[] = [];
  for (const name of accountNames(server)) {
    const acc = server.accounts.get(name);
    const conns = acc?.clients.size ?? 0;
    if (conns === 0 && !params.unused) continue;
    let sentMsgs = 0, sentBytes = 0, recvMsgs = 0, recvBytes = 0;
    for (const c of acc?.clients ?? []) {
      sentMsgs += c.outMsgs;
      sentBytes += c.outBytes;
      recvMsgs += c.inMsgs;
      recvBytes += c.inBytes;
    }
    list.push({
      acc: name,
      conns,
      leafnodes: 0,
      total_conns: conns,
      sent: { msgs: sentMsgs, bytes: sentBytes },
      received: { msgs: recvMsgs, bytes: recvBytes },
      slow_consumers: 0,
    });
  }
  return {
    server_id: server.serverId,
    now: rfc3339Nano(preciseNowMs()),
    account_statz: list,
  };
}
