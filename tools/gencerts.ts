// deno-lint-ignore-file no-import-prefix -- pinned npm: specifiers keep `deno run <URL>` working without deno.json (docs/architecture.md)
/**
 * Generates the test PKI in `certs/`: a root CA, server, client, route and
 * deliberately broken certificates (expired, wrong purpose, untrusted issuer).
 *
 * Pure TypeScript on Web Crypto, no openssl. Every run makes fresh keys and
 * serial numbers, rewrites every file and `README.md` in the output folder.
 *
 * Keys are RSA 2048 in PKCS#8 PEM ("BEGIN PRIVATE KEY"): node:tls inside Deno,
 * rustls underneath it, Go's crypto/tls (nats-server in mixed clusters) and
 * Node all load them, and RSA keeps the `TLS_ECDHE_RSA_*` suites that NATS
 * configurations name in `cipher_suites` usable.
 *
 * Usage: `deno task gencerts` or `deno run --allow-all tools/gencerts.ts [--out <dir>]`.
 *
 * @module
 */
// @peculiar/x509 resolves its services through tsyringe, which needs the
// Reflect metadata polyfill loaded before the library is evaluated.
import "npm:reflect-metadata@0.2.2";
import * as x509 from "npm:@peculiar/x509@2.2.0";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** Signing and key algorithm for every key of the test PKI. */
const KEY_ALGORITHM: RsaHashedKeyGenParams = {
  name: "RSASSA-PKCS1-v1_5",
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: "SHA-256",
};

const DAY_MS = 24 * 60 * 60 * 1000;
/** Lifetime of the current (non-expired) certificates, in years from generation. */
const VALID_YEARS = 20;

/** The two issuers: the trusted test root and a second root nobody trusts. */
export type TestIssuer = "ca" | "untrusted-ca";

/** One Subject Alternative Name entry. */
export interface TestSan {
  type: "dns" | "ip" | "email";
  value: string;
}

/** Description of one leaf certificate of the test PKI. */
export interface TestLeafSpec {
  /** Files are `<stem>-cert.pem` and `<stem>-key.pem`. */
  stem: string;
  /** Subject DN, most significant RDN first as in the ASN.1 sequence. */
  subject: string;
  issuer: TestIssuer;
  /** Extended key usages. */
  usages: readonly ("serverAuth" | "clientAuth")[];
  sans: readonly TestSan[];
  /** `expired`: the whole validity window lies before the generation time. */
  validity: "current" | "expired";
  /** What the file is for; goes into the README. */
  purpose: string;
}

/** Description of one CA of the test PKI. */
export interface TestCaSpec {
  /** Files are `<id>.pem` and `<id>-key.pem`. */
  id: TestIssuer;
  subject: string;
  purpose: string;
}

const LOCALHOST_SANS: readonly TestSan[] = [
  { type: "dns", value: "localhost" },
  { type: "ip", value: "127.0.0.1" },
  { type: "ip", value: "::1" },
];

/** The CAs, in the order they are generated. */
export const TEST_CAS: readonly TestCaSpec[] = [
  {
    id: "ca",
    subject: "O=dnatsd test PKI, CN=dnatsd Test Root CA",
    purpose: "Test root CA; use as `ca_file` on servers and clients.",
  },
  {
    id: "untrusted-ca",
    subject: "O=dnatsd test PKI, CN=dnatsd Untrusted Test CA",
    purpose: "A second root that no configuration trusts; signs `untrusted-client-cert.pem`.",
  },
];

