/**
 * TLS material for listeners and dialers: read and validate certificate, key
 * and CA files at start (nats-server starts with an expired or wrong-purpose
 * certificate and lets every handshake fail; dnatsd refuses to start), and
 * own the current certificate so ACME or a reload can swap it at run time.
 *
 * @module
 */
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import type { SecureContextOptions } from "node:tls";
import type { TlsOptions } from "../config/options.ts";
import { type CipherPolicy, cipherPolicy, type KeyKind, TlsConfigError } from "./ciphers.ts";
import { allowsPurpose, Eku } from "./_eku.ts";

export { TlsConfigError } from "./ciphers.ts";

/** What a certificate is used for: a listener (server), dialing (client), or routes (both). */
export type CertPurpose = "server" | "client" | "both";

/** The part of a `tls.Server` (or `https.Server`) a holder updates on a swap. */
export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function errorText(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file or directory";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  return e instanceof Error ? e.message : String(e);
}

/**
 * Reads one PEM file named in a `tls` block.
 *
 * @param path The file.
 * @param setting The key it came from (`cert_file`, `key_file`, `ca_file`), for the message.
 * @returns The file's text.
 * @throws {TlsConfigError} Naming the file when it cannot be read.
 */
export function readPemFile(path: string, setting: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    const what = setting === "ca_file"
      ? "failed reading root ca certificate"
      : "error parsing X509 certificate/key pair";
    throw new TlsConfigError(setting, `${what}: open ${path}: ${errorText(e)}`, { cause: e });
  }
}

/**
 * Parses every certificate of a CA bundle.
 *
 * @param pem The bundle text.
 * @param file The file name, for messages.
 * @returns The certificates (at least one).
 * @throws {TlsConfigError} `failed to parse root ca certificate` when none parses.
 */
export function parseCaBundle(pem: string, file = "ca_file"): X509Certificate[] {
  const blocks = pem.match(PEM_CERT) ?? [];
  const out: X509Certificate[] = [];
  for (const block of blocks) {
    try {
      out.push(new X509Certificate(block));
    } catch (e) {
      throw new TlsConfigError("ca_file", `failed to parse root ca certificate: ${file}`, {
        cause: e,
      });
    }
  }
  if (out.length === 0) {
    throw new TlsConfigError("ca_file", `failed to parse root ca certificate: ${file}`);
  }
  return out;
}

/** A validated certificate and key. */
export interface KeyPair {
  certPem: string;
  keyPem: string;
  certificate: X509Certificate;
  keyKind: KeyKind;
}

/**
 * Checks a certificate and key: both parse, the key belongs to the
 * certificate (Deno's TLS accepts a mismatched pair silently and then fails
 * every handshake), the certificate is valid now and allows the purpose.
 *
 * @param certPem Certificate (chain, leaf first).
 * @param keyPem Private key.
 * @param opts Purpose, file names for messages, and the time to check against.
 * @returns The parsed pair.
 * @throws {TlsConfigError} Saying what is wrong and with which file.
 */
export function validateKeyPair(
  certPem: string,
  keyPem: string,
  opts: { purpose: CertPurpose; certFile?: string; keyFile?: string; now?: Date },
): KeyPair {
  const certName = opts.certFile ?? "certificate";
  const keyName = opts.keyFile ?? "key";
  const pairError = (setting: string, why: string, cause?: unknown) =>
    new TlsConfigError(setting, `error parsing X509 certificate/key pair: ${why}`, { cause });
  let certificate: X509Certificate;
  try {
    const first = certPem.match(PEM_CERT)?.[0];
    if (first === undefined) throw new TypeError("no PEM certificate found");
    certificate = new X509Certificate(first);
  } catch (e) {
    throw pairError("cert_file", `${certName}: failed to parse certificate: ${errorText(e)}`, e);
  }
  let keyKind: KeyKind;
  try {
    const key = createPrivateKey(keyPem);
    const type = key.asymmetricKeyType;
    keyKind = type === "rsa" || type === "rsa-pss" ? "rsa" : "ec";
    const a = createPublicKey(key).export({ type: "spki", format: "der" });
    const b = certificate.publicKey.export({ type: "spki", format: "der" });
    if (!equalBytes(a, b)) {
      throw pairError("key_file", `private key ${keyName} does not match certificate ${certName}`);
    }
  } catch (e) {
    if (e instanceof TlsConfigError) throw e;
    throw pairError("key_file", `${keyName}: failed to parse private key: ${errorText(e)}`, e);
  }
  const now = opts.now ?? new Date();
  const from = new Date(certificate.validFrom);
  const to = new Date(certificate.validTo);
  if (now.getTime() > to.getTime()) {
    throw new TlsConfigError(
      "cert_file",
      `certificate ${certName} expired on ${to.toISOString()} (subject ${oneLine(certificate)})`,
    );
  }
  if (now.getTime() < from.getTime()) {
    throw new TlsConfigError(
      "cert_file",
      `certificate ${certName} is not valid before ${from.toISOString()} (subject ${
        oneLine(certificate)
      })`,
    );
  }
  const der = new Uint8Array(certificate.raw);
  const needs: Array<[string, string]> = [];
  if (opts.purpose !== "client") needs.push([Eku.serverAuth, "server"]);
  if (opts.purpose !== "server") needs.push([Eku.clientAuth, "client"]);
  for (const [oid, name] of needs) {
    if (!allowsPurpose(der, oid)) {
      throw new TlsConfigError(
        "cert_file",
        `certificate ${certName} cannot be used for TLS ${name} authentication ` +
          `(its extended key usage lacks ${name}Auth)`,
      );
    }
  }
  return { certPem, keyPem, certificate, keyKind };
}

