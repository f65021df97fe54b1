/**
 * Where the DNS provider's API token comes from, in letsgo-nats' order: the
 * value itself, else a file, else an Azure Key Vault secret read with a
 * managed identity. Tokens are returned, never logged.
 *
 * @module
 */

/** The token sources; the first non-empty one wins. */
export interface TokenSources {
  token?: string | undefined;
  file?: string | undefined;
  /** Vault name (-> `https://<name>.vault.azure.net`) or full URL. */
  vault?: string | undefined;
  /** Secret name in the vault (default `do-auth-token`). */
  secret?: string | undefined;
}

/** How to reach Azure's managed identity; every URL is overridable for tests. */
export interface AzureIdentityOptions {
  /** IMDS token endpoint (default `http://169.254.169.254/metadata/identity/oauth2/token`). */
  imdsUrl?: string;
  /** App Service / Container Instances: `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`. */
  identityEndpoint?: string | undefined;
  identityHeader?: string | undefined;
  /** A user-assigned identity's client id (`AZURE_CLIENT_ID`). */
  clientId?: string | undefined;
  httpClient?: Deno.HttpClient;
}

const VAULT_RESOURCE = "https://vault.azure.net";
const DEFAULT_IMDS = "http://169.254.169.254/metadata/identity/oauth2/token";

/** Strips one trailing newline, as letsgo-nats does for files and secrets. */
function chomp(s: string): string {
  return s.replace(/\r?\n$/, "");
}

/** The vault base URL for a name or URL. */
export function vaultUrl(vault: string): string {
  if (/^https?:\/\//.test(vault)) return vault.replace(/\/+$/, "");
  return `https://${vault}.vault.azure.net`;
}

/** Gets an access token for Key Vault from the managed identity endpoint. */
export async function azureAccessToken(opts: AzureIdentityOptions = {}): Promise<string> {
  let url: URL;
  const headers: Record<string, string> = {};
  if (opts.identityEndpoint && opts.identityHeader) {
    url = new URL(opts.identityEndpoint);
    url.searchParams.set("api-version", "2019-08-01");
    headers["X-IDENTITY-HEADER"] = opts.identityHeader;
  } else {
    url = new URL(opts.imdsUrl ?? DEFAULT_IMDS);
    url.searchParams.set("api-version", "2018-02-01");
    headers["Metadata"] = "true";
  }
  url.searchParams.set("resource", VAULT_RESOURCE);
  if (opts.clientId) url.searchParams.set("client_id", opts.clientId);
  const res = await fetch(url, {
    headers,
    signal: AbortSignal.timeout(15_000),
    ...(opts.httpClient ? { client: opts.httpClient } : {}),
  });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`Azure managed identity: token request failed: HTTP ${res.status}`);
  }
  const body = await res.json() as { access_token?: string };
  if (!body.access_token) throw new Error("Azure managed identity: no access_token in response");
  return body.access_token;
}

/** Reads the latest version of a Key Vault secret. */
export async function readVaultSecret(
  vault: string,
  name: string,
  identity: AzureIdentityOptions = {},
): Promise<string> {
  const token = await azureAccessToken(identity);
  const url = `${vaultUrl(vault)}/secrets/${encodeURIComponent(name)}?api-version=7.4`;
  const res = await fetch(url, {
    headers: { Authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(15_000),
    ...(identity.httpClient ? { client: identity.httpClient } : {}),
  });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`Azure Key Vault: reading secret ${name} failed: HTTP ${res.status}`);
  }
  const body = await res.json() as { value?: string };
  if (typeof body.value !== "string") {
    throw new Error(`Azure Key Vault: secret ${name} has no value`);
  }
  return chomp(body.value);
}

/**
 * Resolves the DNS API token.
 *
 * @returns the token, or undefined when no source is set
 * @throws {Error} when a source is set but yields nothing usable
 */
export async function resolveToken(
  src: TokenSources,
  identity: AzureIdentityOptions = {},
): Promise<string | undefined> {
  if (src.token) return src.token;
  if (src.file) {
    const t = chomp(await Deno.readTextFile(src.file));
    if (!t) throw new Error(`Invalid token found in ${src.file}`);
    return t;
  }
  if (src.vault) {
    const t = await readVaultSecret(src.vault, src.secret || "do-auth-token", identity);
    if (!t) throw new Error(`Invalid token found in vault ${src.vault}`);
    return t;
  }
  return undefined;
}
