/**
 * The start-up checks of TLS material and ACME settings, as one function that
 * `-t` and a start both run (lib/config/resolve.ts): the listeners, the route
 * dialer, HTTPS monitoring and the ACME manager check the same things with the
 * same code (`checkTlsBlock`, `resolveSettings`, `createAcmeHttpClient`) when
 * they start, so a configuration `-t` calls valid is one the server starts with.
 *
 * nats-server loads certificates while it parses, so its `-t` catches a
 * missing file or a key that does not match; dnatsd's start-up also refuses
 * what nats-server would only fail at handshake time (an expired certificate,
 * a certificate without the needed extended key usage) and `cipher_suites` or
 * `curve_preferences` the runtime cannot enforce (lib/tls/ciphers.ts).
 *
 * @module
 */
import type { AcmeOptions, Options, TlsOptions } from "../config/options.ts";
import { createAcmeHttpClient, resolveSettings } from "../acme/settings.ts";
import { acmeOptionsFromEnv } from "../acme/env.ts";
import { type CertPurpose, checkTlsBlock } from "./context.ts";
import { HTTPS_NEEDS_TLS, httpsHasCertificate } from "./https_check.ts";

/** Knobs of {@linkcode startupTlsProblems}. */
export interface StartupTlsCheck {
  /**
   * Check certificate, key and CA files (default true). Off in ACME
   * environment mode, where the files appear with the first certificate.
   */
  checkFiles?: boolean;
  /** The time certificates must be valid at (default now). */
  now?: Date;
  /**
   * letsgo-nats' variables when `DOMAINS` is set (ACME environment mode): a
   * start reads them when no top-level `acme` block overrides them.
   */
  acmeEnv?: Record<string, string | undefined> | null | undefined;
}

/** The `tls` blocks a start uses, with what their certificates must be good for. */
function blocksInUse(o: Options): Array<{ where: string; tls: TlsOptions; purpose: CertPurpose }> {
  const out: Array<{ where: string; tls: TlsOptions; purpose: CertPurpose }> = [];
  // The client listener and HTTPS monitoring share the top-level block.
  if (o.tls) out.push({ where: "", tls: o.tls, purpose: "server" });
  // Routes accept and dial with one certificate.
  if (o.cluster && o.cluster.port !== 0 && o.cluster.tls) {
    out.push({ where: "cluster: ", tls: o.cluster.tls, purpose: "both" });
  }
  return out;
}

/**
 * What would stop a start with these options, before any socket is opened.
 *
 * @param o The merged options.
 * @param settings Which checks to run.
 * @returns One message per problem (empty when the start can go ahead).
 */
export function startupTlsProblems(o: Options, settings: StartupTlsCheck = {}): string[] {
  const problems: string[] = [];
  const checkFiles = settings.checkFiles ?? true;
  if (o.httpsPort !== 0 && !httpsHasCertificate(o.tls)) problems.push(HTTPS_NEEDS_TLS);
  const acmeBlocks: AcmeOptions[] = [];
  for (const { where, tls, purpose } of blocksInUse(o)) {
    if (tls.acme && !acmeBlocks.includes(tls.acme)) acmeBlocks.push(tls.acme);
    // Without file checks, only an ACME block (no files) can still be checked.
    if (!checkFiles && !tls.acme) continue;
    try {
      checkTlsBlock(tls, purpose, { now: settings.now });
    } catch (err) {
      problems.push(where + (err as Error).message);
    }
  }
  if (settings.acmeEnv?.DOMAINS && !o.tls?.acme) {
    try {
      const fromEnv = acmeOptionsFromEnv(settings.acmeEnv);
      if (fromEnv) acmeBlocks.push(fromEnv.options);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  for (const acme of acmeBlocks) {
    try {
      resolveSettings(acme);
      createAcmeHttpClient(acme.caRoots)?.close();
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return problems;
}
