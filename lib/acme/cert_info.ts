/**
 * What the manager needs to know about a certificate: names, validity,
 * serial, issuer, the ARI certificate identifier, and whether a private key
 * belongs to it. Built on `node:crypto` X509Certificate plus a small DER walk
 * for the authority key identifier, which X509Certificate does not expose.
 *
 * @module
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import * as der from "./_der.ts";
import { b64url, parsePem, splitCertificates } from "./_encoding.ts";

const OID_AKI = "2.5.29.35";

/** Facts about the leaf certificate of a PEM bundle. */
export interface CertInfo {
  subject: string;
  issuer: string;
  /** Serial number in upper-case hex, as `openssl x509 -serial` prints it. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  /** DNS names and IP addresses from subjectAltName. */
  names: string[];
  /** RFC 9773 certificate identifier, or undefined when the AKI extension is missing. */
  ariCertId: string | undefined;
}

/** Serial INTEGER content and AKI keyIdentifier, read straight from the DER. */
function serialAndAki(certDer: Uint8Array): { serial: Uint8Array; aki: Uint8Array | undefined } {
  const tbs = der.children(der.read(certDer))[0];
  if (!tbs) throw new SyntaxError("Certificate: missing tbsCertificate");
  const fields = der.children(tbs);
  // The version is an optional [0] EXPLICIT field; the serial follows it.
  const serialIdx = fields[0]?.tag === 0xa0 ? 1 : 0;
  const serial = fields[serialIdx];
  if (!serial || serial.tag !== der.Tag.INTEGER) throw new SyntaxError("Certificate: bad serial");
  let aki: Uint8Array | undefined;
  const extWrapper = fields.find((f) => f.tag === 0xa3);
  if (extWrapper) {
    const list = der.children(extWrapper)[0];
    for (const ext of list ? der.children(list) : []) {
      const parts = der.children(ext);
      if (parts[0]?.tag !== der.Tag.OID || der.oidString(parts[0].content) !== OID_AKI) continue;
      const value = parts[parts.length - 1]!;
      const akiSeq = der.read(value.content);
      // keyIdentifier is [0] IMPLICIT OCTET STRING.
      aki = der.children(akiSeq).find((c) => c.tag === 0x80)?.content;
    }
  }
  return { serial: serial.content, aki };
}

/**
 * RFC 9773 §4.1 certificate identifier: base64url(AKI keyIdentifier) "."
 * base64url(serial number DER content octets).
 *
 * @param certDer the leaf certificate
 * @returns the identifier, or undefined when the certificate has no AKI
 */
export function ariCertId(certDer: Uint8Array): string | undefined {
  const { serial, aki } = serialAndAki(certDer);
  return aki ? `${b64url(aki)}.${b64url(serial)}` : undefined;
}

/** Upper-case hex with an even number of digits (node drops a leading 0 nibble). */
function evenHex(hex: string): string {
  const h = hex.toUpperCase();
  return h.length % 2 ? `0${h}` : h;
}

/**
 * Inspects the first certificate of a PEM bundle.
 *
 * @throws {SyntaxError} when the text holds no certificate
 */
export function inspectCertificate(pemBundle: string): CertInfo {
  const block = parsePem(pemBundle).find((b) => b.label === "CERTIFICATE");
  if (!block) throw new SyntaxError("No certificate in PEM data");
  const x = new X509Certificate(block.der);
  const names = (x.subjectAltName ?? "").split(",").map((s) => s.trim()).flatMap((s) => {
    const m = /^(DNS|IP Address):(.+)$/.exec(s);
    return m ? [m[2]!.trim().toLowerCase()] : [];
  });
  return {
    subject: x.subject.replace(/\n/g, ", "),
    issuer: x.issuer.replace(/\n/g, ", "),
    serial: evenHex(x.serialNumber),
    notBefore: new Date(x.validFrom),
    notAfter: new Date(x.validTo),
    names,
    ariCertId: ariCertId(block.der),
  };
}

/** True when the first certificate of the bundle is a CA certificate. */
export function startsWithCa(pemBundle: string): boolean {
  const first = splitCertificates(pemBundle)[0];
  return first ? new X509Certificate(first).ca : false;
}

/** True when every domain is among the certificate's names (exact match, case-insensitive). */
export function coversDomains(info: CertInfo, domains: string[]): boolean {
  const have = new Set(info.names);
  return domains.every((d) => have.has(d.toLowerCase()));
}

/** True when `keyPem` is the private key of the leaf certificate in `certPem`. */
export function keyMatchesCertificate(certPem: string, keyPem: string): boolean {
  try {
    const first = splitCertificates(certPem)[0];
    if (!first) return false;
    return new X509Certificate(first).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    // Unparsable input is simply "does not match": the caller refuses the swap.
    return false;
  }
}
