/**
 * The nonce in INFO: base64url (no padding) of 11 random bytes, as
 * nats-server (15 characters). Kept free of imports so that the server,
 * routes and leaf nodes can make one without loading the NKey library.
 *
 * @example
 * ```ts
 * import { newNonce } from "./nonce.ts";
 * newNonce().length; // 15
 * ```
 *
 * @module
 */

/** Random bytes per nonce: 11, as nats-server. */
const NONCE_BYTES = 11;

/** A fresh nonce: 15 URL-safe characters. */
export function newNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}
