/**
 * Client authentication as nats-server 2.9 does it without an operator:
 * single user, token, users list (with per-user permissions), NKey users,
 * users inside accounts, `no_auth_user` and TLS `verify_and_map`.
 *
 * An {@link Authenticator} is immutable: on reload the server builds a new one
 * and re-runs {@link Authenticator.authenticate} with each client's stored
 * credentials, certificate identity and nonce. Share one {@link BcryptPool}
 * across reloads (pass it in `deps.bcrypt`) so those re-checks hit its cache.
 *
 * @module
 */
import type { Options, Permissions, UserEntry } from "../config/options.ts";
import type {
  AuthOutcome as ApiAuthOutcome,
  CertIdentity,
  ConnectCredentials,
} from "../server/auth_api.ts";
import type { Logger } from "../ops/logger.ts";
import { BcryptPool, isBcryptHash } from "./bcrypt_pool.ts";
import { dnEqual, dnRdnsMatch, parseDn } from "./cert_identity.ts";
import { constantTimeEqual } from "./constant_time.ts";
import { verifyNonceSignature } from "./nkey_auth.ts";
import { PermissionChecker, PermissionRules } from "./permissions.ts";

// The contract types live in lib/server/auth_api.ts; re-exported for lib/auth users.
export type { CertIdentity, ConnectCredentials };
export { newNonce } from "./nkey_auth.ts";
export { PermissionChecker } from "./permissions.ts";

/** The global account's name. */
export const GLOBAL_ACCOUNT = "$G";

/** Result of an authentication, with this module's permission checker. */
export type AuthOutcome = ApiAuthOutcome<PermissionChecker>;

/** Per-connection context of an authentication. */
export interface AuthContext {
  /** The nonce sent in this connection's INFO (needed for NKey users). */
  nonce?: string;
  /** Identity of the verified client certificate, if any. */
  cert?: CertIdentity;
  /** Connection type for `allowed_connection_types` (default `STANDARD`). */
  connectionType?: string;
}

/** Dependencies of an {@link Authenticator}. */
export interface AuthenticatorDeps {
  log: Logger;
  /** Shared pool (kept open by {@link Authenticator.close}); one is made on demand otherwise. */
  bcrypt?: BcryptPool;
  /** Clock for `allow_responses` expiry (default `Date.now`). */
  now?: () => number;
}

/** A configured user, compiled. */
interface UserRecord {
  user?: string;
  password?: string;
  nkey?: string;
  account: string;
  rules: PermissionRules | null;
  connectionTypes: ReadonlySet<string> | null;
}

const FAIL_NO_CREDS: AuthOutcome = { ok: false, reason: "no credentials provided" };

function isEmptyPermissions(p: Permissions | undefined): boolean {
  return !p || (!p.publish && !p.subscribe && !p.allowResponses);
}

/** Authenticates CONNECTs against the configured users. */
export class Authenticator {
  /** INFO `auth_required`. */
  readonly authRequired: boolean;
  /** INFO carries a `nonce` (NKey users configured). */
  readonly needsNonce: boolean;
  /** Time allowed from accept to CONNECT, in ms. */
  readonly timeoutMs: number;
  /** TLS `verify_and_map`: users come from client certificates. */
  readonly verifyAndMap: boolean;

  readonly #log: Logger;
  readonly #now: () => number;
  readonly #mode: "none" | "token" | "single" | "users";
  readonly #token: string;
  readonly #single: UserRecord | null;
  readonly #users = new Map<string, UserRecord>();
  readonly #nkeys = new Map<string, UserRecord>();
  readonly #noAuthUser: UserRecord | null;
  readonly #accounts: string[];
  readonly #ownsPool: boolean;
  #pool: BcryptPool | null;
  #closed = false;

