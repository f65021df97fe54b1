/**
 * Server identities in NKey public-key form (`N` + 55 base32 characters), as
 * nats-server uses for `server_id`. Only the encoding is needed: the id is
 * never used to sign anything, so random bytes stand in for a public key.
 *
 * @module
 */

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/** NKey prefix byte for servers ('N' after base32 encoding). */
const PREFIX_SERVER = 13 << 3;

/** CRC-16/XMODEM, the checksum NKeys append. */
function crc16(data: Uint8Array): number {
  let crc = 0;
  for (const b of data) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}

function base32(data: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of data) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** A fresh 56-character server id. */
export function newServerId(): string {
  const raw = new Uint8Array(35);
  raw[0] = PREFIX_SERVER;
  crypto.getRandomValues(raw.subarray(1, 33));
  const crc = crc16(raw.subarray(0, 33));
  raw[33] = crc & 0xff;
  raw[34] = crc >> 8;
  return base32(raw);
}

/** A random NUID-like token (22 characters), as used for dynamic cluster names. */
export function newNuid(): string {
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const bytes = crypto.getRandomValues(new Uint8Array(22));
  let out = "";
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}
