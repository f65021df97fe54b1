/**
 * The letsgo-nats environment variables, same names and defaults, turned
 * into {@link AcmeOptions}. Files land where letsgo-nats puts them
 * (`<OUTPUT_DIRECTORY>/<FILENAME>.crt`, `.key`, `.issuer.crt`), so an
 * existing `tls { cert_file, key_file }` pointing at them keeps working.
 *
 * Differences, on purpose: `LE_CRT_KEY_TYPE` also takes EC256/EC384 but not
 * RSA8192; domains are trimmed; the account key is only created when missing,
 * as before, but written with mode 0600.
 *
 * @module
 */
import type { AcmeOptions } from "../config/options.ts";
import { parseGoDuration } from "../config/conf_values.ts";
import { defaultFileName, directoryUrl, parseBool } from "./settings.ts";

/** Paths of the three files env mode writes. */
export interface EnvFiles {
  cert: string;
  key: string;
  issuer: string;
}

function absolute(path: string, cwd: string): string {
  const p = path.startsWith("/") ? path : `${cwd.replace(/\/+$/, "")}/${path}`;
  // Normalise `.` and `..` so storage keys never carry them.
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return `/${out.join("/")}`;
}

const KEY_TYPES = ["RSA2048", "RSA4096", "EC256", "EC384"] as const;

/** Provider variables copied into `extra` so the options carry everything. */
const PASS_THROUGH: Record<string, string> = {
  DO_API_URL: "do_api_url",
  DO_TTL: "do_ttl",
  EXEC_PATH: "exec_path",
  CLOUDFLARE_API_URL: "cf_api_url",
  CLOUDFLARE_ZONE_ID: "cf_zone_id",
  AWS_HOSTED_ZONE_ID: "route53_hosted_zone_id",
  AZURE_IMDS_URL: "azure_imds_url",
  AZURE_CLIENT_ID: "azure_client_id",
};

/**
 * Reads letsgo-nats' variables.
 *
 * @param env the environment (e.g. `Deno.env.toObject()`)
 * @param cwd base for relative paths (default `Deno.cwd()`)
 * @returns null when `DOMAINS` is unset or empty (env mode off)
 * @throws {TypeError} with letsgo-nats' message when a variable is invalid
 * @example
 * ```ts
 * import { acmeOptionsFromEnv } from "./env.ts";
 * const r = acmeOptionsFromEnv({ DOMAINS: "a.example", ACCOUNT_EMAIL: "me@a.example", DNS_AUTH_TOKEN: "x" }, "/srv");
 * if (r?.files.cert !== "/srv/a.example.crt") throw new Error("unexpected");
 * ```
 */
