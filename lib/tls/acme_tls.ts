/**
 * Connects lib/acme's {@link AcmeManager} to a running server.
 *
 * Two ways in:
 *
 * - Config mode, `tls { acme { ... } }` and/or `cluster { tls { acme { ... } } }`:
 *   each block gets a manager (one shared manager when both blocks say the
 *   same), which loads a stored certificate or obtains one before the
 *   listeners bind. The listeners start with it (no `cert_file`), and every
 *   renewal is swapped into the client listener and HTTPS monitor (top-level
 *   block) or the route listener and dialer (cluster block) for new
 *   handshakes. Connections already established keep the session they have.
 * - Env mode, letsgo-nats' variables (`DOMAINS`, `ACCOUNT_EMAIL`, ...; only
 *   when `DOMAINS` is set): the certificate is written to
 *   `<OUTPUT_DIRECTORY>/<FILENAME>.crt/.key/.issuer.crt`. When the server's
 *   `tls { cert_file, key_file }` (or the cluster's) name those files,
 *   renewals are swapped in live too: letsgo-nats needed a reload for that,
 *   dnatsd needs nothing.
 *
 * While the first certificate is being obtained, monitoring is already up:
 * /varz `tls_cert` shows the attempts and /healthz why the server is not
 * ready. Failures that a retry cannot fix (a name the CA refuses, missing DNS
 * credentials) stop the start at once; others are retried with back-off,
 * until `startup_timeout` when one is set.
 *
 * Secrets (DNS API tokens, EAB keys) never reach a log line or /varz: every
 * line the manager logs and every error it reports goes through a redactor
 * that knows their values.
 *
 * @module
 */
import { realpathSync } from "node:fs";
import type { AcmeOptions, Options, TlsOptions } from "../config/options.ts";
import type { Logger } from "../ops/logger.ts";
import type { Server } from "../server.ts";
import type { TlsCertificateInfo } from "../monitor/types.ts";
import { sameValue } from "../ops/reload_diff.ts";
import {
  type AcmeCertificate,
  AcmeManager,
  acmeOptionsFromEnv,
  type AcmeStatus,
  type EnvFiles,
  processEnv,
} from "../acme/mod.ts";
import { formatDuration } from "../acme/renewal.ts";

/** Where the ACME settings came from. */
export type AcmeMode = "config" | "env";

/** The TLS users a certificate can go to (the HTTPS monitor follows `client`). */
export type AcmeTarget = "client" | "route";

/** PEM texts for a TLS listener. */
export interface PemPair {
  certPem: string;
  keyPem: string;
}

/** Knobs for {@link AcmeTls.create}, mostly for tests. */
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

/** What one manager is for, derived from the options (and the letsgo-nats environment). */
interface UnitSpec {
  mode: AcmeMode;
  options: AcmeOptions;
  files?: EnvFiles;
  /** Config mode: the blocks whose `acme` this is. Env mode: decided from the files. */
  blocks: AcmeTarget[];
  providerEnv: Record<string, string | undefined>;
}

/**
 * The ACME managers `options` ask for: one per distinct `acme` block, plus
 * one for the letsgo-nats variables when no top-level `acme` block overrides them.
 *
 * @throws {TypeError} When the letsgo-nats variables are invalid (their messages).
 */
function unitSpecs(
  server: Server,
  o: Options,
  settings: AcmeTlsSettings,
  providerEnv: Record<string, string | undefined>,
): UnitSpec[] {
  const specs: UnitSpec[] = [];
  const client = o.tls?.acme;
  const route = o.cluster?.tls?.acme;
  if (client) specs.push({ mode: "config", options: client, blocks: ["client"], providerEnv });
  if (route) {
    const same = specs.find((s) => sameValue(s.options, route));
    if (same) same.blocks.push("route");
    else specs.push({ mode: "config", options: route, blocks: ["route"], providerEnv });
  }
  if (settings.env?.DOMAINS) {
    if (client) {
      server.log.warn(
        "ACME: tls { acme { ... } } is configured; the DOMAINS/ACCOUNT_EMAIL environment variables are ignored",
      );
    } else {
      const parsed = acmeOptionsFromEnv(settings.env);
      if (parsed) {
        specs.push({
          mode: "env",
          options: parsed.options,
          files: parsed.files,
          blocks: [],
          // Provider fallbacks (DO_API_URL, EXEC_PATH, ...) come from the same environment.
          providerEnv: { ...providerEnv, ...settings.env },
        });
      }
    }
  }
  return specs;
}

