/**
 * The `tls { ... }` block (top level, cluster, monitoring) and its `acme`
 * sub-block, mapped to {@linkcode TlsOptions} with nats-server's messages.
 *
 * @module
 */
import { dirname, join } from "node:path";
import type { ConfMap, ConfValue } from "./conf_parser.ts";
import { entries, type IssueCollector, parseGoDuration } from "./conf_values.ts";
import { type AcmeOptions, defaultTlsOptions, type TlsOptions } from "./options.ts";
import { GO_CIPHER_SUITES, GO_CURVE_NAMES } from "../tls/go_names.ts";
import { ACME_EXTRA_KEYS } from "../acme/settings.ts";

/** What differs between the places a `tls` block may appear. */
export interface TlsBlockContext {
  /** Client listener (top level): `verify_cert_and_check_known_urls` is refused there. */
  isClient: boolean;
  /** Check that certificate, key and CA files exist and look like PEM (as `-t` does). */
  checkFiles: boolean;
}

const ACME_KEY_TYPES = ["RSA2048", "RSA4096", "EC256", "EC384"] as const;

/**
 * Reads a `tls` block. As in nats-server the first error ends the block.
 * @returns the options, or undefined after reporting an error
 */
export function readTlsBlock(
  issues: IssueCollector,
  block: ConfValue,
  ctx: TlsBlockContext,
): TlsOptions | undefined {
  const map = issues.map(block);
  if (!map) return undefined;
  const tls = defaultTlsOptions();
  const fail = (at: ConfValue, reason: string): undefined => {
    issues.error(at, reason);
    return undefined;
  };
  const fileName = (v: ConfValue, key: string) =>
    v.kind === "string"
      ? v.value
      : fail(v, `error parsing tls config, expected '${key}' to be filename`);
  const flag = (v: ConfValue, key: string) =>
    v.kind === "bool"
      ? v.value
      : fail(v, `error parsing tls config, expected '${key}' to be a boolean`);

  for (const [key, rawKey, v] of entries(map)) {
    switch (key) {
      case "cert_file":
      case "key_file":
      case "ca_file": {
        const f = fileName(v, key);
        if (f === undefined) return undefined;
        if (key === "cert_file") tls.certFile = f;
        else if (key === "key_file") tls.keyFile = f;
        else tls.caFile = f;
        break;
      }
      case "verify":
      case "verify_and_map":
      case "insecure":
      case "handshake_first": {
        const b = flag(v, key);
        if (b === undefined) return undefined;
        if (key === "verify") tls.verify = b;
        else if (key === "insecure") tls.insecure = b;
        else if (key === "handshake_first") tls.handshakeFirst = b;
        else {
          tls.verifyAndMap = b;
          tls.verify = b;
        }
        break;
      }
      case "verify_cert_and_check_known_urls": {
        const b = flag(v, key);
        if (b === undefined) return undefined;
        if (b && ctx.isClient) return fail(v, `${key} not supported in this context`);
        if (b) return fail(v, `"${rawKey}" is not supported by dnatsd`);
        break;
      }
      case "cipher_suites":
      case "curve_preferences": {
        const names = readNameList(issues, v, key);
        if (!names) return undefined;
        if (key === "cipher_suites") tls.cipherSuites = names;
        else tls.curvePreferences = names;
        break;
      }
      case "timeout": {
        const seconds = readTimeoutSeconds(issues, v);
        if (seconds === undefined) return undefined;
        tls.timeout = seconds;
        break;
      }
      case "connection_rate_limit": {
        const n = issues.int(v);
        if (n === undefined) return undefined;
        tls.connectionRateLimit = n;
        break;
      }
      case "pinned_certs":
      case "pinned_cert": {
        const pins = readPins(issues, v);
        if (!pins) return undefined;
        tls.pinnedCerts = pins;
        break;
      }
      case "acme": {
        const acme = readAcmeBlock(issues, v);
        if (!acme) return undefined;
        tls.acme = acme;
        break;
      }
      default:
        return fail(v, `error parsing tls config, unknown field ["${rawKey}"]`);
    }
  }
  if (!checkKeyPair(issues, block, tls, ctx)) return undefined;
  return tls;
}