/** Every leaf certificate, in the order the README lists them. */
export const TEST_LEAVES: readonly TestLeafSpec[] = [
  {
    stem: "server",
    subject: "CN=localhost",
    issuer: "ca",
    usages: ["serverAuth"],
    sans: LOCALHOST_SANS,
    validity: "current",
    purpose: "Server certificate for client, monitoring and websocket listeners.",
  },
  {
    stem: "client",
    subject: "CN=localhost client",
    issuer: "ca",
    usages: ["clientAuth"],
    sans: [],
    validity: "current",
    purpose: "Plain client certificate for `verify: true`; no SAN, subject DN only.",
  },
  {
    stem: "client-email",
    subject: "CN=derek",
    issuer: "ca",
    usages: ["clientAuth"],
    sans: [
      { type: "dns", value: "localhost" },
      { type: "ip", value: "127.0.0.1" },
      { type: "email", value: "derek@nats.io" },
    ],
    validity: "current",
    purpose: "`verify_and_map` by e-mail SAN: maps to user `derek@nats.io`.",
  },
  {
    stem: "client-dn",
    subject: "OU=CNCF, CN=example.com",
    issuer: "ca",
    usages: ["clientAuth"],
    sans: [],
    validity: "current",
    purpose: "`verify_and_map` by subject: RFC 2253 DN `CN=example.com,OU=CNCF`, no SAN.",
  },
  {
    stem: "route",
    subject: "CN=localhost route",
    issuer: "ca",
    usages: ["serverAuth", "clientAuth"],
    sans: LOCALHOST_SANS,
    validity: "current",
    purpose: "Cluster routes: server and client purpose, since either side may dial.",
  },
  {
    stem: "server-no-ip",
    subject: "CN=localhost no-ip",
    issuer: "ca",
    usages: ["serverAuth"],
    sans: [{ type: "dns", value: "localhost" }],
    validity: "current",
    purpose: "Server certificate with DNS `localhost` only: dialling 127.0.0.1 must fail.",
  },
  {
    stem: "server-ip-only",
    subject: "CN=ip-only",
    issuer: "ca",
    usages: ["serverAuth"],
    sans: [{ type: "ip", value: "127.0.0.1" }, { type: "ip", value: "::1" }],
    validity: "current",
    purpose: "Server certificate with IP SANs only: dialling `localhost` must fail.",
  },
  {
    stem: "untrusted-client",
    subject: "CN=untrusted client",
    issuer: "untrusted-ca",
    usages: ["clientAuth"],
    sans: [],
    validity: "current",
    purpose: "Client certificate from `untrusted-ca.pem`: `verify` must refuse it.",
  },
  {
    stem: "expired-client",
    subject: "CN=expired client",
    issuer: "ca",
    usages: ["clientAuth"],
    sans: [],
    validity: "expired",
    purpose: "Client certificate whose validity ended before generation: must be refused.",
  },
  {
    stem: "expired-server",
    subject: "CN=localhost expired",
    issuer: "ca",
    usages: ["serverAuth"],
    sans: LOCALHOST_SANS,
    validity: "expired",
    purpose: "Expired server certificate: start-up checks must reject it.",
  },
  {
    stem: "client-auth-only",
    subject: "CN=localhost client-auth-only",
    issuer: "ca",
    usages: ["clientAuth"],
    sans: [{ type: "dns", value: "localhost" }, { type: "ip", value: "127.0.0.1" }],
    validity: "current",
    purpose: "EKU clientAuth only: refused as a server certificate, accepted as a client one.",
  },
  {
    stem: "server-only",
    subject: "CN=localhost server-only",
    issuer: "ca",
    usages: ["serverAuth"],
    sans: [{ type: "dns", value: "localhost" }, { type: "ip", value: "127.0.0.1" }],
    validity: "current",
    purpose: "EKU serverAuth only: refused as a client certificate (wrong purpose).",
  },
];

interface IssuedCa {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  /** Hex key identifier, copied into the AuthorityKeyIdentifier of what it signs. */
  keyId: string;
}

interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/**
 * Validity windows derived from one generation instant (whole seconds, since
 * X.509 times carry no milliseconds).
 */
