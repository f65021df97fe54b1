/**
 * What the server's in-process subscribers share (the system account's
 * client in lib/system, JetStream's in lib/jetstream): a transport that is
 * never written to, reading back the MSG/HMSG frames the fan-out wrote into
 * their buffer, and describing a message they publish.
 *
 * @module
 */
import type { Transport } from "../conn/transport.ts";
import { asciiInto, latin1, writeDecimal } from "../protocol/bytes.ts";
import type { PublishContext } from "./deliver.ts";

/** The transport of an in-process subscriber: its buffer is read back, never written out. */
export const NO_TRANSPORT: Transport = {
  remoteAddress: "",
  remotePort: 0,
  start() {},
  write: () => Promise.resolve(),
  pause() {},
  resume() {},
  close() {},
};

/** One MSG/HMSG frame in an in-process subscriber's buffer. */
export interface MsgFrame {
  subject: string;
  sid: string;
  /** "" when the message has no reply subject. */
  reply: string;
  /** Whether the frame is an HMSG. */
  withHeaders: boolean;
  /** Where the payload (headers, then body) starts in the buffer. */
  start: number;
  /** Header bytes at `start`; 0 for a MSG. */
  hdrSize: number;
  /** Headers and body. */
  total: number;
  /** Where the next frame starts (after the payload's CRLF). */
  next: number;
}

/**
 * Reads the frame that starts at `from` in `buf[from, end)`:
 * `MSG <subject> <sid> [reply] <size>` or `HMSG <subject> <sid> [reply] <hdr> <total>`.
 *
 * @returns The frame, or null when no line ends before `end`.
 */
export function readMsgFrame(buf: Uint8Array, from: number, end: number): MsgFrame | null {
  // The frame was written by the server's own fan-out: single spaces between
  // tokens, except the empty reply slot of what a stream sends (two spaces,
  // an empty token). Token bounds are found on the bytes; only the subject,
  // sid and reply become strings.
  const bounds = FRAME_TOKENS;
  let count = 0;
  let tokenStart = from;
  let eol = -1;
  for (let i = from; i + 1 < end; i++) {
    const c = buf[i];
    if (c === 0x20) {
      if (count < 12) {
        bounds[count * 2] = tokenStart;
        bounds[count * 2 + 1] = i;
      }
      count++;
      tokenStart = i + 1;
    } else if (c === 0x0d && buf[i + 1] === 0x0a) {
      eol = i;
      break;
    }
  }
  if (eol < 0) return null;
  if (count < 12) {
    bounds[count * 2] = tokenStart;
    bounds[count * 2 + 1] = eol;
  }
  count++;
  if (count > 12) {
    // Not a frame the fan-out writes: read it the slow way.
    return readMsgFrameText(buf, from, eol);
  }
  const withHeaders = eol - from > 0 && buf[from] === 0x48; // "H"MSG
  const fixed = withHeaders ? 5 : 4;
  const last = count - 1;
  const total = decimalAt(buf, bounds[last * 2], bounds[last * 2 + 1]);
  const start = eol + 2;
  return {
    subject: latin1(buf, bounds[2], bounds[3]),
    sid: latin1(buf, bounds[4], bounds[5]),
    reply: count > fixed ? latin1(buf, bounds[6], bounds[7]) : "",
    withHeaders,
    start,
    hdrSize: withHeaders ? decimalAt(buf, bounds[(last - 1) * 2], bounds[(last - 1) * 2 + 1]) : 0,
    total,
    next: start + total + 2,
  };
}

/** Token bounds of the frame being read (start, end pairs). */
const FRAME_TOKENS = new Int32Array(24);

/** A decimal number written in `buf[start, end)`; NaN for anything else. */
function decimalAt(buf: Uint8Array, start: number, end: number): number {
  if (start >= end) return NaN;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) return NaN;
    v = v * 10 + d;
  }
  return v;
}

function readMsgFrameText(buf: Uint8Array, from: number, eol: number): MsgFrame {
  const args = latin1(buf, from, eol).split(" ");
  const withHeaders = args[0] === "HMSG";
  const fixed = withHeaders ? 5 : 4;
  const total = Number(args[args.length - 1]);
  const start = eol + 2;
  return {
    subject: args[1],
    sid: args[2],
    reply: args.length > fixed ? args[3] : "",
    withHeaders,
    start,
    hdrSize: withHeaders ? Number(args[args.length - 2]) : 0,
    total,
    next: start + total + 2,
  };
}

const encoder = new TextEncoder();

/**
 * Describes in `ctx` a message the server publishes itself; `ctx` may be
 * reused (every field a publish sets is set).
 *
 * @param payload Headers and body.
 * @param hdrSize Header bytes at the start of `payload`; -1 for none.
 */
export function describeInternalPublish(
  ctx: PublishContext,
  subject: string,
  reply: string,
  payload: Uint8Array,
  hdrSize = -1,
): void {
  // One buffer for the subject, reply and size tokens (ASCII written by
  // hand: an encoder call per token cost more than the rest of an ack).
  const sl = subject.length;
  const rl = reply.length;
  const b = new Uint8Array(sl + rl + 32);
  if (!asciiInto(subject, b, 0) || !asciiInto(reply, b, sl)) {
    return describeEncoded(ctx, subject, reply, payload, hdrSize);
  }
  ctx.subject = subject;
  ctx.subjBuf = b;
  ctx.subjStart = 0;
  ctx.subjEnd = sl;
  if (rl > 0) {
    ctx.replyBuf = b;
    ctx.replyStart = sl;
    ctx.replyEnd = sl + rl;
  } else {
    ctx.replyStart = -1;
    ctx.replyEnd = -1;
  }
  ctx.payload = payload;
  const sizeAt = sl + rl;
  const sizeEnd = writeDecimal(b, sizeAt, payload.length);
  ctx.sizeBuf = b;
  ctx.sizeStart = sizeAt;
  ctx.sizeEnd = sizeEnd;
  ctx.hdrSize = hdrSize;
  if (hdrSize >= 0) {
    ctx.hdrBuf = b;
    ctx.hdrStart = sizeEnd;
    ctx.hdrEnd = writeDecimal(b, sizeEnd, hdrSize);
  }
}

/** {@linkcode describeInternalPublish} for subjects with non-ASCII characters. */
function describeEncoded(
  ctx: PublishContext,
  subject: string,
  reply: string,
  payload: Uint8Array,
  hdrSize: number,
): void {
  const subj = encoder.encode(subject);
  ctx.subject = subject;
  ctx.subjBuf = subj;
  ctx.subjStart = 0;
  ctx.subjEnd = subj.length;
  if (reply !== "") {
    const r = encoder.encode(reply);
    ctx.replyBuf = r;
    ctx.replyStart = 0;
    ctx.replyEnd = r.length;
  } else {
    ctx.replyStart = -1;
    ctx.replyEnd = -1;
  }
  ctx.payload = payload;
  const size = encoder.encode(String(payload.length));
  ctx.sizeBuf = size;
  ctx.sizeStart = 0;
  ctx.sizeEnd = size.length;
  ctx.hdrSize = hdrSize;
  if (hdrSize >= 0) {
    const h = encoder.encode(String(hdrSize));
    ctx.hdrBuf = h;
    ctx.hdrStart = 0;
    ctx.hdrEnd = h.length;
  }
}
