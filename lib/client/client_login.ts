/**
 * A client's login: the auth timeout, authenticating every CONNECT (a bcrypt
 * answer may come later, with the client's reads held meanwhile), the checks
 * nats-server makes after authentication, the no_auth_user fallback for a client
 * whose first operation is not CONNECT, and the re-check after an authorization
 * reload. Apart from ./connection.ts, which keeps the protocol and publish path
 * and calls in here at CONNECT and at the first other operation.
 *
 * @module
 */
import { WireError } from "../protocol/wire_errors.ts";
import { ClosedReason } from "../conn/closed_reason.ts";
import type { AuthOutcome } from "../server/auth_api.ts";
import type { ClientConnection } from "./connection.ts";

export class ClientLogin {
  /** Read on every operation (the publish path included): a plain field. */
  authenticated: boolean;
  readonly #conn: ClientConnection;
  #connectSeen = false;
  /** CONNECT `account` / `new_account` (refused when set, as nats-server). */
  #connectAccount = "";
  #newAccount = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(conn: ClientConnection, authenticated: boolean) {
    this.#conn = conn;
    this.authenticated = authenticated;
  }

  /** Starts the auth timeout (nothing to time when no auth is needed). */
  startTimeout(ms: number): void {
    if (!this.authenticated) this.#timer = setTimeout(() => this.#timedOut(), ms);
  }

  /** The connection closed: no timeout may fire on it. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Authenticates a CONNECT whose fields the connection has merged (credentials
   * included). False when the client is refused or its answer is still coming.
   */
  onConnect(account: string | undefined, newAccount: boolean | undefined): boolean {
    this.#connectAccount = account ?? this.#connectAccount;
    this.#newAccount = newAccount ?? this.#newAccount;
    const firstConnect = !this.#connectSeen;
    this.#connectSeen = true;
    // nats-server authenticates every CONNECT, also a second one on a logged-in
    // connection (wrong credentials then close it), and before any other check.
    this.stop();
    const conn = this.#conn;
    const outcome = conn.server.authenticate(conn, conn.credentials ??= {});
    if (outcome instanceof Promise) {
      // The client sent CONNECT in time: the auth timeout covers waiting for it,
      // not our bcrypt queue (a connect storm must not turn into timeouts).
      conn.holdReadsForAuth(true);
      outcome.then(
        (r) => this.#finishAsync(r, firstConnect),
        () => this.#finishAsync({ ok: false, reason: "authentication error" }, firstConnect),
      );
      return false;
    }
    return this.#apply(outcome) && this.#connectDone(firstConnect);
  }

  /**
   * First op must be CONNECT when auth is configured (nats-server closes otherwise),
   * unless there is a no_auth_user: the client becomes that user, unchecked.
   */
  requireAuth(): boolean {
    if (this.authenticated) return true;
    const conn = this.#conn;
    const outcome = conn.server.anonymousLogin(conn.credentials ??= {}, conn);
    if (outcome !== null && outcome.ok && this.#apply(outcome)) {
      this.#connectSeen = true;
      conn.server.clientConnected?.(conn);
      return true;
    }
    this.#refuse("first operation was not CONNECT");
    return false;
  }

  /** Re-checks a connected client after an authorization reload; closes it if refused. */
  reauthorize(outcome: AuthOutcome): void {
    const conn = this.#conn;
    if (!outcome.ok || outcome.account !== conn.account.name) {
      this.#refuse(outcome.ok ? "account changed by reload" : outcome.reason);
      return;
    }
    conn.permissions = outcome.permissions;
    conn.user = outcome.user ?? outcome.nkey;
    conn.permissionsChanged();
  }

  #finishAsync(outcome: AuthOutcome, firstConnect: boolean): void {
    const conn = this.#conn;
    if (conn.isClosed) return;
    if (!this.#apply(outcome) || !this.#connectDone(firstConnect)) return;
    conn.server.flushPending();
    conn.holdReadsForAuth(false);
  }

  #apply(outcome: AuthOutcome): boolean {
    if (!outcome.ok) {
      this.#refuse(outcome.reason);
      return false;
    }
    const conn = this.#conn;
    const account = conn.server.accountFor(outcome.account);
    if (account === null) {
      this.#refuse(`unknown account "${outcome.account}"`);
      return false;
    }
    conn.enterAccount(account);
    conn.user = outcome.user ?? outcome.nkey;
    conn.permissions = outcome.permissions;
    conn.permissionsChanged();
    this.authenticated = true;
    this.stop();
    return true;
  }

  /** What nats-server checks after authentication, then the `+OK`. */
  #connectDone(firstConnect: boolean): boolean {
    if (this.#connectAccount !== "" || this.#newAccount) {
      this.#refuse("CONNECT with account or new_account");
      return false;
    }
    const conn = this.#conn;
    const o = conn.opts;
    if (o.protocol !== 0 && o.protocol !== 1) {
      conn.server.log.error(`${conn.logPrefix} - ${WireError.InvalidClientProtocol}`);
      conn.sendErrAndClose(WireError.InvalidClientProtocol, ClosedReason.BadClientProtocolVersion);
      return false;
    }
    if (o.noResponders && !o.headers) {
      conn.server.log.error(`${conn.logPrefix} - ${WireError.NoRespondersRequiresHeaders}`);
      conn.sendErrAndClose(
        WireError.NoRespondersRequiresHeaders,
        ClosedReason.NoRespondersRequiresHeaders,
      );
      return false;
    }
    if (o.verbose) conn.sendOk();
    if (firstConnect) conn.loggedIn();
    return true;
  }

  /**
   * Refuses the client with nats-server's one log line. The reason is not logged:
   * nats-server logs none, and an operator greps for that line alone.
   */
  #refuse(_reason: string): void {
    const conn = this.#conn;
    if (conn.isClosed) return;
    conn.server.log.error(
      `${conn.logPrefix} - ${conn.server.authViolationLine(conn.credentials ?? {}, conn)}`,
    );
    conn.sendErrAndClose(WireError.AuthorizationViolation, ClosedReason.AuthenticationViolation);
  }

  #timedOut(): void {
    const conn = this.#conn;
    if (conn.isClosed || this.authenticated) return;
    // Nats-server logs this at debug level (port probes would flood the error log).
    conn.server.log.debug(`${conn.logPrefix} - Authentication Timeout`);
    conn.sendErrAndClose(WireError.AuthenticationTimeout, ClosedReason.AuthenticationTimeout);
  }
}
