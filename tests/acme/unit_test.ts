/**
 * Unit tests of lib/acme pieces that need no CA: env parsing, SigV4, ARI
 * identifiers, renewal timing, back-off, storage and locks, secrets, DNS
 * provider request shapes, CSR structure.
 */
import assert from "node:assert/strict";
import { AcmeClient, AcmeError, parseRetryAfter } from "../../lib/acme/acme_client.ts";
import {
  AcmeSettingsError,
  isPermanentFailure,
  NO_SUITABLE_CHALLENGE,
} from "../../lib/acme/failure.ts";
import { ariCertId, inspectCertificate } from "../../lib/acme/cert_info.ts";
import { Dns01Solver } from "../../lib/acme/challenges.ts";
import { buildCsr } from "../../lib/acme/csr.ts";
import { CloudflareProvider } from "../../lib/acme/dns/cloudflare.ts";
import { matchZone } from "../../lib/acme/dns/provider.ts";
import { Route53Provider } from "../../lib/acme/dns/route53.ts";
import { signV4 } from "../../lib/acme/dns/sigv4.ts";
import { acmeOptionsFromEnv } from "../../lib/acme/env.ts";
import { FileStorage } from "../../lib/acme/file_storage.ts";
import { generateKeyPair, importPrivateKeyPem, privateKeyToPem } from "../../lib/acme/keys.ts";
import { AcmeManager } from "../../lib/acme/manager.ts";
import { fractionRenewalTime, renewalTime } from "../../lib/acme/renewal.ts";
import { Backoff } from "../../lib/acme/retry.ts";
import { resolveToken } from "../../lib/acme/secrets.ts";
import { CA_DIRECTORIES } from "../../lib/acme/settings.ts";
import { MemoryStorage } from "../../lib/acme/storage.ts";
import type { AcmeOptions } from "../../lib/config/options.ts";
import { freePort, RecordingLogger } from "./_harness.ts";
import { makeCert } from "./_pki.ts";
import { missing } from "../helpers/requires.ts";
import { waitFor } from "../helpers/server.ts";

const BASE_ENV = { DOMAINS: "a.example.com", ACCOUNT_EMAIL: "me@example.com", DNS_AUTH_TOKEN: "t" };

Deno.test("acmeOptionsFromEnv() returns null unless DOMAINS is set", () => {
  assert.equal(acmeOptionsFromEnv({}, "/srv"), null);
  assert.equal(acmeOptionsFromEnv({ DOMAINS: "", ACCOUNT_EMAIL: "x" }, "/srv"), null);
  assert.equal(acmeOptionsFromEnv({ DOMAINS: " , " }, "/srv"), null);
});

Deno.test("acmeOptionsFromEnv() applies letsgo-nats defaults", () => {
  const r = acmeOptionsFromEnv({ ...BASE_ENV, DOMAINS: "*.w.example.com,w.example.com" }, "/srv");
  assert.ok(r);
  assert.deepEqual(r.options.domains, ["*.w.example.com", "w.example.com"]);
  assert.equal(r.options.caDirectory, CA_DIRECTORIES.staging);
  assert.equal(r.options.keyType, "RSA2048");
  assert.equal(r.options.storageDir, "/srv");
  assert.equal(r.options.dnsProvider, "digitalocean");
  assert.equal(r.options.challenge, "dns-01");
  assert.equal(r.options.extra.account_key_file, "/srv/account.key");
  assert.equal(r.options.extra.dns_propagation_all, false);
  assert.equal(r.options.extra.dns_token_secret, "do-auth-token");
  assert.deepEqual(r.files, {
    cert: "/srv/_.w.example.com.crt",
    key: "/srv/_.w.example.com.key",
    issuer: "/srv/_.w.example.com.issuer.crt",
  });
  const named = acmeOptionsFromEnv({
    ...BASE_ENV,
    FILENAME: "nats",
    OUTPUT_DIRECTORY: "/etc/nats/../tls",
    CA_DIR: "production",
    DISABLE_CP: "false",
    DNS_TIMEOUT: "2.7",
    LE_CRT_KEY_TYPE: "RSA4096",
  }, "/srv");
  assert.equal(named?.files.cert, "/etc/tls/nats.crt");
  assert.equal(named?.options.caDirectory, CA_DIRECTORIES.production);
  assert.equal(named?.options.extra.dns_propagation_all, true);
  assert.equal(named?.options.extra.dns_timeout, 2);
  assert.equal(named?.options.keyType, "RSA4096");
  assert.equal(
    acmeOptionsFromEnv({ ...BASE_ENV, CA_DIR: "TEST" }, "/")?.options.caDirectory,
    "http://localhost:4000/directory",
  );
});

