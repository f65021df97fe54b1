/**
 * The two challenge solvers: HTTP-01 on a listener of our own and DNS-01
 * through a {@link DnsProvider}, with a propagation check against chosen
 * resolvers before the CA is asked to validate.
 *
 * @module
 */
import type { Logger } from "../ops/logger.ts";
import type { ChallengeInfo, ChallengeSolver } from "./issuer.ts";
import { challengeFqdn, type DnsProvider, unFqdn } from "./dns/provider.ts";

const WELL_KNOWN = "/.well-known/acme-challenge/";

/** Splits `host:port`, `[v6]:port` or `:port` (host defaults to 0.0.0.0). */
export function parseHostPort(s: string, defaultPort: number): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d+))?$/.exec(s.trim());
  if (!m) throw new TypeError(`Invalid host:port: ${s}`);
  const hostname = m[1] ?? (m[2] || "0.0.0.0");
  const port = m[3] ? Number(m[3]) : defaultPort;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Invalid port in ${s}`);
  }
  return { hostname, port };
}

/**
 * Serves `/.well-known/acme-challenge/<token>` while challenges are pending.
 * The listener opens with the first challenge and closes after the last
 * cleanup, so port 80 is held only during an order.
 */
export class Http01Solver implements ChallengeSolver {
  readonly type = "http-01" as const;
  #listen: { hostname: string; port: number };
  #tokens = new Map<string, string>();
  #server: Deno.HttpServer | undefined;
  #log: Logger;

  /**
   * @param listen `host:port` (default port 80)
   * @param log for validation requests at debug level
   */
  constructor(listen: string, log: Logger) {
    this.#listen = parseHostPort(listen, 80);
    this.#log = log;
  }

  #handle = (req: Request): Response => {
    const path = new URL(req.url).pathname;
    if (req.method === "GET" && path.startsWith(WELL_KNOWN)) {
      const token = path.slice(WELL_KNOWN.length);
      const ka = this.#tokens.get(token);
      if (ka !== undefined) {
        if (this.#log.debugEnabled) this.#log.debug(`ACME: answered http-01 for token ${token}`);
        return new Response(ka, { headers: { "Content-Type": "application/octet-stream" } });
      }
    }
    return new Response("Not found\n", { status: 404 });
  };

  present(info: ChallengeInfo): Promise<void> {
    this.#tokens.set(info.token, info.keyAuthorization);
    if (!this.#server) {
      this.#server = Deno.serve({ ...this.#listen, onListen: () => {} }, this.#handle);
    }
    return Promise.resolve();
  }

  async cleanup(info: ChallengeInfo): Promise<void> {
    this.#tokens.delete(info.token);
    if (this.#tokens.size === 0) await this.close();
  }

  /** Closes the listener if open. */
  async close(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (s) await s.shutdown();
  }
}

/** Settings of {@link Dns01Solver}. */
export interface Dns01Options {
  /** `host:port` resolvers to ask for the TXT record; empty = the system resolver. */
  resolvers?: string[];
  /** How long to wait for the record to appear (default 90 s, as letsgo-nats). */
  propagationTimeoutMs?: number;
  /** Require every resolver to see it (letsgo's `DISABLE_CP=false`); default any one. */
  requireAll?: boolean;
  /** Per-query timeout (letsgo's `DNS_TIMEOUT`); default 5 s. */
  queryTimeoutMs?: number;
  log: Logger;
}

/** Looks a TXT record up, on one resolver or the system's. */
async function lookupTxt(
  name: string,
  resolver: string | undefined,
  timeoutMs: number,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const opts: Deno.ResolveDnsOptions = {
      signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
    };
    if (resolver) {
      const { hostname, port } = parseHostPort(resolver, 53);
      opts.nameServer = { ipAddr: hostname, port };
    }
    try {
      const records = await Deno.resolveDns(unFqdn(name), "TXT", opts);
      // A TXT record may be split into several strings; they form one value.
      return records.map((parts) => parts.join(""));
    } catch (err) {
      // The runtime's resolver gives up on its own after about 2 s: ask again
      // until `dns_timeout` is used up, so a longer one means what it says.
      if (err instanceof Deno.errors.TimedOut && Date.now() < deadline - 50) continue;
      // NXDOMAIN, timeouts and refusals all mean "not visible yet".
      return [];
    }
  }
}

/** DNS-01 through a provider; `wait` polls the resolvers until the value shows. */
export class Dns01Solver implements ChallengeSolver {
  readonly type = "dns-01" as const;
  #provider: DnsProvider;
  #opts: Dns01Options;

  constructor(provider: DnsProvider, opts: Dns01Options) {
    this.#provider = provider;
    this.#opts = opts;
  }

  async present(info: ChallengeInfo): Promise<void> {
    const fqdn = challengeFqdn(info.domain);
    this.#opts.log.debug(`ACME: adding TXT ${fqdn} through ${this.#provider.name}`);
    await this.#provider.present(fqdn, info.dnsValue);
  }

  async wait(info: ChallengeInfo): Promise<void> {
    const fqdn = challengeFqdn(info.domain);
    const resolvers = this.#opts.resolvers?.length ? this.#opts.resolvers : [undefined];
    const deadline = Date.now() + (this.#opts.propagationTimeoutMs ?? 90_000);
    const queryTimeout = this.#opts.queryTimeoutMs ?? 5000;
    let pause = 250;
    for (;;) {
      const seen = await Promise.all(
        resolvers.map(async (r) =>
          (await lookupTxt(fqdn, r, queryTimeout)).includes(info.dnsValue)
        ),
      );
      const ok = this.#opts.requireAll ? seen.every(Boolean) : seen.some(Boolean);
      if (ok) return;
      if (Date.now() + pause > deadline) {
        throw new Error(
          `DNS-01: TXT ${fqdn} not visible on ${
            resolvers.map((r) => r ?? "the system resolver").join(", ")
          } within ${Math.round((this.#opts.propagationTimeoutMs ?? 90_000) / 1000)}s`,
        );
      }
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, 5000);
    }
  }

  async cleanup(info: ChallengeInfo): Promise<void> {
    await this.#provider.cleanup(challengeFqdn(info.domain), info.dnsValue);
  }
}
