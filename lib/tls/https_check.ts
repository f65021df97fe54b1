/**
 * Whether HTTPS monitoring has a certificate to serve: checked by the monitor
 * when it starts and by `-t` (lib/tls/validate.ts). No imports on purpose: the
 * monitor loads it whether or not TLS is used.
 *
 * @module
 */
import type { TlsOptions } from "../config/options.ts";

/** nats-server's message when HTTPS monitoring has no certificate. */
export const HTTPS_NEEDS_TLS = "TLS cert and key required for HTTPS";

/**
 * True when the top-level `tls` block gives HTTPS monitoring a certificate:
 * `cert_file` and `key_file`, or ACME (whose certificate may arrive later).
 *
 * @param tls The top-level `tls` block, if any.
 */
export function httpsHasCertificate(tls: TlsOptions | undefined): boolean {
  return Boolean(tls?.acme || (tls?.certFile && tls?.keyFile));
}
