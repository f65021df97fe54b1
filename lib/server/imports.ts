/**
 * Exports and imports between accounts at run time, as nats-server 2.9 routes
 * them (docs/accounts.md):
 *
 * - A **stream import** gives each matching subscription of the importing
 *   account a *shadow* subscription in the exporting account's sublist; a
 *   message delivered through a shadow is renamed into the importer's subject
 *   space (lib/delivery/deliver.ts).
 * - A **service import** is an internal subscription in the importing account
 *   on the imported subject; a request published there is republished in the
 *   exporting account, with a `Nats-Request-Info` header and its reply
 *   replaced by a `_R_.<prefix>.<id>` subject. The exporting account holds
 *   one internal wildcard subscription on its `_R_.<prefix>.>` (announced to
 *   routes, so a responder on another server reaches it) and a table from each
 *   such reply to the requester's account and real reply subject; the
 *   response type decides when an entry goes (singleton: after one response,
 *   chunked: after an empty one, stream: after the response threshold).
 *
 * An account without imports has none of these subscriptions and pays
 * nothing per message.
 *
 * @module
 */
import { fanOut, PublishContext } from "../delivery/deliver.ts";
import {
  type PublisherDetails,
  type ShadowImport,
  Subscription,
} from "../delivery/subscription.ts";
import type {
  AccountLinks,
  ResolvedServiceExport,
  ResolvedServiceImport,
  ResolvedStreamImport,
} from "../config/account_links.ts";
import { DEFAULT_RESPONSE_THRESHOLD_MS } from "../config/account_links.ts";
import { subjectIsSubsetOf, subjectMatchesPattern } from "../router/subject.ts";
import type { SubjectTransform } from "../router/transform.ts";
import { latin1 } from "../protocol/bytes.ts";
import type { Account } from "./account.ts";

/** What the import machinery needs of the server. */
export interface ImportHost {
  accountFor(name: string): Account | null;
  interestChanged(account: Account, sub: Subscription, added: boolean): void;
  /** For shared requests' `server` and `cluster` (the server gives them; a client's view need not). */
  readonly serverName?: string;
  readonly cluster?: { readonly name: string } | null;
}

/** nats-server's alphabet for reply ids (base 62). */
const DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** The header a service request carries into the exporting account. */
export const REQUEST_INFO_HEADER = "Nats-Request-Info";

const encoder = new TextEncoder();

function randomId(n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  let s = "";
  for (let i = 0; i < n; i++) s += DIGITS[bytes[i]! % 62];
  return s;
}

/** One pending response route: a reply subject in `owner` that leads back to `requester`. */
interface ResponseEntry {
  requester: Account;
  /** The requester's own reply subject. */
  to: string;
  responseType: ResolvedServiceExport["responseType"];
  thresholdMs: number;
  touched: number;
}

/** The response side of an account that others send requests into. */
export class ResponseTable {
  readonly prefix: string = `_R_.${randomId(6)}.`;
  readonly entries: Map<string, ResponseEntry> = new Map();
  sub: Subscription | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;

