import { deepStrictEqual, equal, match, ok, throws } from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { defaultTlsOptions, type TlsOptions } from "../config/options.ts";
import { CertificateHolder, spkiSha256, TlsConfigError } from "./context.ts";
import { cipherPolicy, goCipherName, goTlsVersion } from "./ciphers.ts";
import { extendedKeyUsage } from "./_eku.ts";

const CERTS = new URL("../../certs/", import.meta.url).pathname;
const pem = (f: string) => Deno.readTextFileSync(CERTS + f);

function block(cert: string, key: string, extra: Partial<TlsOptions> = {}): TlsOptions {
  return { ...defaultTlsOptions(), certFile: CERTS + cert, keyFile: CERTS + key, ...extra };
}

Deno.test("CertificateHolder accepts the server pair with its CA", () => {
  const h = new CertificateHolder(
    block("server-cert.pem", "server-key.pem", { caFile: CERTS + "ca.pem" }),
    "server",
  );
  equal(h.minVersion, "TLSv1.2");
  equal(h.pair.keyKind, "rsa");
  ok(h.secureContextOptions().ca);
});

Deno.test("CertificateHolder refuses a key that is not the certificate's", () => {
  throws(
    () => new CertificateHolder(block("server-cert.pem", "client-key.pem"), "server"),
    /private key .*client-key\.pem does not match certificate .*server-cert\.pem/,
  );
});

Deno.test("CertificateHolder refuses an expired certificate", () => {
  throws(
    () =>
      new CertificateHolder(block("expired-server-cert.pem", "expired-server-key.pem"), "server"),
    /expired-server-cert\.pem expired on/,
  );
});

Deno.test("CertificateHolder refuses a certificate that is not yet valid", () => {
  throws(
    () =>
      new CertificateHolder(
        block("server-cert.pem", "server-key.pem"),
        "server",
        new Date("2000-01-01"),
      ),
    /is not valid before/,
  );
});

Deno.test("CertificateHolder checks the purpose of the certificate", () => {
  throws(
    () =>
      new CertificateHolder(
        block("client-auth-only-cert.pem", "client-auth-only-key.pem"),
        "server",
      ),
    /cannot be used for TLS server authentication/,
  );
  throws(
    () => new CertificateHolder(block("server-only-cert.pem", "server-only-key.pem"), "both"),
    /cannot be used for TLS client authentication/,
  );
  new CertificateHolder(block("route-cert.pem", "route-key.pem"), "both");
});

Deno.test("CertificateHolder names missing and unparsable files", () => {
  throws(
    () => new CertificateHolder(block("nope-cert.pem", "server-key.pem"), "server"),
    (e: unknown) =>
      e instanceof TlsConfigError && e.setting === "cert_file" &&
      /open .*nope-cert\.pem: no such file or directory/.test(e.message),
  );
  throws(
    () => new CertificateHolder({ ...defaultTlsOptions(), keyFile: "k" }, "server"),
    /missing 'cert_file' in TLS configuration/,
  );
  throws(
    () =>
      new CertificateHolder(
        block("server-cert.pem", "server-key.pem", { caFile: CERTS + "server-key.pem" }),
        "server",
      ),
    /failed to parse root ca certificate/,
  );
});

Deno.test("CertificateHolder.setCertificate() validates, then swaps and notifies", () => {
  const h = new CertificateHolder(block("server-cert.pem", "server-key.pem"), "server");
  const seen: string[] = [];
  h.attach({ setSecureContext: (o) => seen.push(String(o.cert).slice(0, 30)) });
  throws(() => h.setCertificate(pem("server-cert.pem"), pem("client-key.pem")), /does not match/);
  equal(seen.length, 0);
  h.setCertificate(pem("server-no-ip-cert.pem"), pem("server-no-ip-key.pem"));
  equal(seen.length, 1);
  match(h.pair.certificate.subject, /no-ip/);
});

