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
import {
  authTimeoutSeconds,
  type Options,
  type Permissions,
  type UserEntry,
} from "../config/options.ts";
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
  /** INFO `auth_required` (false with a `no_auth_user`, although CONNECTs are still checked). */
  readonly authRequired: boolean;
  /** Some client authentication is configured: every CONNECT is checked and the auth timer runs. */
  readonly active: boolean;
  /** INFO carries a `nonce` (NKey users configured). */
  readonly needsNonce: boolean;
  /** Time allowed from accept to CONNECT, in ms. */
  readonly timeoutMs: number;
  /** TLS `verify_and_map`: users come from client certificates. */
  readonly verifyAndMap: boolean;

  readonly #log: Logger;
  readonly #now: () => number;
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

    for (const u of auth?.users ?? []) {
      add(u, u.account ?? GLOBAL_ACCOUNT, auth?.defaultPermissions);
    }
    const accounts = new Set<string>([GLOBAL_ACCOUNT]);
    for (const acc of options.accounts ?? []) {
      accounts.add(acc.name);
      for (const u of acc.users) {
        add(u, acc.name, acc.defaultPermissions ?? auth?.defaultPermissions);
      }
    }
    this.#accounts = [...accounts];

    // As nats-server, the single user and the token stay in force next to a users
    // list (flags can add them to a config that has one): they are what a CONNECT
    // naming no user is checked against.
    this.#token = auth?.token ?? "";
    this.#single = auth?.user
      ? {
        user: auth.user,
        password: auth.password ?? "",
        account: GLOBAL_ACCOUNT,
        rules: null,
        connectionTypes: null,
      }
      : null;
    // An empty users list is no users at all (nats-server keeps only non-empty lists).
    const usersDefined = this.#users.size > 0 || this.#nkeys.size > 0;
    this.active = usersDefined || this.#single !== null || this.#token !== "";

    this.#noAuthUser = null;
    if (options.noAuthUser && usersDefined) {
      // nats-server: it must be a user with a password entry, not an NKey.
      const rec = this.#users.get(options.noAuthUser);
      if (!rec) {
        throw new RangeError(
          `no_auth_user: "${options.noAuthUser}" not present as user in authorization block or account configuration`,
        );
      }
      this.#noAuthUser = rec;
    }

    // Workers start with the config, not in the middle of the first bcrypt login.
    const hashed = (s: string | undefined) => s !== undefined && isBcryptHash(s);
    if (
      this.active &&
      (hashed(this.#token) || hashed(this.#single?.password) ||
        [...this.#users.values()].some((u) => hashed(u.password)))
    ) {
      (this.#pool ??= new BcryptPool()).warm();
    }

    this.authRequired = this.active && this.#noAuthUser === null;
    this.needsNonce = this.#nkeys.size > 0;
    this.verifyAndMap = options.tls?.verifyAndMap === true;
    this.timeoutMs = Math.round(authTimeoutSeconds(auth?.timeout, options.tls) * 1000);
  }

  /** `$G` plus every configured account, in config order. */
  accountNames(): string[] {
    return [...this.#accounts];
  }

  /**
   * Checks a client's CONNECT credentials with nats-server's rules, in its order:
   * an `nkey` (when NKey users exist) is judged by its signature alone; with
   * users configured, `verify_and_map` takes the user from the certificate, else
   * a CONNECT with no user, password and token becomes the `no_auth_user`, and a
   * user name must exist and match its password; a CONNECT that selected no user
   * is checked against the token, then against the single user.
   *
   * Like nats-server this writes into `creds` what it decided: the `no_auth_user`'s
   * name and password, or the user mapped from the certificate. A later CONNECT
   * on the same connection merges its fields into them.
   *
   * @param creds Credential fields of the CONNECT (merged over earlier CONNECTs).
   * @param ctx The connection's nonce, certificate identity and type.
   * @returns The outcome; synchronous unless a bcrypt check has to run in a worker.
   */
  authenticate(
    creds: ConnectCredentials,
    ctx: AuthContext = {},
  ): AuthOutcome | Promise<AuthOutcome> {
    if (!this.active) return { ok: true, account: GLOBAL_ACCOUNT, permissions: null };
    const connType = (ctx.connectionType ?? "STANDARD").toUpperCase();
    if (this.#nkeys.size > 0 && creds.nkey) {
      const rec = this.#nkeys.get(creds.nkey);
      if (!rec) return { ok: false, reason: "unknown nkey" };
      if (!this.#typeAllowed(rec, connType)) {
        return { ok: false, reason: `connection type ${connType} not allowed` };
      }
      if (!creds.sig) return { ok: false, reason: "Signature missing" };
      if (!ctx.nonce || !verifyNonceSignature(creds.nkey, ctx.nonce, creds.sig)) {
        return { ok: false, reason: "Signature not verified" };
      }
      return this.#success(rec);
    }
    let rec: UserRecord | undefined;
    if (this.#users.size > 0) {
      if (this.verifyAndMap) {
        const mapped = this.#mapCertificate(creds, ctx, connType);
        if (!mapped.ok) return mapped;
        rec = mapped.rec;
        creds.user = rec.user;
      } else {
        const noAuth = this.#noAuthUser;
        if (noAuth !== null && !creds.user && !creds.pass && !creds.auth_token) {
          creds.user = noAuth.user;
          creds.pass = noAuth.password ?? "";
        }
        if (creds.user) {
          rec = this.#users.get(creds.user);
          if (!rec) return { ok: false, reason: "unknown user" };
          if (!this.#typeAllowed(rec, connType)) {
            return { ok: false, reason: `connection type ${connType} not allowed` };
          }
        }
      }
    }
    if (rec) return this.#checkSecret(rec.password ?? "", creds.pass ?? "", rec, "wrong password");
    if (this.#token !== "") {
      return this.#checkSecret(this.#token, creds.auth_token ?? "", null, "wrong token");
    }
    const single = this.#single;
    if (single !== null) {
      if (creds.user !== single.user) return { ok: false, reason: "unknown user" };
      return this.#checkSecret(single.password ?? "", creds.pass ?? "", single, "wrong password");
    }
    return FAIL_NO_CREDS;
  }

  /**
   * The `no_auth_user` for a client whose first operation is not CONNECT
   * (nats-server lets such a client in as that user, with no password check, and
   * records only the user name in its credentials), or null without one.
   */
  anonymous(creds: ConnectCredentials): AuthOutcome | null {
    const rec = this.#noAuthUser;
    if (rec === null) return null;
    creds.user = rec.user;
    return this.#success(rec);
  }

  /**
   * The error line nats-server logs when it refuses a client: it names the
   * CONNECT's nkey when NKey users exist, else its user when users exist.
   */
  violationLine(creds: ConnectCredentials): string {
    if (this.#nkeys.size > 0) return `authentication error - Nkey ${goQuote(creds.nkey ?? "")}`;
    if (this.#users.size > 0) return `authentication error - User ${goQuote(creds.user ?? "")}`;
    return "authentication error";
  }

  /** Terminates the bcrypt workers this authenticator started (not a shared pool). */
  close(): void {
    this.#closed = true;
    if (this.#ownsPool) {
      this.#pool?.close();
      this.#pool = null;
    }
  }

  #mapCertificate(
    creds: ConnectCredentials,
    ctx: AuthContext,
    connType: string,
  ): { ok: true; rec: UserRecord } | { ok: false; reason: string } {
    const cert = ctx.cert;
    if (!cert) return { ok: false, reason: "User required in cert, no TLS connection state" };
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
    if (creds.user) {
      this.#log.warn(
        `User ${goQuote(creds.user)} found in connect proto, but user required from cert`,
      );
    }
    return { ok: true, rec: found };
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

/** Go's `%q` for a string that goes into a log line. */
function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += "\\x" + c.toString(16).padStart(2, "0");
    else if (c >= 0x80 && c < 0xa0) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += ch;
  }
  return out + '"';
}