function readNameList(
  issues: IssueCollector,
  v: ConfValue,
  key: "cipher_suites" | "curve_preferences",
): string[] | undefined {
  const items = issues.array(v);
  if (!items) return undefined;
  if (items.length === 0) {
    issues.error(v, `error parsing tls config, '${key}' cannot be empty`);
    return undefined;
  }
  const known = key === "cipher_suites" ? GO_CIPHER_SUITES : GO_CURVE_NAMES;
  const out: string[] = [];
  for (const item of items) {
    const name = issues.str(item);
    if (name === undefined) return undefined;
    if (!known.includes(name)) {
      issues.error(
        item,
        key === "cipher_suites"
          ? `unrecognized cipher ${name}`
          : `unrecognized curve preference ${name}`,
      );
      return undefined;
    }
    out.push(name);
  }
  return out;
}

function readTimeoutSeconds(issues: IssueCollector, v: ConfValue): number | undefined {
  if (v.kind === "integer" || v.kind === "float") return v.value;
  if (v.kind === "string") {
    try {
      return parseGoDuration(v.value) / 1000;
    } catch (err) {
      issues.error(v, `error parsing tls config, 'timeout' ${(err as Error).message}`);
      return undefined;
    }
  }
  issues.error(v, "error parsing tls config, 'timeout' wrong type");
  return undefined;
}

function readPins(issues: IssueCollector, v: ConfValue): string[] | undefined {
  if (v.kind === "string") return [v.value.toLowerCase()];
  if (v.kind !== "array") {
    issues.error(
      v,
      `error parsing tls config, cert pinning requires a single entry or a list, got ${v.kind}`,
    );
    return undefined;
  }
  const pins: string[] = [];
  for (const item of v.value) {
    if (item.kind !== "string") {
      issues.error(
        item,
        `error parsing tls config, cert pinning requires string, got ${item.kind}`,
      );
      return undefined;
    }
    pins.push(item.value.toLowerCase());
  }
  return pins;
}

/** nats-server loads the key pair while parsing; we check what can fail there. */
function checkKeyPair(
  issues: IssueCollector,
  block: ConfValue,
  tls: TlsOptions,
  ctx: TlsBlockContext,
): boolean {
  if (tls.acme && (tls.certFile || tls.keyFile)) {
    issues.error(
      block,
      "error parsing tls config, 'acme' cannot be combined with 'cert_file'/'key_file'",
    );
    return false;
  }
  if (tls.certFile && !tls.keyFile) {
    issues.error(block, "missing 'key_file' in TLS configuration");
    return false;
  }
  if (!tls.certFile && tls.keyFile) {
    issues.error(block, "missing 'cert_file' in TLS configuration");
    return false;
  }
  if (!ctx.checkFiles) return true;
  if (tls.certFile && tls.keyFile) {
    for (
      const [file, what, marker] of [
        [tls.certFile, "certificate", "-----BEGIN CERTIFICATE-----"],
        [tls.keyFile, "key", "PRIVATE KEY-----"],
      ] as const
    ) {
      const text = readPem(file);
      if (text instanceof Error) {
        issues.error(block, `error parsing X509 certificate/key pair: ${text.message}`);
        return false;
      }
      if (!text.includes(marker)) {
        issues.error(
          block,
          `error parsing X509 certificate/key pair: tls: failed to find any PEM data in ${what} input`,
        );
        return false;
      }
    }
  }
  if (tls.caFile) {
    const text = readPem(tls.caFile);
    if (text instanceof Error) {
      issues.error(block, text.message);
      return false;
    }
    if (!text.includes("-----BEGIN CERTIFICATE-----")) {
      issues.error(block, "failed to parse root ca certificate");
      return false;
    }
  }
  return true;
}