Deno.test("acmeOptionsFromEnv() rejects invalid variables with letsgo-nats' messages", () => {
  assert.throws(
    () => acmeOptionsFromEnv({ DOMAINS: "a.example.com", DNS_AUTH_TOKEN: "t" }, "/"),
    /An email must be provided through ACCOUNT_EMAIL environment variable/,
  );
  assert.throws(
    () => acmeOptionsFromEnv({ ...BASE_ENV, LE_TOS_AGREED: "false" }, "/"),
    /mandatory to agree to Let's Encrypt Term of Usage/,
  );
  assert.throws(() => acmeOptionsFromEnv({ ...BASE_ENV, LE_TOS_AGREED: "maybe" }, "/"), /LE_TOS/);
  assert.throws(
    () => acmeOptionsFromEnv({ ...BASE_ENV, CA_DIR: "ftp://x" }, "/"),
    /Invalid CA directory: ftp:\/\/x/,
  );
  assert.throws(
    () => acmeOptionsFromEnv({ ...BASE_ENV, LE_CRT_KEY_TYPE: "RSA8192" }, "/"),
    /Invalid key type/,
  );
  assert.throws(
    () => acmeOptionsFromEnv({ DOMAINS: "a.example.com", ACCOUNT_EMAIL: "me@x.org" }, "/"),
    /Invalid DNS auth token/,
  );
  assert.throws(() => acmeOptionsFromEnv({ ...BASE_ENV, DNS_TIMEOUT: "soon" }, "/"), /DNS_TIMEOUT/);
  // The exec provider needs no token.
  const exec = acmeOptionsFromEnv({
    DOMAINS: "a.example.com",
    ACCOUNT_EMAIL: "me@x.org",
    DNS_PROVIDER: "exec",
    EXEC_PATH: "/usr/local/bin/dns-hook",
  }, "/");
  assert.equal(exec?.options.extra.exec_path, "/usr/local/bin/dns-hook");
});

Deno.test("AcmeManager constructor rejects configurations that cannot work", () => {
  const o: AcmeOptions = {
    domains: ["a.example.com"],
    caDirectory: "staging",
    agreeTos: true,
    keyType: "EC256",
    storageDir: "/nonexistent",
    challenge: "dns-01",
    dnsProvider: "exec",
    extra: {},
  };
  const deps = { log: new RecordingLogger(), onCertificate: () => {} };
  assert.throws(() => new AcmeManager({ ...o, domains: [] }, deps), /at least one domain/);
  assert.throws(() => new AcmeManager({ ...o, agreeTos: false }, deps), /terms of service/);
  assert.throws(() => new AcmeManager({ ...o, dnsProvider: "" }, deps), /DNS provider/);
  assert.throws(() => new AcmeManager({ ...o, renewFraction: 1.5 }, deps), RangeError);
  assert.throws(
    () => new AcmeManager({ ...o, challenge: "http-01", domains: ["*.a.example.com"] }, deps),
    /wildcard/,
  );
  assert.throws(() => new AcmeManager({ ...o, caDirectory: "nowhere" }, deps), /Invalid CA/);
});

