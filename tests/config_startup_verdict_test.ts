/**
 * `-t` gives the verdict a start gives: for each configuration, `dnatsd -t`
 * exits 0 exactly when `dnatsd -c` gets to "Server is ready", and when both
 * refuse they print the same reason. Covers what start-up checks beyond the
 * parser: cipher_suites/curve_preferences the runtime cannot enforce,
 * certificate and key files, expiry, extended key usage, the cluster's
 * certificate, HTTPS monitoring without a certificate, and ACME settings.
 */
import { equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { MAIN_TS, ServerProcess } from "./helpers/server.ts";
import { makeCert } from "./acme/_pki.ts";

const CERTS = new URL("../certs/", import.meta.url).pathname;
const pair = (name: string) =>
  `cert_file: "${CERTS}${name}-cert.pem", key_file: "${CERTS}${name}-key.pem"`;
const RSA12 = [
  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
];
const list = (xs: string[]) => `[${xs.join(", ")}]`;
/** The CA directory of every ACME case: loopback, so even a wrong verdict sends nothing out. */
const CA = '"http://127.0.0.1:9/directory"';
const acme = (body: string) =>
  `tls { acme { domains: [nats.example.com], agree_tos: true, ca: ${CA}, ${body} } }`;

/** letsgo-nats variables (ACME environment mode), with a loopback CA. */
const LETSGO = {
  DOMAINS: "nats.example.com",
  ACCOUNT_EMAIL: "ops@example.com",
  CA_DIR: "http://127.0.0.1:9/directory",
};

/** [name, configuration, whether it starts, environment]; `dir` holds generated files. */
function cases(dir: string): Array<[string, string, boolean, Record<string, string>?]> {
  const ec = `cert_file: "${dir}/ec-cert.pem", key_file: "${dir}/ec-key.pem"`;
  const future = `cert_file: "${dir}/future-cert.pem", key_file: "${dir}/future-key.pem"`;
  return [
    ["plain TLS", `tls { ${pair("server")} }`, true],
    [
      "all of the runtime's RSA TLS 1.2 suites",
      `tls { ${pair("server")}, cipher_suites: ${list(RSA12)} }`,
      true,
    ],
    [
      "nats-server's default suites (RSA and ECDSA)",
      `tls { ${pair("server")}, cipher_suites: ${
        list([...RSA12, ...RSA12.map((s) => s.replace("_RSA_", "_ECDSA_"))])
      } }`,
      true,
    ],
    [
      "only CBC suites: TLS 1.3 only",
      `tls { ${pair("server")}, cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA] }`,
      true,
    ],
    [
      "TLS 1.3 names with the RSA suites",
      `tls { ${pair("server")}, cipher_suites: ${list(["TLS_AES_128_GCM_SHA256", ...RSA12])} }`,
      true,
    ],
    [
      "one RSA suite of three",
      `tls { ${pair("server")}, cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256] }`,
      false,
    ],
    [
      "two RSA suites of three",
      `tls { ${pair("server")}, cipher_suites: ${list(RSA12.slice(1))} }`,
      false,
    ],
    [
      "EC key with RSA suites only: TLS 1.3 only",
      `tls { ${ec}, cipher_suites: ${list(RSA12)} }`,
      true,
    ],
    [
      "EC key with one ECDSA suite",
      `tls { ${ec}, cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256] }`,
      false,
    ],
    [
      "all three curves",
      `tls { ${pair("server")}, curve_preferences: [CurveP384, X25519, CurveP256] }`,
      true,
    ],
    [
      "all curves and P-521",
      `tls { ${pair("server")}, curve_preferences: [CurveP521, X25519, CurveP256, CurveP384] }`,
      true,
    ],
    ["P-521 only", `tls { ${pair("server")}, curve_preferences: [CurveP521] }`, false],
    [
      "two curves of three",
      `tls { ${pair("server")}, curve_preferences: [X25519, CurveP256] }`,
      false,
    ],
    [
      "missing certificate file",
      `tls { cert_file: "${CERTS}nope.pem", key_file: "${CERTS}server-key.pem" }`,
      false,
    ],
    ["missing CA file", `tls { ${pair("server")}, ca_file: "${CERTS}nope-ca.pem" }`, false],
    [
      "key of another certificate",
      `tls { cert_file: "${CERTS}server-cert.pem", key_file: "${CERTS}client-key.pem" }`,
      false,
    ],
    ["expired certificate", `tls { ${pair("expired-server")} }`, false],
    ["certificate not valid yet", `tls { ${future} }`, false],
    [
      "client-auth-only certificate on the client port",
      `tls { ${pair("client-auth-only")} }`,
      false,
    ],
    [
      "route certificate without clientAuth",
      `cluster { listen: "127.0.0.1:-1", tls { ${pair("server-only")} } }`,
      false,
    ],
    [
      "route certificate with both usages",
      `cluster { listen: "127.0.0.1:-1", tls { ${pair("route")}, ca_file: "${CERTS}ca.pem" } }`,
      true,
    ],
    [
      "unenforceable suites in the cluster block",
      `cluster { listen: "127.0.0.1:-1", tls { ${
        pair("route")
      }, cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256] } }`,
      false,
    ],
    ["https monitoring without tls", "https: 127.0.0.1:-1", false],
    ["https monitoring with tls", `https: 127.0.0.1:-1\ntls { ${pair("server")} }`, true],
    ["acme without agree_tos", `tls { acme { domains: [nats.example.com], ca: ${CA} } }`, false],
    [
      "acme with an unenforceable suite list (RSA key)",
      `tls { acme { domains: [nats.example.com], agree_tos: true, ca: ${CA}, key_type: RSA2048 }, cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256] }`,
      false,
    ],
    [
      "acme dns-01 with an unknown provider",
      acme("challenge: dns-01, dns_provider: rfc2136"),
      false,
    ],
    ["acme with a missing ca_roots file", acme(`ca_roots: "${dir}/no-root.pem"`), false],
    [
      "acme with a non-number dns_timeout",
      acme("challenge: dns-01, dns_provider: exec, exec_path: /bin/true, dns_timeout: soon"),
      false,
    ],
    [
      "acme with renew_fraction and renew_before",
      acme('renew_fraction: 0.5, renew_before: "240h"'),
      false,
    ],
    ["letsgo-nats variables: bad key type", "port: -1", false, {
      ...LETSGO,
      LE_CRT_KEY_TYPE: "DSA",
    }],
    ["letsgo-nats variables: no e-mail", "port: -1", false, { ...LETSGO, ACCOUNT_EMAIL: "" }],
    ["letsgo-nats variables: bad DNS_TIMEOUT", "port: -1", false, { ...LETSGO, DNS_TIMEOUT: "x" }],
    [
      "acme wildcard over http-01",
      `tls { acme { domains: ["*.example.com"], agree_tos: true, ca: ${CA} } }`,
      false,
    ],
  ];
}

async function check(
  file: string,
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", MAIN_TS, "-t", "-c", file],
    stdout: "piped",
    stderr: "piped",
    env,
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

/** Starts dnatsd on the file: null when it got to "Server is ready", else what it printed. */
async function start(file: string, env: Record<string, string> = {}): Promise<string | null> {
  try {
    const s = await ServerProcess.start({ args: ["-c", file], timeoutMs: 20_000, env });
    await s.stop();
    return null;
  } catch (err) {
    // `server did not start ({"exit":1}):\n<stderr>`, or a timeout (then not equal to -t's text).
    const message = (err as Error).message;
    return /^server did not start \(\{"exit":1\}\):\n/.test(message)
      ? message.slice(message.indexOf(":\n") + 2)
      : message;
  }
}

Deno.test("-t exits 0 exactly when the server starts, and says why not in the same words", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dnatsd-verdict-" });
  try {
    const root = await makeCert({ cn: "verdict test root", ca: true });
    const ecLeaf = await makeCert({ cn: "localhost", names: ["localhost"], issuer: root });
    await Deno.writeTextFile(join(dir, "ec-cert.pem"), ecLeaf.certPem);
    await Deno.writeTextFile(join(dir, "ec-key.pem"), ecLeaf.keyPem);
    const day = 86_400_000;
    const future = await makeCert({
      cn: "localhost",
      names: ["localhost"],
      issuer: root,
      notBefore: new Date(Date.now() + day),
      notAfter: new Date(Date.now() + 30 * day),
    });
    await Deno.writeTextFile(join(dir, "future-cert.pem"), future.certPem);
    await Deno.writeTextFile(join(dir, "future-key.pem"), future.keyPem);
    const wrong: string[] = [];
    for (const [i, [name, config, starts, env]] of cases(dir).entries()) {
      const file = join(dir, `c${i}.conf`);
      await Deno.writeTextFile(file, config + "\n");
      const t = await check(file, env);
      const refused = await start(file, env);
      const verdict = `-t ${t.code}, start ${refused === null ? "ready" : "refused"}`;
      if ((t.code === 0) !== (refused === null)) {
        wrong.push(`${name}: ${verdict}\n  -t: ${t.stderr.trim()}\n  start: ${refused?.trim()}`);
        continue;
      }
      if (starts !== (refused === null)) {
        wrong.push(`${name}: expected it to ${starts ? "start" : "be refused"}; ${verdict}`);
        continue;
      }
      if (refused !== null && (refused !== t.stderr || t.code !== 1)) {
        wrong.push(
          `${name}: a refused start prints what -t prints\n  -t: ${t.stderr}  start: ${refused}`,
        );
      }
      if (refused !== null) ok(t.stderr.startsWith("dnatsd: "), t.stderr);
    }
    equal(wrong.length, 0, wrong.join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
