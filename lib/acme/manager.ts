/**
 * The ACME lifecycle for one certificate: load or obtain it at start, check it
 * on a schedule, renew it (ARI window or lifetime fraction), retry failures
 * with back-off, and hand each new certificate to the server after checking
 * that its key matches.
 *
 * Several dnatsd processes may share the storage: obtaining happens under a
 * storage lock, and whoever gets the lock looks at the storage again first,
 * because another process may have just finished the same job.
 *
 * @module
 */
import type { AcmeOptions } from "../config/options.ts";
import type { Logger } from "../ops/logger.ts";
import { AcmeClient, AcmeError } from "./acme_client.ts";
import { splitCertificates } from "./_encoding.ts";
import {
  type CertInfo,
  coversDomains,
  inspectCertificate,
  keyMatchesCertificate,
  startsWithCa,
} from "./cert_info.ts";
import { type Dns01Options, Dns01Solver, Http01Solver } from "./challenges.ts";
import { createDnsProvider } from "./dns/factory.ts";
import { FileStorage } from "./file_storage.ts";
import { type ChallengeSolver, obtainCertificate } from "./issuer.ts";
import { generateKeyPair, importPrivateKeyPem, type KeyPair, privateKeyToPem } from "./keys.ts";
import {
  type AriState,
  formatDuration,
  nextCheckDelay,
  pickInWindow,
  type RenewalRule,
  renewalTime,
} from "./renewal.ts";
import { AcmeSettingsError, isPermanentFailure } from "./failure.ts";
import { abortableDelay, Backoff } from "./retry.ts";
import {
  createAcmeHttpClient,
  extraBool,
  extraNumber,
  type ResolvedSettings,
  resolveSettings,
} from "./settings.ts";
import { loadText, type Storage } from "./storage.ts";
import { processEnv } from "./env.ts";

/** A certificate ready for a TLS server. */
export interface AcmeCertificate {
  /** Leaf followed by the issuer chain (what `cert_file` holds). */
  certPem: string;
  keyPem: string;
  /** The issuer chain without the leaf. */
  chainPem: string;
  notAfter: Date;
  /** Upper-case hex. */
  serial: string;
}

/** What /varz and /metrics show about ACME. */
export interface AcmeStatus {
  domains: string[];
  /** `starting`, `ready`, `renewing`, `failing` (a retry is scheduled), or `stopped`. */
  state: "starting" | "ready" | "renewing" | "failing" | "stopped";
  directoryUrl: string;
  subject?: string;
  issuer?: string;
  notBefore?: Date;
  notAfter?: Date;
  serial?: string;
  nextRenewal?: Date;
  nextCheck?: Date;
  /** The CA's ARI window, when it offers one. */
  renewalWindow?: { start: Date; end: Date };
  lastError?: string;
  lastErrorAt?: Date;
  /** Consecutive failed attempts. */
  failures: number;
}

/** Collaborators and test knobs of {@link AcmeManager}. */
export interface AcmeManagerDeps {
  log: Logger;
  /** Called with every certificate obtained after `start()` resolved. */
  onCertificate: (cert: AcmeCertificate) => void;
  now?: () => Date;
  /** Environment for provider fallbacks (default `Deno.env.toObject()`). */
  env?: Record<string, string | undefined>;
  /** Default: a {@link FileStorage} on `options.storageDir`. */
  storage?: Storage;
  /** Back-off table in ms (default {@link DEFAULT_RETRY_DELAYS_MS}). */
  retryDelaysMs?: readonly number[];
  /** Lock refresh interval of the default file storage. */
  lockRefreshMs?: number;
}

interface Meta {
  ca: string;
  domains: string[];
  serial: string;
  obtainedAt: string;
}

interface Loaded {
  cert: AcmeCertificate;
  info: CertInfo;
}

