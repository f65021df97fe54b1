/**
 * The file store's record format (docs/jetstream.md, "The file store"): each
 * record is `kind (1) | body length (4, big-endian) | body | CRC-32 (4)`, the
 * CRC over kind, length and body. Encoding and decoding only; the segments
 * and their compaction are in filestore.ts.
 *
 * @module
 */
import type { StoredMsg } from "./stream.ts";

const decoder = new TextDecoder();

/** Record kinds. */
export const MSG = 1;
export const DELETE = 2;
export const PURGE = 3;
export const MARK = 4;
/** kind(1) + body length(4) before the body, CRC-32(4) after it. */
export const FRAME = 9;
/** A delete or purge record: frame and a sequence. */
export const SEQ_RECORD = FRAME + 8;
/** A mark record: frame, sequence and timestamp. */
export const MARK_RECORD = FRAME + 16;
/** The fixed fields of a message body. */
export const MSG_FIXED = 26;
let crcTable: Uint32Array | null = null;

/** CRC-32 (IEEE), as zlib computes it. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (crcTable === null) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** What a log holds after recovery, in order. */
export type LogRecord =
  | { kind: "msg"; msg: StoredMsg }
  | { kind: "delete"; seq: number }
  | { kind: "purge"; firstSeq: number }
  /** Sequences up to `seq` were used (left by compaction where it dropped the last message). */
  | { kind: "mark"; seq: number; ts: bigint };

export function markRecord(seq: number, ts: bigint): Uint8Array {
  const body = new Uint8Array(16);
  const v = new DataView(body.buffer);
  v.setBigUint64(0, BigInt(seq));
  v.setBigUint64(8, ts);
  return frame(MARK, body);
}

export function frame(kind: number, body: Uint8Array): Uint8Array {
  const rec = new Uint8Array(FRAME + body.length);
  const v = new DataView(rec.buffer);
  rec[0] = kind;
  v.setUint32(1, body.length);
  rec.set(body, 5);
  v.setUint32(5 + body.length, crc32(rec, 0, 5 + body.length));
  return rec;
}

export function seqBody(seq: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(seq));
  return b;
}

export function decodeRecord(
  kind: number,
  data: Uint8Array,
  v: DataView,
  start: number,
  end: number,
): LogRecord | null {
  if (kind === MARK) {
    if (end - start !== 16) return null;
    return { kind: "mark", seq: Number(v.getBigUint64(start)), ts: v.getBigUint64(start + 8) };
  }
  if (kind === DELETE || kind === PURGE) {
    if (end - start !== 8) return null;
    const seq = Number(v.getBigUint64(start));
    return kind === DELETE ? { kind: "delete", seq } : { kind: "purge", firstSeq: seq };
  }
  if (kind !== MSG || end - start < 26) return null;
  const seq = Number(v.getBigUint64(start));
  const ts = v.getBigUint64(start + 8);
  const slen = v.getUint16(start + 16);
  const hlen = v.getUint32(start + 18);
  const dlen = v.getUint32(start + 22);
  if (26 + slen + hlen + dlen !== end - start) return null;
  const s = start + 26;
  return {
    kind: "msg",
    msg: {
      seq,
      ts,
      subject: decoder.decode(data.subarray(s, s + slen)),
      hdr: hlen > 0 ? data.slice(s + slen, s + slen + hlen) : null,
      data: data.slice(s + slen + hlen, s + slen + hlen + dlen),
    },
  };
}
