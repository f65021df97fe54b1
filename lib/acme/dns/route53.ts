/**
 * Amazon Route 53 through its REST/XML API (2013-04-01), signed with SigV4.
 * Route 53 keeps all TXT values of one name in one record set, so values are
 * tracked per name: present UPSERTs the full set, cleanup UPSERTs what is
 * left or DELETEs the set when nothing is.
 *
 * @module
 */
import { type DnsProvider, expectOk, parentZones } from "./provider.ts";
import { type AwsCredentials, signV4 } from "./sigv4.ts";

/** Settings of {@link Route53Provider}. */
export interface Route53Options extends AwsCredentials {
  /** Hosted zone id (`Z123...`); looked up by name when absent. */
  hostedZoneId?: string;
  /** Default `https://route53.amazonaws.com`. */
  endpoint?: string;
  /** Route 53 is global; its SigV4 region is `us-east-1`. */
  region?: string;
  /** TXT TTL in seconds (default 10). */
  ttl?: number;
  httpClient?: Deno.HttpClient;
}

const API = "/2013-04-01";

function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Manages `_acme-challenge` TXT record sets in a Route 53 hosted zone. */
export class Route53Provider implements DnsProvider {
  readonly name = "route53";
  #opts: Route53Options;
  #base: string;
  #values = new Map<string, Set<string>>();

  constructor(opts: Route53Options) {
    if (!opts.accessKeyId || !opts.secretAccessKey) {
      throw new TypeError(
        "Route 53 DNS provider needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
      );
    }
    this.#opts = opts;
    this.#base = (opts.endpoint ?? "https://route53.amazonaws.com").replace(/\/+$/, "");
  }

  async #request(method: string, path: string, body = ""): Promise<string> {
    const url = `${this.#base}${path}`;
    const headers = await signV4(
      {
        method,
        url,
        headers: body ? { "content-type": "application/xml" } : {},
        body,
        region: this.#opts.region ?? "us-east-1",
        service: "route53",
      },
      this.#opts,
    );
    const res = await expectOk(
      await fetch(url, {
        method,
        headers,
        signal: AbortSignal.timeout(30_000),
        ...(body ? { body } : {}),
        ...(this.#opts.httpClient ? { client: this.#opts.httpClient } : {}),
      }),
      `Route 53: ${method} ${path}`,
    );
    return await res.text();
  }

  async #zoneId(fqdn: string): Promise<string> {
    if (this.#opts.hostedZoneId) return this.#opts.hostedZoneId.replace(/^\/?hostedzone\//, "");
    for (const candidate of parentZones(fqdn)) {
      const xml = await this.#request(
        "GET",
        `${API}/hostedzonesbyname?dnsname=${encodeURIComponent(candidate)}&maxitems=1`,
      );
      const zone = /<HostedZone>([\s\S]*?)<\/HostedZone>/.exec(xml)?.[1] ?? "";
      const id = /<Id>(?:\/hostedzone\/)?([^<]+)<\/Id>/.exec(zone)?.[1];
      const name = /<Name>([^<]+)<\/Name>/.exec(zone)?.[1];
      // The API lists zones from dnsname onwards, so check the name matches.
      if (id && name?.replace(/\.$/, "").toLowerCase() === candidate.toLowerCase()) return id;
    }
    throw new Error(`Route 53: no hosted zone holds ${fqdn}`);
  }

  async #change(fqdn: string, action: "UPSERT" | "DELETE", values: string[]): Promise<void> {
    const zoneId = await this.#zoneId(fqdn);
    const records = values.map((v) =>
      `<ResourceRecord><Value>${xmlEscape(`"${v}"`)}</Value></ResourceRecord>`
    ).join("");
    const body = `<?xml version="1.0" encoding="UTF-8"?>` +
      `<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/">` +
      `<ChangeBatch><Changes><Change><Action>${action}</Action><ResourceRecordSet>` +
      `<Name>${xmlEscape(fqdn)}</Name><Type>TXT</Type><TTL>${this.#opts.ttl ?? 10}</TTL>` +
      `<ResourceRecords>${records}</ResourceRecords></ResourceRecordSet></Change></Changes>` +
      `</ChangeBatch></ChangeResourceRecordSetsRequest>`;
    await this.#request("POST", `${API}/hostedzone/${zoneId}/rrset`, body);
  }

  async present(fqdn: string, value: string): Promise<void> {
    const set = this.#values.get(fqdn) ?? new Set<string>();
    set.add(value);
    this.#values.set(fqdn, set);
    await this.#change(fqdn, "UPSERT", [...set]);
  }

  async cleanup(fqdn: string, value: string): Promise<void> {
    const set = this.#values.get(fqdn);
    if (!set?.has(value)) return;
    const before = [...set];
    set.delete(value);
    if (set.size > 0) return await this.#change(fqdn, "UPSERT", [...set]);
    this.#values.delete(fqdn);
    // DELETE must repeat the record set exactly as it is now.
    await this.#change(fqdn, "DELETE", before);
  }
}
