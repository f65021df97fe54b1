/**
 * Requests for single stream messages, answered as nats-server 2.9 answers
 * them: `STREAM.MSG.GET` and `STREAM.MSG.DELETE` (JSON through the API), and
 * direct get, `$JS.API.DIRECT.GET.<stream>` with a JSON body and
 * `$JS.API.DIRECT.GET.<stream>.<subject>` (last message on the subject),
 * which answer with the stored message itself and status headers rather
 * than JSON. Direct get is served by a queue subscription (group `_sys_`)
 * of each stream with `allow_direct`; see docs/jetstream.md.
 *
 * @module
 */
import { subjectMatchesPattern } from "../router/subject.ts";
import { ApiError, JSErr } from "./errors.ts";
import type { InternalMsg } from "./internal.ts";
import type { StoredMsg, Stream } from "./stream.ts";
import { formatNs } from "./time.ts";

/** What the message requests need of JetStream. */
export interface MsgApiHost {
  /** A stream by name. */
  stream(name: string): Stream | undefined;
  /**
   * Answers an API request with `{"type":..., "error":..., ...fields}`;
   * `track` says what the API counters count (nats-server's own choice per answer).
   */
  reply(
    m: InternalMsg,
    type: string,
    fields: Record<string, unknown>,
    error?: ApiError,
    track?: "all" | "total" | "none",
  ): void;
  /** Publishes a message with no reply subject (direct get answers). */
  send(subject: string, hdr: Uint8Array | null, data: Uint8Array): void;
}

/** nats-server's queue group for direct get subscriptions. */
export const DIRECT_GROUP = "_sys_";

/** The two direct get subjects of a stream: JSON body, and last by subject. */
export function directSubjects(stream: string): [string, string] {
  return [`$JS.API.DIRECT.GET.${stream}`, `$JS.API.DIRECT.GET.${stream}.>`];
}

const T = "io.nats.jetstream.api.v1.";
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** A field of a request as Go's encoding/json decodes it into nats-server's struct. */
type FieldKind = "uint" | "string" | "bool";

class InvalidRequest extends Error {}

/**
 * Decodes a request body as Go's json.Unmarshal fills a struct: `null` or an
 * object (anything else fails), keys matched exactly or else ignoring case,
 * unknown keys ignored, `null` values leave the zero value, and a value of
 * the wrong type fails (an unsigned integer must be written as digits only,
 * which the reviver's source text shows). Throws InvalidRequest.
 */
function goDecode(
  data: Uint8Array,
  fields: Record<string, FieldKind>,
): Record<string, number | string | boolean> {
  // The source text of each number, by the object holding it.
  const sources = new WeakMap<object, Map<string, string>>();
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(data), function (key, value, ctx?: { source?: string }) {
      if (typeof value === "number" && ctx?.source !== undefined) {
        let m = sources.get(this);
        if (!m) sources.set(this, m = new Map());
        m.set(key, ctx.source);
      }
      return value;
    });
  } catch {
    throw new InvalidRequest();
  }
  const out: Record<string, number | string | boolean> = {};
  for (const [name, kind] of Object.entries(fields)) {
    out[name] = kind === "uint" ? 0 : kind === "string" ? "" : false;
  }
  if (parsed === null) return out;
  if (typeof parsed !== "object" || Array.isArray(parsed)) throw new InvalidRequest();
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    const name = key in fields
      ? key
      : Object.keys(fields).find((f) => f.toLowerCase() === key.toLowerCase());
    if (name === undefined || value === null) continue;
    const kind = fields[name];
    if (kind === "uint") {
      const src = sources.get(parsed)?.get(key);
      if (typeof value !== "number" || src === undefined || !/^\d+$/.test(src)) {
        throw new InvalidRequest();
      }
      if (BigInt(src) > 0xffff_ffff_ffff_ffffn) throw new InvalidRequest();
      out[name] = value;
    } else if (kind === "string") {
      if (typeof value !== "string") throw new InvalidRequest();
      out[name] = value;
    } else {
      if (typeof value !== "boolean") throw new InvalidRequest();
      out[name] = value;
    }
  }
  return out;
}

