/**
 * The /connz body: open and recently closed client connections, filtered,
 * sorted and paged as nats-server 2.9 does, plus the query parsing that
 * turns its parameters into {@linkcode ConnzParams}.
 *
 * @module
 */
import { createHash, X509Certificate } from "node:crypto";
import type { MonitoredServer } from "../server.ts";
import type { ClientConnection } from "../client/connection.ts";
import { type ClientFacts, clientFacts, type ClosedClientInfo } from "../server/closed_ring.ts";
import { GLOBAL_ACCOUNT } from "../server/account.ts";
import {
  preciseNowMs,
  queryBool,
  QueryError,
  queryInt,
  queryUint,
  rfc3339Nano,
  rttString,
  uptimeString,
} from "./format.ts";
import type { SubsMode } from "./routez.ts";
import type { JsonObject, SubDetail } from "./types.ts";

/** Sort keys of /connz (`sort=`). */
export const CONNZ_SORTS = [
  "cid",
  "start",
  "subs",
  "pending",
  "msgs_to",
  "msgs_from",
  "bytes_to",
  "bytes_from",
  "last",
  "idle",
  "uptime",
  "stop",
  "reason",
  "rtt",
] as const;
export type ConnzSort = typeof CONNZ_SORTS[number];

/** Which connections to list (`state=`). */
export type ConnState = "open" | "closed" | "any";

/** Parsed /connz query. */
export interface ConnzParams {
  sort: ConnzSort;
  auth: boolean;
  subs: SubsMode;
  offset: number;
  limit: number;
  /** 0 = any connection. */
  cid: number;
  state: ConnState;
  user: string;
  acc: string;
}

/** nats-server's default page size. */
export const DEFAULT_LIMIT = 1024;

/** Parses `subs`: `detail`, or a Go boolean. */
export function parseSubsMode(q: URLSearchParams): SubsMode {
  if (q.get("subs") === "detail") return "detail";
  return queryBool(q, "subs") ? "list" : "none";
}

/**
 * Turns a /connz query into parameters.
 *
 * @throws {QueryError} with nats-server's message for a bad value.
 */
export function parseConnzParams(q: URLSearchParams): ConnzParams {
  const sortText = q.get("sort") ?? "";
  const sort = (sortText === "" ? "cid" : sortText) as ConnzSort;
  const auth = queryBool(q, "auth");
  const subs = parseSubsMode(q);
  const offset = queryInt(q, "offset");
  const limit = queryInt(q, "limit");
  const cid = queryUint(q, "cid");
  const stateText = q.get("state") ?? "";
  let state: ConnState;
  switch (stateText) {
    case "":
    case "open":
      state = "open";
      break;
    case "closed":
      state = "closed";
      break;
    case "any":
    case "all":
      state = "any";
      break;
    default:
      throw new QueryError(`Error decoding state for ${stateText}`);
  }
  if (!(CONNZ_SORTS as readonly string[]).includes(sort)) {
    throw new QueryError(`invalid sorting option: ${sortText}`);
  }
  if ((sort === "stop" || sort === "reason") && state !== "closed") {
    throw new QueryError(`sort by ${sort} only valid on closed connections`);
  }
  return {
    sort,
    auth,
    subs,
    offset: Math.max(0, offset),
    limit: limit <= 0 ? DEFAULT_LIMIT : limit,
    cid,
    state,
    user: q.get("user") ?? "",
    acc: q.get("acc") ?? "",
  };
}

/** Default /connz parameters (what an empty query gives). */
export function defaultConnzParams(): ConnzParams {
  return parseConnzParams(new URLSearchParams());
}

/** One connection, open or closed, with what sorting and rendering need. */
interface ConnRow {
  cid: number;
  /** `nats` or `websocket`. */
  type: string;
  ip: string;
  port: number;
  startMs: number;
  lastMs: number;
  stopMs: number | null;
  reason: string;
  rttMs: number;
  pending: number;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
  numSubs: number;
  name: string;
  lang: string;
  version: string;
  tlsVersion?: string;
  tlsCipher?: string;
  peerCertDer?: Uint8Array;
  peerCertSubject?: string;
  peerChainDer?: Uint8Array[];
  user?: string;
  account: string;
  subjects: () => string[];
  detail: () => SubDetail[] | null;
}

