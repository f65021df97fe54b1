/**
 * The DNS provider interface used by the DNS-01 solver, and name helpers the
 * providers share.
 *
 * @module
 */

/** Creates and removes the `_acme-challenge` TXT record at a DNS host. */
export interface DnsProvider {
  /** A short name for logs (`digitalocean`, `cloudflare`, `route53`, `exec`). */
  readonly name: string;
  /**
   * Adds a TXT record.
   *
   * @param fqdn the record name with a trailing dot, e.g. `_acme-challenge.example.com.`
   * @param value the TXT value
   */
  present(fqdn: string, value: string): Promise<void>;
  /** Removes the TXT record added by {@link present} with the same arguments. */
  cleanup(fqdn: string, value: string): Promise<void>;
}

/** `_acme-challenge.<domain>.` for a DNS-01 identifier (RFC 8555 §8.4). */
export function challengeFqdn(domain: string): string {
  return `_acme-challenge.${domain.replace(/^\*\./, "").replace(/\.$/, "")}.`;
}

/** Drops the trailing dot. */
export function unFqdn(name: string): string {
  return name.replace(/\.$/, "");
}

/**
 * The longest zone in `zones` that `fqdn` sits in, and the record name
 * relative to it (`_acme-challenge.www` in `example.com`).
 */
export function matchZone(
  fqdn: string,
  zones: string[],
): { zone: string; relative: string } | undefined {
  const name = unFqdn(fqdn).toLowerCase();
  let best: string | undefined;
  for (const z of zones.map((z) => unFqdn(z).toLowerCase())) {
    if ((name === z || name.endsWith(`.${z}`)) && (!best || z.length > best.length)) best = z;
  }
  if (best === undefined) return undefined;
  const relative = name === best ? "@" : name.slice(0, name.length - best.length - 1);
  return { zone: best, relative };
}

/**
 * The candidate zones holding a record, longest first
 * (`_acme-challenge.a.b.c` -> `a.b.c`, `b.c`; single labels are never zones we manage).
 */
export function parentZones(fqdn: string): string[] {
  const labels = unFqdn(fqdn).replace(/^_acme-challenge\./i, "").split(".");
  return labels.map((_, i) => labels.slice(i).join(".")).filter((z) => z.includes("."));
}

/** Throws with the response body when a provider API call failed. */
export async function expectOk(res: Response, what: string): Promise<Response> {
  if (res.ok) return res;
  const text = (await res.text()).slice(0, 300);
  throw new Error(`${what} failed: HTTP ${res.status}${text ? `: ${text}` : ""}`);
}
