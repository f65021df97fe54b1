/**
 * The certificates the server presents, for /metrics and the dashboard:
 * from a `tlsCertificateInfo()` hook on the server when lib/tls or lib/acme
 * provides one (a renewed ACME certificate shows at once), otherwise from
 * `options.tls.certFile`, parsed once per file modification.
 *
 * @module
 */
import { X509Certificate } from "node:crypto";
import type { Server } from "../server.ts";
import type { TlsCertificateInfo, TlsCertificateSource } from "./types.ts";

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
      // acme: issuer, serial and notBefore also feed /varz `tls_cert`.
      issuer: x.issuer.split("\n").join(","),
      serial: x.serialNumber.toUpperCase(),
      notBefore: new Date(x.validFrom),
    };
  } catch {
    return null;
  }
}

/** Certificates currently served to clients (empty without TLS). */
export function tlsCertificates(server: Server): TlsCertificateInfo[] {
  const hook = (server as unknown as Partial<TlsCertificateSource>).tlsCertificateInfo;
  if (typeof hook === "function") {
    try {
      const list = hook.call(server);
      if (Array.isArray(list)) return list;
    } catch (e) {
      server.log.debug(`Monitoring: tlsCertificateInfo() failed: ${(e as Error).message}`);
    }
  }
  const path = server.options.tls?.certFile;
  if (!path) return [];
  try {
    const mtime = Deno.statSync(path).mtime?.getTime() ?? 0;
    if (cached === null || cached.path !== path || cached.mtime !== mtime) {
      cached = { path, mtime, info: parseCertificatePem(Deno.readTextFileSync(path)) };
      if (cached.info) cached.info.file = path; // acme: shown in /varz tls_cert
    }
    return cached.info ? [cached.info] : [];
  } catch {
    return [];
  }
}
