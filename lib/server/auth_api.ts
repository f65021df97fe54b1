/**
 * What the connection code needs from authentication and authorization.
 * lib/auth implements it; keeping the contract here lets the core run (and
 * start fast) without loading the auth modules when no auth is configured.
 *
 * @module
 */

/** Credential fields of a client CONNECT. */
export interface ConnectCredentials {
  user?: string;
  pass?: string;
  auth_token?: string;
  nkey?: string;
  sig?: string;
  jwt?: string;
}

/** Identity taken from a verified client certificate (verify_and_map). */
export interface CertIdentity {
  /** rfc822Name SANs. */
  emails: string[];
  /** dNSName SANs. */
  dnsNames: string[];
  /** URI SANs. */
  uris: string[];
  /** RFC 2253, most specific RDN first, e.g. "CN=example.com,OU=CNCF". */
  subjectDn: string;
}

/** Per-connection permission verdicts; implementations cache them per subject. */
export interface ClientPermissions {
  canPublish(subject: string): boolean;
  canSubscribe(subject: string, queue: string | null): boolean;
  /** True when a wildcard subscription overlaps a deny entry, so deliveries need a check. */
  needsDeliveryFilter(subject: string): boolean;
  deliverAllowed(subject: string): boolean;
  /** allow_responses is on: delivered requests grant publish rights to their reply. */
  readonly respondsToReplies: boolean;
  grantReply(reply: string): void;
}

/**
 * Result of an authentication. `P` narrows the permissions to what an
 * implementation returns (lib/auth: its `PermissionChecker`).
 */
export type AuthOutcome<P extends ClientPermissions = ClientPermissions> =
  | {
    ok: true;
    /** User name (or the certificate identity that mapped), absent for token/anonymous. */
    user?: string;
    /** Account name, `$G` when none. */
    account: string;
    /** Per-connection checker, or null when the user may do anything. */
    permissions: P | null;
    /** The public NKey for NKey users. */
    nkey?: string;
  }
  | {
    ok: false;
    /** For the server log; never contains a secret. */
    reason: string;
  };

/** The authenticator as the server uses it. */
export interface ClientAuthenticator {
  /** INFO `auth_required`. */
  readonly authRequired: boolean;
  /** Client auth is configured: CONNECTs are checked and the auth timer runs (also with no_auth_user). */
  readonly active: boolean;
  readonly needsNonce: boolean;
  readonly timeoutMs: number;
  authenticate(
    creds: ConnectCredentials,
    ctx: { nonce?: string; cert?: CertIdentity; connectionType?: string },
  ): AuthOutcome | Promise<AuthOutcome>;
  /** The no_auth_user for a client whose first op is not CONNECT (null without one). */
  anonymous(creds: ConnectCredentials): AuthOutcome | null;
  /** The error line for a refused client (nats-server's text). */
  violationLine(creds: ConnectCredentials): string;
  close(): void;
}
