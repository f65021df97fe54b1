/**
 * Every key of an `acme` block: README.md documents it (the table in
 * "Certificates from ACME"), the parser accepts it (and nothing else), and a
 * test shows it has an effect. The timing knobs are checked on the renewal
 * decision with a fixed clock; provider settings on the requests a provider
 * really sends to a local stand-in; the rest on the manager against a local
 * fake CA. A few effects need a real CA and are shown by the pebble tests
 * named in {@linkcode EFFECTS}; this file checks that those tests exist.
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { join } from "node:path";
import { parseConf } from "../../lib/config/conf_parser.ts";
import { ACME_CONFIG_KEYS } from "../../lib/config/from_config_tls.ts";
import { optionsFromConfig } from "../../lib/config/from_config.ts";
import { type AcmeOptions, defaultOptions } from "../../lib/config/options.ts";
import { AcmeManager, dns01SolverOptions } from "../../lib/acme/manager.ts";
import { nextCheckDelay, renewalTime } from "../../lib/acme/renewal.ts";
import { CA_DIRECTORIES, resolveSettings } from "../../lib/acme/settings.ts";
import { createDnsProvider } from "../../lib/acme/dns/factory.ts";
import { Dns01Solver } from "../../lib/acme/challenges.ts";
import { MemoryStorage } from "../../lib/acme/storage.ts";
import { FileStorage } from "../../lib/acme/file_storage.ts";
import { checkTlsBlock } from "../../lib/tls/context.ts";
import { freePort, RecordingLogger, waitFor } from "./_harness.ts";
import { makeCert } from "./_pki.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const DAY = 86_400_000;

// ------------------------------------------------------------------ helpers

/** Parses `tls { acme { domains: [a.example.com], agree_tos: true, <body> } }`. */
function parseAcme(body: string): { acme: AcmeOptions | undefined; errors: string[] } {
  const text = `tls { acme { domains: [a.example.com], agree_tos: true, ${body} } }`;
  const r = optionsFromConfig(parseConf(text, { file: "k.conf" }), defaultOptions(), {
    checkFiles: false,
  });
  return { acme: r.options.tls?.acme, errors: r.errors.map((e) => e.reason) };
}

function acmeOf(body: string): AcmeOptions {
  const { acme, errors } = parseAcme(body);
  assert.deepEqual(errors, [], body);
  return acme!;
}

