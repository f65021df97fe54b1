/**
 * Turns {@link AcmeOptions} (from the config file or the letsgo-nats
 * environment) into the concrete settings the manager runs with, and
 * documents the keys of `AcmeOptions.extra` that lib/acme understands.
 *
 * Keys of `extra` (snake_case, as written in `tls { acme { ... } }`):
 *
 * | key | meaning |
 * | --- | --- |
 * | `account_key_file` | account key PEM path outside the storage (created when missing) |
 * | `layout` | `flat`: `<storage>/<name>.crt/.key/.issuer.crt` as letsgo-nats writes; default nested |
 * | `file_name` | base name of the certificate files (default first domain, `*` -> `_`) |
 * | `dns_token`, `dns_token_file`, `dns_token_vault`, `dns_token_secret` | DNS API token sources |
 * | `dns_timeout` | seconds per DNS query in the propagation check |
 * | `dns_propagation_timeout` | seconds to wait for the TXT record to show (default 90) |
 * | `dns_propagation_all` | every resolver must see the record (default: any one) |
 * | `do_api_url`, `do_zone`, `do_ttl` | DigitalOcean |
 * | `cf_api_url`, `cf_zone_id`, `cf_ttl` | Cloudflare |
 * | `aws_access_key_id`, `aws_secret_access_key`, `aws_session_token`, `route53_hosted_zone_id`, `route53_endpoint` | Route 53 |
 * | `exec_path` | program for the `exec` provider |
 * | `azure_imds_url`, `azure_client_id` | managed identity for `dns_token_vault` |
 * | `poll_timeout` | seconds to wait for validation and issuance (default 180) |
 *
 * Provider keys fall back to lego's environment variable names (`DO_API_URL`,
 * `EXEC_PATH`, `CLOUDFLARE_DNS_API_TOKEN`, `AWS_ACCESS_KEY_ID`, ...).
 *
 * @module
 */
import type { AcmeOptions } from "../config/options.ts";

/** Let's Encrypt's directories and the local Boulder one letsgo-nats calls TEST. */
export const CA_DIRECTORIES = {
  production: "https://acme-v02.api.letsencrypt.org/directory",
  staging: "https://acme-staging-v02.api.letsencrypt.org/directory",
  test: "http://localhost:4000/directory",
} as const;

/** Provider names `dns_provider` may take. */
export const DNS_PROVIDERS = ["digitalocean", "cloudflare", "route53", "exec"] as const;

/**
 * The keys of `AcmeOptions.extra` lib/acme reads (see the table above). The
 * config parser refuses any other key in an `acme` block, so a misspelt
 * setting is an error rather than silently ignored.
 */
export const ACME_EXTRA_KEYS = [
  "account_key_file",
  "layout",
  "file_name",
  "dns_token",
  "dns_token_file",
  "dns_token_vault",
  "dns_token_secret",
  "dns_timeout",
  "dns_propagation_timeout",
  "dns_propagation_all",
  "do_api_url",
  "do_zone",
  "do_ttl",
  "cf_api_url",
  "cf_zone_id",
  "cf_ttl",
  "aws_access_key_id",
  "aws_secret_access_key",
  "aws_session_token",
  "route53_hosted_zone_id",
  "route53_endpoint",
  "exec_path",
  "azure_imds_url",
  "azure_client_id",
  "poll_timeout",
] as const;

/** `extra` keys holding a number (seconds, or a TTL). */
const NUMBER_EXTRAS = [
  "dns_timeout",
  "dns_propagation_timeout",
  "do_ttl",
  "cf_ttl",
  "poll_timeout",
];

/** Default check interval: 12 hours. */
export const DEFAULT_CHECK_INTERVAL_MS = 12 * 3600_000;
/** Default share of the lifetime left at which to renew when the CA has no ARI. */
export const DEFAULT_RENEW_FRACTION = 1 / 3;

/** Resolves `production`, `staging`, `test` or a URL to a directory URL. */
export function directoryUrl(ca: string): string {
  const key = ca.trim().toLowerCase();
  if (key in CA_DIRECTORIES) return CA_DIRECTORIES[key as keyof typeof CA_DIRECTORIES];
  if (/^https?:\/\//i.test(ca.trim())) return ca.trim();
  throw new TypeError(`Invalid CA directory: ${ca}`);
}

/** Reads a string from `extra`. */
export function extraString(extra: Record<string, unknown>, key: string): string | undefined {
  const v = extra[key];
  if (v === undefined || v === null || v === "") return undefined;
  return String(v);
}

/** Reads a number from `extra`; strings are parsed. */
export function extraNumber(extra: Record<string, unknown>, key: string): number | undefined {
  const v = extra[key];
  if (v === undefined || v === null || v === "") return undefined;
  const n = typeof v === "number" ? v : Number(v);
  if (!Number.isFinite(n)) throw new TypeError(`acme.${key} must be a number, got ${String(v)}`);
  return n;
}

/** Reads a boolean from `extra` (Go ParseBool spellings accepted for strings). */
export function extraBool(extra: Record<string, unknown>, key: string): boolean | undefined {
  const v = extra[key];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v === "boolean") return v;
  return parseBool(String(v), `acme.${key}`);
}

/** Go's strconv.ParseBool, which letsgo-nats uses for its variables. */
export function parseBool(s: string, what: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(s)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(s)) return false;
  throw new TypeError(`${what}: invalid boolean ${JSON.stringify(s)}`);
}