/** One manager and the TLS users that serve its certificate. */
class AcmeUnit {
  readonly spec: UnitSpec;
  readonly manager: AcmeManager;
  #server: Server;
  #log: Logger;
  #secrets: readonly string[];
  #latest: AcmeCertificate | undefined;
  #targets = new Set<AcmeTarget>();
  #ready = false;

  constructor(server: Server, spec: UnitSpec) {
    this.#server = server;
    this.spec = spec;
    this.#secrets = secretValues(spec.options, spec.providerEnv);
    this.#log = redactingLogger(server, this.#secrets);
    this.manager = new AcmeManager(spec.options, {
      log: this.#log,
      env: spec.providerEnv,
      onCertificate: (c) => this.#renewed(c),
    });
  }

  get mode(): AcmeMode {
    return this.spec.mode;
  }

  get latest(): AcmeCertificate | undefined {
    return this.#latest;
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** True when `target` serves this unit's certificate. */
  serves(target: AcmeTarget): boolean {
    return this.#targets.has(target);
  }

  /** Loads or obtains the first certificate (retrying as the manager does). */
  async first(): Promise<AcmeCertificate> {
    const st0 = this.manager.status();
    this.#log.notice(
      `ACME: ${this.mode === "env" ? "environment" : "configuration"} mode, domains ${
        st0.domains.join(",")
      }, CA ${st0.directoryUrl}`,
    );
    this.#latest = await this.manager.start();
    this.#ready = true;
    return this.#latest;
  }

