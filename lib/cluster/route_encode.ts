/**
 * Framing a client's message for a route: `RMSG <acc> <subject> [reply] <size>`
 * or, with remote queue groups, `RMSG <acc> <subject> + <reply> <q>... <size>` /
 * `RMSG <acc> <subject> | <q>... <size>`; `HMSG` adds the header size before
 * the total (docs/architecture.md, "Protocol facts").
 *
 * Runs once per message per route: bytes are copied straight from the
 * PublishContext into the outbound buffer, no strings are built (queue names
 * and the account name come as cached bytes or are written char by char).
 *
 * @module
 */
import type { Outbound } from "../conn/outbound.ts";
import type { PublishContext } from "../delivery/deliver.ts";
import { copyBytes, writeDecimal } from "../protocol/bytes.ts";
import { CR, LF, SPACE } from "../protocol/chars.ts";

const encoder = new TextEncoder();
const PLUS = 0x2b;
const PIPE = 0x7c;

/**
 * Appends the message to `out` for a peer.
 *
 * @param account the publisher's account name as bytes
 * @param queues remote queue groups this peer must serve
 * @param headers whether the peer announced `headers:true` (else headers are stripped)
 * @returns the payload bytes written (for the byte counters)
 */
export function writeRouteMsg(
  out: Outbound,
  account: Uint8Array,
  msg: PublishContext,
  queues: readonly string[],
  headers: boolean,
  origin: Uint8Array | null = null,
): number {
  // `LMSG <origin> ...` (a leaf's message to a peer with lnoc) always carries headers and a
  // header size, 0 when there are none.
  if (origin !== null) headers = true;
  const withHeaders = msg.hdrSize >= 0 && headers;
  // Offsets into the publisher's buffer: no view is made per message.
  const bodyStart = msg.hdrSize > 0 && !headers ? msg.payloadStart + msg.hdrSize : msg.payloadStart;
  const bodyLen = msg.payloadEnd - bodyStart;
  const subjLen = msg.subjEnd - msg.subjStart;
  const replyLen = msg.replyStart < 0 ? 0 : msg.replyEnd - msg.replyStart;
  let queueLen = 0;
  for (let i = 0; i < queues.length; i++) queueLen += 1 + queueBytes(queues[i]).length;
  // verb + account + subject + "+ reply" + queues + 2 sizes + spaces + CRLF + payload + CRLF.
  const room = 5 + (origin === null ? 0 : origin.length + 1) + account.length + 1 + subjLen + 3 +
    replyLen + 1 + queueLen + 32 + bodyLen + 4;
  out.reserve(room);
  const b = out.buf;
  let p = out.len;
  b[p++] = origin !== null ? 0x4c : withHeaders ? 0x48 : 0x52; // L, H or R
  b[p++] = 0x4d; // M
  b[p++] = 0x53; // S
  b[p++] = 0x47; // G
  b[p++] = SPACE;
  if (origin !== null) {
    p = copyBytes(b, p, origin, 0, origin.length);
    b[p++] = SPACE;
  }
  p = copyBytes(b, p, account, 0, account.length);
  b[p++] = SPACE;
  p = copyBytes(b, p, msg.subjBuf, msg.subjStart, msg.subjEnd);
  b[p++] = SPACE;
  if (queues.length > 0) {
    if (msg.replyStart >= 0) {
      b[p++] = PLUS;
      b[p++] = SPACE;
      p = copyBytes(b, p, msg.replyBuf, msg.replyStart, msg.replyEnd);
    } else {
      b[p++] = PIPE;
    }
    for (let i = 0; i < queues.length; i++) {
      const q = queueBytes(queues[i]);
      b[p++] = SPACE;
      p = copyBytes(b, p, q, 0, q.length);
    }
    b[p++] = SPACE;
  } else if (msg.replyStart >= 0) {
    p = copyBytes(b, p, msg.replyBuf, msg.replyStart, msg.replyEnd);
    b[p++] = SPACE;
  }
  if (withHeaders) {
    p = copyBytes(b, p, msg.hdrBuf, msg.hdrStart, msg.hdrEnd);
    b[p++] = SPACE;
    p = copyBytes(b, p, msg.sizeBuf, msg.sizeStart, msg.sizeEnd);
  } else if (origin !== null) {
    b[p++] = 0x30; // "0": no headers
    b[p++] = SPACE;
    p = copyBytes(b, p, msg.sizeBuf, msg.sizeStart, msg.sizeEnd);
  } else if (msg.hdrSize >= 0) {
    p = writeDecimal(b, p, bodyLen);
  } else {
    p = copyBytes(b, p, msg.sizeBuf, msg.sizeStart, msg.sizeEnd);
  }
  b[p++] = CR;
  b[p++] = LF;
  p = copyBytes(b, p, msg.payloadBuf, bodyStart, msg.payloadEnd);
  b[p++] = CR;
  b[p++] = LF;
  out.len = p;
  return bodyLen;
}

/** Queue names as bytes, cached: a handful of group names are reused for every message. */
const queueCache = new Map<string, Uint8Array>();
const QUEUE_CACHE_MAX = 4096;

export function queueBytes(name: string): Uint8Array {
  let bytes = queueCache.get(name);
  if (bytes === undefined) {
    if (queueCache.size >= QUEUE_CACHE_MAX) queueCache.clear();
    bytes = encoder.encode(name);
    queueCache.set(name, bytes);
  }
  return bytes;
}
