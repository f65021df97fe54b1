/**
 * Route authorization on the accepting side: `cluster.authorization {user,
 * password, timeout}`. Plain passwords are compared in constant time; bcrypt
 * hashes go to a worker pool (a check costs ~180 ms and must not stall
 * routing), created only when a hash is configured.
 *
 * @module
 */
import { authTimeoutSeconds } from "../config/options.ts";
import { BcryptPool, isBcryptHash } from "../auth/bcrypt_pool.ts";
import { constantTimeEqual } from "../auth/constant_time.ts";

export interface RouteAuthConfig {
  user?: string;
  password?: string;
  /** Seconds (fractional allowed). */
  timeout?: number;
}

export class RouteAuth {
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly timeoutMs: number;
  #pool: BcryptPool | null = null;

  /**
   * @param config The cluster `authorization` block.
   * @param tls The cluster `tls` block: with TLS, the default timeout is its
   *   handshake timeout plus a second, as nats-server.
   */
  constructor(config: RouteAuthConfig | undefined, tls?: { timeout: number }) {
    this.user = config?.user || undefined;
    this.password = config?.password || undefined;
    this.timeoutMs = authTimeoutSeconds(config?.timeout, tls) * 1000;
  }

  /** Whether peers must present credentials in their CONNECT. */
  get required(): boolean {
    return this.user !== undefined || this.password !== undefined;
  }

  /**
   * Checks the credentials of a route CONNECT.
   *
   * @returns `true`/`false` at once for plain passwords and remembered bcrypt
   *   successes, else a Promise (the caller pauses the connection meanwhile).
   */
  check(user: string | undefined, pass: string | undefined): boolean | Promise<boolean> {
    if (!this.required) return true;
    if (this.user !== undefined && !constantTimeEqual(this.user, user ?? "")) return false;
    if (this.password === undefined) return true;
    if (!isBcryptHash(this.password)) return constantTimeEqual(this.password, pass ?? "");
    if (pass === undefined || pass === "") return false;
    this.#pool ??= new BcryptPool({ size: 1 });
    if (this.#pool.cached(pass, this.password)) return true;
    return this.#pool.compare(pass, this.password).catch(() => false);
  }

  close(): void {
    this.#pool?.close();
    this.#pool = null;
  }
}
