/**
 * Connects lib/acme's {@link AcmeManager} to a running server.
 *
 * Two ways in:
 *
 * - Config mode, `tls { acme { ... } }`: the manager loads a stored
 *   certificate or obtains one before the client listener binds, the listener
 *   starts with it (no `cert_file`), and every renewal is swapped into the
 *   client listener and the HTTPS monitor for new handshakes. Connections
 *   already established keep the session they have.
 * - Env mode, letsgo-nats' variables (`DOMAINS`, `ACCOUNT_EMAIL`, ...; only
 *   when `DOMAINS` is set): the certificate is written to
 *   `<OUTPUT_DIRECTORY>/<FILENAME>.crt/.key/.issuer.crt`. When the server's
 *   `tls { cert_file, key_file }` name those files, renewals are swapped in
 *   live too: letsgo-nats needed a reload for that, dnatsd needs nothing.
 *
 * Secrets (DNS API tokens, EAB keys) never reach a log line or /varz: every
 * line the manager logs and every error it reports goes through a redactor
 * that knows their values.
 *
 * @module
 */
import { realpathSync } from "node:fs";
import type { AcmeOptions } from "../config/options.ts";
import type { Logger } from "../ops/logger.ts";
import type { Server } from "../server.ts";
import type { TlsCertificateInfo } from "../monitor/types.ts";
import {
  type AcmeCertificate,
  AcmeManager,
  acmeOptionsFromEnv,
  type AcmeStatus,
  type EnvFiles,
} from "../acme/mod.ts";

/** Where the ACME settings came from. */
export type AcmeMode = "config" | "env";

/** Knobs for {@link startAcmeTls}, mostly for tests. */
export interface AcmeTlsSettings {
  /** letsgo-nats variables (env mode); ignored when `tls { acme }` is configured. */
  env?: Record<string, string | undefined> | null;
  /** Environment for DNS provider fallbacks (default: the process environment). */
  providerEnv?: Record<string, string | undefined>;
}

/** `extra` keys whose values are secrets (paths, URLs and ids are not). */
const SECRET_KEY = /(token|secret|password|passwd|hmac|private)/i;
const NOT_SECRET_KEY = /(_file|_vault|_url|_endpoint|_id)$/i;
/** Environment variables whose values are secrets. */
const SECRET_ENV = /(TOKEN|SECRET|PASSWORD|HMAC)/i;

/**
 * The values to hide from logs and monitoring.
 *
 * @param options The ACME options (extra provider settings, EAB).
 * @param env The environment the providers may read.
 * @returns Non-trivial secret strings, longest first.
 */
export function secretValues(
  options: AcmeOptions,
  env: Record<string, string | undefined> = {},
): string[] {
  const out = new Set<string>();
  for (const [k, v] of Object.entries(options.extra)) {
    if (typeof v === "string" && SECRET_KEY.test(k) && !NOT_SECRET_KEY.test(k)) out.add(v);
  }
  if (options.eab?.hmacKey) out.add(options.eab.hmacKey);
  for (const [k, v] of Object.entries(env)) {
    if (v && SECRET_ENV.test(k) && !NOT_SECRET_KEY.test(k)) out.add(v);
  }
  // Very short values would blank out ordinary words; they are not real tokens anyway.
  return [...out].filter((s) => s.length >= 6).sort((a, b) => b.length - a.length);
}

/** Replaces each secret value in `text` with `[REDACTED]`. */
export function redactValues(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) out = out.replaceAll(s, "[REDACTED]");
  return out;
}

/** A Logger that forwards to the server's current logger (reload may replace it), redacted. */
function redactingLogger(server: Server, secrets: readonly string[]): Logger {
  const r = (m: string) => redactValues(m, secrets);
  return {
    get debugEnabled() {
      return server.log.debugEnabled;
    },
    get traceEnabled() {
      return server.log.traceEnabled;
    },
    notice: (m) => server.log.notice(r(m)),
    warn: (m) => server.log.warn(r(m)),
    error: (m) => server.log.error(r(m)),
    fatal: (m) => server.log.fatal(r(m)),
    debug: (m) => server.log.debug(r(m)),
    trace: (m) => server.log.trace(r(m)),
    reopen: () => {},
    close: () => {},
  };
}

