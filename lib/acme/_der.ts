/**
 * The little DER the ACME code needs: an encoder for CSRs (and test
 * certificates) and a reader for the two certificate fields ARI needs (serial,
 * authority key identifier). Written by hand so lib/acme pulls in no ASN.1
 * library; it covers definite-length, single-byte-tag DER only, which is all
 * X.509 uses.
 *
 * @module
 */

/** Universal tags used by X.509 and PKCS#10. */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

function encodeLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  return concatAll(parts);
}

/** Concatenates a list of byte arrays of any length (no spread into a call). */
export function concatAll(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Encodes one TLV with the given tag byte around the concatenated contents. */
export function tlv(tag: number, ...contents: Uint8Array[]): Uint8Array {
  const body = concat(...contents);
  return concat(Uint8Array.of(tag), encodeLength(body.length), body);
}

/** SEQUENCE of the given encoded elements. */
export const seq = (...items: Uint8Array[]): Uint8Array => tlv(Tag.SEQUENCE, ...items);
/** A SEQUENCE of a list of any length (config-sized lists: no spread into a call). */
export const seqOf = (items: readonly Uint8Array[]): Uint8Array =>
  tlv(Tag.SEQUENCE, concatAll(items));
/** SET of the given encoded elements (callers pass them already in DER order). */
export const set = (...items: Uint8Array[]): Uint8Array => tlv(Tag.SET, ...items);
/** NULL. */
export const nul = (): Uint8Array => Uint8Array.of(Tag.NULL, 0);
/** UTF8String. */
export const utf8 = (s: string): Uint8Array => tlv(Tag.UTF8_STRING, new TextEncoder().encode(s));
/** OCTET STRING. */
export const octets = (b: Uint8Array): Uint8Array => tlv(Tag.OCTET_STRING, b);
/** BIT STRING with no unused bits. */
export const bits = (b: Uint8Array): Uint8Array => tlv(Tag.BIT_STRING, Uint8Array.of(0), b);
/** BOOLEAN. */
export const bool = (v: boolean): Uint8Array => Uint8Array.of(Tag.BOOLEAN, 1, v ? 0xff : 0);
/** Context-specific constructed tag `[n]` (EXPLICIT wrapping). */
export const explicit = (n: number, ...items: Uint8Array[]): Uint8Array => tlv(0xa0 | n, ...items);
/** Context-specific primitive tag `[n]` (IMPLICIT primitive, e.g. dNSName). */
export const implicit = (n: number, b: Uint8Array): Uint8Array => tlv(0x80 | n, b);

/** Unsigned big-endian integer bytes as a DER INTEGER (adds a 0 byte if the top bit is set). */
export function uint(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  let b = bytes.subarray(i);
  if (b.length === 0) b = Uint8Array.of(0);
  if ((b[0]! & 0x80) !== 0) b = concat(Uint8Array.of(0), b);
  return tlv(Tag.INTEGER, b);
}

/** Small non-negative integer as a DER INTEGER. */
export function int(n: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return uint(Uint8Array.from(bytes.length ? bytes : [0]));
}

/** OBJECT IDENTIFIER from dotted form. */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  const out: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [];
    let v = arc;
    do {
      chunk.unshift(v & 0x7f);
      v = Math.floor(v / 128);
    } while (v > 0);
    for (let i = 0; i < chunk.length - 1; i++) chunk[i]! |= 0x80;
    out.push(...chunk);
  }
  return tlv(Tag.OID, Uint8Array.from(out));
}

/** UTCTime (years 1950-2049) or GeneralizedTime, as RFC 5280 requires. */
export function time(d: Date): Uint8Array {
  const iso = d.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
  const y = d.getUTCFullYear();
  if (y >= 1950 && y < 2050) {
    return tlv(Tag.UTC_TIME, new TextEncoder().encode(iso.slice(2)));
  }
  return tlv(Tag.GENERALIZED_TIME, new TextEncoder().encode(iso));
}

/** One decoded TLV: its tag, content bytes and where the next sibling starts. */
export interface Node {
  tag: number;
  content: Uint8Array;
  /** The whole TLV including header. */
  raw: Uint8Array;
}

/**
 * Reads the TLV at `offset`.
 *
 * @throws {SyntaxError} on truncated or non-DER input.
 */
export function read(buf: Uint8Array, offset = 0): Node {
  const tag = buf[offset];
  let len = buf[offset + 1];
  if (tag === undefined || len === undefined) throw new SyntaxError("DER: truncated header");
  let hdr = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new SyntaxError("DER: unsupported length");
    len = 0;
    for (let i = 0; i < n; i++) {
      const b = buf[offset + 2 + i];
      if (b === undefined) throw new SyntaxError("DER: truncated length");
      len = len * 256 + b;
    }
    hdr += n;
  }
  const end = offset + hdr + len;
  if (end > buf.length) throw new SyntaxError("DER: truncated content");
  return { tag, content: buf.subarray(offset + hdr, end), raw: buf.subarray(offset, end) };
}

/** The children of a constructed node, in order. */
export function children(node: Node): Node[] {
  const out: Node[] = [];
  for (let off = 0; off < node.content.length;) {
    const child = read(node.content, off);
    out.push(child);
    off += child.raw.length;
  }
  return out;
}

/** Decodes an OBJECT IDENTIFIER's content to dotted form. */
export function oidString(content: Uint8Array): string {
  const first = content[0] ?? 0;
  const arcs = [
    Math.min(2, Math.floor(first / 40)),
    first - 40 * Math.min(2, Math.floor(first / 40)),
  ];
  let v = 0;
  for (const b of content.subarray(1)) {
    v = v * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(v);
      v = 0;
    }
  }
  return arcs.join(".");
}
