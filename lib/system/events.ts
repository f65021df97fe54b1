/**
 * The JSON bodies of the system account's events and answers, with
 * nats-server 2.9's field names, order and omitempty rules: the server
 * identity every message carries, client connect and disconnect events,
 * account connection counts, server statistics (STATSZ) and the envelope of
 * request answers. Pure functions of what they are given.
 *
 * @module
 */
import { preciseNowMs, rfc3339Nano } from "../monitor/format.ts";
import type { JsonObject } from "../monitor/types.ts";
import { NATS_COMPAT_VERSION } from "../version.ts";

export const CONNECT_EVENT_TYPE = "io.nats.server.advisory.v1.client_connect";
export const DISCONNECT_EVENT_TYPE = "io.nats.server.advisory.v1.client_disconnect";
export const ACCOUNT_CONNS_TYPE = "io.nats.server.advisory.v1.account_connections";

const MS_TO_NS = 1_000_000;
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Who the server is, as every event names it (`server`). */
export interface ServerIdentity {
  name: string;
  host: string;
  id: string;
  /** "" when the server is not in a cluster. */
  cluster: string;
}

/** The `server` object; `seq` counts the messages this server sent. */
export function serverInfo(who: ServerIdentity, seq: number): JsonObject {
  const out: JsonObject = { name: who.name, host: who.host, id: who.id };
  if (who.cluster !== "") out.cluster = who.cluster;
  out.ver = NATS_COMPAT_VERSION;
  out.seq = seq;
  out.jetstream = false;
  out.time = rfc3339Nano(preciseNowMs());
  return out;
}

/** An event id: 22 base-62 characters, the length of nats-server's (a NUID). */
export function eventId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(22));
  let s = "";
  for (const b of bytes) s += BASE62[b % 62];
  return s;
}

/**
 * nats-server's 8-character hash of a server name, which names the server in
 * `$SYS._INBOX.<hash>.*` and `$SYS.LATENCY.M2.<hash>`.
 */
export async function serverHash(name: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(name)),
  );
  let s = "";
  for (let i = 0; i < 8; i++) s += BASE62[digest[i] % 62];
  return s;
}

/** What an event says about a client connection. */
export interface ClientFacts {
  startMs: number;
  host: string;
  cid: number;
  account: string;
  user?: string;
  name: string;
  lang: string;
  version: string;
  /** Round-trip time in ms (disconnect only; 0 = not measured). */
  rttMs?: number;
  /** Close time (disconnect only). */
  stopMs?: number;
}

/** The `client` object of connect and disconnect events. */
export function clientInfo(c: ClientFacts): JsonObject {
  const out: JsonObject = { start: rfc3339Nano(c.startMs) };
  if (c.host) out.host = c.host;
  if (c.cid) out.id = c.cid;
  out.acc = c.account;
  if (c.user) out.user = c.user;
  if (c.name) out.name = c.name;
  if (c.lang) out.lang = c.lang;
  if (c.version) out.ver = c.version;
  if (c.rttMs) out.rtt = Math.round(c.rttMs * MS_TO_NS);
  if (c.stopMs !== undefined) out.stop = rfc3339Nano(c.stopMs);
  out.kind = "Client";
  out.client_type = "nats";
  return out;
}

/** `$SYS.ACCOUNT.<acc>.CONNECT`. */
export function connectEvent(server: JsonObject, client: ClientFacts): JsonObject {
  return {
    type: CONNECT_EVENT_TYPE,
    id: eventId(),
    timestamp: rfc3339Nano(preciseNowMs()),
    server,
    client: clientInfo(client),
  };
}

/** Message and byte counts. */
export interface Traffic {
  msgs: number;
  bytes: number;
}

/**
 * `$SYS.ACCOUNT.<acc>.DISCONNECT`. `sent` is what the client sent (the
 * server's in-counters), `received` what it was delivered.
 */
export function disconnectEvent(
  server: JsonObject,
  client: ClientFacts & { stopMs: number },
  sent: Traffic,
  received: Traffic,
  reason: string,
): JsonObject {
  return {
    type: DISCONNECT_EVENT_TYPE,
    id: eventId(),
    timestamp: rfc3339Nano(client.stopMs),
    server,
    client: clientInfo(client),
    sent,
    received,
    reason,
  };
}

/** One account's counters (`/accstatz` entries, `SERVER.CONNS` events). */
export interface AccountStat {
  acc: string;
  conns: number;
  leafnodes: number;
  total_conns: number;
  sent: Traffic;
  received: Traffic;
  slow_consumers: number;
}

/** `$SYS.ACCOUNT.<acc>.SERVER.CONNS` (and the older `$SYS.SERVER.ACCOUNT.<acc>.CONNS`). */
export function accountConnsEvent(server: JsonObject, stat: AccountStat): JsonObject {
  return {
    type: ACCOUNT_CONNS_TYPE,
    id: eventId(),
    timestamp: rfc3339Nano(preciseNowMs()),
    server,
    ...stat,
  };
}

/** One route in STATSZ. */
export interface RouteStat {
  rid: number;
  name?: string;
  sent: Traffic;
  received: Traffic;
  pending: number;
}

/** The `statsz` object of `$SYS.SERVER.<id>.STATSZ`. */
export interface ServerStatsFacts {
  startMs: number;
  mem: number;
  cores: number;
  cpu: number;
  connections: number;
  totalConnections: number;
  activeAccounts: number;
  subscriptions: number;
  sent: Traffic;
  received: Traffic;
  slowConsumers: number;
  routes: RouteStat[];
  activeServers: number;
}

/** `{server, statsz}`: a STATSZ message. */
export function statszMessage(server: JsonObject, s: ServerStatsFacts): JsonObject {
  const statsz: JsonObject = {
    start: rfc3339Nano(s.startMs),
    mem: s.mem,
    cores: s.cores,
    cpu: s.cpu,
    connections: s.connections,
    total_connections: s.totalConnections,
    active_accounts: s.activeAccounts,
    subscriptions: s.subscriptions,
    sent: s.sent,
    received: s.received,
    slow_consumers: s.slowConsumers,
  };
  if (s.routes.length > 0) statsz.routes = s.routes;
  if (s.activeServers > 0) statsz.active_servers = s.activeServers;
  return { server, statsz };
}

/** The envelope of a request's answer: `{server, data}` or `{server, error}`. */
export function apiResponse(
  server: JsonObject,
  result: { data?: unknown; error?: { code: number; description: string } },
): JsonObject {
  const out: JsonObject = { server };
  if ("data" in result) out.data = result.data;
  if (result.error !== undefined) out.error = result.error;
  return out;
}
