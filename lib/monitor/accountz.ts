/**
 * The /accountz and /accstatz bodies, over the server's accounts: the
 * configured ones, `$G`, and the system account (`$SYS` unless
 * `system_account` names another, none with `no_system_account`).
 *
 * @module
 */
import type { MonitoredServer } from "../server.ts";
import type { Account } from "../server/account.ts";
import { preciseNowMs, queryBool, QueryError, rfc3339Nano } from "./format.ts";
import { statsJson } from "./subsz.ts";
import type { JsonObject } from "./types.ts";

/** Account names as /accountz lists them: `$G`, the configured ones, the system account. */
export function accountNames(server: MonitoredServer): string[] {
  return [...server.accounts.keys()];
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
  };
  const system = server.systemAccount?.name;
  if (system !== undefined) out.system_account = system;
  if (params.acc === "") {
    out.accounts = accountNames(server);
    return out;
  }
  const acc = server.accounts.get(params.acc);
  if (acc === undefined) throw new QueryError(`Account ${params.acc} does not exist`);
  out.account_detail = accountDetail(server, params.acc, acc, system);
  return out;
}

function accountDetail(
  server: MonitoredServer,
  name: string,
  acc: Account | undefined,
  system: string | undefined,
): JsonObject {
  const d: JsonObject = {
    account_name: name,
    // Accounts come from the configuration: they change when it is (re)loaded.
    update_time: rfc3339Nano(server.configLoadTime.getTime()),
  };
  if (name === system) d.is_system = true;
  d.expired = false;
  d.complete = true;
  d.jetstream_enabled = server.jetstream?.enabledFor(name) ?? false;
  d.leafnode_connections = 0;
  d.client_connections = acc?.clients.size ?? 0;
  d.subscriptions = acc?.sublist.count ?? 0;
  if (acc) Object.assign(d, linksJson(acc, system));
  if (acc) d.sublist_stats = statsJson(acc.sublist.stats());
  return d;
}

/**
 * The services nats-server's system account exports to every account
 * (lib/system answers them).
 */
function systemExports(): JsonObject[] {
  return [
    { subject: "$SYS.REQ.ACCOUNT.*.CONNZ", type: "service", response_type: "Streamed" },
    { subject: "$SYS.REQ.ACCOUNT.*.STATZ", type: "service", response_type: "Streamed" },
    { subject: "$SYS.DEBUG.SUBSCRIBERS", type: "service", response_type: "Singleton" },
  ];
}

/** The service imports nats-server gives every other account from the system account. */
function systemImports(name: string, system: string): JsonObject[] {
  const entry = (subject: string, to: string) => ({
    subject,
    account: system,
    to,
    type: "service",
    invalid: false,
    share: false,
    tracking: false,
  });
  return [
    entry("$SYS.REQ.ACCOUNT.PING.CONNZ", `$SYS.REQ.ACCOUNT.${name}.CONNZ`),
    entry("$SYS.REQ.SERVER.PING.CONNZ", `$SYS.REQ.ACCOUNT.${name}.CONNZ`),
    entry("$SYS.REQ.ACCOUNT.PING.STATZ", `$SYS.REQ.ACCOUNT.${name}.STATZ`),
  ];
}

/** `mappings`, `exports` and `imports` as nats-server shows them (each only when not empty). */
function linksJson(acc: Account, system: string | undefined): JsonObject {
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
  // The system account's own exports, and every other account's automatic imports of them.
  if (system !== undefined && acc.name === system) exports.push(...systemExports());
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
  if (system !== undefined && acc.name !== system) imports.push(...systemImports(acc.name, system));
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
 * One account's counters, as nats-server's AccountStat: traffic of its open
 * connections plus what its closed ones had (`sent` is what the account's
 * clients were delivered, `received` what they published).
 */
export function accountStat(acc: Account): JsonObject {
  let sentMsgs = acc.retired.outMsgs, sentBytes = acc.retired.outBytes;
  let recvMsgs = acc.retired.inMsgs, recvBytes = acc.retired.inBytes;
  for (const c of acc.clients) {
    sentMsgs += c.outMsgs;
    sentBytes += c.outBytes;
    recvMsgs += c.inMsgs;
    recvBytes += c.inBytes;
  }
  const conns = acc.clients.size;
  return {
    acc: acc.name,
    conns,
    leafnodes: 0,
    total_conns: conns,
    sent: { msgs: sentMsgs, bytes: sentBytes },
    received: { msgs: recvMsgs, bytes: recvBytes },
    slow_consumers: 0,
  };
}

/**
 * Builds the /accstatz object: per-account connections and traffic; accounts
 * without connections appear with `unused`.
 */
export function buildAccstatz(
  server: MonitoredServer,
  params: { unused: boolean; accounts?: readonly string[] },
): JsonObject {
  const list: JsonObject[] = [];
  const names = params.accounts?.length ? params.accounts : accountNames(server);
  for (const name of names) {
    if (!server.accounts.has(name)) continue;
    const acc = server.accounts.get(name);
    const conns = acc?.clients.size ?? 0;
    if (conns === 0 && !params.unused) continue;
    list.push(accountStat(acc!));
  }
  return {
    server_id: server.serverId,
    now: rfc3339Nano(preciseNowMs()),
    account_statz: list,
  };
}