function oneLine(cert: X509Certificate): string {
  return cert.subject.split("\n").filter((l) => l.length > 0).join(", ");
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The pin of a certificate as `pinned_certs` lists it: hex SHA-256 of its
 * SubjectPublicKeyInfo (`openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256`).
 *
 * @param cert The certificate.
 * @returns 64 lower-case hex digits.
 */
export function spkiSha256(cert: X509Certificate): string {
  const spki = cert.publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("hex");
}

/** Everything start-up takes from one `tls` block, once checked. */
export interface CheckedTlsBlock {
  /** The certificate and key; null for an ACME block whose certificate is not there yet. */
  pair: KeyPair | null;
  /** CA bundle text from `ca_file`, if set. */
  caPem: string | undefined;
  policy: CipherPolicy;
  /** Lower-case SPKI hashes from `pinned_certs`, or null when not pinned. */
  pins: ReadonlySet<string> | null;
}

/** The kind of key an ACME `key_type` makes (decides the TLS 1.2 suites). */
export function acmeKeyKind(keyType: string): KeyKind {
  return keyType.toUpperCase().startsWith("RSA") ? "rsa" : "ec";
}

/**
 * Checks a `tls` block the way a listener or dialer does before using it:
 * certificate and key (readable, parseable, matching, valid now, right
 * purpose), CA bundle, `cipher_suites`/`curve_preferences` against what the
 * runtime can enforce, pins. {@linkcode CertificateHolder} is built on it, and
 * `-t` calls it too (lib/tls/validate.ts), so both give the same verdict.
 *
 * @param options The block.
 * @param purpose What the certificate must be good for.
 * @param opts `pem`: a certificate held in memory (ACME) instead of the files;
 *   without it, a block with `acme` and no `cert_file` is checked without a
 *   pair, its key kind taken from `key_type`. `now`: the time to check against.
 * @returns The checked material.
 * @throws {TlsConfigError} On any problem, naming the setting or file.
 */
export function checkTlsBlock(
  options: TlsOptions,
  purpose: CertPurpose,
  opts: { now?: Date | undefined; pem?: { certPem: string; keyPem: string } | undefined } = {},
): CheckedTlsBlock {
  let pair: KeyPair | null;
  if (opts.pem) {
    pair = validateKeyPair(opts.pem.certPem, opts.pem.keyPem, { purpose, now: opts.now });
  } else if (options.acme && !options.certFile && !options.keyFile) {
    pair = null;
  } else {
    pair = readPair(options, purpose, opts.now);
  }
  let caPem: string | undefined;
  if (options.caFile) {
    caPem = readPemFile(options.caFile, "ca_file");
    parseCaBundle(caPem, options.caFile);
  }
  const keyKind = pair?.keyKind ?? acmeKeyKind(options.acme?.keyType ?? "EC256");
  const policy = cipherPolicy(options, keyKind);
  const pins = options.pinnedCerts && options.pinnedCerts.length > 0
    ? new Set(options.pinnedCerts.map((p) => p.toLowerCase()))
    : null;
  return { pair, caPem, policy, pins };
}

function readPair(options: TlsOptions, purpose: CertPurpose, now?: Date): KeyPair {
  if (!options.certFile) {
    throw new TlsConfigError("cert_file", "missing 'cert_file' in TLS configuration");
  }
  if (!options.keyFile) {
    throw new TlsConfigError("key_file", "missing 'key_file' in TLS configuration");
  }
  const certPem = readPemFile(options.certFile, "cert_file");
  const keyPem = readPemFile(options.keyFile, "key_file");
  return validateKeyPair(certPem, keyPem, {
    purpose,
    certFile: options.certFile,
    keyFile: options.keyFile,
    now,
  });
}

/**
 * Owns the TLS material of one `tls` block: the validated certificate and
 * key (swappable), the CA bundle, the cipher policy and the pins. Listeners
 * attach their `tls.Server`: a swap reaches new handshakes, while existing
 * connections keep the session they have.
 */
export class CertificateHolder {
  readonly options: TlsOptions;
  readonly purpose: CertPurpose;
  /** CA bundle text from `ca_file`, if set (otherwise the runtime's roots). */
  readonly caPem: string | undefined;
  /** Lower-case SPKI hashes from `pinned_certs`, or null when not pinned. */
  readonly pins: ReadonlySet<string> | null;
  #pair: KeyPair;
  #policy: CipherPolicy;
  #targets = new Set<SecureContextTarget>();
  #listeners = new Set<(pair: KeyPair) => void>();

  /**
   * Reads and validates the files of a `tls` block.
   *
   * @param options The block.
   * @param purpose What the certificate must be good for.
   * @throws {TlsConfigError} On any problem, naming the setting or file.
   */
  constructor(
    options: TlsOptions,
    purpose: CertPurpose,
    now?: Date,
    // A certificate held in memory (ACME config mode has no cert_file/key_file).
    pem?: { certPem: string; keyPem: string },
  ) {
    this.options = options;
    this.purpose = purpose;
    // A holder needs a pair: an ACME block without its certificate is refused
    // here as a block without cert_file is.
    const checked = checkTlsBlock(options, purpose, { now, pem });
    this.#pair = checked.pair ?? readPair(options, purpose, now);
    this.caPem = checked.caPem;
    this.#policy = checked.policy;
    this.pins = checked.pins;
  }

  /**
   * A holder for a certificate given as PEM text (ACME), with the rest
   * of the block (ca_file, cipher_suites, pins) read as usual.
   *
   * @throws {TlsConfigError} When the pair or the block is unusable.
   */
  static fromPem(
    options: TlsOptions,
    purpose: CertPurpose,
    pem: { certPem: string; keyPem: string },
  ): CertificateHolder {
    return new CertificateHolder(options, purpose, undefined, pem);
  }

  /** The current certificate and key. */
  get pair(): KeyPair {
    return this.#pair;
  }

  /** Warnings about settings the runtime applies differently (log them at start). */
  get warnings(): readonly string[] {
    return this.#policy.warnings;
  }

  /** `minVersion` in effect (TLS 1.2, or 1.3 when `cipher_suites` rules 1.2 out). */
  get minVersion(): "TLSv1.2" | "TLSv1.3" {
    return this.#policy.minVersion;
  }

  /** Options for `tls.createSecureContext` / `setSecureContext` with the current pair. */
  secureContextOptions(): SecureContextOptions {
    const o: SecureContextOptions = {
      cert: this.#pair.certPem,
      key: this.#pair.keyPem,
      minVersion: this.#policy.minVersion,
    };
    if (this.caPem !== undefined) o.ca = this.caPem;
    return o;
  }

  /**
   * Replaces the certificate and key (ACME renewal, reload). The pair is
   * validated first, as at start; on error nothing changes.
   *
   * @param certPem New certificate (chain, leaf first).
   * @param keyPem Its private key.
   * @throws {TlsConfigError} When the pair is invalid, or the new key kind makes
   *   `cipher_suites` unenforceable.
   */
  setCertificate(certPem: string, keyPem: string): void {
    const pair = validateKeyPair(certPem, keyPem, { purpose: this.purpose });
    const policy = cipherPolicy(this.options, pair.keyKind);
    this.#pair = pair;
    this.#policy = policy;
    const ctx = this.secureContextOptions();
    for (const t of this.#targets) t.setSecureContext(ctx);
    for (const l of this.#listeners) l(pair);
  }

  /**
   * Keeps a server's secure context in step with this holder.
   *
   * @param target A `tls.Server` (or anything with `setSecureContext`).
   * @returns A function that detaches it.
   */
  attach(target: SecureContextTarget): () => void {
    this.#targets.add(target);
    return () => this.#targets.delete(target);
  }

  /**
   * Calls `fn` after each swap.
   *
   * @returns A function that removes the listener.
   */
  onChange(fn: (pair: KeyPair) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /**
   * Checks a verified peer certificate against `pinned_certs`.
   *
   * @param peer The peer's leaf certificate, if it sent one.
   * @returns null when acceptable, else the reason to refuse it.
   */
  checkPinned(peer: X509Certificate | undefined): string | null {
    if (this.pins === null) return null;
    if (peer === undefined) {
      return "Matching against pinned certificate set failed: no peer certificate";
    }
    if (!this.pins.has(spkiSha256(peer))) {
      return "Certificate not pinned. Matching against set failed";
    }
    return null;
  }
}