/**
 * Reads the certificate and key files of TLS settings given by flags, as the
 * config path does while parsing (nats-server loads the pair before it logs
 * anything). Returns nats-server's error text, or null when both read as PEM.
 */
export function tlsFilesError(tls: { certFile?: string; keyFile?: string }): string | null {
  for (
    const [file, what, marker] of [
      [tls.certFile, "certificate", "-----BEGIN CERTIFICATE-----"],
      [tls.keyFile, "key", "PRIVATE KEY-----"],
    ] as const
  ) {
    if (!file) continue;
    const text = readPem(file);
    if (text instanceof Error) return `error parsing X509 certificate/key pair: ${text.message}`;
    if (!text.includes(marker)) {
      return `error parsing X509 certificate/key pair: tls: failed to find any PEM data in ${what} input`;
    }
  }
  return null;
}

function readPem(path: string): string | Error {
  try {
    return Deno.readTextFileSync(path);
  } catch (err) {
    const reason = err instanceof Deno.errors.NotFound
      ? "no such file or directory"
      : err instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : (err as Error).message;
    return new Error(`open ${path}: ${reason}`);
  }
}

// --- acme ------------------------------------------------------------------------

/**
 * Every key an `acme` block may hold: the settings read below, then the
 * `extra` keys lib/acme reads (provider settings and the like). Anything else
 * is an unknown field. README.md documents each one; a test holds the two
 * lists together.
 */
export const ACME_CONFIG_KEYS: readonly string[] = [
  "domains",
  "email",
  "ca",
  "ca_directory",
  "agree_tos",
  "key_type",
  "storage",
  "storage_dir",
  "renew_fraction",
  "renew_before",
  "check_interval",
  "startup_timeout",
  "challenge",
  "http_listen",
  "dns_provider",
  "dns_resolvers",
  "ca_roots",
  "eab",
  ...ACME_EXTRA_KEYS,
];
const ACME_KEY_SET: ReadonlySet<string> = new Set(ACME_CONFIG_KEYS);

/**
 * Reads `tls { acme { ... } }`. Known keys are validated and mapped; any other
 * key goes to `extra` (DNS provider settings and the like).
 */
