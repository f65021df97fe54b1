/**
 * What the server's in-process subscribers share (the system account's
 * client in lib/system, JetStream's in lib/jetstream): a transport that is
 * never written to, reading back the MSG/HMSG frames the fan-out wrote into
 * their buffer, and describing a message they publish.
 *
 * @module
 */
import type { Transport } from "../conn/transport.ts";
import { latin1 } from "../protocol/bytes.ts";
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
  let eol = from;
  while (eol + 1 < end && !(buf[eol] === 0x0d && buf[eol + 1] === 0x0a)) eol++;
  if (eol + 1 >= end) return null;
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