/** Default file name: first domain with `*` replaced by `_`, in ASCII (punycode). */
export function defaultFileName(domain: string): string {
  const ascii = (() => {
    try {
      return new URL(`http://${domain.replace(/\*/g, "wildcard-placeholder")}`).hostname
        .replace(/wildcard-placeholder/g, "*");
    } catch {
      return domain;
    }
  })();
  return ascii.replace(/\*/g, "_");
}

/** Storage keys of one certificate. */
export interface CertKeys {
  cert: string;
  key: string;
  issuer: string;
  meta: string;
  /** Lock name used while obtaining it. */
  lock: string;
}

/** Everything the manager needs, validated. */
export interface ResolvedSettings {
  domains: string[];
  directoryUrl: string;
  name: string;
  keys: CertKeys;
  renewFraction: number;
  /** `renew_before`: renew when less than this is left (see renewal.ts for how it combines). */
  renewBeforeMs: number | undefined;
  checkIntervalMs: number;
  pollTimeoutMs: number;
  accountKeyFile: string | undefined;
}

/**
 * Validates options and fills defaults. The manager's constructor calls it,
 * and so does `-t` (lib/tls/validate.ts): a configuration `-t` accepts is
 * one the manager starts with.
 *
 * @throws {TypeError|RangeError} on a configuration the manager cannot run with
 */
export function resolveSettings(o: AcmeOptions): ResolvedSettings {
  const domains = o.domains.map((d) => d.trim().toLowerCase()).filter(Boolean);
  if (domains.length === 0) throw new TypeError("ACME needs at least one domain");
  if (!o.agreeTos) {
    throw new TypeError("ACME: the CA's terms of service must be agreed to (agree_tos: true)");
  }
  if (o.challenge === "dns-01" && !o.dnsProvider) {
    throw new TypeError("ACME: dns-01 needs a DNS provider (dns_provider)");
  }
  if (o.challenge === "http-01" && domains.some((d) => d.startsWith("*."))) {
    throw new TypeError("ACME: wildcard names need the dns-01 challenge");
  }
  if (
    o.challenge === "dns-01" &&
    !(DNS_PROVIDERS as readonly string[]).includes((o.dnsProvider ?? "").toLowerCase())
  ) {
    throw new TypeError(
      `Unknown DNS provider ${JSON.stringify(o.dnsProvider)}; known: ${DNS_PROVIDERS.join(", ")}`,
    );
  }
  if (o.renewFraction !== undefined && o.renewBeforeMs !== undefined) {
    throw new TypeError(
      "ACME: renew_fraction and renew_before are two ways to say the same thing; set one",
    );
  }
  const renewFraction = o.renewFraction ?? DEFAULT_RENEW_FRACTION;
  if (!(renewFraction > 0 && renewFraction < 1)) {
    throw new RangeError(`ACME: renew fraction must be between 0 and 1, got ${renewFraction}`);
  }
  if (o.renewBeforeMs !== undefined && !(o.renewBeforeMs > 0)) {
    throw new RangeError("ACME: renew_before must be positive");
  }
  const checkIntervalMs = o.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS;
  if (!(checkIntervalMs > 0)) throw new RangeError("ACME: check interval must be positive");
  // Typed extras are read when first needed (the DNS provider on the first
  // order): check them now, so a bad value stops the start, not a renewal.
  for (const key of NUMBER_EXTRAS) extraNumber(o.extra, key);
  extraBool(o.extra, "dns_propagation_all");
  const name = extraString(o.extra, "file_name") ?? defaultFileName(domains[0]!);
  if (/[/\\]|^\.\.?$/.test(name)) throw new TypeError(`ACME: invalid file name ${name}`);
  const flat = extraString(o.extra, "layout") === "flat";
  const prefix = flat ? "" : `certificates/${name}/`;
  return {
    domains,
    directoryUrl: directoryUrl(o.caDirectory),
    name,
    keys: {
      cert: `${prefix}${name}.crt`,
      key: `${prefix}${name}.key`,
      issuer: `${prefix}${name}.issuer.crt`,
      meta: `${prefix}${name}.acme.json`,
      lock: `cert-${name}`,
    },
    renewFraction,
    renewBeforeMs: o.renewBeforeMs,
    checkIntervalMs,
    pollTimeoutMs: (extraNumber(o.extra, "poll_timeout") ?? 180) * 1000,
    accountKeyFile: extraString(o.extra, "account_key_file"),
  };
}

/**
 * The HTTP client for a private CA's roots (`ca_roots`), or undefined for the
 * system roots. The manager calls it when it starts, and `-t` too.
 *
 * @param files PEM files.
 * @returns A client the caller closes.
 * @throws {TypeError} naming the file that cannot be read or parsed
 */
export function createAcmeHttpClient(
  files: readonly string[] | undefined,
): Deno.HttpClient | undefined {
  if (!files?.length) return undefined;
  const caCerts: string[] = [];
  for (const file of files) {
    try {
      caCerts.push(Deno.readTextFileSync(file));
    } catch (err) {
      const why = err instanceof Deno.errors.NotFound
        ? "no such file or directory"
        : (err as Error).message;
      throw new TypeError(`ACME: ca_roots: open ${file}: ${why}`, { cause: err });
    }
  }
  try {
    return Deno.createHttpClient({ caCerts });
  } catch (err) {
    throw new TypeError(`ACME: ca_roots ${files.join(", ")}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
