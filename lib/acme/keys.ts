/**
 * Key pairs for ACME accounts and certificates: generation with Web Crypto,
 * PEM in and out, public JWK and its RFC 7638 thumbprint.
 *
 * PEM parsing and the SEC1 / PKCS#1 encodings go through `node:crypto`
 * KeyObjects because Web Crypto only reads PKCS#8, and account keys written by
 * letsgo-nats (lego) are `EC PRIVATE KEY` or `RSA PRIVATE KEY` files.
 *
 * @module
 */
import { createPrivateKey } from "node:crypto";
import { b64url } from "./_encoding.ts";

/** Certificate key types accepted in `AcmeOptions.keyType`. */
export type KeyType = "RSA2048" | "RSA4096" | "EC256" | "EC384";

/** A Web Crypto key pair together with what JWS and CSR signing need to know. */
export interface KeyPair {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** JWS algorithm of this key (`ES256`, `ES384` or `RS256`). */
  alg: "ES256" | "ES384" | "RS256";
}

function paramsFor(alg: KeyPair["alg"]): RsaHashedImportParams | EcKeyImportParams {
  if (alg === "RS256") return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  return { name: "ECDSA", namedCurve: alg === "ES256" ? "P-256" : "P-384" };
}

/**
 * Generates a key pair.
 *
 * @param type a certificate key type, or `EC256` for an account key
 * @returns an extractable key pair
 */
export async function generateKeyPair(type: KeyType): Promise<KeyPair> {
  if (type === "RSA2048" || type === "RSA4096") {
    const kp = await crypto.subtle.generateKey(
      {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: type === "RSA2048" ? 2048 : 4096,
        publicExponent: Uint8Array.of(1, 0, 1),
        hash: "SHA-256",
      },
      true,
      ["sign", "verify"],
    );
    return { ...kp, alg: "RS256" };
  }
  const alg = type === "EC256" ? "ES256" : "ES384";
  const kp = await crypto.subtle.generateKey(paramsFor(alg) as EcKeyGenParams, true, [
    "sign",
    "verify",
  ]);
  return { ...kp, alg };
}

/**
 * Exports the private key as PEM in the traditional encoding lego writes
 * (`EC PRIVATE KEY` / `RSA PRIVATE KEY`), which every TLS stack reads.
 */
export async function privateKeyToPem(kp: KeyPair): Promise<string> {
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", kp.privateKey));
  const ko = createPrivateKey({ key: Buffer.from(pkcs8), format: "der", type: "pkcs8" });
  const type = kp.alg === "RS256" ? "pkcs1" : "sec1";
  return ko.export({ type, format: "pem" }).toString();
}

/**
 * Imports a private key PEM (PKCS#8, SEC1 `EC PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`).
 *
 * @throws {TypeError} for other key kinds or curves
 */
export async function importPrivateKeyPem(pem: string): Promise<KeyPair> {
  const ko = createPrivateKey(pem);
  const jwk = ko.export({ format: "jwk" }) as JsonWebKey;
  let alg: KeyPair["alg"];
  if (jwk.kty === "RSA") alg = "RS256";
  else if (jwk.kty === "EC" && jwk.crv === "P-256") alg = "ES256";
  else if (jwk.kty === "EC" && jwk.crv === "P-384") alg = "ES384";
  else throw new TypeError(`Unsupported private key type: ${jwk.kty} ${jwk.crv ?? ""}`.trim());
  const params = paramsFor(alg);
  const privateKey = await crypto.subtle.importKey("jwk", jwk, params, true, ["sign"]);
  // The public half: the same JWK without the private members.
  const pub: JsonWebKey = jwk.kty === "RSA"
    ? { kty: "RSA", n: jwk.n!, e: jwk.e! }
    : { kty: "EC", crv: jwk.crv!, x: jwk.x!, y: jwk.y! };
  const publicKey = await crypto.subtle.importKey("jwk", pub, params, true, ["verify"]);
  return { privateKey, publicKey, alg };
}

/** The public JWK with only the members RFC 7638 hashes, in a stable shape. */
export async function publicJwk(kp: KeyPair): Promise<Record<string, string>> {
  const jwk = await crypto.subtle.exportKey("jwk", kp.publicKey);
  if (jwk.kty === "RSA") return { e: jwk.e!, kty: "RSA", n: jwk.n! };
  return { crv: jwk.crv!, kty: "EC", x: jwk.x!, y: jwk.y! };
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url), used in key authorizations. */
export async function jwkThumbprint(jwk: Record<string, string>): Promise<string> {
  // Members in lexicographic order, no whitespace (RFC 7638 §3.2).
  const canonical = JSON.stringify(
    Object.fromEntries(Object.keys(jwk).sort().map((k) => [k, jwk[k]])),
  );
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical));
  return b64url(new Uint8Array(digest));
}

/**
 * Signs `data` with the key; ECDSA signatures come back in JOSE form
 * (fixed-size r || s), as JWS wants.
 */
export async function sign(kp: KeyPair, data: Uint8Array): Promise<Uint8Array> {
  const algo = kp.alg === "RS256"
    ? { name: "RSASSA-PKCS1-v1_5" }
    : { name: "ECDSA", hash: kp.alg === "ES256" ? "SHA-256" : "SHA-384" };
  return new Uint8Array(await crypto.subtle.sign(algo, kp.privateKey, data as BufferSource));
}
