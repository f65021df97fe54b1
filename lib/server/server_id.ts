/**
 * Server identities in NKey public-key form (`N` + 55 base32 characters), as
 * nats-server uses for `server_id`. Only the encoding is needed: the id is
 * never used to sign anything, so random bytes stand in for a public key.
 *
 * @module
 */
import { base32Encode, crc16 } from "../auth/nkey_encoding.ts";

/** NKey prefix byte for servers ('N' after base32 encoding). */
const PREFIX_SERVER = 13 << 3;

const NUID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A 22-character base62 name, like the NUID nats-server uses for a dynamic cluster name. */
export function dynamicClusterName(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(22));
  let s = "";
  for (const b of bytes) s += NUID_ALPHABET[b % NUID_ALPHABET.length];
  return s;
}

/** A fresh 56-character server id. */
export function newServerId(): string {
  const raw = new Uint8Array(35);
  raw[0] = PREFIX_SERVER;
  crypto.getRandomValues(raw.subarray(1, 33));
  const crc = crc16(raw.subarray(0, 33));
  raw[33] = crc & 0xff;
  raw[34] = crc >> 8;
  return base32Encode(raw);
}
