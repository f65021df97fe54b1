/**
 * Byte helpers of the wire protocol: copying tokens, writing decimal sizes and
 * reading ASCII tokens as strings, without allocating on the hot path.
 *
 * @module
 */

/**
 * Copies `src[s, e)` into `dst` at `p` (room already reserved). Positional
 * arguments on purpose: it runs for every token of every message.
 *
 * @returns the position after the copied bytes
 */
export function copyBytes(
  dst: Uint8Array,
  p: number,
  src: Uint8Array,
  s: number,
  e: number,
): number {
  // Subjects and sids are short: a byte loop beats set()+subarray() for them.
  if (e - s > 64) {
    dst.set(src.subarray(s, e), p);
    return p + (e - s);
  }
  for (let i = s; i < e; i++) dst[p++] = src[i];
  return p;
}

/** Writes a non-negative integer in ASCII decimal; returns the new position. */
export function writeDecimal(dst: Uint8Array, p: number, value: number): number {
  if (value === 0) {
    dst[p] = 0x30;
    return p + 1;
  }
  let digits = 0;
  for (let v = value; v > 0; v = Math.floor(v / 10)) digits++;
  let q = p + digits;
  for (let v = value; v > 0; v = Math.floor(v / 10)) dst[--q] = 0x30 + (v % 10);
  return p + digits;
}

/** Bytes to string for ASCII/Latin-1 tokens; callers use it on cache misses only. */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  if (end - start < 64) {
    let s = "";
    for (let i = start; i < end; i++) {
      const c = buf[i];
      if (c >= 0x80) return utf8(buf, start, end);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8(buf, start, end);
}

const decoder = new TextDecoder();
function utf8(buf: Uint8Array, start: number, end: number): string {
  return decoder.decode(buf.subarray(start, end));
}

/** Whether `b[s, e)` equals the first `e - s` bytes of `a` (the caller checked the length). */
export function sameBytes(a: Uint8Array, b: Uint8Array, s: number, e: number): boolean {
  for (let i = s, j = 0; i < e; i++, j++) if (a[j] !== b[i]) return false;
  return true;
}

/** Writes `s` at `at` if it is all ASCII; false (nothing usable written) otherwise. */
export function asciiInto(s: string, b: Uint8Array, at: number): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return false;
    b[at + i] = c;
  }
  return true;
}
