// deno-lint-ignore-file no-import-prefix -- pinned npm: specifiers keep `deno run <URL>` working without deno.json (docs/architecture.md)
/**
 * Checks the test PKI that tools/gencerts.ts writes: chains, keys, names,
 * validity and purposes with node:crypto, then real mutual-TLS handshakes with
 * node:tls inside Deno (the stack the server uses).
 */
import "npm:reflect-metadata@0.2.2";
import * as x509 from "npm:@peculiar/x509@2.2.0";
import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tls from "node:tls";
import { defaultOutDir, generateTestPki } from "./gencerts.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const LOCALHOST_SAN = "DNS:localhost, IP Address:127.0.0.1, IP Address:::1";

interface ExpectedLeaf {
  stem: string;
  issuer: "ca" | "untrusted-ca";
  /** Subject as node:crypto prints it: RDNs in ASN.1 order, one per line. */
  subject: string;
  /** `subjectAltName` as node:crypto prints it, or undefined for no SAN. */
  san: string | undefined;
  usages: string[];
  expired: boolean;
}

/** Written out by hand, independent of the generator's own table. */
const EXPECTED_LEAVES: ExpectedLeaf[] = [
  {
    stem: "server",
    issuer: "ca",
    subject: "CN=localhost",
    san: LOCALHOST_SAN,
    usages: [SERVER_AUTH],
    expired: false,
  },
  {
    stem: "client",
    issuer: "ca",
    subject: "CN=localhost client",
    san: undefined,
    usages: [CLIENT_AUTH],
    expired: false,
  },
  {
    stem: "client-email",
    issuer: "ca",
    subject: "CN=derek",
    san: "DNS:localhost, IP Address:127.0.0.1, email:derek@nats.io",
    usages: [CLIENT_AUTH],
    expired: false,
  },
  {
    stem: "client-dn",
    issuer: "ca",
    subject: "OU=CNCF\nCN=example.com",
    san: undefined,
    usages: [CLIENT_AUTH],
    expired: false,
  },
  {
    stem: "route",
    issuer: "ca",
    subject: "CN=localhost route",
    san: LOCALHOST_SAN,
    usages: [SERVER_AUTH, CLIENT_AUTH],
    expired: false,
  },
  {
    stem: "server-no-ip",
    issuer: "ca",
    subject: "CN=localhost no-ip",
    san: "DNS:localhost",
    usages: [SERVER_AUTH],
    expired: false,
  },
  {
    stem: "server-ip-only",
    issuer: "ca",
    subject: "CN=ip-only",
    san: "IP Address:127.0.0.1, IP Address:::1",
    usages: [SERVER_AUTH],
    expired: false,
  },
  {
    stem: "untrusted-client",
    issuer: "untrusted-ca",
    subject: "CN=untrusted client",
    san: undefined,
    usages: [CLIENT_AUTH],
    expired: false,
  },
  {
    stem: "expired-client",
    issuer: "ca",
    subject: "CN=expired client",
    san: undefined,
    usages: [CLIENT_AUTH],
    expired: true,
  },
  {
    stem: "expired-server",
    issuer: "ca",
    subject: "CN=localhost expired",
    san: LOCALHOST_SAN,
    usages: [SERVER_AUTH],
    expired: true,
  },
  {
    stem: "client-auth-only",
    issuer: "ca",
    subject: "CN=localhost client-auth-only",
    san: "DNS:localhost, IP Address:127.0.0.1",
    usages: [CLIENT_AUTH],
    expired: false,
  },
  {
    stem: "server-only",
    issuer: "ca",
    subject: "CN=localhost server-only",
    san: "DNS:localhost, IP Address:127.0.0.1",
    usages: [SERVER_AUTH],
    expired: false,
  },
];

/** Reads a PEM file of the generated folder. */
async function pem(dir: string, name: string): Promise<string> {
  return await readFile(join(dir, name), "utf8");
}

/** The hex identifier of a key-identifier extension, lower case. */
function skiOf(cert: x509.X509Certificate): string | undefined {
  return cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId.toLowerCase();
}

function akiOf(cert: x509.X509Certificate): string | undefined {
  return cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId?.toLowerCase();
}

/** Asserts the validity window of a current (not expired) certificate. */
function assertCurrentValidity(cert: X509Certificate, generatedFrom: number, generatedTo: number) {
  const notBefore = Date.parse(cert.validFrom);
  const notAfter = Date.parse(cert.validTo);
  // notBefore is one day before generation, truncated to whole seconds.
  assert.ok(notBefore >= generatedFrom - DAY_MS - 1000, `notBefore too early: ${cert.validFrom}`);
  assert.ok(notBefore <= generatedTo - DAY_MS, `notBefore too late: ${cert.validFrom}`);
  const years = (notAfter - generatedFrom) / (365.25 * DAY_MS);
  assert.ok(years > 19.9 && years < 20.1, `expected ~20 years of validity, got ${years}`);
}