export function readAcmeBlock(issues: IssueCollector, v: ConfValue): AcmeOptions | undefined {
  const map = issues.map(v);
  if (!map) return undefined;
  const acme: AcmeOptions = {
    domains: [],
    caDirectory: "production",
    agreeTos: false,
    keyType: "EC256",
    // Certificates and the account key live beside the configuration by default.
    storageDir: join(dirname(v.file || "."), "acme"),
    challenge: "http-01",
    extra: {},
  };
  const errorCount = issues.errors.length;
  const bad = (at: ConfValue, reason: string) => issues.error(at, `acme: ${reason}`);
  for (const [key, rawKey, item] of entries(map)) {
    if (!ACME_KEY_SET.has(key)) {
      issues.unknownField(item, rawKey);
      continue;
    }
    switch (key) {
      case "domains": {
        const domains = issues.stringOrStrings(item);
        if (domains) acme.domains = domains;
        break;
      }
      case "email": {
        const s = issues.str(item);
        if (s !== undefined) acme.email = s;
        break;
      }
      case "ca":
      case "ca_directory": {
        const s = issues.str(item);
        if (s === undefined) break;
        if (s !== "production" && s !== "staging" && !/^https?:\/\/\S+$/.test(s)) {
          bad(item, `'ca' must be production, staging or a directory URL, got "${s}"`);
        }
        acme.caDirectory = s;
        break;
      }
      case "agree_tos": {
        const b = issues.bool(item);
        if (b !== undefined) acme.agreeTos = b;
        break;
      }
      case "key_type": {
        const s = issues.str(item);
        if (s === undefined) break;
        const upper = s.toUpperCase() as AcmeOptions["keyType"];
        if (!ACME_KEY_TYPES.includes(upper)) {
          bad(item, `unknown key_type "${s}", expected one of ${ACME_KEY_TYPES.join(", ")}`);
        } else acme.keyType = upper;
        break;
      }
      case "storage":
      case "storage_dir": {
        const s = issues.str(item);
        if (s !== undefined) acme.storageDir = s;
        break;
      }
      case "renew_fraction": {
        const n = item.kind === "integer" || item.kind === "float" ? item.value : undefined;
        if (n === undefined || !(n > 0 && n < 1)) {
          bad(item, "'renew_fraction' must be a number between 0 and 1");
        } else acme.renewFraction = n;
        break;
      }
      case "renew_before": {
        const ms = issues.durationMs(item, "renew_before");
        if (ms === undefined) break;
        if (!(ms > 0)) bad(item, "'renew_before' must be a positive duration");
        else acme.renewBeforeMs = ms;
        break;
      }
      case "check_interval": {
        const ms = issues.durationMs(item, "check_interval");
        if (ms === undefined) break;
        if (!(ms > 0)) bad(item, "'check_interval' must be a positive duration");
        else acme.checkIntervalMs = ms;
        break;
      }
      case "startup_timeout": {
        const ms = issues.durationMs(item, "startup_timeout");
        if (ms === undefined) break;
        // 0 means none, as when the key is absent.
        if (ms < 0) bad(item, "'startup_timeout' cannot be negative");
        else if (ms > 0) acme.startupTimeoutMs = ms;
        break;
      }
      case "challenge": {
        const s = issues.str(item);
        if (s === undefined) break;
        if (s !== "http-01" && s !== "dns-01") {
          bad(item, `unknown challenge "${s}", expected http-01 or dns-01`);
        } else acme.challenge = s;
        break;
      }
      case "http_listen": {
        const s = item.kind === "integer" ? `:${item.value}` : issues.str(item);
        if (s !== undefined) acme.httpListen = s;
        break;
      }
      case "dns_provider": {
        const s = issues.str(item);
        if (s !== undefined) acme.dnsProvider = s;
        break;
      }
      case "dns_resolvers": {
        const list = issues.stringOrStrings(item);
        if (list) acme.dnsResolvers = list;
        break;
      }
      case "ca_roots": {
        const list = issues.stringOrStrings(item);
        if (list) acme.caRoots = list;
        break;
      }
      case "eab": {
        const eab = readEab(issues, item);
        if (eab) acme.eab = eab;
        break;
      }
      default:
        acme.extra[rawKey] = plainValue(item);
    }
  }
  if (acme.domains.length === 0) bad(v, "'domains' must list at least one domain name");
  if (acme.challenge === "dns-01" && !acme.dnsProvider) {
    bad(v, "the dns-01 challenge needs a 'dns_provider'");
  }
  return issues.errors.length === errorCount ? acme : undefined;
}

function readEab(issues: IssueCollector, v: ConfValue): AcmeOptions["eab"] | undefined {
  const map: ConfMap | undefined = issues.map(v);
  if (!map) return undefined;
  let kid: string | undefined;
  let hmacKey: string | undefined;
  for (const [key, rawKey, item] of entries(map)) {
    if (key === "kid") kid = issues.str(item);
    else if (key === "hmac_key" || key === "hmac") hmacKey = issues.str(item);
    else issues.unknownField(item, rawKey);
  }
  if (kid === undefined || hmacKey === undefined) {
    issues.error(v, "acme: 'eab' needs both 'kid' and 'hmac_key'");
    return undefined;
  }
  return { kid, hmacKey };
}

/** A tree value as plain data (maps become objects). */
export function plainValue(v: ConfValue): unknown {
  switch (v.kind) {
    case "map":
      return Object.fromEntries([...v.value].map(([k, item]) => [k, plainValue(item)]));
    case "array":
      return v.value.map(plainValue);
    default:
      return v.value;
  }
}