/** nats-server's isEmptyRequest: no bytes, `{}`, or an object without keys. */
function isEmptyRequest(data: Uint8Array): boolean {
  if (data.length === 0) return true;
  try {
    const v = JSON.parse(decoder.decode(data));
    return typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
  } catch {
    return false;
  }
}

interface GetRequest {
  seq: number;
  last: string;
  next: string;
}

const GET_FIELDS: Record<string, FieldKind> = {
  seq: "uint",
  last_by_subj: "string",
  next_by_subj: "string",
};

function getRequest(data: Uint8Array): GetRequest {
  const r = goDecode(data, GET_FIELDS);
  return { seq: r.seq as number, last: r.last_by_subj as string, next: r.next_by_subj as string };
}

/**
 * The message a get asks for, as the store looks it up: by sequence, the
 * first at or after `seq` matching `next`, or the last on `last`.
 */
function load(stream: Stream, req: GetRequest): StoredMsg | undefined {
  if (req.seq > 0 && req.next === "") return stream.msgs.get(req.seq);
  if (req.next !== "") {
    for (let s = Math.max(req.seq, stream.firstSeq); s <= stream.lastSeq; s++) {
      const c = stream.msgs.get(s);
      if (c && subjectMatchesPattern(c.subject, req.next)) return c;
    }
    return undefined;
  }
  return stream.lastBySubject(req.last);
}

/** `$JS.API.STREAM.MSG.GET.<stream>`: the message as JSON (base64 headers and data). */
export function msgGet(host: MsgApiHost, m: InternalMsg, name: string): void {
  const type = `${T}stream_msg_get_response`;
  try {
    // nats-server's order: the request is checked before the stream is looked up.
    if (isEmptyRequest(m.data)) throw JSErr.badRequest();
    let req: GetRequest;
    try {
      req = getRequest(m.data);
    } catch {
      throw JSErr.invalidJson();
    }
    if (
      (req.seq > 0 && req.last !== "") || (req.seq === 0 && req.last === "" && req.next === "") ||
      (req.last !== "" && req.next !== "")
    ) {
      throw JSErr.badRequest();
    }
    const stream = host.stream(name);
    if (!stream) throw JSErr.streamNotFound();
    const found = load(stream, req);
    if (!found) throw JSErr.noMessageFound();
    const message: Record<string, unknown> = { subject: found.subject, seq: found.seq };
    if (found.hdr !== null && found.hdr.length > 0) message.hdrs = b64(found.hdr);
    if (found.data.length > 0) message.data = b64(found.data);
    message.time = formatNs(found.ts);
    // nats-server answers a successful get outside its API counters.
    host.reply(m, type, { message }, undefined, "none");
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    host.reply(m, type, {}, e);
  }
}

/** `$JS.API.STREAM.MSG.DELETE.<stream>`. */
export function msgDelete(host: MsgApiHost, m: InternalMsg, name: string): void {
  const type = `${T}stream_msg_delete_response`;
  try {
    if (isEmptyRequest(m.data)) throw JSErr.badRequest();
    let seq: number;
    try {
      seq = goDecode(m.data, { seq: "uint", no_erase: "bool" }).seq as number;
    } catch {
      throw JSErr.invalidJson();
    }
    const stream = host.stream(name);
    if (!stream) throw JSErr.streamNotFound();
    if (stream.config.sealed) throw JSErr.streamSealed();
    if (stream.config.deny_delete) {
      throw JSErr.streamMsgDeleteFailed("message delete not permitted");
    }
    let removed = false;
    try {
      removed = seq !== 0 && stream.removeMsg(seq);
    } catch (e) {
      // The delete record could not be written (a full disk): the message stays.
      throw JSErr.streamMsgDeleteFailed((e as Error).message);
    }
    if (!removed) {
      // A missing message: the file store errs outside the stream's range
      // ("no message found" below the last sequence, EOF after it); otherwise
      // nats-server answers "sequence N not found". Both are counted in the
      // API total but not as errors.
      const outside = seq < stream.firstSeq || seq > stream.lastSeq;
      const err = stream.config.storage === "file" && outside
        ? JSErr.streamMsgDeleteFailed(
          seq <= stream.lastSeq ? "no message found" : "stream store EOF",
        )
        : new ApiError(400, 10043, `sequence ${seq} not found`);
      return host.reply(m, type, {}, err, "total");
    }
    host.reply(m, type, { success: true });
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    host.reply(m, type, {}, e);
  }
}

