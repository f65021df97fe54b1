/**
 * The certificates the server presents, for /metrics and the dashboard:
 * from the server's `tlsCertificateInfo()` when ACME provides them (a renewed ACME certificate shows at once), otherwise from
 * `options.tls.certFile`, parsed once per file modification.
 *
 * @module
 */
import { X509Certificate } from "node:crypto";
import type { MonitoredServer } from "../server.ts";
import type { TlsCertificateInfo } from "./types.ts";

let cached: { path: string; mtime: number; info: TlsCertificateInfo | null } | null = null;

/**
 * Subject and notAfter of the first certificate in a PEM text.
 *
 * @returns null when the text holds no parsable certificate.
 */
export function parseCertificatePem(pem: string, source = "file"): TlsCertificateInfo | null {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (!m) return null;
  try {
    const x = new X509Certificate(m[0]);
    return {
      subject: x.subject.split("\n").join(","),
      notAfter: new Date(x.validTo),
      source,
      // Issuer, serial and notBefore also feed /varz `tls_cert`.
      issuer: x.issuer.split("\n").join(","),
      serial: x.serialNumber.toUpperCase(),
      notBefore: new Date(x.validFrom),
    };
  } catch {
    return null;
  }
}

/**
 * Certificates the server holds, the one served to clients first (empty
 * without TLS). ACME certificates come from the server's hook; when none of
 * them serves clients (ACME for routes only, or letsgo-nats files nothing
 * uses), the client `cert_file` is listed first.
 */
export function tlsCertificates(server: MonitoredServer): TlsCertificateInfo[] {
  let hooked: TlsCertificateInfo[] | null = null;
  try {
    hooked = server.tlsCertificateInfo();
  } catch (e) {
    server.log.debug(`Monitoring: tlsCertificateInfo() failed: ${(e as Error).message}`);
  }
  if (hooked === null) return clientFileCertificate(server);
  // Waiting for a first certificate (usedBy empty, no file yet) still shows the ACME state.
  if (hooked.some((c) => !c.usedBy || c.usedBy.includes("client"))) return hooked;
  return [...clientFileCertificate(server), ...hooked];
}

/** The client `cert_file`, parsed (cached by modification time). */
function clientFileCertificate(server: MonitoredServer): TlsCertificateInfo[] {
  const path = server.options.tls?.certFile;
  if (!path) return [];
  try {
    const mtime = Deno.statSync(path).mtime?.getTime() ?? 0;
    if (cached === null || cached.path !== path || cached.mtime !== mtime) {
      cached = { path, mtime, info: parseCertificatePem(Deno.readTextFileSync(path)) };
      if (cached.info) cached.info.file = path; // Shown in /varz tls_cert
    }
    return cached.info ? [cached.info] : [];
  } catch {
    return [];
  }
}