export function acmeOptionsFromEnv(
  env: Record<string, string | undefined>,
  cwd: string = Deno.cwd(),
): { options: AcmeOptions; files: EnvFiles } | null {
  const domains = (env.DOMAINS ?? "").split(",").map((d) => d.trim()).filter(Boolean);
  if (domains.length === 0) return null;
  const fileName = env.FILENAME || defaultFileName(domains[0]!);
  const email = env.ACCOUNT_EMAIL ?? "";
  if (!email) {
    throw new TypeError(
      "An email must be provided through ACCOUNT_EMAIL environment variable",
    );
  }
  const tos = parseBool(env.LE_TOS_AGREED || "true", "LE_TOS_AGREED");
  if (!tos) {
    throw new TypeError(
      "It is mandatory to agree to Let's Encrypt Term of Usage through LE_TOS_AGREED environment variable",
    );
  }
  const caDirectory = directoryUrl(env.CA_DIR || "STAGING");
  const keyType = env.LE_CRT_KEY_TYPE || "RSA2048";
  if (!(KEY_TYPES as readonly string[]).includes(keyType)) {
    throw new TypeError(
      "Invalid key type. Allowed values are 'RSA2048', 'RSA4096', 'EC256' and 'EC384'.",
    );
  }
  const outDir = absolute(env.OUTPUT_DIRECTORY || "./", cwd);
  const extra: Record<string, unknown> = {
    layout: "flat",
    file_name: fileName,
    account_key_file: absolute(env.ACCOUNT_KEY_FILE || "./account.key", cwd),
    dns_propagation_all: !parseBool(env.DISABLE_CP || "true", "DISABLE_CP"),
  };
  if (env.DNS_TIMEOUT) {
    const secs = Number(env.DNS_TIMEOUT);
    if (!Number.isFinite(secs)) {
      throw new TypeError(`DNS_TIMEOUT: invalid number ${env.DNS_TIMEOUT}`);
    }
    // letsgo-nats truncates to whole seconds and ignores values <= 0.
    if (Math.trunc(secs) > 0) extra.dns_timeout = Math.trunc(secs);
  }
  if (env.DNS_AUTH_TOKEN) extra.dns_token = env.DNS_AUTH_TOKEN;
  if (env.DNS_AUTH_TOKEN_FILE) extra.dns_token_file = absolute(env.DNS_AUTH_TOKEN_FILE, cwd);
  if (env.DNS_AUTH_TOKEN_VAULT) extra.dns_token_vault = env.DNS_AUTH_TOKEN_VAULT;
  extra.dns_token_secret = env.DNS_AUTH_TOKEN_SECRET || "do-auth-token";
  for (const [v, key] of Object.entries(PASS_THROUGH)) if (env[v]) extra[key] = env[v];

  const provider = (env.DNS_PROVIDER || "digitalocean").toLowerCase();
  if (
    provider !== "exec" && provider !== "route53" && !env.DNS_AUTH_TOKEN &&
    !env.DNS_AUTH_TOKEN_FILE && !env.DNS_AUTH_TOKEN_VAULT
  ) {
    throw new TypeError(
      "Invalid DNS auth token. Use one of 'DNS_AUTH_TOKEN_VAULT', 'DNS_AUTH_TOKEN_FILE' or 'DNS_AUTH_TOKEN' env variable",
    );
  }
  const options: AcmeOptions = {
    domains,
    email,
    caDirectory,
    agreeTos: true,
    keyType: keyType as AcmeOptions["keyType"],
    storageDir: outDir,
    challenge: "dns-01",
    dnsProvider: provider,
    extra,
  };
  const resolvers = (env.DNS_RESOLVERS ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  if (resolvers.length) options.dnsResolvers = resolvers;
  const roots = (env.ACME_CA_ROOTS ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  if (roots.length) options.caRoots = roots.map((r) => absolute(r, cwd));
  if (env.ACME_STARTUP_TIMEOUT) {
    // dnatsd extension: give up (exit 1) when no first certificate arrives in time.
    const text = env.ACME_STARTUP_TIMEOUT;
    let ms = Number(text) * 1000; // plain seconds, as DNS_TIMEOUT
    if (!Number.isFinite(ms)) {
      try {
        ms = parseGoDuration(text);
      } catch {
        ms = NaN;
      }
    }
    if (!Number.isFinite(ms) || ms < 0) {
      throw new TypeError(
        `ACME_STARTUP_TIMEOUT: invalid duration ${env.ACME_STARTUP_TIMEOUT} (e.g. 10m or 600)`,
      );
    }
    if (ms > 0) options.startupTimeoutMs = ms;
  }
  return {
    options,
    files: {
      cert: `${outDir}/${fileName}.crt`,
      key: `${outDir}/${fileName}.key`,
      issuer: `${outDir}/${fileName}.issuer.crt`,
    },
  };
}

/**
 * The process environment, or `{}` without `--allow-env` (DNS providers then
 * need their credentials in the config block).
 */
export function processEnv(): Record<string, string | undefined> {
  try {
    return Deno.env.toObject();
  } catch {
    return {};
  }
}