function validityWindows(now: Date): { current: Validity; expired: Validity } {
  const start = Math.floor(now.getTime() / 1000) * 1000;
  const notAfter = new Date(start);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + VALID_YEARS);
  return {
    // A day of slack so that clocks a little behind still accept new certificates.
    current: { notBefore: new Date(start - DAY_MS), notAfter },
    expired: {
      notBefore: new Date(start - 730 * DAY_MS),
      notAfter: new Date(start - 365 * DAY_MS),
    },
  };
}

/**
 * A random positive serial number of 16 bytes as hex. The first byte is kept in
 * 0x01..0x7f so that the DER INTEGER is positive and minimally encoded, which
 * strict parsers (webpki under rustls) insist on.
 */
function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]);
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(pkcs8, "PRIVATE KEY") + "\n";
}

function certificatePem(cert: x509.X509Certificate): string {
  return cert.toString("pem") + "\n";
}

async function createCa(spec: TestCaSpec, validity: Validity): Promise<IssuedCa> {
  const keys = await generateKeys();
  const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: spec.subject,
    keys,
    serialNumber: randomSerial(),
    ...validity,
    signingAlgorithm: KEY_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign |
          x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      ski,
      new x509.AuthorityKeyIdentifierExtension(ski.keyId),
    ],
  });
  return { cert, keys, keyId: ski.keyId };
}

async function createLeaf(
  spec: TestLeafSpec,
  issuer: IssuedCa,
  validity: Validity,
): Promise<{ cert: x509.X509Certificate; keys: CryptoKeyPair }> {
  const keys = await generateKeys();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    // Digital Signature and Key Encipherment: the interoperable pair for RSA keys.
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    new x509.ExtendedKeyUsageExtension(
      spec.usages.map((usage) => x509.ExtendedKeyUsage[usage]),
      false,
    ),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    new x509.AuthorityKeyIdentifierExtension(issuer.keyId),
  ];
  if (spec.sans.length > 0) {
    extensions.push(new x509.SubjectAlternativeNameExtension(spec.sans.map((san) => ({ ...san }))));
  }
  const cert = await x509.X509CertificateGenerator.create({
    subject: spec.subject,
    issuer: issuer.cert.subjectName,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    serialNumber: randomSerial(),
    ...validity,
    signingAlgorithm: KEY_ALGORITHM,
    extensions,
  });
  return { cert, keys };
}

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function sanText(sans: readonly TestSan[]): string {
  if (sans.length === 0) return "none";
  return sans.map((san) => `${san.type.toUpperCase()}:${san.value}`).join(", ");
}

function readmeText(now: Date, windows: { current: Validity; expired: Validity }): string {
  const caRows = TEST_CAS.map((ca) =>
    `| \`${ca.id}.pem\`, \`${ca.id}-key.pem\` | \`${ca.subject}\` | CA | none | ${ca.purpose} |`
  );
  const leafRows = TEST_LEAVES.map((leaf) => {
    const issuedBy = leaf.issuer === "ca" ? "" : ` Issued by \`${leaf.issuer}.pem\`.`;
    return `| \`${leaf.stem}-cert.pem\`, \`${leaf.stem}-key.pem\` | \`${leaf.subject}\` | ` +
      `${leaf.usages.join(", ")} | ${sanText(leaf.sans)} | ${leaf.purpose}${issuedBy} |`;
  });
  return [
    "# Test PKI",
    "",
    "> **Warning: these are public test keys.** The private keys are committed to the",
    "> repository. Never trust `ca.pem` outside tests, never use any of these files in",
    "> production.",
    "",
    "Made by `tools/gencerts.ts` (pure TypeScript on Web Crypto, no openssl) with:",
    "",
    "```sh",
    "deno task gencerts --out certs",
    "# same as: deno run --allow-all tools/gencerts.ts --out certs",
    "# without --out it writes to generated-certs/ (not tracked by git)",
    "```",
    "",
    "Each run makes new keys and serial numbers and rewrites every file here, this README",
    "included.",
    "",
    `- Generated: ${isoSeconds(now)}`,
    `- Valid from ${isoSeconds(windows.current.notBefore)} until ` +
    `${isoSeconds(windows.current.notAfter)} (all but the expired ones).`,
    `- \`expired-*\` certificates: valid from ${isoSeconds(windows.expired.notBefore)} until ` +
    `${isoSeconds(windows.expired.notAfter)}, before generation.`,
    "",
    "Keys: RSA 2048, PKCS#8 PEM (`BEGIN PRIVATE KEY`). Signatures: sha256WithRSAEncryption.",
    "Every certificate carries Subject and Authority Key Identifiers; CAs have",
    "`CA:TRUE` and keyCertSign, leaves `CA:FALSE`, digitalSignature + keyEncipherment and",
    "the extended key usages below. Unless noted, leaves are issued by `ca.pem`.",
    "",
    "| Files | Subject | Extended key usage | SAN | Purpose |",
    "|---|---|---|---|---|",
    ...caRows,
    ...leafRows,
    "",
  ].join("\n");
}

