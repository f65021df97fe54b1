/**
 * PKCS#10 certificate signing requests (RFC 2986) built directly in DER.
 *
 * ACME only looks at the public key and the identifiers, so the CSR carries
 * the first name as CN (for old clients that read it) and every name in a
 * subjectAltName extension request.
 *
 * @module
 */
import * as der from "./_der.ts";
import { type KeyPair, sign } from "./keys.ts";

const OID_CN = "2.5.4.3";
const OID_EXTENSION_REQUEST = "1.2.840.113549.1.9.14";
const OID_SAN = "2.5.29.17";
const OID_SHA256_RSA = "1.2.840.113549.1.1.11";
const OID_ECDSA_SHA256 = "1.2.840.10045.4.3.2";
const OID_ECDSA_SHA384 = "1.2.840.10045.4.3.3";

/** AlgorithmIdentifier for signatures made by `kp`. */
export function signatureAlgorithm(kp: KeyPair): Uint8Array {
  if (kp.alg === "RS256") return der.seq(der.oid(OID_SHA256_RSA), der.nul());
  return der.seq(der.oid(kp.alg === "ES256" ? OID_ECDSA_SHA256 : OID_ECDSA_SHA384));
}

/**
 * Signs a to-be-signed structure for X.509/PKCS#10: RSA signatures are used as
 * is, ECDSA ones are converted from JOSE r||s to the DER `Ecdsa-Sig-Value`.
 */
export async function signDer(kp: KeyPair, tbs: Uint8Array): Promise<Uint8Array> {
  const sig = await sign(kp, tbs);
  if (kp.alg === "RS256") return sig;
  const half = sig.length / 2;
  return der.seq(der.uint(sig.subarray(0, half)), der.uint(sig.subarray(half)));
}

/** A Name with a single CN attribute. */
export function commonNameName(cn: string): Uint8Array {
  return der.seq(der.set(der.seq(der.oid(OID_CN), der.utf8(cn))));
}

/** The subjectAltName extension value: dNSName for names, iPAddress for IPv4 literals. */
export function sanValue(names: string[]): Uint8Array {
  // seqOf, not seq(...): the name list comes from the configuration, unbounded.
  return der.seqOf(
    names.map((n) => {
      if (/^\d{1,3}(\.\d{1,3}){3}$/.test(n)) {
        return der.implicit(7, Uint8Array.from(n.split(".").map(Number)));
      }
      return der.implicit(2, new TextEncoder().encode(n));
    }),
  );
}

/**
 * Builds a DER CSR for `domains` signed by `kp`.
 *
 * @param kp the certificate key pair
 * @param domains at least one name; the first becomes the CN
 * @returns the DER bytes (ACME wants them base64url-encoded in `finalize`)
 * @throws {RangeError} when `domains` is empty
 */
export async function buildCsr(kp: KeyPair, domains: string[]): Promise<Uint8Array> {
  if (domains.length === 0) throw new RangeError("CSR needs at least one domain");
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", kp.publicKey));
  const extensions = der.seq(der.seq(der.oid(OID_SAN), der.octets(sanValue(domains))));
  const attributes = der.explicit(
    0,
    der.seq(der.oid(OID_EXTENSION_REQUEST), der.set(extensions)),
  );
  // CN is limited to 64 characters (RFC 5280 ub-common-name); SAN still carries the name.
  const cn = domains[0]!.length <= 64 ? domains[0]! : "";
  const info = der.seq(
    der.int(0),
    cn ? commonNameName(cn) : der.seq(),
    spki,
    attributes,
  );
  const signature = await signDer(kp, info);
  return der.seq(info, signatureAlgorithm(kp), der.bits(signature));
}