function safeEnv(): Record<string, string | undefined> {
  try {
    return Deno.env.toObject();
  } catch {
    return {};
  }
}

/** Same file, following links; false when either does not exist. */
function sameFile(a: string | undefined, b: string): boolean {
  if (!a) return false;
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

function iso(d: Date | undefined): string {
  return d ? d.toISOString() : "unknown";
}

/** One line describing the certificate the manager holds. */
function describe(st: AcmeStatus): string {
  return `subject "${st.subject ?? "?"}", issuer "${st.issuer ?? "?"}", serial ${
    st.serial ?? "?"
  }, valid until ${iso(st.notAfter)}, next renewal ${iso(st.nextRenewal)}`;
}

/**
 * The ACME side of a server: owns the manager, knows which TLS users take
 * its certificates, and reports them to monitoring.
 */
export class AcmeTls {
  readonly mode: AcmeMode;
  readonly manager: AcmeManager;
  /** Env mode: the files letsgo-nats would write. */
  readonly files: EnvFiles | undefined;
  #server: Server;
  #log: Logger;
  #secrets: readonly string[];
  #initial: AcmeCertificate | undefined;
  #swapListener = false;

  private constructor(
    server: Server,
    init: {
      mode: AcmeMode;
      options: AcmeOptions;
      files?: EnvFiles;
      providerEnv: Record<string, string | undefined>;
    },
  ) {
    this.#server = server;
    this.mode = init.mode;
    this.files = init.files;
    this.#secrets = secretValues(init.options, init.providerEnv);
    this.#log = redactingLogger(server, this.#secrets);
    this.manager = new AcmeManager(init.options, {
      log: this.#log,
      env: init.providerEnv,
      onCertificate: (c) => this.#renewed(c),
    });
  }

  /**
   * Builds the manager from the options (or the env) and waits for the first
   * certificate; see {@link startAcmeTls}.
   */
  static async start(server: Server, settings: AcmeTlsSettings = {}): Promise<AcmeTls | null> {
    const o = server.options;
    const providerEnv = settings.providerEnv ?? safeEnv();
    let acme: AcmeTls;
    if (o.tls?.acme) {
      if (settings.env?.DOMAINS) {
        server.log.warn(
          "ACME: tls { acme { ... } } is configured; the DOMAINS/ACCOUNT_EMAIL environment variables are ignored",
        );
      }
      acme = new AcmeTls(server, { mode: "config", options: o.tls.acme, providerEnv });
    } else {
      if (!settings.env) return null;
      const parsed = acmeOptionsFromEnv(settings.env);
      if (!parsed) return null;
      // Provider fallbacks (DO_API_URL, EXEC_PATH, ...) come from the same environment.
      acme = new AcmeTls(server, {
        mode: "env",
        options: parsed.options,
        files: parsed.files,
        providerEnv: { ...providerEnv, ...settings.env },
      });
    }
    // Registered before waiting, so a shutdown during the first order stops it.
    server.extensions.push({ shutdown: () => acme.manager.stop() });
    const st0 = acme.manager.status();
    server.log.notice(
      `ACME: ${acme.mode === "env" ? "environment" : "configuration"} mode, domains ${
        st0.domains.join(",")
      }, CA ${st0.directoryUrl}`,
    );
    acme.#initial = await acme.manager.start();
    acme.#decideTargets();
    return acme;
  }

  /** Which users take renewals; logs what the first certificate is used for. */
  #decideTargets(): void {
    const o = this.#server.options;
    const st = this.manager.status();
    if (this.mode === "config") {
      this.#swapListener = true;
      this.#log.notice(`ACME: serving certificate ${describe(st)}`);
      return;
    }
    const files = this.files!;
    if (!o.tls) {
      this.#log.notice(
        `ACME: certificate ${describe(st)}; available at ${files.cert} (key ${files.key}); ` +
          `NATS has no tls block, so clients are served as configured ` +
          `(add tls { cert_file: "${files.cert}", key_file: "${files.key}" } to use it)`,
      );
      return;
    }
    if (sameFile(o.tls.certFile, files.cert) && sameFile(o.tls.keyFile, files.key)) {
      this.#swapListener = true;
      this.#log.notice(
        `ACME: serving certificate ${
          describe(st)
        }; from ${files.cert}, renewals are swapped in live`,
      );
      return;
    }
    this.#log.warn(
      `ACME: tls.cert_file (${
        o.tls.certFile ?? "unset"
      }) is not the ACME certificate ${files.cert}; ` +
        `renewed certificates will not reach the client listener`,
    );
  }

  /**
   * The certificate the client listener starts with in config mode (there are
   * no files to read); undefined in env mode, where the listener reads them.
   */
  listenerCertificate(): { certPem: string; keyPem: string } | undefined {
    if (this.mode !== "config" || !this.#initial) return undefined;
    return { certPem: this.#initial.certPem, keyPem: this.#initial.keyPem };
  }

  /** A renewal: swap it into every TLS user that serves the ACME certificate. */
  #renewed(cert: AcmeCertificate): void {
    const server = this.#server;
    const st = this.manager.status();
    if (!this.#swapListener) {
      this.#log.notice(
        `ACME: renewed certificate ${describe(st)}; written to ${this.files?.cert ?? "storage"}`,
      );
      return;
    }
    const used: string[] = [];
    const holder = server.clientTls?.certificate;
    if (holder) {
      try {
        holder.setCertificate(cert.certPem, cert.keyPem);
        used.push("client TLS");
      } catch (e) {
        this.#log.error(`ACME: client TLS kept its certificate: ${(e as Error).message}`);
      }
    }
    // The HTTPS monitor serves the top-level tls block's certificate.
    const mon = server.monitor as
      | (typeof server.monitor & { setCertificate?: (c: string, k: string) => void })
      | null;
    if (mon && mon.httpsPort > 0 && typeof mon.setCertificate === "function") {
      try {
        mon.setCertificate(cert.certPem, cert.keyPem);
        used.push("HTTPS monitor");
      } catch (e) {
        this.#log.error(`ACME: HTTPS monitor kept its certificate: ${(e as Error).message}`);
      }
    }
    this.#log.notice(
      `ACME: renewed certificate ${describe(st)}; now used by ${
        used.length ? used.join(" and ") : "nothing yet"
      } for new connections; existing connections keep theirs`,
    );
  }

  /** The certificate for /varz `tls_cert`, /metrics and the dashboard. */
  certificateInfo(): TlsCertificateInfo[] {
    const st = this.manager.status();
    if (!st.notAfter) return [];
    const info: TlsCertificateInfo = {
      subject: st.subject ?? "",
      notAfter: st.notAfter,
      source: this.mode === "env" ? "acme-env" : "acme",
      acmeState: st.state,
      acmeCa: st.directoryUrl,
      domains: st.domains,
      failures: st.failures,
    };
    if (st.issuer !== undefined) info.issuer = st.issuer;
    if (st.serial !== undefined) info.serial = st.serial;
    if (st.notBefore) info.notBefore = st.notBefore;
    if (st.nextRenewal) info.nextRenewal = st.nextRenewal;
    if (st.nextCheck) info.nextCheck = st.nextCheck;
    if (st.lastError !== undefined) info.lastError = redactValues(st.lastError, this.#secrets);
    if (st.lastErrorAt) info.lastErrorAt = st.lastErrorAt;
    if (this.files) info.file = this.files.cert;
    return [info];
  }
}

/**
 * Starts ACME for `server` when `tls { acme }` is configured or the letsgo-nats
 * variables are given, and resolves once a certificate is available (stored
 * or newly obtained; failures are retried with back-off meanwhile).
 *
 * @param server The server, before its client listener binds.
 * @param settings The letsgo-nats environment (env mode) and provider environment.
 * @returns The handle, or null when neither mode applies.
 * @throws {TypeError} When the settings are invalid (letsgo-nats' messages in env mode).
 * @throws {Error} When the server shuts down before a certificate was obtained.
 */
export function startAcmeTls(
  server: Server,
  settings: AcmeTlsSettings = {},
): Promise<AcmeTls | null> {
  return AcmeTls.start(server, settings);
}