/** A status-only answer of direct get: `NATS/1.0 <status>` and no data. */
function status(host: MsgApiHost, reply: string, text: string): void {
  host.send(reply, encoder.encode(`NATS/1.0 ${text}\r\n\r\n`), new Uint8Array(0));
}

/** `$JS.API.DIRECT.GET.<stream>` with a JSON body (`seq`, `last_by_subj`, `next_by_subj`). */
export function directGet(host: MsgApiHost, stream: Stream, m: InternalMsg): void {
  if (m.reply === "") return;
  if (m.data.length === 0) return status(host, m.reply, "408 Empty Request");
  let req: GetRequest;
  try {
    req = getRequest(m.data);
  } catch {
    return status(host, m.reply, "408 Malformed Request");
  }
  if (req.seq === 0 && req.last === "" && req.next === "") {
    return status(host, m.reply, "408 Empty Request");
  }
  if ((req.seq > 0 && req.last !== "") || (req.last !== "" && req.next !== "")) {
    return status(host, m.reply, "408 Bad Request");
  }
  answer(host, stream, m.reply, load(stream, req));
}

/** `$JS.API.DIRECT.GET.<stream>.<subject>`: the last message on the subject; no body allowed. */
export function directGetLast(host: MsgApiHost, stream: Stream, m: InternalMsg): void {
  if (m.reply === "") return;
  if (m.data.length !== 0) return status(host, m.reply, "408 Bad Request");
  // The subject is everything after the fifth token ($JS.API.DIRECT.GET.<stream>.).
  let dots = 0;
  let key = "";
  for (let i = 0; i < m.subject.length; i++) {
    if (m.subject[i] !== ".") continue;
    if (dots === 4) {
      key = m.subject.slice(i + 1);
      break;
    }
    dots++;
  }
  if (key === "") return status(host, m.reply, "408 Bad Request");
  answer(host, stream, m.reply, load(stream, { seq: 0, last: key, next: "" }));
}

/**
 * The stored message with the stream, subject, sequence and time appended to
 * its headers (a message without headers gets a header block of its own).
 */
function answer(host: MsgApiHost, stream: Stream, reply: string, sm: StoredMsg | undefined): void {
  if (!sm) return status(host, reply, "404 Message Not Found");
  const added = `Nats-Stream: ${stream.config.name}\r\nNats-Subject: ${sm.subject}\r\n` +
    `Nats-Sequence: ${sm.seq}\r\nNats-Time-Stamp: ${formatNs(sm.ts)}\r\n\r\n`;
  let hdr: Uint8Array;
  if (sm.hdr === null || sm.hdr.length === 0) {
    hdr = encoder.encode(`NATS/1.0\r\n${added}`);
  } else {
    // The stored block without its final CRLF, then the added lines.
    const keep = sm.hdr.length > 2 ? sm.hdr.subarray(0, sm.hdr.length - 2) : null;
    const tail = encoder.encode(keep === null ? `NATS/1.0\r\n${added}` : added);
    hdr = new Uint8Array((keep?.length ?? 0) + tail.length);
    if (keep !== null) hdr.set(keep, 0);
    hdr.set(tail, keep?.length ?? 0);
  }
  host.send(reply, hdr, sm.data);
}

function b64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return btoa(s);
}