/** The keys of README.md's ACME table, with the meaning and default cells. */
function readmeTable(): Array<{ keys: string[]; meaning: string; dflt: string }> {
  const text = Deno.readTextFileSync(join(ROOT, "README.md"));
  const start = text.indexOf("### Certificates from ACME");
  assert.ok(start >= 0, "README has no ACME section");
  const end = text.indexOf("\n## ", start);
  const rows = text.slice(start, end).split("\n").filter((l) => /^\| `/.test(l));
  return rows.map((row) => {
    const cells = row.split("|").slice(1, -1).map((c) => c.trim());
    return {
      keys: [...cells[0]!.matchAll(/`([a-z0-9_]+)`/g)].map((m) => m[1]!),
      meaning: cells[1] ?? "",
      dflt: cells[2] ?? "",
    };
  });
}

interface Request {
  method: string;
  path: string;
  search: URLSearchParams;
  headers: Headers;
  body: string;
}

/** A local HTTP stand-in that records requests and answers each with `answer` (default 500). */
function recorder(answer?: (r: Request) => Response | undefined) {
  const seen: Request[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const r = {
      method: req.method,
      path: url.pathname,
      search: url.searchParams,
      headers: req.headers,
      body: await req.text(),
    };
    seen.push(r);
    return answer?.(r) ?? new Response("no", { status: 500 });
  });
  return { seen, url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

/** The first request a provider sends for a TXT record (the stand-in refuses it). */
async function firstProviderRequest(
  body: string,
  fixture: ReturnType<typeof recorder>,
): Promise<Request> {
  const provider = await createDnsProvider(acmeOf(body), {});
  await provider.present("_acme-challenge.a.example.com.", "txt-value").catch(() => {});
  assert.ok(fixture.seen.length > 0, `${body}: no request reached the stand-in`);
  return fixture.seen[fixture.seen.length - 1]!;
}

async function withFixture(fn: (f: ReturnType<typeof recorder>) => Promise<void>) {
  const f = recorder();
  try {
    await fn(f);
  } finally {
    await f.close();
  }
}

/**
 * Starts a manager whose storage holds a certificate valid from 50 days ago
 * for 90 days (so 40 days are left), with the clock fixed at `now`.
 * @returns whether it tried to renew (an account request reached the fake CA) and its status
 */
async function managerWithStoredCert(
  body: string,
  opts: { ari?: { start: Date; end: Date }; name?: string; layout?: "flat" } = {},
) {
  const now = new Date();
  const ca = await makeCert({ cn: "Knob Test CA", ca: true });
  const leaf = await makeCert({
    cn: "a.example.com",
    names: ["a.example.com"],
    issuer: ca,
    notBefore: new Date(now.getTime() - 50 * DAY),
    notAfter: new Date(now.getTime() + 40 * DAY),
  });
  const f = fakeCaFixed(opts.ari);
  const name = opts.name ?? "a.example.com";
  const prefix = opts.layout === "flat" ? name : `certificates/${name}/${name}`;
  const storage = new MemoryStorage();
  await storage.store(`${prefix}.crt`, leaf.certPem + ca.certPem);
  await storage.store(`${prefix}.key`, leaf.keyPem);
  await storage.store(`${prefix}.acme.json`, JSON.stringify({ ca: `${f.url}/dir` }));
  const options = acmeOf(`ca: "${f.url}/dir", ${body}`);
  const mgr = new AcmeManager(options, {
    log: new RecordingLogger(),
    onCertificate: () => {},
    storage,
    env: {},
    now: () => now,
    retryDelaysMs: [3_600_000],
  });
  try {
    const cert = await mgr.start();
    return {
      now,
      storedServed: cert.certPem.startsWith(leaf.certPem.trim()),
      renewed: f.seen.some((r) => r.path === "/acct"),
      status: mgr.status(),
    };
  } finally {
    await mgr.stop();
    await f.close();
  }
}

/** {@linkcode fakeCa} with its own URL known to the handler. */
function fakeCaFixed(ari?: { start: Date; end: Date }) {
  let base = "";
  const f = recorder((r) => {
    if (r.path === "/dir") {
      return Response.json({
        newNonce: `${base}/nonce`,
        newAccount: `${base}/acct`,
        newOrder: `${base}/order`,
        ...(ari ? { renewalInfo: `${base}/ari/` } : {}),
      });
    }
    if (r.path.startsWith("/ari/") && ari) {
      return Response.json({
        suggestedWindow: { start: ari.start.toISOString(), end: ari.end.toISOString() },
      }, { headers: { "Retry-After": "3600" } });
    }
    if (r.path === "/nonce") return new Response(null, { headers: { "Replay-Nonce": "n1" } });
    return Response.json({
      type: "urn:ietf:params:acme:error:serverInternal",
      detail: "this fake CA does not issue",
    }, { status: 500, headers: { "Replay-Nonce": "n2" } });
  });
  base = f.url;
  return f;
}

/** The newAccount payload a manager with no stored certificate sends to a fake CA. */
async function accountPayload(body: string): Promise<Record<string, unknown>> {
  const f = fakeCaFixed();
  const dir = await Deno.makeTempDir();
  const mgr = new AcmeManager(acmeOf(`ca: "${f.url}/dir", storage: "${dir}", ${body}`), {
    log: new RecordingLogger(),
    onCertificate: () => {},
    env: {},
    retryDelaysMs: [3_600_000],
  });
  const started = mgr.start().catch(() => {});
  try {
    await waitFor(() => f.seen.find((r) => r.path === "/acct"), "a newAccount request");
    const jws = JSON.parse(f.seen.find((r) => r.path === "/acct")!.body);
    return JSON.parse(new TextDecoder().decode(b64urlDecode(jws.payload)));
  } finally {
    await mgr.stop();
    await started;
    await f.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function b64urlDecode(s: string): Uint8Array {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "=".repeat((4 - b64.length % 4) % 4)), (c) => c.charCodeAt(0));
}

/** How long Dns01Solver.wait() takes to give up with the solver options of `body`. */
async function dnsWait(body: string): Promise<{ ms: number; error: string }> {
  const solver = new Dns01Solver(
    { name: "none", present: () => Promise.resolve(), cleanup: () => Promise.resolve() },
    dns01SolverOptions(acmeOf(body), new RecordingLogger()),
  );
  const t0 = Date.now();
  const error = await solver.wait({
    domain: "a.example.com",
    token: "t",
    keyAuthorization: "t.x",
    dnsValue: "v",
  }).then(() => "", (e) => (e as Error).message);
  return { ms: Date.now() - t0, error };
}

// ------------------------------------------------------------------ effects

type Effect =
  | { fn: () => Promise<void> | void }
  | { shownBy: { file: string; test: string } };

/** One entry per key of ACME_CONFIG_KEYS: how its effect is shown. */
const EFFECTS: Record<string, Effect> = {
  domains: {
    fn: () => {
      assert.deepEqual(resolveSettings(acmeOf(`domains: [B.example.com, c.example.com]`)).domains, [
        "b.example.com",
        "c.example.com",
      ]);
      // The first name decides where the certificate is stored.
      assert.equal(
        resolveSettings(acmeOf(`domains: [b.example.com]`)).keys.cert,
        "certificates/b.example.com/b.example.com.crt",
      );
      assert.match(parseAcme("domains: []").errors[0]!, /at least one domain/);
    },
  },
  email: {
    fn: async () => {
      assert.deepEqual((await accountPayload(`email: "ops@a.example.com"`)).contact, [
        "mailto:ops@a.example.com",
      ]);
      assert.equal((await accountPayload("")).contact, undefined);
    },
  },
  ca: {
    fn: () => {
      assert.equal(resolveSettings(acmeOf("ca: staging")).directoryUrl, CA_DIRECTORIES.staging);
      assert.equal(resolveSettings(acmeOf("")).directoryUrl, CA_DIRECTORIES.production);
      assert.match(parseAcme("ca: nowhere").errors[0]!, /'ca' must be production, staging/);
    },
  },
  ca_directory: {
    fn: () => {
      assert.equal(
        resolveSettings(acmeOf(`ca_directory: "https://ca.internal/dir"`)).directoryUrl,
        "https://ca.internal/dir",
      );
    },
  },
  agree_tos: {
    fn: async () => {
      assert.equal((await accountPayload("")).termsOfServiceAgreed, true);
      assert.throws(() => resolveSettings(acmeOf("agree_tos: false")), /terms of service/);
    },
  },
  key_type: {
    fn: () => {
      // The key kind decides which TLS 1.2 suites exist: with the RSA suites
      // listed, an RSA key keeps TLS 1.2 and an EC key is left with TLS 1.3.
      const rsaSuites = [
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
      ];
      const policy = (keyType: string) =>
        checkTlsBlock({
          verify: false,
          verifyAndMap: false,
          insecure: false,
          timeout: 2,
          handshakeFirst: false,
          cipherSuites: rsaSuites,
          acme: acmeOf(`key_type: ${keyType}`),
        }, "server").policy.minVersion;
      assert.equal(policy("RSA2048"), "TLSv1.2");
      assert.equal(policy("EC256"), "TLSv1.3");
      assert.match(parseAcme("key_type: DSA").errors[0]!, /unknown key_type/);
    },
  },
  storage: {
    fn: async () => {
      const dir = await Deno.makeTempDir();
      try {
        const o = acmeOf(`storage: "${dir}"`);
        await new FileStorage(o.storageDir).store("probe", "x");
        assert.ok(Deno.statSync(join(dir, "probe")).isFile);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  },
  storage_dir: {
    fn: () => assert.equal(acmeOf(`storage_dir: "/srv/acme"`).storageDir, "/srv/acme"),
  },
  renew_fraction: {
    fn: async () => {
      // 40 of 90 days left: the default 1/3 (30 days) is not due, 1/2 (45 days) is.
      const dflt = await managerWithStoredCert("");
      assert.equal(dflt.renewed, false);
      assert.ok(dflt.storedServed);
      const half = await managerWithStoredCert("renew_fraction: 0.5");
      assert.equal(half.renewed, true, "renew_fraction 0.5 did not renew with 40 of 90 days left");
      assert.equal(half.status.nextRenewal!.getTime(), half.status.notAfter!.getTime() - 45 * DAY);
      assert.match(parseAcme("renew_fraction: 1.5").errors[0]!, /between 0 and 1/);
    },
  },
  renew_before: {
    fn: async () => {
      const ten = await managerWithStoredCert(`renew_before: "240h"`);
      assert.equal(ten.renewed, false);
      assert.equal(ten.status.nextRenewal!.getTime(), ten.status.notAfter!.getTime() - 10 * DAY);
      const fifty = await managerWithStoredCert(`renew_before: "1200h"`);
      assert.equal(fifty.renewed, true, "renew_before 50 days did not renew with 40 days left");
      // Capped at half the lifetime: a fresh certificate is never due at once.
      const cert = { notBefore: new Date(0), notAfter: new Date(90 * DAY) };
      assert.equal(
        renewalTime(cert, { fraction: 1 / 3, beforeMs: 200 * DAY }).getTime(),
        45 * DAY,
      );
      // With ARI: the CA's window (here 20 days from now, before renew_before's 30)...
      const now = Date.now();
      const early = { start: new Date(now + 20 * DAY), end: new Date(now + 21 * DAY) };
      const ari = await managerWithStoredCert(`renew_before: "240h"`, { ari: early });
      const at = ari.status.nextRenewal!;
      assert.ok(at >= early.start && at <= early.end, `ARI window ignored: ${at.toISOString()}`);
      // ...but no later than renew_before (7 days before expiry, before the window's 36).
      const late = { start: new Date(now + 36 * DAY), end: new Date(now + 37 * DAY) };
      const capped = await managerWithStoredCert(`renew_before: "168h"`, { ari: late });
      assert.equal(
        capped.status.nextRenewal!.getTime(),
        capped.status.notAfter!.getTime() - 7 * DAY,
      );
      assert.match(parseAcme(`renew_before: "-1h"`).errors[0]!, /positive/);
      assert.match(parseAcme(`renew_before: "soon"`).errors[0]!, /error parsing renew_before/);
      assert.throws(
        () => resolveSettings(acmeOf(`renew_before: "240h", renew_fraction: 0.5`)),
        /set one/,
      );
    },
  },
  check_interval: {
    fn: async () => {
      const hourly = await managerWithStoredCert(`check_interval: "1h"`);
      assert.equal(hourly.status.nextCheck!.getTime() - hourly.now.getTime(), 3_600_000);
      const dflt = await managerWithStoredCert("");
      assert.equal(dflt.status.nextCheck!.getTime() - dflt.now.getTime(), 12 * 3_600_000);
      // The renewal time comes first when it is sooner; never less than a second.
      const now = new Date(0);
      assert.equal(nextCheckDelay(now, 3_600_000, new Date(60_000)), 60_000);
      assert.equal(nextCheckDelay(now, 3_600_000, new Date(-5)), 1000);
      assert.match(parseAcme(`check_interval: "0s"`).errors[0]!, /positive/);
    },
  },
  startup_timeout: {
    shownBy: {
      file: "tests/acme_lifecycle_test.ts",
      test:
        "ACME start-up: while no certificate can be had, /healthz and /varz say why; startup_timeout then exits 1",
    },
  },
  challenge: {
    fn: () => {
      assert.throws(
        () => resolveSettings(acmeOf(`domains: ["*.a.example.com"]`)),
        /wildcard names need the dns-01/,
      );
      resolveSettings(
        acmeOf(`domains: ["*.a.example.com"], challenge: dns-01, dns_provider: exec`),
      );
      assert.match(parseAcme("challenge: tls-alpn-01").errors[0]!, /unknown challenge/);
    },
  },
  http_listen: {
    shownBy: {
      file: "tests/acme_server_test.ts",
      test:
        "ACME config mode: the server obtains a certificate (http-01) and serves it to NATS clients",
    },
  },
  dns_provider: {
    fn: async () => {
      assert.equal(
        (await createDnsProvider(acmeOf("dns_provider: exec, exec_path: /bin/true"), {})).name,
        "exec",
      );
      assert.throws(
        () => resolveSettings(acmeOf("challenge: dns-01, dns_provider: rfc2136")),
        /Unknown DNS provider "rfc2136"/,
      );
    },
  },
  dns_resolvers: {
    fn: async () => {
      const port = freePort();
      const r = await dnsWait(
        `dns_resolvers: ["127.0.0.1:${port}"], dns_timeout: 0.2, dns_propagation_timeout: 0.5`,
      );
      assert.match(r.error, new RegExp(`not visible on 127\\.0\\.0\\.1:${port} within`));
    },
  },
  // pebble's directory is HTTPS with its own root: every pebble server test trusts it
  // through ca_roots (tests/acme/_server_helpers.ts acmeBlock).
  ca_roots: {
    shownBy: {
      file: "tests/acme_server_test.ts",
      test:
        "ACME config mode: the server obtains a certificate (http-01) and serves it to NATS clients",
    },
  },
  eab: {
    fn: async () => {
      const p = await accountPayload(`eab { kid: kid-1, hmac_key: "c2VjcmV0LWtleS1mb3ItdGVzdA" }`);
      const binding = p.externalAccountBinding as { protected: string } | undefined;
      assert.ok(binding, "no externalAccountBinding in newAccount");
      const header = JSON.parse(new TextDecoder().decode(b64urlDecode(binding.protected)));
      assert.equal(header.kid, "kid-1");
      assert.equal((await accountPayload("")).externalAccountBinding, undefined);
      assert.match(parseAcme("eab { kid: k }").errors[0]!, /needs both 'kid' and 'hmac_key'/);
    },
  },
  account_key_file: {
    fn: async () => {
      const dir = await Deno.makeTempDir();
      try {
        await accountPayload(`account_key_file: "${dir}/account.pem"`);
        assert.match(Deno.readTextFileSync(`${dir}/account.pem`), /PRIVATE KEY/);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  },
  layout: {
    fn: async () => {
      assert.equal(resolveSettings(acmeOf("layout: flat")).keys.cert, "a.example.com.crt");
      const flat = await managerWithStoredCert("layout: flat", { layout: "flat" });
      assert.ok(flat.storedServed && !flat.renewed, "flat layout: stored certificate not used");
    },
  },
  file_name: {
    fn: async () => {
      assert.equal(
        resolveSettings(acmeOf("file_name: nats")).keys.cert,
        "certificates/nats/nats.crt",
      );
      const named = await managerWithStoredCert("file_name: nats", { name: "nats" });
      assert.ok(named.storedServed && !named.renewed, "file_name: stored certificate not used");
      assert.throws(() => resolveSettings(acmeOf(`file_name: "../x"`)), /invalid file name/);
    },
  },
  dns_token: {
    fn: () =>
      withFixture(async (f) => {
        const r = await firstProviderRequest(
          `dns_provider: digitalocean, do_api_url: "${f.url}", do_zone: a.example.com, dns_token: tok-1`,
          f,
        );
        assert.equal(r.headers.get("authorization"), "Bearer tok-1");
      }),
  },
  dns_token_file: {
    fn: () =>
      withFixture(async (f) => {
        const file = await Deno.makeTempFile();
        try {
          await Deno.writeTextFile(file, "tok-from-file\n");
          const r = await firstProviderRequest(
            `dns_provider: digitalocean, do_api_url: "${f.url}", do_zone: a.example.com, dns_token_file: "${file}"`,
            f,
          );
          assert.equal(r.headers.get("authorization"), "Bearer tok-from-file");
        } finally {
          await Deno.remove(file);
        }
      }),
  },
  dns_token_vault: { fn: () => vaultEffect() },
  dns_token_secret: { fn: () => vaultEffect() },
  azure_imds_url: { fn: () => vaultEffect() },
  azure_client_id: { fn: () => vaultEffect() },
  dns_timeout: {
    fn: async () => {
      // A resolver that never answers: each query waits dns_timeout.
      const sock = dgram.createSocket("udp4");
      await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
      const where = `dns_resolvers: ["127.0.0.1:${sock.address().port}"]`;
      try {
        const short = await dnsWait(`${where}, dns_timeout: 0.2, dns_propagation_timeout: 0.1`);
        const long = await dnsWait(`${where}, dns_timeout: 3, dns_propagation_timeout: 0.1`);
        assert.ok(long.ms >= 2500, `dns_timeout 3: gave up after ${long.ms} ms`);
        assert.ok(short.ms < long.ms - 1000, `dns_timeout 0.2: ${short.ms} ms, 3: ${long.ms} ms`);
      } finally {
        sock.close();
      }
      assert.throws(() => resolveSettings(acmeOf("dns_timeout: soon")), /must be a number/);
    },
  },
  dns_propagation_timeout: {
    fn: async () => {
      const port = freePort();
      const r = await dnsWait(
        `dns_resolvers: ["127.0.0.1:${port}"], dns_timeout: 0.1, dns_propagation_timeout: 2`,
      );
      assert.match(r.error, /within 2s/);
      assert.ok(r.ms >= 1000, `gave up after ${r.ms} ms`);
    },
  },
  dns_propagation_all: {
    fn: () => {
      assert.equal(
        dns01SolverOptions(acmeOf("dns_propagation_all: true"), new RecordingLogger()).requireAll,
        true,
      );
      assert.equal(dns01SolverOptions(acmeOf(""), new RecordingLogger()).requireAll, undefined);
      assert.throws(() => resolveSettings(acmeOf("dns_propagation_all: maybe")), /invalid boolean/);
    },
  },
  do_api_url: {
    fn: () =>
      withFixture(async (f) => {
        const r = await firstProviderRequest(
          `dns_provider: digitalocean, dns_token: t, do_api_url: "${f.url}"`,
          f,
        );
        assert.equal(r.path, "/v2/domains", "without do_zone the domains are listed first");
      }),
  },
  do_zone: {
    fn: () =>
      withFixture(async (f) => {
        const r = await firstProviderRequest(
          `dns_provider: digitalocean, dns_token: t, do_api_url: "${f.url}", do_zone: a.example.com`,
          f,
        );
        assert.equal(r.path, "/v2/domains/a.example.com/records");
        assert.equal(JSON.parse(r.body).name, "_acme-challenge");
      }),
  },
  do_ttl: {
    fn: () =>
      withFixture(async (f) => {
        const r = await firstProviderRequest(
          `dns_provider: digitalocean, dns_token: t, do_api_url: "${f.url}", do_zone: a.example.com, do_ttl: 77`,
          f,
        );
        assert.equal(JSON.parse(r.body).ttl, 77);
      }),
  },
  cf_api_url: {
    fn: () =>
      withFixture(async (f) => {
        const r = await firstProviderRequest(
          `dns_provider: cloudflare, dns_token: t, cf_api_url: "${f.url}"`,
          f,
        );
        assert.equal(r.path, "/zones", "without cf_zone_id the zone is looked up");
      }),
  },
  cf_zone_id: {
    fn: () =>
      withFixture(async (f) => {
        const r = await firstProviderRequest(
          `dns_provider: cloudflare, dns_token: t, cf_api_url: "${f.url}", cf_zone_id: z-9`,
          f,
        );
        assert.equal(r.path, "/zones/z-9/dns_records");
      }),
  },
  cf_ttl: {
    fn: () =>
      withFixture(async (f) => {
        const r = await firstProviderRequest(
          `dns_provider: cloudflare, dns_token: t, cf_api_url: "${f.url}", cf_zone_id: z, cf_ttl: 300`,
          f,
        );
        assert.equal(JSON.parse(r.body).ttl, 300);
      }),
  },
  aws_access_key_id: { fn: () => route53Effect() },
  aws_secret_access_key: { fn: () => route53Effect() },
  aws_session_token: { fn: () => route53Effect() },
  route53_hosted_zone_id: { fn: () => route53Effect() },
  route53_endpoint: { fn: () => route53Effect() },
  exec_path: {
    fn: async () => {
      const dir = await Deno.makeTempDir();
      try {
        const script = join(dir, "hook.sh");
        await Deno.writeTextFile(script, `#!/bin/sh\necho "$@" > "${dir}/ran"\n`);
        await Deno.chmod(script, 0o755);
        const p = await createDnsProvider(acmeOf(`dns_provider: exec, exec_path: "${script}"`), {});
        await p.present("_acme-challenge.a.example.com.", "v1");
        assert.equal(
          Deno.readTextFileSync(join(dir, "ran")).trim(),
          "present _acme-challenge.a.example.com. v1",
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  },
  poll_timeout: {
    fn: () => {
      // The issuer's limit for validation and issuance (a CA that takes longer
      // than this fails the attempt); pebble's tests run with 30.
      assert.equal(resolveSettings(acmeOf("poll_timeout: 7")).pollTimeoutMs, 7000);
      assert.equal(resolveSettings(acmeOf("")).pollTimeoutMs, 180_000);
      assert.throws(() => resolveSettings(acmeOf("poll_timeout: never")), /must be a number/);
    },
  },
};

/** dns_token_vault, dns_token_secret, azure_imds_url and azure_client_id, through a stand-in IMDS and vault. */
async function vaultEffect(): Promise<void> {
  const f = recorder((r) => {
    if (r.path === "/imds") return Response.json({ access_token: "imds-token" });
    if (r.path === "/vault/secrets/my-secret") return Response.json({ value: "vault-token\n" });
    return undefined;
  });
  try {
    const r = await firstProviderRequest(
      `dns_provider: digitalocean, do_api_url: "${f.url}", do_zone: a.example.com, ` +
        `dns_token_vault: "${f.url}/vault", dns_token_secret: my-secret, ` +
        `azure_imds_url: "${f.url}/imds", azure_client_id: client-7`,
      f,
    );
    assert.equal(r.headers.get("authorization"), "Bearer vault-token");
    const imds = f.seen.find((x) => x.path === "/imds")!;
    assert.equal(imds.search.get("client_id"), "client-7");
    const vault = f.seen.find((x) => x.path === "/vault/secrets/my-secret")!;
    assert.equal(vault.headers.get("authorization"), "Bearer imds-token");
  } finally {
    await f.close();
  }
}

/** aws_access_key_id, aws_secret_access_key, aws_session_token, route53_hosted_zone_id, route53_endpoint. */
async function route53Effect(): Promise<void> {
  const sign = async (secret: string) => {
    const f = recorder();
    try {
      return await firstProviderRequest(
        `dns_provider: route53, route53_endpoint: "${f.url}", aws_access_key_id: AKIDKNOB, ` +
          `aws_secret_access_key: ${secret}, aws_session_token: sess-1, route53_hosted_zone_id: Z123`,
        f,
      );
    } finally {
      await f.close();
    }
  };
  const a = await sign("secret-a");
  assert.equal(a.path, "/2013-04-01/hostedzone/Z123/rrset");
  assert.match(a.headers.get("authorization") ?? "", /Credential=AKIDKNOB\//);
  assert.equal(a.headers.get("x-amz-security-token"), "sess-1");
  const b = await sign("secret-b");
  const sig = (r: Request) =>
    /Signature=([0-9a-f]+)/.exec(r.headers.get("authorization") ?? "")?.[1];
  assert.notEqual(sig(a), sig(b), "the secret key does not change the signature");
}

// ------------------------------------------------------------------ tests

Deno.test("README's ACME table lists exactly the keys an acme block accepts", () => {
  const table = readmeTable();
  const documented = table.flatMap((r) => r.keys);
  assert.deepEqual([...documented].sort(), [...ACME_CONFIG_KEYS].sort());
  assert.equal(new Set(documented).size, documented.length, "a key is documented twice");
  for (const row of table) {
    assert.ok(row.meaning.length > 0 && row.dflt.length > 0, `${row.keys}: meaning and default`);
  }
  for (const key of ACME_CONFIG_KEYS) {
    const { errors } = parseAcme(`${key}: 1`);
    assert.ok(!errors.some((e) => e.includes("unknown field")), `${key}: ${errors}`);
  }
  assert.deepEqual(parseAcme("not_a_knob: 1").errors, ['unknown field "not_a_knob"']);
});

Deno.test("every ACME key has a test of its effect", () => {
  assert.deepEqual(Object.keys(EFFECTS).sort(), [...ACME_CONFIG_KEYS].sort());
  for (const [key, effect] of Object.entries(EFFECTS)) {
    if (!("shownBy" in effect)) continue;
    const text = Deno.readTextFileSync(join(ROOT, effect.shownBy.file));
    assert.ok(text.includes(effect.shownBy.test), `${key}: no test "${effect.shownBy.test}"`);
  }
});

Deno.test("each ACME key has an effect", async (t) => {
  for (const [key, effect] of Object.entries(EFFECTS)) {
    if (!("fn" in effect)) continue;
    await t.step(key, async () => await effect.fn());
  }
});