const STOPPED = "ACME manager stopped";

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * How the DNS-01 solver waits for the TXT record: `dns_resolvers`,
 * `dns_timeout` (seconds per query), `dns_propagation_timeout` (seconds in
 * all) and `dns_propagation_all` (every resolver, not any one).
 *
 * @param o The ACME options.
 * @param log Where the solver logs.
 * @returns The solver's options.
 */
export function dns01SolverOptions(o: AcmeOptions, log: Logger): Dns01Options {
  const x = o.extra;
  const opts: Dns01Options = { log };
  if (o.dnsResolvers?.length) opts.resolvers = o.dnsResolvers;
  const all = extraBool(x, "dns_propagation_all");
  if (all !== undefined) opts.requireAll = all;
  const qt = extraNumber(x, "dns_timeout");
  if (qt) opts.queryTimeoutMs = qt * 1000;
  const pt = extraNumber(x, "dns_propagation_timeout");
  if (pt) opts.propagationTimeoutMs = pt * 1000;
  return opts;
}

/** Obtains and renews one certificate; see the module comment. */
export class AcmeManager {
  #o: AcmeOptions;
  #d: AcmeManagerDeps;
  #s: ResolvedSettings;
  #storage: Storage;
  #now: () => Date;
  #backoff: Backoff;
  #abort = new AbortController();
  #current: Loaded | undefined;
  #ari: AriState | undefined;
  #state: AcmeStatus["state"] = "starting";
  #started = false;
  #stopped = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #nextCheck: Date | undefined;
  #lastError: string | undefined;
  #lastErrorAt: Date | undefined;
  #job: Promise<unknown> | undefined;
  #client: AcmeClient | undefined;
  #accountReady = false;
  #httpClient: Deno.HttpClient | undefined;
  #solver: ChallengeSolver | undefined;

  /**
   * @throws {TypeError|RangeError} when the options cannot work (no domains, ToS not agreed, ...)
   */
  constructor(options: AcmeOptions, deps: AcmeManagerDeps) {
    this.#o = options;
    this.#d = deps;
    this.#s = resolveSettings(options);
    this.#now = deps.now ?? (() => new Date());
    this.#backoff = new Backoff(deps.retryDelaysMs);
    this.#storage = deps.storage ??
      new FileStorage(options.storageDir, { lockRefreshMs: deps.lockRefreshMs ?? 5000 });
  }