/**
 * Generates the whole test PKI and writes it, with its `README.md`, into
 * `outDir` (created if missing). Everything is generated before the first file
 * is written, so a failure leaves the previous files untouched.
 *
 * @param outDir Folder to write the PEM files and README into.
 * @returns Resolves once every file is written.
 * @example
 * ```ts ignore
 * import { generateTestPki } from "./gencerts.ts";
 * const dir = await Deno.makeTempDir();
 * await generateTestPki(dir); // dir/ca.pem, dir/server-cert.pem, ...
 * ```
 */
export async function generateTestPki(outDir: string): Promise<void> {
  const now = new Date();
  const windows = validityWindows(now);
  const files = new Map<string, string>();

  const cas = new Map<TestIssuer, IssuedCa>();
  for (const spec of TEST_CAS) {
    const ca = await createCa(spec, windows.current);
    cas.set(spec.id, ca);
    files.set(`${spec.id}.pem`, certificatePem(ca.cert));
    files.set(`${spec.id}-key.pem`, await privateKeyPem(ca.keys.privateKey));
  }
  for (const spec of TEST_LEAVES) {
    const issuer = cas.get(spec.issuer);
    if (issuer === undefined) throw new Error(`Unknown issuer for ${spec.stem}: ${spec.issuer}`);
    const leaf = await createLeaf(spec, issuer, windows[spec.validity]);
    files.set(`${spec.stem}-cert.pem`, certificatePem(leaf.cert));
    files.set(`${spec.stem}-key.pem`, await privateKeyPem(leaf.keys.privateKey));
  }
  files.set("README.md", readmeText(now, windows));

  await mkdir(outDir, { recursive: true });
  for (const [name, text] of files) {
    await writeFile(join(outDir, name), text);
  }
}

/**
 * `generated-certs/` at the repository root (ignored by git), found from this
 * file's location: a plain run must not rewrite the checked-in test PKI that
 * the tests use; `--out certs` does that on purpose.
 */
export function defaultOutDir(): string {
  const url = new URL("../generated-certs/", import.meta.url);
  if (url.protocol !== "file:") {
    throw new Error(`No default output folder when run from ${url.protocol} URL: pass --out <dir>`);
  }
  return fileURLToPath(url);
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { out: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log("Usage: deno run --allow-all tools/gencerts.ts [--out <dir>]");
    console.log(
      "Writes the dnatsd test PKI (default: generated-certs/ at the repository root, not tracked;",
    );
    console.log("--out certs replaces the checked-in test PKI).");
    return;
  }
  const outDir = values.out ?? defaultOutDir();
  await generateTestPki(outDir);
  console.log(`Test PKI written to ${outDir}`);
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (err) {
    console.error(`gencerts: ${err instanceof Error ? err.message : String(err)}`);
    Deno.exit(1);
  }
}