/** The row fields that open and closed connections share. */
function factsRow(f: ClientFacts) {
  return {
    cid: f.cid,
    ip: f.ip,
    port: f.port,
    type: f.type ?? "nats",
    startMs: f.start.getTime(),
    lastMs: f.lastActivity.getTime(),
    rttMs: f.rttMs,
    inMsgs: f.inMsgs,
    outMsgs: f.outMsgs,
    inBytes: f.inBytes,
    outBytes: f.outBytes,
    name: f.name,
    lang: f.lang,
    version: f.version,
    tlsVersion: f.tlsVersion,
    tlsCipher: f.tlsCipher,
    user: f.user,
    account: f.account,
  };
}

function openRow(c: ClientConnection): ConnRow {
  return {
    ...factsRow(clientFacts(c)),
    stopMs: null,
    reason: "",
    pending: c.out.pending,
    numSubs: c.subs.size,
    peerCertDer: c.tls?.peerCertDer,
    peerCertSubject: c.tls?.peerCertSubject,
    peerChainDer: c.tls?.peerChainDer,
    subjects: () => [...c.subs.values()].map((s) => s.subject),
    detail: () =>
      [...c.subs.values()].map((s): SubDetail => ({
        // In this order: JSON key order is the order nats-server prints.
        subject: s.subject,
        ...(s.queue !== null ? { qgroup: s.queue } : {}),
        sid: s.sid,
        msgs: s.msgs,
        ...(s.max > 0 ? { max: s.max } : {}),
        cid: c.cid,
      })),
  };
}

function closedRow(c: ClosedClientInfo): ConnRow {
  return {
    ...factsRow(c),
    stopMs: c.stop.getTime(),
    reason: c.reason,
    pending: 0,
    numSubs: c.subscriptions.length,
    subjects: () => c.subscriptions,
    // The closed ring keeps subjects only; /connz then shows the subject list.
    detail: () => null,
  };
}

type Compare = (a: ConnRow, b: ConnRow) => number;

function comparator(sort: ConnzSort, nowMs: number): Compare {
  const end = (r: ConnRow) => r.stopMs ?? nowMs;
  const desc = (f: (r: ConnRow) => number): Compare => (a, b) => f(b) - f(a) || a.cid - b.cid;
  switch (sort) {
    case "cid":
      return (a, b) => a.cid - b.cid;
    case "start":
      return (a, b) => a.startMs - b.startMs || a.cid - b.cid;
    case "subs":
      return desc((r) => r.numSubs);
    case "pending":
      return desc((r) => r.pending);
    case "msgs_to":
      return desc((r) => r.outMsgs);
    case "msgs_from":
      return desc((r) => r.inMsgs);
    case "bytes_to":
      return desc((r) => r.outBytes);
    case "bytes_from":
      return desc((r) => r.inBytes);
    case "last":
      return desc((r) => r.lastMs);
    case "idle":
      return desc((r) => end(r) - r.lastMs);
    case "uptime":
      return desc((r) => end(r) - r.startMs);
    case "stop":
      return desc((r) => r.stopMs ?? 0);
    case "reason":
      return (a, b) => (a.reason < b.reason ? 1 : a.reason > b.reason ? -1 : a.cid - b.cid);
    case "rtt":
      return desc((r) => r.rttMs);
  }
}

/**
 * Builds the /connz object.
 *
 * @param server The running server.
 * @param params Parsed query ({@linkcode parseConnzParams}).
 */
export function buildConnz(server: MonitoredServer, params: ConnzParams): JsonObject {
  const nowMs = preciseNowMs();
  let rows: ConnRow[] = [];
  if (params.state !== "closed") { for (const c of server.clients.values()) rows.push(openRow(c)); }
  if (params.state !== "open") {
    for (const c of server.closedClients.list()) rows.push(closedRow(c));
  }
  let limit = params.limit;
  if (params.cid > 0) {
    rows = rows.filter((r) => r.cid === params.cid);
    limit = 1;
  }
  if (params.user !== "") rows = rows.filter((r) => r.user === params.user);
  if (params.acc !== "") rows = rows.filter((r) => r.account === params.acc);
  rows.sort(comparator(params.sort, nowMs));
  const page = rows.slice(params.offset, params.offset + limit);
  const connections = page.map((r) => connEntry(r, params, nowMs));
  return {
    server_id: server.serverId,
    now: rfc3339Nano(nowMs),
    num_connections: connections.length,
    total: rows.length,
    offset: params.offset,
    limit,
    connections,
  };
}