  add(entry: ResponseEntry): string {
    const reply = this.prefix + randomId(6);
    this.entries.set(reply, entry);
    // The requester's account remembers it, to drop it when nobody there awaits the reply.
    const reverse = entry.requester.reverseReplies ??= new Map();
    const list = reverse.get(entry.to);
    if (list === undefined) reverse.set(entry.to, [{ table: this, reply }]);
    else list.push({ table: this, reply });
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#expire(), Math.min(entry.thresholdMs, 60_000));
      Deno.unrefTimer(Number(this.#timer));
    }
    return reply;
  }

  remove(reply: string): void {
    const entry = this.entries.get(reply);
    if (entry === undefined) return;
    this.entries.delete(reply);
    forgetReverse(entry, this, reply);
    if (this.entries.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #expire(): void {
    const now = Date.now();
    for (const [reply, e] of this.entries) {
      if (now - e.touched >= e.thresholdMs) this.remove(reply);
    }
    if (this.entries.size === 0) this.stop();
  }
}

/** A reply subject in a requester's account that leads to a pending response entry. */
export interface ReverseReply {
  table: ResponseTable;
  reply: string;
}

function forgetReverse(entry: ResponseEntry, table: ResponseTable, reply: string): void {
  const reverse = entry.requester.reverseReplies;
  const list = reverse?.get(entry.to);
  if (list === undefined) return;
  const i = list.findIndex((r) => r.table === table && r.reply === reply);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) reverse!.delete(entry.to);
}

/**
 * A subscription on `subject` went away in `account` (unsubscribe or close):
 * response routes waiting to deliver to a reply subject nobody in the account
 * subscribes to any more are dropped, as nats-server does. Called only for
 * accounts that have such routes.
 */
export function replyInterestLost(account: Account, subject: string): void {
  const reverse = account.reverseReplies;
  if (reverse === null || reverse.size === 0) return;
  const wildcard = subject.split(".").some((t) => t === "*" || t === ">");
  const replies = wildcard
    ? [...reverse.keys()].filter((r) => subjectMatchesPattern(r, subject))
    : reverse.has(subject)
    ? [subject]
    : [];
  for (const reply of replies) {
    const m = account.sublist.match(reply);
    if (m.plain.length > 0 || m.queues.length > 0) continue;
    for (const r of [...reverse.get(reply) ?? []]) r.table.remove(r.reply);
  }
}

/** A stream import as an importing account holds it. */
export interface StreamImportRule extends ResolvedStreamImport, ShadowImport {
  exporter: Account;
}

/** A service import as an importing account holds it. */
export interface ServiceImportRule extends ResolvedServiceImport {
  exporter: Account;
  sub: Subscription;
}

/** Service imports being processed (nested requests): a chain through one export twice stops. */
const chain: Array<ResolvedServiceExport | null> = [];

/**
 * Puts `links` in force on the server's accounts (start and reload): old
 * import subscriptions go, new ones come, and every client subscription gets
 * its shadows recomputed.
 */
export function applyAccountLinks(
  host: ImportHost,
  links: ReadonlyMap<string, AccountLinks>,
): void {
  const accounts = [...links.keys()].map((n) => host.accountFor(n)).filter((a) => a !== null);
  for (const account of accounts) {
    for (const client of account.clients) {
      for (const sub of client.subs.values()) removeShadows(host, sub);
    }
    for (const rule of account.serviceImports) {
      account.sublist.remove(rule.sub);
    }
    account.serviceImports = [];
    account.streamImports = [];
  }
  for (const account of accounts) {
    const l = links.get(account.name)!;
    account.serviceExports = l.serviceExports;
    account.streamExports = l.streamExports;
    for (const si of l.streamImports) {
      const exporter = host.accountFor(si.account);
      if (exporter === null) continue;
      const rule: StreamImportRule = { ...si, exporter, rename: (s) => importedSubject(rule, s) };
      account.streamImports.push(rule);
    }
    for (const si of l.serviceImports.values()) {
      const exporter = host.accountFor(si.account);
      if (exporter === null) continue;
      const sub = new Subscription({
        subject: si.from,
        queue: null,
        sid: `si.${si.from}`,
        sidBytes: encoder.encode("0"),
      });
      const rule: ServiceImportRule = { ...si, exporter, sub };
      sub.noForward = true;
      sub.internal = (msg) => serviceRequest(host, account, rule, msg);
      account.sublist.insert(sub);
      account.serviceImports.push(rule);
    }
  }
  for (const account of accounts) {
    if (account.streamImports.length === 0) continue;
    for (const client of account.clients) {
      for (const sub of client.subs.values()) addShadows(host, account, sub);
    }
  }
}

/**
 * Adds the shadow subscriptions a new subscription of `account` needs for the
 * account's stream imports (called only when it has some).
 */
export function addShadows(host: ImportHost, account: Account, sub: Subscription): void {
  const subject = sub.subject;
  const tokens = subject.split(".");
  const hasWildcard = tokens.includes("*") || tokens[tokens.length - 1] === ">";
  for (const im of account.streamImports) {
    let shadowSubject: string | null = null;
    if (subject === im.to) {
      shadowSubject = im.usePub ? subject : im.from;
    } else if (subjectIsSubsetOf(subject, im.to)) {
      // A narrower subscription: map it back into the exporter's subjects.
      shadowSubject = im.usePub
        ? subject
        : im.transform !== null
        ? reverseOf(im).apply(subject)
        : im.from;
    } else if (hasWildcard && subjectIsSubsetOf(im.to, subject)) {
      shadowSubject = im.from; // a wider subscription sees the whole import
    } else if (hasWildcard) {
      // Partly overlapping: the shadow covers only the overlap (mapped back when renamed).
      const overlap = overlapSubject(tokens, im.to.split("."));
      if (overlap !== null) {
        shadowSubject = im.transform !== null && !im.usePub
          ? reverseOf(im).apply(overlap)
          : overlap;
      }
    }
    if (shadowSubject === null) continue;
    const shadow = new Subscription({
      subject: shadowSubject,
      queue: sub.queue,
      sid: sub.sid,
      sidBytes: sub.sidBytes,
      client: sub.client!,
    });
    shadow.shadowOf = sub;
    shadow.shadowImport = im;
    shadow.deliveryFiltered = sub.deliveryFiltered;
    if (!im.exporter.sublist.insert(shadow)) continue;
    (sub.shadows ??= []).push(shadow);
    host.interestChanged(im.exporter, shadow, true);
  }
}

const reverses = new WeakMap<StreamImportRule, SubjectTransform>();

/** The import's transform the other way, built once per import. */
function reverseOf(im: StreamImportRule): SubjectTransform {
  let r = reverses.get(im);
  if (r === undefined) reverses.set(im, r = im.transform!.reverse());
  return r;
}

/** Where a wildcard subscription and an import's subject partly overlap (nats-server's rule). */
function overlapSubject(tokens: string[], imTokens: string[]): string | null {
  const t = tokens.slice();
  for (let i = 0; i < t.length && i < imTokens.length; i++) {
    if (t[i] === "*" && imTokens[i] !== ">") t[i] = imTokens[i]!;
  }
  const last = t.length - 1;
  if (t[last] === ">" && imTokens.length >= t.length) {
    t[last] = imTokens[last]!;
    if (imTokens.length > t.length) t.push(...imTokens.slice(t.length));
  }
  const subject = t.join(".");
  return subjectIsSubsetOf(subject, imTokens.join(".")) ? subject : null;
}

/** Removes a subscription's shadows (unsubscribe, close, account change). */
export function removeShadows(host: ImportHost, sub: Subscription): void {
  const shadows = sub.shadows;
  if (shadows === null) return;
  sub.shadows = null;
  for (const shadow of shadows) {
    shadow.closed = true;
    const exporter = shadow.shadowImport!.exporter;
    if (exporter.sublist.remove(shadow)) host.interestChanged(exporter, shadow, false);
  }
}

/** The subject a shadow delivers under (the importer's view of `subject`). */
export function importedSubject(im: StreamImportRule, subject: string): string {
  if (im.transform !== null) return im.transform.apply(subject);
  return im.usePub ? subject : im.to;
}

// ------------------------------------------------------------------ services

function serviceRequest(
  host: ImportHost,
  account: Account,
  rule: ServiceImportRule,
  msg: PublishContext,
): void {
  // A request arriving over a route was already imported by the server it entered.
  if (msg.fromRoute) return;
  if (chain.includes(rule.export)) return;
  const exporter = rule.exporter;
  let to = rule.transform !== null
    ? rule.transform.apply(msg.subject)
    : rule.usePub
    ? msg.subject
    : rule.to;
  to = exporter.mapSubject(to);
  let reply: string | null = null;
  let table: ResponseTable | null = null;
  if (msg.replyStart >= 0) {
    const original = msg.replyString();
    if (original.startsWith("$JS.ACK.")) {
      reply = original;
    } else {
      table = responseTable(host, exporter);
      reply = table.add({
        requester: account,
        to: original,
        responseType: rule.export?.responseType ?? "singleton",
        thresholdMs: rule.export?.responseThresholdMs ?? DEFAULT_RESPONSE_THRESHOLD_MS,
        touched: Date.now(),
      });
    }
  }
  const inner = new PublishContext();
  setSubject(inner, to);
  if (reply !== null) setReply(inner, reply);
  withRequestInfo(inner, msg, account.name, chain.length > 0, rule.share ? host : null);
  inner.publisher = msg.publisher;
  inner.account = exporter;
  inner.viaService = true;
  chain.push(rule.export);
  let delivered: number;
  try {
    delivered = fanOut(inner, exporter.sublist.match(to));
  } finally {
    chain.pop();
  }
  if (delivered === 0 && table !== null && reply !== null) table.remove(reply);
}

/** The exporting account's response table, creating its `_R_` wildcard subscription. */
function responseTable(host: ImportHost, account: Account): ResponseTable {
  let table = account.responses;
  if (table !== null) return table;
  table = account.responses = new ResponseTable();
  const t = table;
  const sub = new Subscription({
    subject: `${table.prefix}>`,
    queue: null,
    sid: "rsi",
    sidBytes: encoder.encode("0"),
  });
  sub.internal = (msg) => serviceResponse(host, account, t, msg);
  table.sub = sub;
  account.sublist.insert(sub);
  host.interestChanged(account, sub, true);
  return table;
}

function serviceResponse(
  host: ImportHost,
  account: Account,
  table: ResponseTable,
  msg: PublishContext,
): void {
  const entry = table.entries.get(msg.subject);
  if (entry === undefined) return;
  const inner = new PublishContext();
  setSubject(inner, entry.to);
  if (msg.replyStart >= 0) {
    // A reply to the response goes back the same way, through the requester's table.
    const back = responseTable(host, entry.requester).add({
      requester: account,
      to: msg.replyString(),
      responseType: entry.responseType,
      thresholdMs: entry.thresholdMs,
      touched: Date.now(),
    });
    setReply(inner, back);
  }
  inner.sizeBuf = msg.sizeBuf;
  inner.sizeStart = msg.sizeStart;
  inner.sizeEnd = msg.sizeEnd;
  inner.hdrSize = msg.hdrSize;
  inner.hdrBuf = msg.hdrBuf;
  inner.hdrStart = msg.hdrStart;
  inner.hdrEnd = msg.hdrEnd;
  inner.payloadBuf = msg.payloadBuf;
  inner.payloadStart = msg.payloadStart;
  inner.payloadEnd = msg.payloadEnd;
  inner.publisher = msg.publisher;
  inner.account = entry.requester;
  inner.fromRoute = msg.fromRoute;
  inner.viaService = true;
  const delivered = fanOut(inner, entry.requester.sublist.match(entry.to));
  const empty = msg.payloadEnd === msg.payloadStart;
  if (
    delivered === 0 || entry.responseType === "singleton" ||
    (entry.responseType === "chunked" && empty)
  ) {
    table.remove(msg.subject);
  } else {
    entry.touched = Date.now();
  }
}

function setSubject(msg: PublishContext, subject: string): void {
  const bytes = encoder.encode(subject);
  msg.subject = subject;
  msg.subjBuf = bytes;
  msg.subjStart = 0;
  msg.subjEnd = bytes.length;
}

function setReply(msg: PublishContext, reply: string): void {
  const bytes = encoder.encode(reply);
  msg.replyBuf = bytes;
  msg.replyStart = 0;
  msg.replyEnd = bytes.length;
}

/**
 * The request's payload with nats-server's `Nats-Request-Info` header
 * (`{"acc":"<importing account>","rtt":<ns>}`) in place of any the client
 * sent; along a chain of imports the first header is kept and names the
 * service account in `svc`.
 */
function withRequestInfo(
  inner: PublishContext,
  msg: PublishContext,
  accountName: string,
  chained: boolean,
  shareFrom: ImportHost | null,
): void {
  const payload = msg.payloadBuf.subarray(msg.payloadStart, msg.payloadEnd);
  let headerText = "NATS/1.0\r\n";
  let body = payload;
  let previous: string | null = null;
  if (msg.hdrSize > 0) {
    const hdr = latin1(payload, 0, msg.hdrSize);
    body = payload.subarray(msg.hdrSize);
    const lines = hdr.split("\r\n").filter((l) => l !== "");
    headerText = "";
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (i > 0 && line.startsWith(`${REQUEST_INFO_HEADER}:`)) {
        previous = line.slice(REQUEST_INFO_HEADER.length + 1).trim();
        continue;
      }
      headerText += line + "\r\n";
    }
  }
  let info: Record<string, unknown> = { acc: accountName };
  if (chained && previous !== null) {
    try {
      const parsed = JSON.parse(previous);
      if (parsed !== null && typeof parsed === "object") {
        info = { ...parsed };
        info = insertService(info, accountName);
      }
    } catch {
      // An unreadable header is replaced (nats-server ignores it too).
    }
  } else {
    const rtt = msg.publisher?.rttMs ?? 0;
    const d = shareFrom !== null ? msg.publisher?.details?.() : undefined;
    if (d !== undefined) {
      info = sharedInfo(d, rtt, shareFrom!);
    } else if (rtt > 0) {
      info.rtt = Math.round(rtt * 1e6);
    }
  }
  headerText += `${REQUEST_INFO_HEADER}: ${JSON.stringify(info)}\r\n\r\n`;
  const hdrBytes = encoder.encode(headerText);
  const all = new Uint8Array(hdrBytes.length + body.length);
  all.set(hdrBytes, 0);
  all.set(body, hdrBytes.length);
  inner.payload = all;
  inner.hdrSize = hdrBytes.length;
  const hs = encoder.encode(String(hdrBytes.length));
  inner.hdrBuf = hs;
  inner.hdrStart = 0;
  inner.hdrEnd = hs.length;
  const ts = encoder.encode(String(all.length));
  inner.sizeBuf = ts;
  inner.sizeStart = 0;
  inner.sizeEnd = ts.length;
}