  get #what(): string {
    return this.#s.domains.join(",");
  }

  /**
   * Loads a usable stored certificate or obtains one, retrying with back-off
   * until it succeeds or `stop()` is called.
   *
   * @returns the certificate to serve
   * @throws {Error} when stopped before a certificate was available
   */
  start(): Promise<AcmeCertificate> {
    const p = this.#startJob();
    this.#job = p.catch(() => {});
    return p;
  }

  async #startJob(): Promise<AcmeCertificate> {
    const log = this.#d.log;
    this.#httpClient = createAcmeHttpClient(this.#o.caRoots);
    this.#current = await this.#loadStored(false);
    if (this.#current) {
      const c = this.#current.cert;
      log.notice(
        `ACME: using stored certificate for ${this.#what} (serial ${c.serial}, expires ${c.notAfter.toISOString()})`,
      );
    }
    for (;;) {
      try {
        if (this.#current) {
          await this.#refreshAri();
          if (this.#isDue(this.#current)) {
            try {
              await this.#renewLocked();
            } catch (err) {
              if (this.#stopped) throw new Error(STOPPED);
              // A still valid certificate is good enough to start with; keep trying later.
              this.#schedule(this.#failed(err));
            }
          }
        } else {
          await this.#renewLocked();
        }
        break;
      } catch (err) {
        if (this.#stopped) throw new Error(STOPPED, { cause: err });
        if (!this.#current && isPermanentFailure(err)) {
          // Nothing to serve and nothing a retry can fix: say so now instead
          // of waiting for hours with the listener down.
          this.#failed(err, false);
          throw new Error(
            `ACME: cannot obtain a certificate for ${this.#what}: ${errText(err)} ` +
              `(a retry cannot fix this; check the acme settings)`,
            { cause: err },
          );
        }
        const delay = this.#failed(err);
        this.#nextCheck = new Date(this.#now().getTime() + delay);
        await abortableDelay(delay, this.#abort.signal).catch(() => {});
        if (this.#stopped) throw new Error(STOPPED, { cause: err });
      }
    }
    this.#started = true;
    if (this.#timer === undefined) this.#scheduleNext();
    return this.#current!.cert;
  }

  /** Stops timers and in-flight work; the current certificate stays valid. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#state = "stopped";
    this.#abort.abort(new Error(STOPPED));
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#job?.catch(() => {});
    if (this.#solver instanceof Http01Solver) await this.#solver.close();
    this.#httpClient?.close();
    this.#httpClient = undefined;
  }

  /** A snapshot for monitoring. */
  status(): AcmeStatus {
    const st: AcmeStatus = {
      domains: [...this.#s.domains],
      state: this.#state,
      directoryUrl: this.#s.directoryUrl,
      failures: this.#backoff.failures,
    };
    const cur = this.#current;
    if (cur) {
      st.subject = cur.info.subject;
      st.issuer = cur.info.issuer;
      st.notBefore = cur.info.notBefore;
      st.notAfter = cur.info.notAfter;
      st.serial = cur.info.serial;
      st.nextRenewal = renewalTime(cur.info, this.#rule, this.#ariFor(cur));
    }
    if (this.#nextCheck) st.nextCheck = this.#nextCheck;
    if (this.#ari && cur && this.#ariFor(cur)) {
      st.renewalWindow = { start: this.#ari.windowStart, end: this.#ari.windowEnd };
    }
    if (this.#lastError !== undefined) st.lastError = this.#lastError;
    if (this.#lastErrorAt) st.lastErrorAt = this.#lastErrorAt;
    return st;
  }

  #ariFor(cur: Loaded): AriState | undefined {
    return this.#ari && this.#ari.certId === cur.info.ariCertId ? this.#ari : undefined;
  }

  /** `renew_fraction` and `renew_before` as renewal.ts takes them. */
  get #rule(): RenewalRule {
    return { fraction: this.#s.renewFraction, beforeMs: this.#s.renewBeforeMs };
  }

  #isDue(cur: Loaded): boolean {
    return this.#now() >= renewalTime(cur.info, this.#rule, this.#ariFor(cur));
  }

  /**
   * Records a failure and returns the delay before the next attempt; logs it
   * unless `log` is false (the caller reports it another way).
   */
  #failed(err: unknown, log = true): number {
    const retryAfter = err instanceof AcmeError ? err.retryAfterMs : undefined;
    const delay = this.#backoff.next(retryAfter);
    this.#lastError = errText(err);
    this.#lastErrorAt = this.#now();
    this.#state = "failing";
    // A new session next time: the CA may have restarted and lost our account.
    this.#client = undefined;
    this.#accountReady = false;
    const left = this.#current
      ? `; certificate expires in ${
        formatDuration(this.#current.cert.notAfter.getTime() - this.#now().getTime())
      }`
      : "";
    if (!log) return delay;
    this.#d.log.error(
      `ACME: obtaining a certificate for ${this.#what} failed (attempt ${this.#backoff.failures}): ${this.#lastError}; retrying in ${
        formatDuration(delay)
      }${left}`,
    );
    return delay;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#nextCheck = new Date(this.#now().getTime() + ms);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#job = this.#check();
    }, ms);
  }

  /** Next check: the renewal time or the check interval, whichever comes first. */
  #scheduleNext(): void {
    const cur = this.#current;
    const at = cur ? renewalTime(cur.info, this.#rule, this.#ariFor(cur)) : undefined;
    this.#schedule(nextCheckDelay(this.#now(), this.#s.checkIntervalMs, at));
  }

  async #check(): Promise<void> {
    try {
      await this.#refreshAri();
      const cur = this.#current;
      if (cur) {
        const life = cur.info.notAfter.getTime() - cur.info.notBefore.getTime();
        const left = cur.info.notAfter.getTime() - this.#now().getTime();
        if (left < life / 10) {
          this.#d.log.warn(
            `ACME: certificate for ${this.#what} expires in ${
              formatDuration(left)
            } (${cur.info.notAfter.toISOString()})`,
          );
        }
      }
      if (!cur || this.#isDue(cur)) {
        this.#state = "renewing";
        await this.#renewLocked();
      }
      this.#state = "ready";
      this.#scheduleNext();
    } catch (err) {
      if (this.#stopped) return;
      this.#schedule(this.#failed(err));
    }
  }

  /** Takes the storage lock, re-checks storage, and obtains when still needed. */
  async #renewLocked(): Promise<void> {
    const lock = this.#s.keys.lock;
    await this.#storage.lock(lock, { signal: this.#abort.signal });
    try {
      const again = await this.#loadStored(true);
      if (again && !this.#isDue(again) && again.info.serial !== this.#current?.info.serial) {
        this.#d.log.notice(
          `ACME: storage already holds a fresh certificate for ${this.#what} (serial ${again.cert.serial}); using it`,
        );
        this.#install(again);
        return;
      }
      if (again && !this.#isDue(again)) return;
      await this.#obtain();
    } finally {
      await this.#storage.unlock(lock).catch((err) =>
        this.#d.log.warn(`ACME: releasing lock ${lock} failed: ${errText(err)}`)
      );
    }
  }

  async #obtain(): Promise<void> {
    const log = this.#d.log;
    // The solver first: a provider without credentials fails here, before any CA request.
    const solver = await this.#getSolver();
    const client = await this.#acme();
    if (!this.#accountReady) {
      const acct: { email?: string; termsAgreed: boolean; eab?: { kid: string; hmacKey: string } } =
        {
          termsAgreed: this.#o.agreeTos,
        };
      if (this.#o.email) acct.email = this.#o.email;
      if (this.#o.eab) acct.eab = this.#o.eab;
      const kid = await client.account(acct);
      log.debug(`ACME: account ${kid}`);
      this.#accountReady = true;
    }
    const prev = this.#current;
    const replaces = prev && this.#ariFor(prev) ? prev.info.ariCertId : undefined;
    log.notice(
      `ACME: ${
        prev ? "renewing" : "obtaining"
      } a certificate for ${this.#what} from ${this.#s.directoryUrl} (${solver.type})`,
    );
    const opts = {
      domains: this.#s.domains,
      keyType: this.#o.keyType,
      solver,
      log,
      pollTimeoutMs: this.#s.pollTimeoutMs,
      signal: this.#abort.signal,
    };
    let issued;
    try {
      issued = await obtainCertificate(client, replaces ? { ...opts, replaces } : opts);
    } catch (err) {
      // RFC 9773 §5: a CA may refuse `replaces` (e.g. already replaced); order without it.
      if (!replaces || !(err instanceof AcmeError) || err.status < 400 || err.status >= 500) {
        throw err;
      }
      log.warn(`ACME: order replacing ${replaces} refused (${err.message}); ordering without it`);
      issued = await obtainCertificate(client, opts);
    }
    if (!keyMatchesCertificate(issued.certPem, issued.keyPem)) {
      throw new Error("The issued certificate does not match its private key");
    }
    const info = inspectCertificate(issued.certPem);
    const meta: Meta = {
      ca: this.#s.directoryUrl,
      domains: this.#s.domains,
      serial: info.serial,
      obtainedAt: this.#now().toISOString(),
    };
    const k = this.#s.keys;
    // Key first: a reader that sees the new certificate must find its key.
    await this.#storage.store(k.key, issued.keyPem, { private: true });
    await this.#storage.store(k.issuer, issued.chainPem, { private: true });
    await this.#storage.store(k.cert, issued.certPem, { private: true });
    await this.#storage.store(k.meta, JSON.stringify(meta, null, 2) + "\n", { private: true });
    log.notice(
      `ACME: obtained certificate for ${this.#what} (serial ${info.serial}, expires ${info.notAfter.toISOString()})`,
    );
    this.#install({
      cert: {
        certPem: issued.certPem,
        keyPem: issued.keyPem,
        chainPem: issued.chainPem,
        notAfter: info.notAfter,
        serial: info.serial,
      },
      info,
    });
  }

  /** Makes `loaded` current and, once started, hands it to the server. */
  #install(loaded: Loaded): void {
    this.#current = loaded;
    this.#backoff.reset();
    this.#lastError = undefined;
    this.#state = "ready";
    if (!this.#started) return;
    try {
      this.#d.onCertificate(loaded.cert);
    } catch (err) {
      this.#d.log.error(`ACME: installing the new certificate failed: ${errText(err)}`);
    }
  }

  async #acme(): Promise<AcmeClient> {
    if (this.#client) return this.#client;
    const opts: ConstructorParameters<typeof AcmeClient>[0] = {
      directoryUrl: this.#s.directoryUrl,
      accountKey: await this.#accountKey(),
      log: this.#d.log,
    };
    if (this.#httpClient) opts.httpClient = this.#httpClient;
    this.#client = new AcmeClient(opts);
    return this.#client;
  }

  /** The account key: an explicit file (letsgo's ACCOUNT_KEY_FILE) or one in storage. */
  async #accountKey(): Promise<KeyPair> {
    const file = this.#s.accountKeyFile;
    if (file) {
      try {
        return await importPrivateKeyPem(await Deno.readTextFile(file));
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
      const kp = await generateKeyPair("EC256");
      const dir = file.slice(0, file.lastIndexOf("/"));
      if (dir) await Deno.mkdir(dir, { recursive: true });
      try {
        await Deno.writeTextFile(file, await privateKeyToPem(kp), { createNew: true, mode: 0o600 });
        this.#d.log.notice(`ACME: created account key ${file}`);
        return kp;
      } catch (err) {
        // Another process created it first: use theirs.
        if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
        return await importPrivateKeyPem(await Deno.readTextFile(file));
      }
    }
    const host = new URL(this.#s.directoryUrl).host.replace(/[^A-Za-z0-9.-]/g, "_");
    const who = (this.#o.email ?? "default").replace(/[^A-Za-z0-9@._-]/g, "_");
    const key = `accounts/${host}/${who}.key`;
    const pem = await loadText(this.#storage, key);
    if (pem) return await importPrivateKeyPem(pem);
    const kp = await generateKeyPair("EC256");
    await this.#storage.store(key, await privateKeyToPem(kp), { private: true });
    return kp;
  }

  async #getSolver(): Promise<ChallengeSolver> {
    if (this.#solver) return this.#solver;
    if (this.#o.challenge === "http-01") {
      this.#solver = new Http01Solver(this.#o.httpListen ?? ":80", this.#d.log);
      return this.#solver;
    }
    const env = this.#d.env ?? processEnv();
    let provider;
    try {
      provider = await createDnsProvider(this.#o, env);
    } catch (err) {
      // Missing credentials, a missing token file or an unknown provider:
      // retrying changes nothing. A Key Vault that does not answer may recover.
      const settings = err instanceof Deno.errors.NotFound ||
        (err instanceof TypeError && !/error sending request|fetch/i.test(err.message));
      if (!settings) throw err;
      throw new AcmeSettingsError(`DNS provider: ${errText(err)}`, { cause: err });
    }
    this.#solver = new Dns01Solver(provider, dns01SolverOptions(this.#o, this.#d.log));
    return this.#solver;
  }

  /** Asks the CA for its renewal window when it offers ARI and the last answer has expired. */
  async #refreshAri(): Promise<void> {
    const cur = this.#current;
    const certId = cur?.info.ariCertId;
    if (!cur || !certId) return;
    if (this.#ari?.certId === certId && this.#now() < this.#ari.nextFetch) return;
    let client: AcmeClient;
    try {
      client = await this.#acme();
      if (!(await client.directory()).renewalInfo) return;
    } catch (err) {
      this.#d.log.debug(`ACME: directory unavailable for ARI: ${errText(err)}`);
      return;
    }
    // One process asks at a time; a busy lock means someone else is asking.
    const lock = `ari-${this.#s.name}`;
    if (this.#storage.tryLock && !(await this.#storage.tryLock(lock))) return;
    try {
      const info = await client.renewalInfo(certId);
      if (!info) return;
      const same = this.#ari?.certId === certId &&
        this.#ari.windowStart.getTime() === info.start.getTime() &&
        this.#ari.windowEnd.getTime() === info.end.getTime();
      this.#ari = {
        certId,
        windowStart: info.start,
        windowEnd: info.end,
        selected: same ? this.#ari!.selected : pickInWindow(info.start, info.end),
        nextFetch: new Date(this.#now().getTime() + info.retryAfterMs),
      };
      if (!same) {
        this.#d.log.debug(
          `ACME: renewal window ${info.start.toISOString()} .. ${info.end.toISOString()}, renewing at ${this.#ari.selected.toISOString()}`,
        );
      }
    } catch (err) {
      this.#d.log.warn(`ACME: fetching renewal information failed: ${errText(err)}`);
      const prev = this.#ari?.certId === certId ? this.#ari : undefined;
      if (prev) prev.nextFetch = new Date(this.#now().getTime() + 3600_000);
    } finally {
      if (this.#storage.tryLock) await this.#storage.unlock(lock).catch(() => {});
    }
  }

  /** The stored certificate when it is usable for our domains from our CA; logs why not. */
  async #loadStored(quiet: boolean): Promise<Loaded | undefined> {
    const k = this.#s.keys;
    const log = this.#d.log;
    const certPem = await loadText(this.#storage, k.cert);
    const keyPem = await loadText(this.#storage, k.key);
    if (!certPem || !keyPem) return undefined;
    const say = (msg: string, level: "notice" | "warn" = "notice") => {
      if (!quiet) log[level](`ACME: stored certificate for ${this.#what} ${msg}`);
    };
    let info: CertInfo;
    try {
      if (startsWithCa(certPem)) {
        say("starts with a CA certificate; obtaining a new one", "warn");
        return undefined;
      }
      info = inspectCertificate(certPem);
    } catch (err) {
      say(`cannot be read (${errText(err)}); obtaining a new one`, "warn");
      return undefined;
    }
    if (!coversDomains(info, this.#s.domains)) {
      say(`covers ${info.names.join(",")} only; obtaining a new one`);
      return undefined;
    }
    if (this.#now() >= info.notAfter) {
      say(`expired ${info.notAfter.toISOString()}; obtaining a new one`);
      return undefined;
    }
    let meta: Partial<Meta> | undefined;
    try {
      const text = await loadText(this.#storage, k.meta);
      meta = text ? JSON.parse(text) as Partial<Meta> : undefined;
    } catch {
      meta = undefined;
    }
    if (meta?.ca !== this.#s.directoryUrl) {
      say(
        `was issued by "${info.issuer}" through ${
          meta?.ca ?? "an unknown CA"
        }, not the configured ${this.#s.directoryUrl}; replacing it`,
        "warn",
      );
      return undefined;
    }
    if (!keyMatchesCertificate(certPem, keyPem)) {
      say("does not match its private key; obtaining a new one", "warn");
      return undefined;
    }
    const chainPem = (await loadText(this.#storage, k.issuer)) ??
      splitCertificates(certPem).slice(1).join("");
    return {
      cert: { certPem, keyPem, chainPem, notAfter: info.notAfter, serial: info.serial },
      info,
    };
  }
}
