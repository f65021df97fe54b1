/**
 * Route authorization on the accepting side: `cluster.authorization {user,
 * password, timeout}`. Plain passwords are compared in constant time; bcrypt
 * hashes go to a worker pool (a check costs ~180 ms and must not stall
 * routing), created only when a hash is configured.
 *
 * @module
 */
import { BcryptPool, isBcryptHash } from "../auth/bcrypt_pool.ts";
import { constantTimeEqual } from "../auth/constant_time.ts";

/** nats-server's default auth timeout for routes (seconds). */
const DEFAULT_TIMEOUT_S = 2;

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

  constructor(config: RouteAuthConfig | undefined) {
    this.user = config?.user || undefined;
    this.password = config?.password || undefined;
    const t = config?.timeout;
    this.timeoutMs = (t !== undefined && t > 0 ? t : DEFAULT_TIMEOUT_S) * 1000;
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