  /**
   * @param options Server options (authorization, accounts, no_auth_user, tls).
   * @param deps Logger, optional shared bcrypt pool, optional clock.
   * @throws {RangeError} On an invalid permission subject or an unknown `no_auth_user`.
   */
  constructor(options: Options, deps: AuthenticatorDeps) {
    this.#log = deps.log;
    this.#now = deps.now ?? Date.now;
    this.#pool = deps.bcrypt ?? null;
    this.#ownsPool = deps.bcrypt === undefined;
    const auth = options.authorization;

    // Compiled rules are shared by identical permission objects (config
    // variables like $ADMIN give many users the same object).
    const compiled = new Map<Permissions, PermissionRules>();
    const compile = (p: Permissions | undefined): PermissionRules | null => {
      if (isEmptyPermissions(p)) return null;
      let r = compiled.get(p!);
      if (!r) compiled.set(p!, r = new PermissionRules(p!));
      return r;
    };
    const add = (u: UserEntry, account: string, defaults: Permissions | undefined) => {
      const rec: UserRecord = {
        account,
        rules: compile(u.permissions ?? defaults),
        connectionTypes: u.allowedConnectionTypes && u.allowedConnectionTypes.length > 0
          ? new Set(u.allowedConnectionTypes.map((t) => t.toUpperCase()))
          : null,
      };
      if (u.password !== undefined) rec.password = u.password;
      if (u.nkey) {
        rec.nkey = u.nkey;
        if (!this.#nkeys.has(u.nkey)) this.#nkeys.set(u.nkey, rec);
      } else if (u.user !== undefined) {
        rec.user = u.user;
        if (!this.#users.has(u.user)) this.#users.set(u.user, rec);
      }
    };

    let usersDefined = auth?.users !== undefined;
    for (const u of auth?.users ?? []) {
      add(u, u.account ?? GLOBAL_ACCOUNT, auth?.defaultPermissions);
    }
    const accounts = new Set<string>([GLOBAL_ACCOUNT]);
    for (const acc of options.accounts ?? []) {
      accounts.add(acc.name);
      for (const u of acc.users) {
        usersDefined = true;
        add(u, acc.name, acc.defaultPermissions ?? auth?.defaultPermissions);
      }
    }
    this.#accounts = [...accounts];

    this.#token = auth?.token ?? "";
    this.#single = null;
    if (usersDefined) {
      this.#mode = "users";
    } else if (auth?.user) {
      this.#mode = "single";
      this.#single = {
        user: auth.user,
        password: auth.password ?? "",
        account: GLOBAL_ACCOUNT,
        rules: null,
        connectionTypes: null,
      };
    } else if (auth?.token) {
      this.#mode = "token";
    } else {
      this.#mode = "none";
    }

    this.#noAuthUser = null;
    if (options.noAuthUser && this.#mode === "users") {
      const rec = this.#users.get(options.noAuthUser) ?? this.#nkeys.get(options.noAuthUser);
      if (!rec) {
        throw new RangeError(
          `no_auth_user: "${options.noAuthUser}" not present as user or nkey in authorization block or account configuration`,
        );
      }
      this.#noAuthUser = rec;
    }

    // Workers start with the config, not in the middle of the first bcrypt login.
    const hashed = (s: string | undefined) => s !== undefined && isBcryptHash(s);
    if (
      this.#mode !== "none" &&
      (hashed(this.#token) || hashed(this.#single?.password) ||
        [...this.#users.values()].some((u) => hashed(u.password)))
    ) {
      (this.#pool ??= new BcryptPool()).warm();
    }

    this.authRequired = this.#mode !== "none" && this.#noAuthUser === null;
    this.needsNonce = this.#nkeys.size > 0;
    this.verifyAndMap = options.tls?.verifyAndMap === true;
    const explicit = auth?.timeout;
    if (explicit !== undefined && explicit > 0) {
      this.timeoutMs = Math.round(explicit * 1000);
    } else if (options.tls) {
      this.timeoutMs = Math.round((options.tls.timeout + 1) * 1000);
    } else {
      this.timeoutMs = 2000;
    }
  }

  /** `$G` plus every configured account, in config order. */
  accountNames(): string[] {
    return [...this.#accounts];
  }

  /**
   * Checks a client's CONNECT credentials.
   *
   * @param creds Credential fields of the CONNECT.
   * @param ctx The connection's nonce, certificate identity and type.
   * @returns The outcome; synchronous unless a bcrypt check has to run in a worker.
   */
  authenticate(
    creds: ConnectCredentials,
    ctx: AuthContext = {},
  ): AuthOutcome | Promise<AuthOutcome> {
    switch (this.#mode) {
      case "none":
        return { ok: true, account: GLOBAL_ACCOUNT, permissions: null };
      case "token":
        if (!creds.auth_token) return { ok: false, reason: "no token provided" };
        return this.#checkSecret(this.#token, creds.auth_token, null, "invalid token");
      case "single": {
        const u = this.#single!;
        if (creds.user !== u.user) return { ok: false, reason: "unknown user" };
        return this.#checkSecret(u.password ?? "", creds.pass ?? "", u, "wrong password");
      }
      case "users":
        return this.#authenticateUser(creds, ctx);
    }
  }

  /** Terminates the bcrypt workers this authenticator started (not a shared pool). */
  close(): void {
    this.#closed = true;
    if (this.#ownsPool) {
      this.#pool?.close();
      this.#pool = null;
    }
  }

  #authenticateUser(
    creds: ConnectCredentials,
    ctx: AuthContext,
  ): AuthOutcome | Promise<AuthOutcome> {
    const connType = (ctx.connectionType ?? "STANDARD").toUpperCase();
    // NKey first, as nats-server: a client offering an nkey is judged by it.
    if (creds.nkey && this.#nkeys.size > 0) {
      const rec = this.#nkeys.get(creds.nkey);
      if (!rec) return { ok: false, reason: `unknown nkey "${creds.nkey}"` };
      if (!this.#typeAllowed(rec, connType)) {
        return { ok: false, reason: `connection type ${connType} not allowed` };
      }
      if (!ctx.nonce) return { ok: false, reason: "nkey authentication without a nonce" };
      if (!creds.sig || !verifyNonceSignature(creds.nkey, ctx.nonce, creds.sig)) {
        return { ok: false, reason: `signature verification failed for nkey "${creds.nkey}"` };
      }
      return this.#success(rec);
    }
    if (this.verifyAndMap) return this.#mapCertificate(creds, ctx, connType);
    let rec: UserRecord | undefined;
    if (!creds.user) {
      // nats-server: no user name (and no nkey) means the no_auth_user, whose
      // password is not asked for.
      if (this.#noAuthUser) {
        rec = this.#noAuthUser;
        if (!this.#typeAllowed(rec, connType)) {
          return { ok: false, reason: `connection type ${connType} not allowed` };
        }
        return this.#success(rec);
      }
      return creds.nkey
        ? { ok: false, reason: "nkey authentication not configured" }
        : FAIL_NO_CREDS;
    }
    rec = this.#users.get(creds.user);
    if (!rec) return { ok: false, reason: `unknown user "${creds.user}"` };
    if (!this.#typeAllowed(rec, connType)) {
      return { ok: false, reason: `connection type ${connType} not allowed for "${creds.user}"` };
    }
    if (rec.nkey) return { ok: false, reason: `user "${creds.user}" requires nkey` };
    return this.#checkSecret(
      rec.password ?? "",
      creds.pass ?? "",
      rec,
      `wrong password for "${creds.user}"`,
    );
  }

  #mapCertificate(creds: ConnectCredentials, ctx: AuthContext, connType: string): AuthOutcome {
    const cert = ctx.cert;
    if (!cert) return { ok: false, reason: "verify_and_map: no client certificate" };
    const candidates: UserRecord[] = [];
    for (const name of [...cert.emails, ...cert.dnsNames, ...cert.uris]) {
      const rec = this.#users.get(name);
      if (rec) candidates.push(rec);
    }
    const found = candidates.find((r) => this.#typeAllowed(r, connType)) ??
      this.#matchDn(cert.subjectDn, connType);
    if (!found) {
      return { ok: false, reason: `verify_and_map: no user for certificate "${cert.subjectDn}"` };
    }
    if (creds.user && creds.user !== found.user) {
      this.#log.warn(`User "${creds.user}" found in connect proto, but user required from cert`);
    }
    return this.#success(found);
  }

  #matchDn(subjectDn: string, connType: string): UserRecord | undefined {
    const exact = this.#users.get(subjectDn);
    if (exact && this.#typeAllowed(exact, connType)) return exact;
    const certDn = parseDn(subjectDn);
    if (!certDn) return undefined;
    const parsed: Array<[UserRecord, ReturnType<typeof parseDn>]> = [];
    for (const rec of this.#users.values()) {
      if (!rec.user || !rec.user.includes("=") || !this.#typeAllowed(rec, connType)) continue;
      const dn = parseDn(rec.user);
      if (!dn) continue;
      if (dnEqual(dn, certDn)) return rec;
      parsed.push([rec, dn]);
    }
    // Second pass: same RDNs in another order (a DN written in certificate order).
    for (const [rec, dn] of parsed) if (dn && dnRdnsMatch(dn, certDn)) return rec;
    return undefined;
  }

  #typeAllowed(rec: UserRecord, connType: string): boolean {
    return rec.connectionTypes === null || rec.connectionTypes.has(connType);
  }

  #success(rec: UserRecord | null): AuthOutcome {
    if (!rec) return { ok: true, account: GLOBAL_ACCOUNT, permissions: null };
    const out: AuthOutcome = {
      ok: true,
      account: rec.account,
      permissions: rec.rules ? new PermissionChecker(rec.rules, { now: this.#now }) : null,
    };
    if (rec.user !== undefined) out.user = rec.user;
    if (rec.nkey !== undefined) out.nkey = rec.nkey;
    return out;
  }

  /** Plain secrets compare in constant time; bcrypt hashes go to the pool (cache first). */
  #checkSecret(
    expected: string,
    given: string,
    rec: UserRecord | null,
    failure: string,
  ): AuthOutcome | Promise<AuthOutcome> {
    if (!isBcryptHash(expected)) {
      return constantTimeEqual(expected, given)
        ? this.#success(rec)
        : { ok: false, reason: failure };
    }
    if (this.#closed && this.#ownsPool) return { ok: false, reason: "authenticator is closed" };
    const pool = this.#pool ??= new BcryptPool();
    if (pool.cached(given, expected)) return this.#success(rec);
    return pool.compare(given, expected).then(
      (ok): AuthOutcome => ok ? this.#success(rec) : { ok: false, reason: failure },
      (err): AuthOutcome => ({
        ok: false,
        reason: `bcrypt check failed (${err instanceof Error ? err.message : String(err)})`,
      }),
    );
  }
}
