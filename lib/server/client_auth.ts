/**
 * The client authentication in force: the server-wide authenticator, the
 * WebSocket clients' own one (built from the websocket block, see
 * auth_options.ts), and the bcrypt worker pool they share across reloads.
 * Kept apart from the Server because it is one piece of state that start-up
 * builds and a config reload replaces, and because the authenticator module
 * is loaded only when some authentication is configured.
 *
 * @module
 */
import type { Options } from "../config/options.ts";
import type { AuthenticatorDeps } from "../auth/authenticator.ts";
import type { ClientType } from "../client/connection.ts";
import type { ClientAuthenticator } from "./auth_api.ts";
import { needsAuthenticator, webSocketAuthOptions } from "./auth_options.ts";

/** What client authentication reads of the server: the options and logger in force. */
export interface ClientAuthHost {
  readonly options: Options;
  readonly log: AuthenticatorDeps["log"];
}

export class ClientAuth {
  readonly #server: ClientAuthHost;
  #auth: ClientAuthenticator | null = null;
  /** WebSocket clients' authentication (their own overrides and TLS map), null without any. */
  #wsAuth: ClientAuthenticator | null = null;
  /** The Authenticator class, once loaded (the WebSocket one is rebuilt with it on reload). */
  #authClass: typeof import("../auth/authenticator.ts").Authenticator | null = null;
  /** bcrypt worker pool (lib/auth), created on first need and kept across reloads. */
  #bcrypt: import("../auth/bcrypt_pool.ts").BcryptPool | null = null;

  constructor(server: ClientAuthHost) {
    this.#server = server;
  }

  /** Client authentication in force, null without any. */
  get current(): ClientAuthenticator | null {
    return this.#auth;
  }

  /** The WebSocket clients' authentication, null without any. */
  get webSocket(): ClientAuthenticator | null {
    return this.#wsAuth;
  }

  /** Builds what the options at start-up ask for. */
  async start(o: Options): Promise<void> {
    if (needsAuthenticator(o)) this.#auth = await this.build(o);
    if (webSocketAuthOptions(o) !== null) {
      if (this.#authClass === null) (await this.build(o)).close();
      this.#refreshWebSocketAuth();
    }
  }

  /** Puts a new authenticator in force and returns the previous one (to close). */
  set(auth: ClientAuthenticator | null): ClientAuthenticator | null {
    const previous = this.#auth;
    this.#auth = auth;
    this.#refreshWebSocketAuth();
    return previous;
  }

  /** Rebuilds the WebSocket clients' authenticator from the options in force. */
  #refreshWebSocketAuth(): void {
    const wsOptions = webSocketAuthOptions(this.#server.options);
    const previous = this.#wsAuth;
    this.#wsAuth = null;
    if (wsOptions !== null && this.#authClass !== null) {
      this.#wsAuth = new this.#authClass(wsOptions, {
        log: this.#server.log,
        bcrypt: this.#bcrypt ?? undefined,
      });
    }
    previous?.close();
  }

  /** The authenticator a client is checked with (WebSocket clients have their own). */
  of(client: { type: ClientType } | undefined): ClientAuthenticator | null {
    return client?.type === "websocket" && this.#server.options.websocket
      ? this.#wsAuth
      : this.#auth;
  }

  /**
   * Builds the authenticator for `options` (start and reload). The bcrypt pool is
   * the server's, shared across reloads, so re-checking connected clients after a
   * reload hits its cache instead of paying ~180 ms of bcrypt per client.
   */
  async build(options: Options): Promise<ClientAuthenticator> {
    const { Authenticator } = await import("../auth/authenticator.ts");
    const { BcryptPool } = await import("../auth/bcrypt_pool.ts");
    this.#authClass = Authenticator;
    this.#bcrypt ??= new BcryptPool();
    return new Authenticator(options, { log: this.#server.log, bcrypt: this.#bcrypt });
  }

  /** Shutdown: closes both authenticators and the bcrypt pool. */
  close(): void {
    this.#auth?.close();
    this.#wsAuth?.close();
    this.#bcrypt?.close();
  }
}