function connEntry(r: ConnRow, params: ConnzParams, nowMs: number): JsonObject {
  const end = r.stopMs ?? nowMs;
  const e: JsonObject = {
    cid: r.cid,
    kind: "Client",
    type: r.type,
    ip: r.ip,
    port: r.port,
    start: rfc3339Nano(r.startMs),
    last_activity: rfc3339Nano(r.lastMs),
  };
  if (r.stopMs !== null) {
    e.stop = rfc3339Nano(r.stopMs);
    e.reason = r.reason;
  }
  e.rtt = rttString(r.rttMs);
  e.uptime = uptimeString(end - r.startMs);
  e.idle = uptimeString(end - r.lastMs);
  e.pending_bytes = r.pending;
  e.in_msgs = r.inMsgs;
  e.out_msgs = r.outMsgs;
  e.in_bytes = r.inBytes;
  e.out_bytes = r.outBytes;
  e.subscriptions = r.numSubs;
  if (r.name) e.name = r.name;
  if (r.lang) e.lang = r.lang;
  if (r.version) e.version = r.version;
  if (r.tlsVersion) e.tls_version = r.tlsVersion;
  if (r.tlsCipher) e.tls_cipher_suite = r.tlsCipher;
  // nats-server lists the peer's certificates (its whole chain) only with auth=true.
  if (params.auth && r.peerCertDer) {
    e.tls_peer_certs = [
      peerCertEntry(r.peerCertDer),
      ...(r.peerChainDer ?? []).map((der) => peerCertEntry(der)),
    ];
  }
  if (params.auth) {
    if (r.user) e.authorized_user = r.user;
    // nats-server names the account only when it is not the global one.
    if (r.account !== GLOBAL_ACCOUNT) e.account = r.account;
  }
  if (params.subs !== "none" && r.numSubs > 0) {
    const detail = params.subs === "detail" ? r.detail() : null;
    if (detail !== null) e.subscriptions_list_detail = detail;
    else e.subscriptions_list = r.subjects();
  }
  return e;
}

/** `{subject, spki_sha256, cert_sha256}` of a peer certificate (hex digests). */
function peerCertEntry(der: Uint8Array): JsonObject {
  const out: JsonObject = {};
  let spki: Uint8Array | null = null;
  let subj = "";
  try {
    const x = new X509Certificate(der);
    subj = goSubjectString(x.subject);
    spki = x.publicKey.export({ type: "spki", format: "der" });
  } catch {
    // An unparsable certificate still gets its own digest.
  }
  if (subj) out.subject = subj;
  if (spki) out.spki_sha256 = createHash("sha256").update(spki).digest("hex");
  out.cert_sha256 = createHash("sha256").update(der).digest("hex");
  return out;
}

/** Go's pkix.Name order: country first ... common name, serial number last (then reversed). */
const GO_NAME_ORDER = ["C", "ST", "L", "street", "postalCode", "O", "OU", "CN", "serialNumber"];

/**
 * A certificate subject as Go's `pkix.Name.String()` prints it, which is what
 * nats-server shows: the attributes in Go's fixed order (not the certificate's),
 * last first, several values of one attribute joined with `+`. Attributes Go has
 * no field for come last, named as the runtime names them (Go prints their OID).
 *
 * @example
 * ```ts
 * import { goSubjectString } from "./connz.ts";
 * const s = goSubjectString("CN=box\nO=Acme\nC=US");
 * if (s !== "CN=box,O=Acme,C=US") throw new Error(s);
 * ```
 */
export function goSubjectString(runtimeSubject: string): string {
  const values = new Map<string, string[]>();
  for (const line of runtimeSubject.split("\n")) {
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    const list = values.get(key) ?? [];
    list.push(line.slice(eq + 1));
    values.set(key, list);
  }
  const rdns: string[] = [];
  for (const [key, list] of values) {
    if (!GO_NAME_ORDER.includes(key)) {
      rdns.push(list.map((v) => `${key}=${escapeDnValue(v)}`).join("+"));
    }
  }
  for (const key of GO_NAME_ORDER) {
    const list = values.get(key);
    if (list) rdns.push(list.map((v) => `${key}=${escapeDnValue(v)}`).join("+"));
  }
  return rdns.reverse().join(",");
}

/** RFC 4514 escaping as Go applies it. */
function escapeDnValue(v: string): string {
  let out = "";
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    const edge = (i === 0 && (c === " " || c === "#")) || (i === v.length - 1 && c === " ");
    out += edge || ',+"\\<>;'.includes(c) ? `\\${c}` : c;
  }
  return out;
}