Deno.test("signV4() matches AWS's documented example signature", async () => {
  // AWS SigV4 documentation example (IAM ListUsers, 2015-08-30).
  const headers = await signV4({
    method: "GET",
    url: "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
    headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
    body: "",
    region: "us-east-1",
    service: "iam",
    date: new Date("2015-08-30T12:36:00Z"),
  }, {
    accessKeyId: "AKIDEXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  });
  assert.equal(
    headers.authorization,
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, " +
      "SignedHeaders=content-type;host;x-amz-date, " +
      "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
  );
  assert.equal(headers["x-amz-date"], "20150830T123600Z");
});

Deno.test("ariCertId() follows the RFC 9773 example", async () => {
  const ca = await makeCert({ cn: "ARI CA", ca: true });
  const aki = Uint8Array.from(
    "69885B6B87464041E1B37B847BA0AE2CDE01C8D4".match(/../g)!.map((h) => parseInt(h, 16)),
  );
  const leaf = await makeCert({
    cn: "a.example.com",
    names: ["a.example.com"],
    issuer: { ...ca, subjectKeyId: aki },
    serial: Uint8Array.of(0x00, 0x87, 0x65, 0x43, 0x21),
  });
  assert.equal(ariCertId(leaf.der), "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
  assert.equal(inspectCertificate(leaf.certPem).ariCertId, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
  assert.equal(inspectCertificate(leaf.certPem).serial, "0087654321".replace(/^00/, ""));
});

Deno.test("renewalTime() uses the lifetime fraction, ARI, and the 1/20 safety net", () => {
  const cert = {
    notBefore: new Date("2025-01-01T00:00:00Z"),
    notAfter: new Date("2025-04-01T00:00:00Z"),
  };
  const life = cert.notAfter.getTime() - cert.notBefore.getTime();
  assert.equal(
    renewalTime(cert, 1 / 3).getTime(),
    cert.notAfter.getTime() - Math.round(life / 3),
  );
  const ari = {
    certId: "x",
    windowStart: new Date("2025-03-01T00:00:00Z"),
    windowEnd: new Date("2025-03-03T00:00:00Z"),
    selected: new Date("2025-03-02T00:00:00Z"),
    nextFetch: new Date(),
  };
  assert.deepEqual(renewalTime(cert, 1 / 3, ari), ari.selected);
  const late = { ...ari, selected: new Date("2025-03-31T00:00:00Z") };
  assert.deepEqual(renewalTime(cert, 1 / 3, late), fractionRenewalTime(cert, 1 / 20));
});

Deno.test("Backoff grows through its table, caps, jitters ±20% and honours Retry-After", () => {
  const mid = new Backoff([100, 1000, 5000], () => 0.5);
  assert.deepEqual([mid.next(), mid.next(), mid.next(), mid.next()], [100, 1000, 5000, 5000]);
  assert.equal(mid.failures, 4);
  mid.reset();
  assert.equal(mid.next(), 100);
  assert.equal(new Backoff([1000], () => 0).next(), 800);
  assert.equal(new Backoff([1000], () => 0.999999).next(), 1200);
  assert.equal(new Backoff([1000], () => 0.5).next(60_000), 60_000);
  assert.throws(() => new Backoff([]), RangeError);
});

Deno.test("parseRetryAfter() reads seconds and HTTP dates", () => {
  assert.equal(parseRetryAfter("120"), 120_000);
  assert.equal(parseRetryAfter(null), undefined);
  const now = Date.parse("2025-01-01T00:00:00Z");
  assert.equal(parseRetryAfter("Wed, 01 Jan 2025 00:01:00 GMT", now), 60_000);
  assert.equal(parseRetryAfter("garbage"), undefined);
});

Deno.test("FileStorage writes atomically with private modes and lists keys", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = new FileStorage(dir);
    await s.store("a/b/secret.key", "k1", { private: true });
    await s.store("a/b/cert.crt", "c1");
    await s.store("a/b/secret.key", "k2", { private: true });
    assert.equal(new TextDecoder().decode(await s.load("a/b/secret.key")), "k2");
    assert.equal((await Deno.stat(`${dir}/a/b/secret.key`)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(`${dir}/a/b/cert.crt`)).mode! & 0o777, 0o644);
    assert.deepEqual(await s.list("a/"), ["a/b/cert.crt", "a/b/secret.key"]);
    assert.equal(await s.load("missing"), undefined);
    assert.equal((await s.stat("a/b/cert.crt"))?.size, 2);
    await s.delete("a/b/cert.crt");
    await s.delete("a/b/cert.crt");
    assert.deepEqual(await s.list(""), ["a/b/secret.key"]);
    await assert.rejects(s.load("../escape"), RangeError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileStorage locks exclude other instances, refresh, and expire when stale", async () => {
  const dir = await Deno.makeTempDir();
  const a = new FileStorage(dir, { lockRefreshMs: 100 });
  const b = new FileStorage(dir, { lockRefreshMs: 100 });
  try {
    assert.equal(await a.tryLock("job"), true);
    // Held and refreshed: once the holder has refreshed it past the staleness
    // age (two intervals after creation), it is still not stale.
    const lockFile = `${dir}/locks/job.lock`;
    const { created } = JSON.parse(await Deno.readTextFile(lockFile));
    await waitFor(
      async () => {
        const { updated } = JSON.parse(await Deno.readTextFile(lockFile));
        return updated - created > 2 * 100;
      },
      5000,
      "the holder to refresh the lock past two intervals",
    );
    assert.equal(await b.tryLock("job"), false);
    const waiting = b.lock("job");
    await a.unlock("job");
    await waiting;
    await b.unlock("job");
    // A lock whose holder died (no refresh) is taken over after two intervals.
    await Deno.writeTextFile(
      `${dir}/locks/job.lock`,
      JSON.stringify({ pid: 1, host: "gone", created: 0, updated: Date.now() - 1000 }),
    );
    assert.equal(await a.tryLock("job"), true);
    await a.unlock("job");
    // Waiting can be abandoned.
    assert.equal(await a.tryLock("job"), true);
    const ac = new AbortController();
    const w = b.lock("job", { signal: ac.signal });
    ac.abort(new Error("give up"));
    await assert.rejects(w, /give up/);
    await a.unlock("job");
  } finally {
    await a.unlock("job");
    await b.unlock("job");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MemoryStorage lock waits for unlock", async () => {
  const s = new MemoryStorage();
  await s.lock("x");
  let got = false;
  const p = s.lock("x").then(() => (got = true));
  // Give the waiter every chance to (wrongly) get the lock: several macrotask turns.
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
  assert.equal(got, false);
  await s.unlock("x");
  await p;
  assert.equal(got, true);
  assert.equal(await s.tryLock("x"), false);
  await s.unlock("x");
});

Deno.test("resolveToken() prefers value, then file, then Key Vault via managed identity", async () => {
  const dir = await Deno.makeTempDir();
  const asked: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    asked.push(`${url.pathname} ${req.headers.get("x-identity-header") ?? "-"}`);
    if (url.pathname === "/msi/token") {
      return Response.json({ access_token: "app-service-token" });
    }
    if (url.pathname === "/secrets/do-auth-token") {
      assert.equal(req.headers.get("authorization"), "Bearer app-service-token");
      return Response.json({ value: "from-vault\n" });
    }
    return new Response(null, { status: 404 });
  });
  try {
    await Deno.writeTextFile(`${dir}/tok`, "from-file\n");
    await Deno.writeTextFile(`${dir}/empty`, "\n");
    assert.equal(await resolveToken({ token: "v", file: `${dir}/tok` }), "v");
    assert.equal(await resolveToken({ file: `${dir}/tok` }), "from-file");
    await assert.rejects(resolveToken({ file: `${dir}/empty` }), /Invalid token found in/);
    assert.equal(await resolveToken({}), undefined);
    const base = `http://127.0.0.1:${server.addr.port}`;
    assert.equal(
      await resolveToken({ vault: base }, {
        identityEndpoint: `${base}/msi/token`,
        identityHeader: "hdr-secret",
      }),
      "from-vault",
    );
    assert.deepEqual(asked, ["/msi/token hdr-secret", "/secrets/do-auth-token -"]);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CloudflareProvider and Route53Provider send the expected requests", async () => {
  const seen: { method: string; path: string; auth: string; body: string }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const body = await req.text();
    seen.push({
      method: req.method,
      path: url.pathname + url.search,
      auth: req.headers.get("authorization") ?? "",
      body,
    });
    if (url.pathname === "/cf/zones") {
      const found = url.searchParams.get("name") === "example.com";
      return Response.json({ success: true, result: found ? [{ id: "zone1" }] : [] });
    }
    if (url.pathname.startsWith("/cf/zones/zone1/dns_records")) {
      return Response.json({ success: true, result: { id: "rec9" } });
    }
    if (url.pathname === "/2013-04-01/hostedzonesbyname") {
      return new Response(
        `<ListHostedZonesByNameResponse><HostedZones><HostedZone><Id>/hostedzone/Z42</Id><Name>example.com.</Name></HostedZone></HostedZones></ListHostedZonesByNameResponse>`,
      );
    }
    if (url.pathname === "/2013-04-01/hostedzone/Z42/rrset") return new Response("<ok/>");
    return new Response("nope", { status: 404 });
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    const cf = new CloudflareProvider({ token: "cf-tok", apiUrl: `${base}/cf` });
    await cf.present("_acme-challenge.www.example.com.", "v1");
    await cf.cleanup("_acme-challenge.www.example.com.", "v1");
    assert.deepEqual(seen.map((s) => `${s.method} ${s.path}`), [
      "GET /cf/zones?name=www.example.com",
      "GET /cf/zones?name=example.com",
      "POST /cf/zones/zone1/dns_records",
      "DELETE /cf/zones/zone1/dns_records/rec9",
    ]);
    assert.ok(seen.every((s) => s.auth === "Bearer cf-tok"));
    assert.deepEqual(JSON.parse(seen[2]!.body), {
      type: "TXT",
      name: "_acme-challenge.www.example.com",
      content: "v1",
      ttl: 120,
    });
    seen.length = 0;

    const r53 = new Route53Provider({
      accessKeyId: "AKID",
      secretAccessKey: "secret",
      endpoint: base,
    });
    await r53.present("_acme-challenge.example.com.", "v1");
    await r53.present("_acme-challenge.example.com.", "v2");
    await r53.cleanup("_acme-challenge.example.com.", "v1");
    await r53.cleanup("_acme-challenge.example.com.", "v2");
    const changes = seen.filter((s) => s.method === "POST");
    assert.equal(changes.length, 4);
    assert.match(changes[1]!.body, /<Action>UPSERT<\/Action>.*"v1".*"v2"/);
    assert.match(changes[2]!.body, /<Action>UPSERT<\/Action>(?!.*"v1").*"v2"/);
    assert.match(changes[3]!.body, /<Action>DELETE<\/Action>.*"v2"/);
    assert.ok(seen.every((s) => s.auth.startsWith("AWS4-HMAC-SHA256 Credential=AKID/")));
    assert.ok(seen.every((s) => s.auth.includes("/us-east-1/route53/aws4_request")));
  } finally {
    await server.shutdown();
  }
});

Deno.test("matchZone() picks the longest zone and the relative name", () => {
  assert.deepEqual(
    matchZone("_acme-challenge.a.b.example.com.", ["example.com", "b.example.com"]),
    {
      zone: "b.example.com",
      relative: "_acme-challenge.a",
    },
  );
  assert.equal(matchZone("_acme-challenge.x.org.", ["example.com"]), undefined);
});

Deno.test("Dns01Solver.wait() gives up after the propagation timeout", async () => {
  // A port with no DNS server: every query fails (refused or timed out).
  const port = freePort();
  const solver = new Dns01Solver({
    name: "none",
    present: () => Promise.resolve(),
    cleanup: () => Promise.resolve(),
  }, {
    resolvers: [`127.0.0.1:${port}`],
    propagationTimeoutMs: 600,
    queryTimeoutMs: 150,
    log: new RecordingLogger(),
  });
  const started = Date.now();
  await assert.rejects(
    solver.wait({ domain: "a.example.com", token: "t", keyAuthorization: "t.x", dnsValue: "v" }),
    /TXT _acme-challenge\.a\.example\.com\. not visible on 127\.0\.0\.1:\d+ within 1s/,
  );
  assert.ok(Date.now() - started < 5000);
});

Deno.test("buildCsr() produces a CSR openssl accepts, with every name in the SAN", async (t) => {
  for (const type of ["EC256", "EC384", "RSA2048"] as const) {
    await t.step(type, async (t) => {
      const kp = await generateKeyPair(type);
      const der = await buildCsr(kp, ["a.example.com", "*.a.example.com"]);
      assert.equal(der[0], 0x30);
      // Round-trip the key through PEM (the format written to disk).
      const again = await importPrivateKeyPem(await privateKeyToPem(kp));
      assert.equal(again.alg, kp.alg);
      await t.step({
        name: "openssl accepts it",
        ignore: missing("openssl"),
        fn: () => openssl(der),
      });
    });
  }
});

/** `openssl req` verifies the CSR's self-signature and shows both names. */
async function openssl(der: Uint8Array): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args: ["req", "-inform", "DER", "-verify", "-noout", "-text"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = out.stdin.getWriter();
  await w.write(der);
  await w.close();
  const res = await out.output();
  const text = new TextDecoder().decode(res.stdout) + new TextDecoder().decode(res.stderr);
  assert.ok(res.success, text);
  assert.match(text, /verify OK|Certificate request self-signature verify OK/);
  assert.match(text, /DNS:a\.example\.com, DNS:\*\.a\.example\.com/);
  assert.match(text, /CN\s*=\s*a\.example\.com/);
}

Deno.test("AcmeClient.renewalInfo() reads the window and Retry-After", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    const base = `http://127.0.0.1:${url.port}`;
    if (url.pathname === "/dir") {
      return Response.json({
        newNonce: `${base}/nonce`,
        newAccount: `${base}/acct`,
        newOrder: `${base}/order`,
        renewalInfo: `${base}/ari`,
      });
    }
    if (url.pathname === "/ari/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE") {
      return Response.json(
        { suggestedWindow: { start: "2025-01-02T04:00:00Z", end: "2025-01-03T04:00:00Z" } },
        { headers: { "Retry-After": "21600" } },
      );
    }
    return new Response(null, { status: 404 });
  });
  try {
    const client = new AcmeClient({
      directoryUrl: `http://127.0.0.1:${server.addr.port}/dir`,
      accountKey: await generateKeyPair("EC256"),
    });
    const info = await client.renewalInfo("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
    assert.deepEqual(info?.start, new Date("2025-01-02T04:00:00Z"));
    assert.deepEqual(info?.end, new Date("2025-01-03T04:00:00Z"));
    assert.equal(info?.retryAfterMs, 21_600_000);
    await assert.rejects(client.renewalInfo("unknown.id"), /HTTP 404/);
  } finally {
    await server.shutdown();
  }
});

Deno.test("ACME_STARTUP_TIMEOUT takes seconds or a Go duration and refuses nonsense", () => {
  const base = { DOMAINS: "a.example", ACCOUNT_EMAIL: "o@example", DNS_PROVIDER: "exec" };
  const ms = (v?: string) =>
    acmeOptionsFromEnv(v === undefined ? base : { ...base, ACME_STARTUP_TIMEOUT: v }, "/srv")!
      .options.startupTimeoutMs;
  assert.equal(ms(), undefined);
  assert.equal(ms("90"), 90_000);
  assert.equal(ms("10m"), 600_000);
  assert.equal(ms("0"), undefined);
  assert.throws(() => ms("soon"), /ACME_STARTUP_TIMEOUT: invalid duration soon/);
  assert.throws(() => ms("-5"), /ACME_STARTUP_TIMEOUT: invalid duration/);
});

Deno.test("isPermanentFailure() stops only on what a retry cannot change", () => {
  const problem = (t: string, status = 400) =>
    new AcmeError("x", { type: `urn:ietf:params:acme:error:${t}`, status });
  for (const t of ["rejectedIdentifier", "malformed", "externalAccountRequired", "badCSR"]) {
    assert.equal(isPermanentFailure(problem(t)), true, t);
  }
  for (const t of ["badNonce", "rateLimited", "serverInternal", "connection", "dns", "caa"]) {
    assert.equal(isPermanentFailure(problem(t, 429)), false, t);
  }
  assert.equal(
    isPermanentFailure(new AcmeError("no dns-01", { type: NO_SUITABLE_CHALLENGE })),
    true,
  );
  assert.equal(isPermanentFailure(new AcmeSettingsError("no token")), true);
  // A CA that does not answer is a TypeError from fetch: transient.
  assert.equal(isPermanentFailure(new TypeError("error sending request")), false);
  assert.equal(isPermanentFailure(new Error("Timed out waiting for order")), false);
});

Deno.test("AcmeManager.start() gives up at once when the DNS provider has no credentials", async () => {
  const log = new RecordingLogger();
  const m = new AcmeManager({
    domains: ["a.example"],
    // No CA listens here: the settings error must come before any CA request.
    caDirectory: `https://127.0.0.1:${freePort()}/dir`,
    agreeTos: true,
    keyType: "EC256",
    storageDir: "/nonexistent",
    challenge: "dns-01",
    dnsProvider: "digitalocean",
    extra: {},
  }, { log, env: {}, onCertificate() {}, storage: new MemoryStorage() });
  try {
    await assert.rejects(
      m.start(),
      /ACME: cannot obtain a certificate for a\.example: DNS provider: Invalid DNS auth token.*a retry cannot fix this/,
    );
    assert.equal(m.status().failures, 1);
    assert.equal(log.lines.filter((l) => /retrying in/.test(l.msg)).length, 0);
  } finally {
    await m.stop();
  }
});