Deno.test("generateTestPki() writes a consistent PKI", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "dnatsd-gencerts-" });
  try {
    const generatedFrom = Date.now();
    await generateTestPki(dir);
    const generatedTo = Date.now();

    const cas = {
      ca: new X509Certificate(await pem(dir, "ca.pem")),
      "untrusted-ca": new X509Certificate(await pem(dir, "untrusted-ca.pem")),
    };

    await t.step("keys are PKCS#8 PEM and match their certificates", async () => {
      const stems = [
        ["ca.pem", "ca-key.pem"],
        ["untrusted-ca.pem", "untrusted-ca-key.pem"],
        ...EXPECTED_LEAVES.map((leaf) => [`${leaf.stem}-cert.pem`, `${leaf.stem}-key.pem`]),
      ];
      for (const [certFile, keyFile] of stems) {
        const keyPem = await pem(dir, keyFile!);
        assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----\n/, keyFile);
        const key = createPrivateKey(keyPem);
        assert.equal(key.asymmetricKeyType, "rsa", keyFile);
        assert.equal(key.asymmetricKeyDetails?.modulusLength, 2048, keyFile);
        const cert = new X509Certificate(await pem(dir, certFile!));
        assert.ok(cert.checkPrivateKey(key), `${keyFile} does not match ${certFile}`);
      }
    });

    await t.step("the CAs are self-signed roots with keyCertSign", async () => {
      for (const [name, ca] of Object.entries(cas)) {
        assert.ok(ca.ca, `${name} is not a CA`);
        assert.ok(ca.verify(ca.publicKey), `${name} is not self-signed`);
        assert.equal(ca.subject, ca.issuer, name);
        assert.ok(ca.keyUsage.includes("KeyCertSign"), `${name}: ${ca.keyUsage}`);
        assertCurrentValidity(ca, generatedFrom, generatedTo);
        const parsed = new x509.X509Certificate(await pem(dir, `${name}.pem`));
        const constraints = parsed.getExtension(x509.BasicConstraintsExtension);
        assert.ok(constraints?.ca && constraints.critical, `${name}: basicConstraints`);
        assert.ok(skiOf(parsed), `${name}: no SubjectKeyIdentifier`);
      }
      assert.notEqual(
        cas.ca.publicKey.export({ format: "pem", type: "spki" }),
        cas["untrusted-ca"]
          .publicKey.export({ format: "pem", type: "spki" }),
      );
    });

    await t.step("each leaf has the expected issuer, names, validity and purposes", async () => {
      const serials = new Set<string>();
      for (const name of Object.keys(cas)) {
        serials.add(new x509.X509Certificate(await pem(dir, `${name}.pem`)).serialNumber);
      }
      for (const leaf of EXPECTED_LEAVES) {
        const text = await pem(dir, `${leaf.stem}-cert.pem`);
        const cert = new X509Certificate(text);
        const issuer = cas[leaf.issuer];
        const other = cas[leaf.issuer === "ca" ? "untrusted-ca" : "ca"];
        assert.ok(cert.verify(issuer.publicKey), `${leaf.stem} not signed by ${leaf.issuer}`);
        assert.ok(!cert.verify(other.publicKey), `${leaf.stem} verifies with the wrong CA`);
        assert.equal(cert.issuer, issuer.subject, leaf.stem);
        assert.ok(!cert.ca, `${leaf.stem} must not be a CA`);
        assert.equal(cert.subject, leaf.subject, leaf.stem);
        // node:crypto reports a missing SAN as undefined in Node and null in Deno.
        assert.equal(cert.subjectAltName ?? undefined, leaf.san, leaf.stem);

        if (leaf.expired) {
          assert.ok(Date.parse(cert.validTo) < generatedFrom, `${leaf.stem} is not expired`);
          assert.ok(Date.parse(cert.validFrom) < Date.parse(cert.validTo), leaf.stem);
        } else {
          assertCurrentValidity(cert, generatedFrom, generatedTo);
        }

        const parsed = new x509.X509Certificate(text);
        // Random positive serials of 16 bytes, minimally encoded (first byte
        // 01..7f), never repeated. Read from the DER bytes: Deno's node:crypto
        // drops a leading zero digit from serialNumber.
        assert.match(parsed.serialNumber, /^(0[1-9a-f]|[1-7][0-9a-f])[0-9a-f]{30}$/, leaf.stem);
        assert.ok(!serials.has(parsed.serialNumber), `${leaf.stem}: duplicate serial`);
        serials.add(parsed.serialNumber);

        const eku = parsed.getExtension(x509.ExtendedKeyUsageExtension);
        assert.deepEqual([...(eku?.usages ?? [])], leaf.usages, `${leaf.stem}: extended key usage`);
        assert.deepEqual(cert.keyUsage.toSorted(), ["DigitalSignature", "KeyEncipherment"]);
        const constraints = parsed.getExtension(x509.BasicConstraintsExtension);
        assert.equal(constraints?.ca, false, `${leaf.stem}: basicConstraints`);
        const issuerParsed = new x509.X509Certificate(await pem(dir, `${leaf.issuer}.pem`));
        assert.ok(skiOf(parsed), `${leaf.stem}: no SubjectKeyIdentifier`);
        assert.equal(akiOf(parsed), skiOf(issuerParsed), `${leaf.stem}: AuthorityKeyIdentifier`);
      }
    });

    await t.step("the identities that verify_and_map relies on are present", async () => {
      const email = new X509Certificate(await pem(dir, "client-email-cert.pem"));
      assert.equal(email.checkEmail("derek@nats.io"), "derek@nats.io");
      const dn = new x509.X509Certificate(await pem(dir, "client-dn-cert.pem"));
      // RFC 2253 lists RDNs in reverse order of the ASN.1 sequence.
      const rfc2253 = dn.subjectName.toJSON().map((rdn) =>
        Object.entries(rdn).map(([type, values]) => `${type}=${values.join("+")}`).join("+")
      ).reverse().join(",");
      assert.equal(rfc2253, "CN=example.com,OU=CNCF");
      const server = new X509Certificate(await pem(dir, "server-cert.pem"));
      assert.equal(server.checkHost("localhost"), "localhost");
      assert.equal(server.checkIP("127.0.0.1"), "127.0.0.1");
      assert.equal(server.checkIP("::1"), "::1");
    });

    await t.step("README says how and until when", async () => {
      const readme = await readFile(join(dir, "README.md"), "utf8");
      const validTo = new Date(Date.parse(cas.ca.validTo)).toISOString().replace(".000Z", "Z");
      assert.ok(readme.includes("deno task gencerts"));
      assert.ok(readme.includes(validTo), `README lacks the expiry ${validTo}`);
      assert.match(readme, /public test keys/);
      for (const leaf of EXPECTED_LEAVES) assert.ok(readme.includes(`${leaf.stem}-cert.pem`));
    });

    await t.step("node:tls with verify accepts trusted clients only", async () => {
      await checkClientVerification(dir);
    });

    await t.step("node:tls clients refuse a server certificate without serverAuth", async () => {
      const refused = await dialServer(dir, "client-auth-only");
      assert.equal(refused.secure, false);
      assert.match(refused.error ?? "", /verify|certificate/i);
      const accepted = await dialServer(dir, "server");
      assert.equal(accepted.secure, true, accepted.error);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

Deno.test("tools/gencerts.ts --out <dir> writes the files and exits 0", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dnatsd-gencerts-cli-" });
  try {
    const script = fileURLToPath(new URL("./gencerts.ts", import.meta.url));
    const output = await new Deno.Command(Deno.execPath(), {
      // The test lock: gencerts' packages are not the server's (deno.runtime.lock).
      args: [
        "run",
        "--allow-all",
        "--lock",
        fileURLToPath(new URL("../deno.lock", import.meta.url)),
        script,
        "--out",
        dir,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    const cert = new X509Certificate(await pem(dir, "route-cert.pem"));
    const ca = new X509Certificate(await pem(dir, "ca.pem"));
    assert.ok(cert.verify(ca.publicKey));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

Deno.test("certs/ in the repository is a valid PKI for at least another year", async () => {
  const dir = fileURLToPath(new URL("../certs/", import.meta.url));
  const ca = new X509Certificate(await pem(dir, "ca.pem"));
  const inAYear = Date.now() + 365 * DAY_MS;
  for (const stem of ["server", "client", "client-email", "client-dn", "route"]) {
    const cert = new X509Certificate(await pem(dir, `${stem}-cert.pem`));
    assert.ok(cert.verify(ca.publicKey), `certs/${stem}-cert.pem is not signed by certs/ca.pem`);
    const key = createPrivateKey(await pem(dir, `${stem}-key.pem`));
    assert.ok(cert.checkPrivateKey(key), `certs/${stem}-key.pem does not match`);
    assert.ok(
      Date.parse(cert.validTo) > inAYear,
      `certs/${stem}-cert.pem expires soon: rerun gencerts`,
    );
  }
});

// ---------------------------------------------------------------------------
// Handshake helpers

const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Races a promise against a deadline; the timer is always cleared (sanitizers). */
async function withDeadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out: ${what}`)), HANDSHAKE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

type ServerVerdict = { accepted: true; peerCn: string } | { accepted: false; reason: string };

/**
 * Starts a `verify`-style server (server-cert, ca.pem, requestCert +
 * rejectUnauthorized) and connects once per client certificate, reporting what
 * the server decided and whether the client saw application data.
 */
async function checkClientVerification(dir: string): Promise<void> {
  const server = tls.createServer({
    cert: await pem(dir, "server-cert.pem"),
    key: await pem(dir, "server-key.pem"),
    ca: await pem(dir, "ca.pem"),
    requestCert: true,
    rejectUnauthorized: true,
  });
  // One verdict per connection, delivered in order to whoever waits.
  const verdicts: ServerVerdict[] = [];
  let wake: (() => void) | undefined;
  const push = (verdict: ServerVerdict) => {
    verdicts.push(verdict);
    wake?.();
  };
  server.on("secureConnection", (socket: tls.TLSSocket) => {
    const cn = socket.getPeerCertificate().subject?.CN;
    push({ accepted: true, peerCn: Array.isArray(cn) ? cn.join("+") : String(cn) });
    socket.end("hello\n");
  });
  server.on("tlsClientError", (err: Error) => push({ accepted: false, reason: err.message }));
  const nextVerdict = async (): Promise<ServerVerdict> => {
    while (verdicts.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return verdicts.shift()!;
  };

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  try {
    const cases = [
      { stem: "client", accepted: true, cn: "localhost client" },
      { stem: "untrusted-client", accepted: false },
      { stem: "expired-client", accepted: false },
      { stem: "server-only", accepted: false },
      { stem: "client-auth-only", accepted: true, cn: "localhost client-auth-only" },
    ];
    for (const c of cases) {
      const client = await withDeadline(connectClient(dir, port, c.stem), `client ${c.stem}`);
      const verdict = await withDeadline(nextVerdict(), `server verdict for ${c.stem}`);
      assert.equal(verdict.accepted, c.accepted, `${c.stem}: ${JSON.stringify(verdict)}`);
      if (c.accepted) {
        assert.equal(verdict.accepted && verdict.peerCn, c.cn);
        assert.equal(client.data, "hello\n", `${c.stem}: ${client.error}`);
      } else {
        // In TLS 1.3 the client finishes its side before the server checks the
        // client certificate, so refusal shows as a close without data.
        assert.equal(client.data, "", `${c.stem} received data although refused`);
      }
    }
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Connects with a client certificate; resolves when the socket is closed. */
function connectClient(
  dir: string,
  port: number,
  stem: string,
): Promise<{ data: string; error: string | undefined }> {
  return (async () => {
    const options: tls.ConnectionOptions = {
      host: "127.0.0.1",
      port,
      ca: await pem(dir, "ca.pem"),
      cert: await pem(dir, `${stem}-cert.pem`),
      key: await pem(dir, `${stem}-key.pem`),
    };
    return await new Promise((resolve) => {
      let data = "";
      let error: string | undefined;
      const socket = tls.connect(options);
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => (data += chunk));
      socket.on("error", (err: Error) => (error = err.message));
      socket.on("close", () => resolve({ data, error }));
    });
  })();
}

/**
 * Serves `<stem>-cert.pem` without client verification and dials it as a plain
 * client trusting ca.pem; reports whether the client accepted the server.
 */
async function dialServer(
  dir: string,
  stem: string,
): Promise<{ secure: boolean; error: string | undefined }> {
  const server = tls.createServer({
    cert: await pem(dir, `${stem}-cert.pem`),
    key: await pem(dir, `${stem}-key.pem`),
  });
  server.on("secureConnection", (socket: tls.TLSSocket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const ca = await pem(dir, "ca.pem");
  try {
    return await withDeadline(
      new Promise((resolve) => {
        let secure = false;
        let error: string | undefined;
        const socket = tls.connect({ host: "127.0.0.1", port, ca });
        socket.on("secureConnect", () => (secure = socket.authorized));
        socket.on("error", (err: Error) => (error = err.message));
        socket.on("close", () => resolve({ secure, error }));
      }),
      `dial ${stem}`,
    );
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

Deno.test("tools/gencerts.ts writes to generated-certs/ by default, a folder git ignores", async () => {
  const dir = defaultOutDir();
  assert.ok(dir.endsWith("/generated-certs/"), dir);
  const out = await new Deno.Command("git", {
    args: ["check-ignore", "-q", dir],
    cwd: fileURLToPath(new URL("../", import.meta.url)),
  }).output();
  assert.equal(
    out.code,
    0,
    "generated-certs/ must be ignored by git, so certs/ is never rewritten by accident",
  );
});
