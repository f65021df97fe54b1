/**
 * NKey challenge-response: the server puts a random nonce in INFO, the client
 * signs it with its user seed and sends `nkey` + `sig` in CONNECT.
 *
 * @module
 */
import { nkeys } from "../deps.ts";

export { newNonce } from "./nonce.ts";

/**
 * Decodes a signature sent as base64url or standard base64, padded or not
 * (clients differ; nats-server accepts both alphabets).
 *
 * @param s The encoded signature.
 * @returns The bytes, or null when `s` is not base64.
 */
export function decodeSignature(s: string): Uint8Array | null {
  const std = s.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  if (!/^[A-Za-z0-9+/]*$/.test(std) || std.length % 4 === 1) return null;
  try {
    const bin = atob(std + "=".repeat((4 - (std.length % 4)) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/**
 * Verifies that `sig` is the ed25519 signature of `nonce` by the user key
 * `nkey`.
 *
 * @param nkey The public user NKey (`U...`) from CONNECT.
 * @param nonce The nonce this connection was sent in INFO.
 * @param sig The CONNECT `sig` field.
 * @returns `true` when the signature is valid.
 */
export function verifyNonceSignature(nkey: string, nonce: string, sig: string): boolean {
  const raw = decodeSignature(sig);
  if (!raw || raw.length !== 64) return false;
  try {
    const kp = nkeys.fromPublic(nkey);
    return kp.verify(new TextEncoder().encode(nonce), raw);
  } catch {
    // Not a valid public key: a failed authentication, not a server error.
    return false;
  }
}
