/**
 * The text encoding of NKeys: RFC 4648 base32 without padding and the
 * CRC-16/XMODEM trailer (nats-io/nkeys `crc16.go`, `strkey.go`). No imports,
 * so config checks and server ids use it without loading the nkeys library.
 *
 * @module
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/**
 * CRC-16/XMODEM, the checksum NKeys append (low byte first).
 *
 * @param data the bytes to check
 * @returns the 16-bit checksum
 */
export function crc16(data: Iterable<number>): number {
  let crc = 0;
  for (const b of data) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}

/**
 * Base32-encodes bytes without padding.
 *
 * @example
 * ```ts
 * import { base32Encode } from "./nkey_encoding.ts";
 * console.assert(base32Encode(new Uint8Array([0x66, 0x6f])) === "MZXQ");
 * ```
 */
export function base32Encode(data: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of data) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/**
 * Decodes unpadded base32; leftover bits (fewer than 8) are dropped.
 *
 * @returns the bytes, or null when a character is outside the alphabet
 */
export function base32Decode(text: string): number[] | null {
  const bytes: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const ch of text) {
    const idx = ALPHABET.indexOf(ch);
    if (idx < 0) return null;
    buffer = (buffer << 5) | idx;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((buffer >> bits) & 0xff);
    }
  }
  return bytes;
}
