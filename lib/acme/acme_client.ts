/**
 * A small RFC 8555 ACME client on `fetch` and Web Crypto.
 *
 * Why our own instead of npm `acme-client`: that package has no ACME Renewal
 * Information (RFC 9773) and no `replaces` in newOrder, pulls in an ASN.1 and
 * HTTP stack (axios) that does not take a `Deno.HttpClient` for private CA
 * roots, and hides the nonce handling we need to test against pebble's nonce
 * rejection. The protocol surface dnatsd needs (one account, one order at a
 * time, DNS-01/HTTP-01) is a few hundred lines, and keeping it here lets the
 * manager see every error type and Retry-After value.
 *
 * @module
 */
import type { Logger } from "../ops/logger.ts";
import { b64url } from "./_encoding.ts";
import { externalAccountBinding, signJws } from "./jws.ts";
import { jwkThumbprint, type KeyPair, publicJwk } from "./keys.ts";

/** The directory object (RFC 8555 §7.1.1) plus ARI's `renewalInfo` (RFC 9773 §4). */
export interface Directory {
  newNonce: string;
  newAccount: string;
  newOrder: string;
  revokeCert?: string;
  keyChange?: string;
  renewalInfo?: string;
  meta?: { termsOfService?: string; externalAccountRequired?: boolean };
}

/** An identifier in an order or authorization. */
export interface Identifier {
  type: "dns" | "ip";
  value: string;
}

/** A challenge object. */
export interface Challenge {
  type: string;
  url: string;
  status: string;
  token: string;
  error?: ProblemDocument;
}

/** An authorization object. */
export interface Authorization {
  identifier: Identifier;
  status: string;
  challenges: Challenge[];
  wildcard?: boolean;
}

/** An order object with the URL it lives at. */
export interface Order {
  url: string;
  status: string;
  identifiers: Identifier[];
  authorizations: string[];
  finalize: string;
  certificate?: string;
  error?: ProblemDocument;
}

/** An RFC 7807 problem document as ACME sends it. */
export interface ProblemDocument {
  type?: string;
  detail?: string;
  status?: number;
  subproblems?: ProblemDocument[];
}

/** The renewal window a CA suggests through ARI. */
export interface RenewalInfo {
  start: Date;
  end: Date;
  explanationURL?: string;
  /** When to ask again, from the `Retry-After` header. */
  retryAfterMs: number;
}

