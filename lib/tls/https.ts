/**
 * HTTPS monitoring's TLS: the top-level `tls` block's certificate, never
 * client verification (browsers; `verify` does not apply to monitoring), and
 * the same {@link CertificateHolder} so an ACME renewal or reload reaches the
 * monitoring port too (`node:https` servers in Deno support `setSecureContext`).
 *
 * @module
 */
import type { ServerOptions } from "node:https";
import type { TlsOptions } from "../config/options.ts";
import { CertificateHolder, type SecureContextTarget } from "./context.ts";

/**
 * Options for `https.createServer` from a holder.
 *
 * @param holder The client listener's holder (`listener.certificate`), or a new one.
 * @returns cert, key, minimum version; no client certificate request.
 */
export function httpsServerOptions(holder: CertificateHolder): ServerOptions {
  const { cert, key, minVersion } = holder.secureContextOptions();
  return { cert, key, minVersion, requestCert: false, rejectUnauthorized: false };
}

/**
 * Builds the holder for monitoring when no client listener holder exists.
 *
 * @param tls The top-level `tls` block.
 * @returns A holder validated for server use.
 * @throws {TlsConfigError} On bad files or settings.
 */
export function monitoringCertificate(tls: TlsOptions): CertificateHolder {
  return new CertificateHolder(tls, "server");
}

/**
 * Keeps an `https.Server` on the holder's current certificate.
 *
 * @param server The HTTPS server (has `setSecureContext`).
 * @param holder The holder.
 * @returns A function that detaches it (call on close).
 */
export function followCertificate(
  server: SecureContextTarget,
  holder: CertificateHolder,
): () => void {
  // The monitoring context must not carry `ca`: it would make no difference
  // without requestCert, but keep the swap identical to the start options.
  return holder.attach({
    setSecureContext: (o) => {
      const { cert, key, minVersion } = o;
      server.setSecureContext({ cert, key, minVersion });
    },
  });
}
