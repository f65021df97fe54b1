/**
 * JSON Web Signatures in the flattened JSON serialization, as ACME requests
 * carry them (RFC 8555 §6.2), and the HS256 external account binding
 * (RFC 8555 §7.3.4).
 *
 * @module
 */
import { b64url, b64urlDecode } from "./_encoding.ts";
import { type KeyPair, sign } from "./keys.ts";

/** A flattened JWS object. */
export interface Jws {
  protected: string;
  payload: string;
  signature: string;
}

/**
 * Signs `payload` (undefined means POST-as-GET, an empty payload) with the
 * given protected header fields added to `alg`.
 */
export async function signJws(
  key: KeyPair,
  header: Record<string, unknown>,
  payload: unknown,
): Promise<Jws> {
  const protectedB64 = b64url(JSON.stringify({ alg: key.alg, ...header }));
  const payloadB64 = payload === undefined ? "" : b64url(JSON.stringify(payload));
  const sig = await sign(key, new TextEncoder().encode(`${protectedB64}.${payloadB64}`));
  return { protected: protectedB64, payload: payloadB64, signature: b64url(sig) };
}

/**
 * The external account binding: an HS256 JWS over the account's public JWK,
 * keyed by the MAC key the CA handed out with `kid`.
 *
 * @param eab key id and base64url MAC key from the CA
 * @param accountJwk the account's public JWK
 * @param newAccountUrl the directory's `newAccount` URL
 */
export async function externalAccountBinding(
  eab: { kid: string; hmacKey: string },
  accountJwk: Record<string, string>,
  newAccountUrl: string,
): Promise<Jws> {
  const protectedB64 = b64url(JSON.stringify({ alg: "HS256", kid: eab.kid, url: newAccountUrl }));
  const payloadB64 = b64url(JSON.stringify(accountJwk));
  const key = await crypto.subtle.importKey(
    "raw",
    b64urlDecode(eab.hmacKey) as BufferSource,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign(
    "HMAC",
    key,
    new TextEncoder().encode(`${protectedB64}.${payloadB64}`),
  );
  return { protected: protectedB64, payload: payloadB64, signature: b64url(new Uint8Array(mac)) };
}
