/**
 * Cloudflare DNS through its v4 REST API with an API token
 * (`Authorization: Bearer`, permission Zone.DNS:Edit).
 *
 * @module
 */
import { type DnsProvider, expectOk, parentZones, unFqdn } from "./provider.ts";

/** Settings of {@link CloudflareProvider}. */
export interface CloudflareOptions {
  token: string;
  /** Default `https://api.cloudflare.com/client/v4`. */
  apiUrl?: string;
  /** Skip the zone lookup (needs only DNS:Edit on that zone). */
  zoneId?: string;
  /** TXT TTL in seconds (default 120, Cloudflare's minimum for non-Enterprise). */
  ttl?: number;
  httpClient?: Deno.HttpClient;
}

interface CfEnvelope<T> {
  success: boolean;
  errors?: { code: number; message: string }[];
  result: T;
}

/** Creates and deletes TXT records in a Cloudflare zone. */
export class CloudflareProvider implements DnsProvider {
  readonly name = "cloudflare";
  #opts: CloudflareOptions;
  #base: string;
  #records = new Map<string, { zoneId: string; id: string }>();

  constructor(opts: CloudflareOptions) {
    if (!opts.token) throw new TypeError("Cloudflare DNS provider needs an API token");
    this.#opts = opts;
    this.#base = (opts.apiUrl ?? "https://api.cloudflare.com/client/v4").replace(/\/+$/, "");
  }

  async #call<T>(path: string, what: string, init: RequestInit = {}): Promise<T> {
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${this.#opts.token}`);
    headers.set("Content-Type", "application/json");
    const res = await expectOk(
      await fetch(`${this.#base}${path}`, {
        ...init,
        headers,
        signal: AbortSignal.timeout(30_000),
        ...(this.#opts.httpClient ? { client: this.#opts.httpClient } : {}),
      }),
      `Cloudflare: ${what}`,
    );
    const env = await res.json() as CfEnvelope<T>;
    if (!env.success) {
      const msg = (env.errors ?? []).map((e) => `${e.code} ${e.message}`).join("; ");
      throw new Error(`Cloudflare: ${what} failed: ${msg || "unknown error"}`);
    }
    return env.result;
  }

  async #zoneId(fqdn: string): Promise<string> {
    if (this.#opts.zoneId) return this.#opts.zoneId;
    for (const candidate of parentZones(fqdn)) {
      const zones = await this.#call<{ id: string }[]>(
        `/zones?name=${encodeURIComponent(candidate)}`,
        `looking up zone ${candidate}`,
      );
      if (zones[0]) return zones[0].id;
    }
    throw new Error(`Cloudflare: no zone in this account holds ${fqdn}`);
  }

  async present(fqdn: string, value: string): Promise<void> {
    const zoneId = await this.#zoneId(fqdn);
    const rec = await this.#call<{ id: string }>(
      `/zones/${zoneId}/dns_records`,
      `creating TXT ${fqdn}`,
      {
        method: "POST",
        body: JSON.stringify({
          type: "TXT",
          name: unFqdn(fqdn),
          content: value,
          ttl: this.#opts.ttl ?? 120,
        }),
      },
    );
    this.#records.set(`${fqdn} ${value}`, { zoneId, id: rec.id });
  }

  async cleanup(fqdn: string, value: string): Promise<void> {
    const rec = this.#records.get(`${fqdn} ${value}`);
    if (!rec) return;
    await this.#call(`/zones/${rec.zoneId}/dns_records/${rec.id}`, `deleting TXT ${fqdn}`, {
      method: "DELETE",
    });
    this.#records.delete(`${fqdn} ${value}`);
  }
}
