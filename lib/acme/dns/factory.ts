/**
 * Builds the configured DNS provider from `AcmeOptions.extra` and the
 * environment (lego's variable names as fallback), resolving the API token
 * from its source first.
 *
 * @module
 */
import type { AcmeOptions } from "../../config/options.ts";
import { resolveToken } from "../secrets.ts";
import { DNS_PROVIDERS, extraNumber, extraString } from "../settings.ts";
import { CloudflareProvider } from "./cloudflare.ts";
import { DigitalOceanProvider } from "./digitalocean.ts";
import { ExecProvider } from "./exec.ts";
import type { DnsProvider } from "./provider.ts";
import { Route53Provider } from "./route53.ts";

/** Provider names {@link createDnsProvider} knows. */
export { DNS_PROVIDERS };

/**
 * Creates the provider named by `options.dnsProvider`.
 *
 * @param options the ACME options (provider settings in `extra`)
 * @param env environment variables to fall back on
 * @throws {TypeError} for an unknown provider or missing credentials
 */
export async function createDnsProvider(
  options: AcmeOptions,
  env: Record<string, string | undefined>,
): Promise<DnsProvider> {
  const x = options.extra;
  const pick = (key: string, ...envNames: string[]): string | undefined =>
    extraString(x, key) ?? envNames.map((n) => env[n]).find((v) => v !== undefined && v !== "");
  const name = (options.dnsProvider ?? "").toLowerCase();
  const token = async (...envNames: string[]) =>
    await resolveToken(
      {
        token: pick("dns_token", "DNS_AUTH_TOKEN", ...envNames),
        file: pick("dns_token_file", "DNS_AUTH_TOKEN_FILE"),
        vault: pick("dns_token_vault", "DNS_AUTH_TOKEN_VAULT"),
        secret: pick("dns_token_secret", "DNS_AUTH_TOKEN_SECRET"),
      },
      {
        imdsUrl: pick("azure_imds_url", "AZURE_IMDS_URL") ??
          "http://169.254.169.254/metadata/identity/oauth2/token",
        identityEndpoint: env.IDENTITY_ENDPOINT,
        identityHeader: env.IDENTITY_HEADER,
        clientId: pick("azure_client_id", "AZURE_CLIENT_ID"),
      },
    );
  const noToken = () =>
    new TypeError(
      "Invalid DNS auth token. Use one of 'DNS_AUTH_TOKEN_VAULT', 'DNS_AUTH_TOKEN_FILE' or 'DNS_AUTH_TOKEN' env variable",
    );
  switch (name) {
    case "digitalocean": {
      const t = await token("DO_AUTH_TOKEN");
      if (!t) throw noToken();
      const o: ConstructorParameters<typeof DigitalOceanProvider>[0] = { token: t };
      const api = pick("do_api_url", "DO_API_URL");
      if (api) o.apiUrl = api;
      const zone = pick("do_zone");
      if (zone) o.zone = zone;
      const ttl = extraNumber(x, "do_ttl") ?? (env.DO_TTL ? Number(env.DO_TTL) : undefined);
      if (ttl) o.ttl = ttl;
      return new DigitalOceanProvider(o);
    }
    case "cloudflare": {
      const t = await token("CLOUDFLARE_DNS_API_TOKEN", "CF_DNS_API_TOKEN");
      if (!t) throw noToken();
      const o: ConstructorParameters<typeof CloudflareProvider>[0] = { token: t };
      const api = pick("cf_api_url", "CLOUDFLARE_API_URL");
      if (api) o.apiUrl = api;
      const zoneId = pick("cf_zone_id", "CLOUDFLARE_ZONE_ID");
      if (zoneId) o.zoneId = zoneId;
      const ttl = extraNumber(x, "cf_ttl");
      if (ttl) o.ttl = ttl;
      return new CloudflareProvider(o);
    }
    case "route53": {
      const o: ConstructorParameters<typeof Route53Provider>[0] = {
        accessKeyId: pick("aws_access_key_id", "AWS_ACCESS_KEY_ID") ?? "",
        secretAccessKey: pick("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY") ?? "",
      };
      const session = pick("aws_session_token", "AWS_SESSION_TOKEN");
      if (session) o.sessionToken = session;
      const zone = pick("route53_hosted_zone_id", "AWS_HOSTED_ZONE_ID");
      if (zone) o.hostedZoneId = zone;
      const endpoint = pick("route53_endpoint", "AWS_ROUTE53_ENDPOINT");
      if (endpoint) o.endpoint = endpoint;
      return new Route53Provider(o);
    }
    case "exec":
      return new ExecProvider(pick("exec_path", "EXEC_PATH") ?? "");
    default:
      throw new TypeError(
        `Unknown DNS provider ${JSON.stringify(options.dnsProvider)}; known: ${
          DNS_PROVIDERS.join(", ")
        }`,
      );
  }
}