Deno.test("CertificateHolder.checkPinned() compares SPKI SHA-256", () => {
  const client = new X509Certificate(pem("client-cert.pem"));
  const h = new CertificateHolder(
    block("server-cert.pem", "server-key.pem", { pinnedCerts: [spkiSha256(client).toUpperCase()] }),
    "server",
  );
  equal(h.checkPinned(client), null);
  match(h.checkPinned(new X509Certificate(pem("server-cert.pem")))!, /not pinned/);
  match(h.checkPinned(undefined)!, /no peer certificate/);
});

Deno.test("extendedKeyUsage() reads the EKU OIDs", () => {
  const der = (f: string) => new Uint8Array(new X509Certificate(pem(f)).raw);
  deepStrictEqual(extendedKeyUsage(der("server-cert.pem")), ["1.3.6.1.5.5.7.3.1"]);
  deepStrictEqual(extendedKeyUsage(der("route-cert.pem")), [
    "1.3.6.1.5.5.7.3.1",
    "1.3.6.1.5.5.7.3.2",
  ]);
  equal(extendedKeyUsage(der("ca.pem")), null);
});

const RSA12 = [
  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
];

Deno.test("cipherPolicy() enforces lists that cover the runtime's TLS 1.2 suites", () => {
  deepStrictEqual(cipherPolicy({}, "rsa"), { minVersion: "TLSv1.2", warnings: [] });
  // nats-server 2.9's default list: all six ECDHE GCM/ChaCha suites.
  const natsDefault = [...RSA12, ...RSA12.map((s) => s.replace("_RSA_", "_ECDSA_"))];
  equal(cipherPolicy({ cipherSuites: natsDefault }, "rsa").minVersion, "TLSv1.2");
  equal(cipherPolicy({ cipherSuites: natsDefault }, "ec").minVersion, "TLSv1.2");
  // RSA key: the ECDSA suites can never be negotiated, so listing the RSA ones suffices.
  equal(cipherPolicy({ cipherSuites: RSA12 }, "rsa").minVersion, "TLSv1.2");
});

Deno.test("cipherPolicy() turns off TLS 1.2 when no listed suite is available", () => {
  const p = cipherPolicy({ cipherSuites: ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"] }, "rsa");
  equal(p.minVersion, "TLSv1.3");
  match(p.warnings[0]!, /TLS 1\.2 disabled/);
  const t13 = cipherPolicy({ cipherSuites: ["TLS_AES_128_GCM_SHA256"] }, "rsa");
  equal(t13.minVersion, "TLSv1.3");
  match(t13.warnings.join("\n"), /TLS 1\.3 suites are always enabled/);
});

Deno.test("cipherPolicy() refuses what it cannot enforce", () => {
  throws(
    () => cipherPolicy({ cipherSuites: ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"] }, "rsa"),
    (e: unknown) =>
      e instanceof TlsConfigError && e.setting === "cipher_suites" &&
      /would still negotiate TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384/.test(e.message),
  );
  // The same list is fine for an EC key? No: none of the ECDSA suites is listed -> 1.3 only.
  equal(
    cipherPolicy({ cipherSuites: ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"] }, "ec").minVersion,
    "TLSv1.3",
  );
  throws(() => cipherPolicy({ cipherSuites: [] }, "rsa"), /'cipher_suites' cannot be empty/);
  throws(() => cipherPolicy({ cipherSuites: ["TLS_FOO"] }, "rsa"), /unrecognized cipher TLS_FOO/);
  throws(() => cipherPolicy({ curvePreferences: ["CurveP521"] }, "rsa"), /supports none of/);
  throws(
    () => cipherPolicy({ curvePreferences: ["X25519", "CurveP256"] }, "rsa"),
    /cannot exclude CurveP384/,
  );
  const all = cipherPolicy({ curvePreferences: ["CurveP384", "X25519", "CurveP256"] }, "rsa");
  match(all.warnings[0]!, /order is the runtime's/);
});

Deno.test("goCipherName() and goTlsVersion() print names as nats-server does", () => {
  equal(
    goCipherName("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
  );
  equal(goCipherName("TLS_AES_128_GCM_SHA256"), "TLS_AES_128_GCM_SHA256");
  equal(goTlsVersion("TLSv1.3"), "1.3");
  equal(goTlsVersion("TLSv1.2"), "1.2");
  equal(goTlsVersion("TLSv1"), "1.0");
});