/** An error response from the CA, or a failed order/authorization. */
export class AcmeError extends Error {
  /** The problem type URN, e.g. `urn:ietf:params:acme:error:badNonce`. */
  readonly type: string;
  readonly status: number;
  /** Milliseconds from a `Retry-After` header, when the CA sent one. */
  readonly retryAfterMs: number | undefined;
  constructor(
    message: string,
    init: { type?: string; status?: number; retryAfterMs?: number; cause?: unknown },
  ) {
    super(message, { cause: init.cause });
    this.name = "AcmeError";
    this.type = init.type ?? "";
    this.status = init.status ?? 0;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** Settings of an {@link AcmeClient}. */
export interface AcmeClientOptions {
  directoryUrl: string;
  accountKey: KeyPair;
  /** Carries extra trusted roots for a private CA; verification always stays on. */
  httpClient?: Deno.HttpClient;
  /** Per-request timeout (default 30 s). */
  requestTimeoutMs?: number;
  /**
   * How often a `badNonce` answer is retried with a fresh nonce (default 12:
   * even at a 50 % rejection rate one request fails about once in 8,000).
   */
  badNonceRetries?: number;
  /** Gets debug lines (nonce retries). */
  log?: Logger;
}

const BAD_NONCE = "urn:ietf:params:acme:error:badNonce";
const USER_AGENT = "dnatsd-acme/0.1";

/** Parses `Retry-After` (seconds or HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** One ACME account on one CA. Not safe for concurrent orders; the manager runs one at a time. */
export class AcmeClient {
  #opts: AcmeClientOptions;
  #directory: Directory | undefined;
  #nonce: string | undefined;
  #kid: string | undefined;
  #thumbprint: string | undefined;

  constructor(opts: AcmeClientOptions) {
    this.#opts = opts;
  }

  async #fetch(url: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("User-Agent", USER_AGENT);
    const res = await fetch(url, {
      ...init,
      headers,
      signal: AbortSignal.timeout(this.#opts.requestTimeoutMs ?? 30_000),
      ...(this.#opts.httpClient ? { client: this.#opts.httpClient } : {}),
    });
    const nonce = res.headers.get("Replay-Nonce");
    if (nonce) this.#nonce = nonce;
    return res;
  }

  /** Fetches (once) and returns the directory. */
  async directory(): Promise<Directory> {
    if (this.#directory) return this.#directory;
    const res = await this.#fetch(this.#opts.directoryUrl, { method: "GET" });
    if (!res.ok) throw await this.#problem(res, "Fetching the ACME directory failed");
    this.#directory = await res.json() as Directory;
    return this.#directory;
  }

  async #freshNonce(): Promise<string> {
    const dir = await this.directory();
    const res = await this.#fetch(dir.newNonce, { method: "HEAD" });
    await res.body?.cancel();
    const nonce = res.headers.get("Replay-Nonce");
    if (!nonce) throw new AcmeError("The CA returned no Replay-Nonce", { status: res.status });
    return nonce;
  }

  async #problem(res: Response, what: string): Promise<AcmeError> {
    let doc: ProblemDocument = {};
    const text = await res.text();
    try {
      doc = JSON.parse(text) as ProblemDocument;
    } catch {
      doc = { detail: text.slice(0, 200) };
    }
    const init: { type?: string; status?: number; retryAfterMs?: number } = { status: res.status };
    if (doc.type) init.type = doc.type;
    const ra = parseRetryAfter(res.headers.get("Retry-After"));
    if (ra !== undefined) init.retryAfterMs = ra;
    const detail = doc.detail ? `: ${doc.detail}` : "";
    return new AcmeError(`${what} (HTTP ${res.status} ${doc.type ?? ""})${detail}`.trim(), init);
  }

  /**
   * Sends a signed POST (payload undefined = POST-as-GET). A `badNonce`
   * answer is retried with the nonce that came with it, as RFC 8555 §6.5 asks.
   */
  async #post(
    url: string,
    payload: unknown,
    opts: { useJwk?: boolean; accept?: string } = {},
  ): Promise<Response> {
    const retries = this.#opts.badNonceRetries ?? 12;
    for (let attempt = 0;; attempt++) {
      const nonce = this.#nonce ?? await this.#freshNonce();
      this.#nonce = undefined;
      const header: Record<string, unknown> = { nonce, url };
      if (opts.useJwk || !this.#kid) header.jwk = await publicJwk(this.#opts.accountKey);
      else header.kid = this.#kid;
      const body = await signJws(this.#opts.accountKey, header, payload);
      const res = await this.#fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/jose+json", Accept: opts.accept ?? "*/*" },
        body: JSON.stringify(body),
      });
      if (res.ok) return res;
      const err = await this.#problem(res, `ACME request to ${url} failed`);
      if (err.type === BAD_NONCE && attempt < retries) {
        this.#opts.log?.debug(`ACME: badNonce from ${url}, retrying (${attempt + 1}/${retries})`);
        continue;
      }
      throw err;
    }
  }

  async #postJson<T>(url: string, payload: unknown): Promise<{ body: T; res: Response }> {
    const res = await this.#post(url, payload);
    return { body: await res.json() as T, res };
  }