  /**
   * Decides which TLS users take this certificate under `o` (config mode: the
   * blocks it came from; env mode: those whose cert_file/key_file are its
   * files) and logs it.
   */
  decideTargets(o: Options, quiet = false): void {
    this.#targets.clear();
    const st = this.manager.status();
    if (this.mode === "config") {
      for (const b of this.spec.blocks) this.#targets.add(b);
      if (!quiet) {
        this.#log.notice(
          `ACME: serving certificate ${describe(st)} to ${this.#targetNames().join(" and ")}`,
        );
      }
      return;
    }
    const files = this.spec.files!;
    const uses = (t: TlsOptions | undefined) =>
      t !== undefined && sameFile(t.certFile, files.cert) && sameFile(t.keyFile, files.key);
    if (uses(o.tls)) this.#targets.add("client");
    if (uses(o.cluster?.tls)) this.#targets.add("route");
    if (quiet) return;
    if (this.#targets.size > 0) {
      this.#log.notice(
        `ACME: serving certificate ${describe(st)} to ${
          this.#targetNames().join(" and ")
        }; from ${files.cert}, renewals are swapped in live`,
      );
    } else if (!o.tls) {
      this.#log.notice(
        `ACME: certificate ${describe(st)}; available at ${files.cert} (key ${files.key}); ` +
          `NATS has no tls block, so clients are served as configured ` +
          `(add tls { cert_file: "${files.cert}", key_file: "${files.key}" } to use it)`,
      );
    } else {
      this.#log.warn(
        `ACME: tls.cert_file (${
          o.tls.certFile ?? "unset"
        }) is not the ACME certificate ${files.cert}; ` +
          `renewed certificates will not reach the client listener`,
      );
    }
  }

  #targetNames(): string[] {
    const names: string[] = [];
    if (this.#targets.has("client")) names.push("clients");
    if (this.#targets.has("route")) names.push("routes");
    return names.length ? names : ["nothing yet"];
  }

  /** A renewal: swap it into every TLS user that serves this certificate. */
  #renewed(cert: AcmeCertificate): void {
    this.#latest = cert;
    const st = this.manager.status();
    if (this.#targets.size === 0) {
      this.#log.notice(
        `ACME: renewed certificate ${describe(st)}; written to ${
          this.spec.files?.cert ?? "storage"
        }`,
      );
      return;
    }
    const used = installCertificate(this.#server, this.#targets, cert, this.#log);
    this.#log.notice(
      `ACME: renewed certificate ${describe(st)}; now used by ${
        used.length ? used.join(" and ") : "nothing yet"
      } for new connections; existing connections keep theirs`,
    );
  }

  /** For /varz `tls_cert`, /metrics and the dashboard (no dates before the first certificate). */
  info(): TlsCertificateInfo {
    const st = this.manager.status();
    const info: TlsCertificateInfo = {
      subject: st.subject ?? "",
      notAfter: st.notAfter ?? new Date(0),
      source: this.mode === "env" ? "acme-env" : "acme",
      acmeState: st.state,
      acmeCa: st.directoryUrl,
      domains: st.domains,
      failures: st.failures,
      usedBy: this.#ready ? [...this.#targets] : [],
    };
    if (st.issuer !== undefined) info.issuer = st.issuer;
    if (st.serial !== undefined) info.serial = st.serial;
    if (st.notBefore) info.notBefore = st.notBefore;
    if (st.nextRenewal) info.nextRenewal = st.nextRenewal;
    if (st.nextCheck) info.nextCheck = st.nextCheck;
    if (st.lastError !== undefined) info.lastError = redactValues(st.lastError, this.#secrets);
    if (st.lastErrorAt) info.lastErrorAt = st.lastErrorAt;
    if (this.spec.files) info.file = this.spec.files.cert;
    return info;
  }

  /** The last failure, redacted (for /healthz while waiting). */
  lastError(): string | undefined {
    const e = this.manager.status().lastError;
    return e === undefined ? undefined : redactValues(e, this.#secrets);
  }
}

/**
 * Puts `cert` into the TLS users named by `targets`: the client listener and
 * HTTPS monitor for `client`, the route listener and dialer for `route`.
 *
 * @returns What took it, for the log.
 */
function installCertificate(
  server: Server,
  targets: ReadonlySet<AcmeTarget>,
  cert: PemPair,
  log: Logger,
): string[] {
  const used: string[] = [];
  const put = (what: string, fn: () => void) => {
    try {
      fn();
      used.push(what);
    } catch (e) {
      log.error(`ACME: ${what} kept its certificate: ${(e as Error).message}`);
    }
  };
  if (targets.has("client")) {
    const holder = server.clientTls?.certificate;
    if (holder) put("client TLS", () => holder.setCertificate(cert.certPem, cert.keyPem));
    // The HTTPS monitor serves the top-level tls block's certificate.
    const mon = server.monitor;
    if (mon && mon.httpsPort > 0) {
      put("HTTPS monitor", () => mon.setCertificate(cert.certPem, cert.keyPem));
    }
  }
  if (targets.has("route")) {
    const holder = server.cluster?.routeTlsCertificate;
    if (holder) put("route TLS", () => holder.setCertificate(cert.certPem, cert.keyPem));
  }
  return used;
}

/** Servers whose shutdown already stops their ACME managers. */
const stopsOnShutdown = new WeakSet<Server>();

/**
 * The ACME side of a server (`server.acme`): its managers, which TLS users
 * take their certificates, and what monitoring reports about them.
 */
export class AcmeTls {
  #server: Server;
  #units: AcmeUnit[];
  #settings: AcmeTlsSettings;
  #providerEnv: Record<string, string | undefined>;

  private constructor(
    server: Server,
    units: AcmeUnit[],
    settings: AcmeTlsSettings,
    providerEnv: Record<string, string | undefined>,
  ) {
    this.#server = server;
    this.#units = units;
    this.#settings = settings;
    this.#providerEnv = providerEnv;
    if (!stopsOnShutdown.has(server)) {
      stopsOnShutdown.add(server);
      // Reads server.acme at shutdown: a reload may have replaced or removed it.
      server.extensions.push({ shutdown: () => server.acme?.stop() });
    }
  }

  /**
   * Builds the managers `server.options` (and the letsgo-nats environment)
   * ask for, without contacting any CA yet.
   *
   * @returns The handle, or null when no ACME is configured.
   * @throws {TypeError|RangeError} When the settings are invalid (letsgo-nats'
   *   messages in env mode).
   */
  static create(server: Server, settings: AcmeTlsSettings = {}): AcmeTls | null {
    const providerEnv = settings.providerEnv ?? processEnv();
    const specs = unitSpecs(server, server.options, settings, providerEnv);
    if (specs.length === 0) return null;
    const units = specs.map((s) => new AcmeUnit(server, s));
    return new AcmeTls(server, units, settings, providerEnv);
  }

  /**
   * Waits for every manager's first certificate, then hands them to the TLS
   * users (an HTTPS monitor started earlier gets its certificate here).
   *
   * @throws {Error} When a failure cannot be fixed by retrying, when
   *   `startup_timeout` passes first, or when the server shuts down meanwhile.
   */
  async ready(): Promise<void> {
    await waitFirst(this.#units, "start");
    for (const u of this.#units) {
      u.decideTargets(this.#server.options);
      // Listeners not bound yet pick the certificate up through pemFor();
      // the monitor, started before the first order, gets it now.
      if (u.serves("client") && u.latest) {
        this.#server.monitor?.setCertificate(u.latest.certPem, u.latest.keyPem);
      }
    }
  }

  /**
   * The certificate ACME serves to `target` now (config mode, when that
   * target's tls block has `acme`); undefined when the target reads files.
   */
  pemFor(target: AcmeTarget): PemPair | undefined {
    return pemOf(this.#units, target);
  }

  /** Why the server is not serving yet, while a first certificate is awaited. */
  waitingReason(): string | null {
    const waiting = this.#units.find((u) => !u.ready);
    if (!waiting) return null;
    const err = waiting.lastError();
    return `waiting for the first ACME certificate for ${
      waiting.manager.status().domains.join(",")
    }${err ? ` (last error: ${err})` : ""}`;
  }

  /** The certificates for /varz `tls_cert`, /metrics and the dashboard; the client one first. */
  certificateInfo(): TlsCertificateInfo[] {
    const units = [...this.#units].sort((a, b) =>
      Number(b.serves("client")) - Number(a.serves("client"))
    );
    return units.map((u) => u.info()).filter((i) => i.notAfter.getTime() > 0 || i.lastError);
  }

  /** Stops every manager (shutdown). */
  async stop(): Promise<void> {
    await Promise.all(this.#units.map((u) => u.manager.stop()));
  }

  /**
   * Config reload: starts managers for `acme` blocks that are new or changed
   * in `next` and waits for their certificates (bounded), keeping unchanged
   * ones. Nothing changes for the running server until `commit()`.
   *
   * @returns null when the ACME settings are the same.
   * @throws {Error} When a new manager cannot get a certificate in time.
   */
  static async prepareReload(server: Server, next: Options): Promise<AcmeReloadPlan | null> {
    const current = server.acme;
    const settings = current ? current.#settings : { env: server.acmeEnv };
    const providerEnv = current ? current.#providerEnv : settings.providerEnv ?? processEnv();
    const specs = unitSpecs(server, next, settings, providerEnv);
    const old = current ? current.#units : [];
    const kept: AcmeUnit[] = [];
    const fresh: AcmeUnit[] = [];
    /** The blocks each unit serves after commit (kept units change only then). */
    const blocks = new Map<AcmeUnit, AcmeTarget[]>();
    const units = specs.map((spec) => {
      const same = old.find((u) =>
        !kept.includes(u) && u.mode === spec.mode && sameValue(u.spec.options, spec.options)
      );
      const u = same ?? new AcmeUnit(server, spec);
      (same ? kept : fresh).push(u);
      blocks.set(u, spec.blocks);
      return u;
    });
    const dropped = old.filter((u) => !kept.includes(u));
    const moved = kept.some((u) => !sameValue(u.spec.blocks, blocks.get(u)));
    if (fresh.length === 0 && dropped.length === 0 && !moved) return null;
    try {
      await waitFirst(fresh, "reload");
    } catch (e) {
      await Promise.all(fresh.map((u) => u.manager.stop()));
      throw e;
    }
    return {
      pemFor: (target) => {
        const u = units.find((x) => x.mode === "config" && blocks.get(x)!.includes(target));
        return u?.latest ? { certPem: u.latest.certPem, keyPem: u.latest.keyPem } : undefined;
      },
      commit: () => {
        for (const u of units) {
          u.spec.blocks.splice(0, u.spec.blocks.length, ...blocks.get(u)!);
          u.decideTargets(next, kept.includes(u) && !moved);
        }
        if (units.length === 0) server.setAcme(null);
        else if (current) current.#units = units;
        else server.setAcme(new AcmeTls(server, units, settings, providerEnv));
        // The TLS holders and the HTTPS monitor take the new certificates in
        // lib/ops/reload_tls.ts, from pemFor().
        for (const u of dropped) {
          u.manager.stop().catch(() => {});
          server.log.notice(
            `ACME: stopped renewing ${u.manager.status().domains.join(",")} (no longer configured)`,
          );
        }
      },
      rollback: async () => {
        await Promise.all(fresh.map((u) => u.manager.stop()));
      },
    };
  }
}

/** What {@link AcmeTls.prepareReload} prepared; see lib/tls/acme_reload.ts. */
export interface AcmeReloadPlan {
  /** The certificate `target` will serve after commit (undefined: none from ACME). */
  pemFor(target: AcmeTarget): PemPair | undefined;
  /** Makes the new ACME setup current and stops what it replaces (never throws). */
  commit(): void;
  /** Stops what prepare started; the running setup stays. */
  rollback(): Promise<void>;
}

function pemOf(units: readonly AcmeUnit[], target: AcmeTarget): PemPair | undefined {
  const u = units.find((x) => x.mode === "config" && x.spec.blocks.includes(target));
  const c = u?.latest;
  return c ? { certPem: c.certPem, keyPem: c.keyPem } : undefined;
}

/** How long a reload waits for a new ACME block's first certificate by default. */
const RELOAD_WAIT_MS = 120_000;

/**
 * Waits for each unit's first certificate, bounded by its `startupTimeoutMs`
 * (at start) or {@link RELOAD_WAIT_MS} (reload, which must not hang).
 */
async function waitFirst(units: readonly AcmeUnit[], why: "start" | "reload"): Promise<void> {
  await Promise.all(units.map(async (u) => {
    const limit = u.spec.options.startupTimeoutMs ?? (why === "reload" ? RELOAD_WAIT_MS : 0);
    if (limit <= 0) return void await u.first();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = u.lastError();
        reject(
          new Error(
            `ACME: no certificate for ${u.manager.status().domains.join(",")} within ${
              formatDuration(limit)
            }${why === "start" ? " (startup_timeout)" : "; reload aborted"}${
              err ? `; last error: ${err}` : ""
            }`,
          ),
        );
      }, limit);
    });
    try {
      await Promise.race([u.first(), timeout]);
    } catch (e) {
      await u.manager.stop();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }));
}
