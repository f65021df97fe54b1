/**
 * DigitalOcean DNS through its v2 REST API (`/v2/domains`,
 * `/v2/domains/<zone>/records`). The base URL can be pointed elsewhere
 * (lego's `DO_API_URL`), which is how the tests use a local fixture.
 *
 * @module
 */
import { type DnsProvider, expectOk, matchZone } from "./provider.ts";

/** Settings of {@link DigitalOceanProvider}. */
export interface DigitalOceanOptions {
  token: string;
  /** Default `https://api.digitalocean.com`. */
  apiUrl?: string;
  /** The zone to use; found by listing the account's domains when absent. */
  zone?: string;
  /** TXT record TTL in seconds (default 30, as lego's `DO_TTL`). */
  ttl?: number;
  httpClient?: Deno.HttpClient;
}

/** Creates and deletes TXT records in a DigitalOcean-hosted zone. */
export class DigitalOceanProvider implements DnsProvider {
  readonly name = "digitalocean";
  #opts: DigitalOceanOptions;
  #base: string;
  /** Record ids by `fqdn value`, so cleanup deletes exactly what present made. */
  #records = new Map<string, { zone: string; id: number }>();

  constructor(opts: DigitalOceanOptions) {
    if (!opts.token) throw new TypeError("DigitalOcean DNS provider needs an API token");
    this.#opts = opts;
    this.#base = (opts.apiUrl ?? "https://api.digitalocean.com").replace(/\/+$/, "");
  }

  #fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${this.#opts.token}`);
    headers.set("Content-Type", "application/json");
    return fetch(`${this.#base}${path}`, {
      ...init,
      headers,
      signal: AbortSignal.timeout(30_000),
      ...(this.#opts.httpClient ? { client: this.#opts.httpClient } : {}),
    });
  }

  async #zoneFor(fqdn: string): Promise<{ zone: string; relative: string }> {
    if (this.#opts.zone) {
      const m = matchZone(fqdn, [this.#opts.zone]);
      if (m) return m;
      throw new Error(`DigitalOcean: ${fqdn} is not inside zone ${this.#opts.zone}`);
    }
    const zones: string[] = [];
    // Bounded paging: 10 pages of 200 domains is far beyond any real account.
    for (let page = 1; page <= 10; page++) {
      const res = await expectOk(
        await this.#fetch(`/v2/domains?per_page=200&page=${page}`),
        "DigitalOcean: listing domains",
      );
      const body = await res.json() as {
        domains?: { name: string }[];
        links?: { pages?: { next?: string } };
      };
      // One push per name: a spread of the API's list would bound it by the call stack.
      for (const d of body.domains ?? []) zones.push(d.name);
      if (!body.links?.pages?.next) break;
    }
    const m = matchZone(fqdn, zones);
    if (!m) throw new Error(`DigitalOcean: no domain in this account holds ${fqdn}`);
    return m;
  }

  async present(fqdn: string, value: string): Promise<void> {
    const { zone, relative } = await this.#zoneFor(fqdn);
    const res = await expectOk(
      await this.#fetch(`/v2/domains/${encodeURIComponent(zone)}/records`, {
        method: "POST",
        body: JSON.stringify({
          type: "TXT",
          name: relative,
          data: value,
          ttl: this.#opts.ttl ?? 30,
        }),
      }),
      `DigitalOcean: creating TXT ${fqdn}`,
    );
    const body = await res.json() as { domain_record?: { id?: number } };
    const id = body.domain_record?.id;
    if (typeof id !== "number") throw new Error("DigitalOcean: record created without an id");
    this.#records.set(`${fqdn} ${value}`, { zone, id });
  }

  async cleanup(fqdn: string, value: string): Promise<void> {
    const rec = this.#records.get(`${fqdn} ${value}`);
    if (!rec) return;
    const res = await this.#fetch(
      `/v2/domains/${encodeURIComponent(rec.zone)}/records/${rec.id}`,
      { method: "DELETE" },
    );
    await res.body?.cancel();
    // 404: someone removed it already, which is the state we want.
    if (!res.ok && res.status !== 404) {
      throw new Error(`DigitalOcean: deleting TXT ${fqdn} failed: HTTP ${res.status}`);
    }
    this.#records.delete(`${fqdn} ${value}`);
  }
}