  /**
   * Finds or creates the account for this key (newAccount is idempotent per key).
   *
   * @returns the account URL, used as `kid` from now on
   */
  async account(
    opts: { email?: string; termsAgreed: boolean; eab?: { kid: string; hmacKey: string } },
  ): Promise<string> {
    const dir = await this.directory();
    const payload: Record<string, unknown> = { termsOfServiceAgreed: opts.termsAgreed };
    if (opts.email) payload.contact = [`mailto:${opts.email}`];
    if (opts.eab) {
      const jwk = await publicJwk(this.#opts.accountKey);
      payload.externalAccountBinding = await externalAccountBinding(opts.eab, jwk, dir.newAccount);
    }
    const res = await this.#post(dir.newAccount, payload, { useJwk: true });
    await res.body?.cancel();
    const kid = res.headers.get("Location");
    if (!kid) throw new AcmeError("newAccount answered without a Location", { status: res.status });
    this.#kid = kid;
    return kid;
  }

  /** Creates an order; `replaces` is the ARI certificate identifier of the one it renews. */
  async newOrder(identifiers: Identifier[], opts: { replaces?: string } = {}): Promise<Order> {
    const dir = await this.directory();
    const payload: Record<string, unknown> = { identifiers };
    if (opts.replaces) payload.replaces = opts.replaces;
    const { body, res } = await this.#postJson<Omit<Order, "url">>(dir.newOrder, payload);
    const url = res.headers.get("Location");
    if (!url) throw new AcmeError("newOrder answered without a Location", { status: res.status });
    return { ...body, url };
  }

  /** Reads an authorization (POST-as-GET). */
  async authorization(url: string): Promise<Authorization> {
    return (await this.#postJson<Authorization>(url, undefined)).body;
  }

  /** Reads an order (POST-as-GET). */
  async order(url: string): Promise<Order> {
    const { body } = await this.#postJson<Omit<Order, "url">>(url, undefined);
    return { ...body, url };
  }

  /** Tells the CA the challenge is ready to be validated. */
  async acceptChallenge(url: string): Promise<Challenge> {
    return (await this.#postJson<Challenge>(url, {})).body;
  }

  /** The key authorization `token.thumbprint` (RFC 8555 §8.1). */
  async keyAuthorization(token: string): Promise<string> {
    this.#thumbprint ??= await jwkThumbprint(await publicJwk(this.#opts.accountKey));
    return `${token}.${this.#thumbprint}`;
  }

  /** The TXT record value for DNS-01: base64url(SHA-256(key authorization)). */
  async dns01Value(token: string): Promise<string> {
    const ka = new TextEncoder().encode(await this.keyAuthorization(token));
    return b64url(new Uint8Array(await crypto.subtle.digest("SHA-256", ka)));
  }

  /** Sends the CSR to the order's finalize URL. */
  async finalize(order: Order, csrDer: Uint8Array): Promise<Order> {
    const { body } = await this.#postJson<Omit<Order, "url">>(order.finalize, {
      csr: b64url(csrDer),
    });
    return { ...body, url: order.url };
  }

  /** Downloads the PEM chain (leaf first). */
  async downloadCertificate(url: string): Promise<string> {
    const res = await this.#post(url, undefined, { accept: "application/pem-certificate-chain" });
    return await res.text();
  }

  /**
   * Asks for the suggested renewal window (RFC 9773 §4.2); undefined when the
   * directory has no `renewalInfo`.
   */
  async renewalInfo(certId: string): Promise<RenewalInfo | undefined> {
    const dir = await this.directory();
    if (!dir.renewalInfo) return undefined;
    const base = dir.renewalInfo.endsWith("/") ? dir.renewalInfo : `${dir.renewalInfo}/`;
    const res = await this.#fetch(base + certId, { method: "GET" });
    if (!res.ok) throw await this.#problem(res, "Fetching renewal information failed");
    const body = await res.json() as {
      suggestedWindow?: { start?: string; end?: string };
      explanationURL?: string;
    };
    const start = new Date(body.suggestedWindow?.start ?? "");
    const end = new Date(body.suggestedWindow?.end ?? "");
    if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end < start) {
      throw new AcmeError("Renewal information has no valid suggestedWindow", {
        status: res.status,
      });
    }
    // RFC 9773 §4.3: without Retry-After, poll again in about six hours.
    const retryAfterMs = parseRetryAfter(res.headers.get("Retry-After")) ?? 6 * 3600_000;
    const info: RenewalInfo = { start, end, retryAfterMs };
    if (body.explanationURL) info.explanationURL = body.explanationURL;
    return info;
  }
}
