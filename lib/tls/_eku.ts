/**
 * Reads the extended key usage of a certificate from its DER. Deno's
 * `X509Certificate.keyUsage` returns the plain key usage names, not the EKU
 * OIDs Node returns, so the extension is read here.
 *
 * @module
 */

/** EKU OIDs this server cares about. */
export const Eku = {
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  any: "2.5.29.37.0",
} as const;

const EXT_KEY_USAGE = "2.5.29.37";

interface Tlv {
  tag: number;
  start: number;
  end: number;
  next: number;
}

function readTlv(buf: Uint8Array, at: number): Tlv {
  const tag = buf[at]!;
  let len = buf[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new RangeError("unsupported DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    start += n;
  }
  const end = start + len;
  if (end > buf.length) throw new RangeError("truncated DER");
  return { tag, start, end, next: end };
}

function children(buf: Uint8Array, node: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = node.start; at < node.end;) {
    const c = readTlv(buf, at);
    out.push(c);
    at = c.next;
  }
  return out;
}

function oidText(buf: Uint8Array, node: Tlv): string {
  const b = buf.subarray(node.start, node.end);
  const parts = [Math.floor(b[0]! / 40), b[0]! % 40];
  let v = 0;
  for (let i = 1; i < b.length; i++) {
    v = v * 128 + (b[i]! & 0x7f);
    if ((b[i]! & 0x80) === 0) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join(".");
}

/**
 * The extended key usage OIDs of a certificate.
 *
 * @param der The certificate (DER).
 * @returns The OIDs, or null when the certificate has no EKU extension (any use).
 * @throws {RangeError} On malformed DER.
 */
export function extendedKeyUsage(der: Uint8Array): string[] | null {
  const cert = readTlv(der, 0);
  const tbs = children(der, cert)[0];
  if (!tbs) throw new RangeError("not a certificate");
  // Extensions are the [3] EXPLICIT field at the end of TBSCertificate.
  const extsWrapper = children(der, tbs).find((n) => n.tag === 0xa3);
  if (!extsWrapper) return null;
  const exts = children(der, extsWrapper)[0];
  if (!exts) return null;
  for (const ext of children(der, exts)) {
    const parts = children(der, ext);
    if (parts.length < 2 || oidText(der, parts[0]!) !== EXT_KEY_USAGE) continue;
    const value = parts[parts.length - 1]!; // OCTET STRING after the optional critical flag
    const list = readTlv(der, value.start);
    return children(der, list).filter((n) => n.tag === 0x06).map((n) => oidText(der, n));
  }
  return null;
}

/**
 * Whether a certificate may be used for a purpose (no EKU extension, the
 * purpose, or anyExtendedKeyUsage), as Go's and rustls's verifiers decide.
 *
 * @param der The certificate (DER).
 * @param purpose `Eku.serverAuth` or `Eku.clientAuth`.
 * @returns True when allowed.
 */
export function allowsPurpose(der: Uint8Array, purpose: string): boolean {
  const eku = extendedKeyUsage(der);
  return eku === null || eku.includes(purpose) || eku.includes(Eku.any);
}