/** nats-server's detailed ClientInfo, in its field order (Go omits empty fields). */
function sharedInfo(d: PublisherDetails, rttMs: number, host: ImportHost): Record<string, unknown> {
  const info: Record<string, unknown> = {
    start: goTime(d.start),
    host: d.host,
    id: d.cid,
    acc: d.account,
  };
  if (d.user) info.user = d.user;
  if (d.name) info.name = d.name;
  if (d.lang) info.lang = d.lang;
  if (d.version) info.ver = d.version;
  if (rttMs > 0) info.rtt = Math.round(rttMs * 1e6);
  if (host.serverName) info.server = host.serverName;
  if (host.cluster?.name) info.cluster = host.cluster.name;
  info.kind = "Client";
  info.client_type = d.clientType ?? "nats";
  return info;
}

/** A time as Go's JSON writes it (RFC 3339, fraction without trailing zeros, `Z`). */
function goTime(t: Date): string {
  const iso = t.toISOString(); // 2026-01-02T03:04:05.600Z
  return iso.replace(/\.(\d*?)0*Z$/, (_, f: string) => f === "" ? "Z" : `.${f}Z`);
}

/** `svc` goes right after `acc`, as Go's struct order prints it. */
function insertService(info: Record<string, unknown>, service: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(info)) {
    if (k === "svc") continue;
    out[k] = v;
    if (k === "acc") out.svc = service;
  }
  return out;
}
