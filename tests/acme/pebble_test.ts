/**
 * AcmeManager against a real ACME CA: Debian's pebble with
 * pebble-challtestsrv as its DNS. No internet needed; reported as ignored
 * when pebble is not installed.
 */
import assert from "node:assert/strict";
import type { AcmeOptions } from "../../lib/config/options.ts";
import { inspectCertificate, keyMatchesCertificate } from "../../lib/acme/cert_info.ts";
import { type AcmeCertificate, AcmeManager } from "../../lib/acme/manager.ts";
import {
  ChallTestSrv,
  freePort,
  Pebble,
  type PebbleOptions,
  RecordingLogger,
  startDoFixture,
  waitFor,
  writeExecScript,
} from "./_harness.ts";
import { makeCert } from "./_pki.ts";
import { missing } from "../helpers/requires.ts";

const ignore = missing("pebble");

interface Env {
  dir: string;
  chall: ChallTestSrv;
  pebble: Pebble;
}

/** Runs `fn` with a fresh challtestsrv + pebble in a temp directory, always cleaning up. */
async function withPebble(
  opts: Partial<Omit<PebbleOptions, "dnsServer">>,
  fn: (env: Env) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dnatsd-acme-" });
  const chall = new ChallTestSrv();
  await chall.start();
  const pebble = new Pebble(dir, { ...opts, dnsServer: chall.dns });
  try {
    await pebble.start();
    await fn({ dir, chall, pebble });
  } finally {
    await pebble.close();
    await chall.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

function baseOptions(env: Env, over: Partial<AcmeOptions> = {}): AcmeOptions {
  return {
    domains: ["nats-a.example.com"],
    email: "ops@example.com",
    caDirectory: env.pebble.directoryUrl,
    agreeTos: true,
    keyType: "EC256",
    storageDir: `${env.dir}/storage`,
    challenge: "dns-01",
    dnsProvider: "exec",
    dnsResolvers: [env.chall.dns],
    caRoots: [env.pebble.caFile],
    extra: { dns_propagation_timeout: 10, poll_timeout: 30 },
    ...over,
  };
}

function assertUsable(cert: AcmeCertificate, domains: string[]) {
  const info = inspectCertificate(cert.certPem);
  for (const d of domains) assert.ok(info.names.includes(d), `certificate lacks ${d}`);
  assert.ok(keyMatchesCertificate(cert.certPem, cert.keyPem));
  assert.equal(info.serial, cert.serial);
  assert.ok(cert.notAfter > new Date());
  assert.ok(cert.chainPem.includes("BEGIN CERTIFICATE"), "chain is empty");
  assert.ok(!cert.certPem.startsWith(cert.chainPem), "leaf missing from certPem");
}

const opts = { ignore, sanitizeResources: true, sanitizeOps: true };

Deno.test({
  ...opts,
  name: "AcmeManager obtains a certificate via DNS-01 with the exec provider",
  fn: () =>
    withPebble({}, async (env) => {
      const log = new RecordingLogger();
      const execPath = await writeExecScript(env.dir, env.chall);
      const options = baseOptions(env, {
        domains: ["nats-a.example.com", "nats-b.example.com"],
        extra: { ...baseOptions(env).extra, exec_path: execPath },
      });
      const mgr = new AcmeManager(options, { log, onCertificate: () => {}, env: {} });
      try {
        const cert = await mgr.start();
        assertUsable(cert, ["nats-a.example.com", "nats-b.example.com"]);
        const calls = (await Deno.readTextFile(`${env.dir}/exec.log`)).trim().split("\n");
        assert.equal(calls.filter((c) => c.startsWith("present _acme-challenge.")).length, 2);
        assert.equal(calls.filter((c) => c.startsWith("cleanup _acme-challenge.")).length, 2);
        assert.ok(
          calls.every((c) => / _acme-challenge\.nats-[ab]\.example\.com\. \S{43}$/.test(c)),
        );
        const st = mgr.status();
        assert.equal(st.state, "ready");
        assert.equal(st.serial, cert.serial);
        assert.match(st.issuer ?? "", /Pebble/);
        assert.ok(st.nextRenewal && st.nextRenewal < cert.notAfter);
        assert.ok(st.nextCheck);
        assert.equal(st.lastError, undefined);
        const keyMode = (await Deno.stat(
          `${env.dir}/storage/certificates/nats-a.example.com/nats-a.example.com.key`,
        )).mode! & 0o777;
        assert.equal(keyMode, 0o600);
      } finally {
        await mgr.stop();
      }
      // A second manager on the same storage reuses the stored certificate without ordering.
      const log2 = new RecordingLogger();
      const again = new AcmeManager(options, { log: log2, onCertificate: () => {}, env: {} });
      try {
        const cert2 = await again.start();
        assert.equal(cert2.serial, mgr.status().serial);
        assert.equal(log2.find("notice", /obtaining a certificate/).length, 0);
        assert.equal(log2.find("notice", /using stored certificate/).length, 1);
      } finally {
        await again.stop();
      }
    }),
});

Deno.test({
  ...opts,
  name: "AcmeManager obtains via DNS-01 with the DigitalOcean provider (local API fixture)",
  fn: () =>
    withPebble({}, async (env) => {
      const fixture = startDoFixture(env.chall, "do-secret-token", "example.com");
      const log = new RecordingLogger();
      const options = baseOptions(env, {
        domains: ["www.nats.example.com"],
        dnsProvider: "digitalocean",
        extra: { ...baseOptions(env).extra, do_api_url: fixture.url, dns_token: "do-secret-token" },
      });
      const mgr = new AcmeManager(options, { log, onCertificate: () => {}, env: {} });
      try {
        const cert = await mgr.start();
        assertUsable(cert, ["www.nats.example.com"]);
        assert.ok(fixture.calls.includes("POST /v2/domains/example.com/records"));
        assert.ok(
          fixture.calls.some((c) => c.startsWith("DELETE /v2/domains/example.com/records/")),
        );
        assert.equal(fixture.records.size, 0, "TXT record left behind");
        assert.ok(!log.lines.some((l) => l.msg.includes("do-secret-token")), "token was logged");
      } finally {
        await mgr.stop();
        await fixture.close();
      }
    }),
});

Deno.test({
  ...opts,
  name: "AcmeManager obtains via HTTP-01 on its own listener",
  fn: async () => {
    const httpPort = freePort();
    await withPebble({ httpPort }, async (env) => {
      const log = new RecordingLogger();
      const options = baseOptions(env, {
        domains: ["web.example.com"],
        challenge: "http-01",
        httpListen: `127.0.0.1:${httpPort}`,
      });
      delete options.dnsProvider;
      const mgr = new AcmeManager(options, { log, onCertificate: () => {}, env: {} });
      try {
        const cert = await mgr.start();
        assertUsable(cert, ["web.example.com"]);
        assert.ok(log.find("debug", /answered http-01/).length >= 1);
        // The challenge listener is closed once the order is done.
        const l = Deno.listen({ hostname: "127.0.0.1", port: httpPort });
        l.close();
      } finally {
        await mgr.stop();
      }
    });
  },
});

Deno.test({
  ...opts,
  name: "AcmeManager renews a short-lived certificate and hands it over with a new serial",
  fn: () =>
    withPebble({ validitySeconds: 30 }, async (env) => {
      const log = new RecordingLogger();
      const execPath = await writeExecScript(env.dir, env.chall);
      const got: AcmeCertificate[] = [];
      // 30 s lifetime, renew with 90 % left: due 3 s after issuance.
      const options = baseOptions(env, {
        renewFraction: 0.9,
        extra: { ...baseOptions(env).extra, exec_path: execPath },
      });
      const mgr = new AcmeManager(options, { log, onCertificate: (c) => got.push(c), env: {} });
      try {
        const first = await mgr.start();
        assert.equal(got.length, 0, "onCertificate must not repeat the start() certificate");
        const renewed = await waitFor(() => got[0], "a renewed certificate", 30_000);
        assert.notEqual(renewed.serial, first.serial);
        assertUsable(renewed, ["nats-a.example.com"]);
        assert.equal(mgr.status().serial, renewed.serial);
        const stored = await Deno.readTextFile(
          `${env.dir}/storage/certificates/nats-a.example.com/nats-a.example.com.crt`,
        );
        assert.equal(stored, renewed.certPem);
      } finally {
        await mgr.stop();
      }
    }),
});

Deno.test({
  ...opts,
  name: "AcmeManager succeeds while pebble rejects half of all nonces",
  fn: () =>
    withPebble({ nonceReject: 50 }, async (env) => {
      const log = new RecordingLogger();
      const execPath = await writeExecScript(env.dir, env.chall);
      const options = baseOptions(env, {
        domains: ["n1.example.com", "n2.example.com", "n3.example.com"],
        extra: { ...baseOptions(env).extra, exec_path: execPath },
      });
      const mgr = new AcmeManager(options, {
        log,
        onCertificate: () => {},
        env: {},
        retryDelaysMs: [60_000],
      });
      try {
        const cert = await mgr.start();
        assertUsable(cert, ["n1.example.com", "n2.example.com", "n3.example.com"]);
        // badNonce is retried inside the client, not by failing the whole attempt.
        assert.equal(log.find("error", /failed/).length, 0);
        assert.ok(log.find("debug", /badNonce/).length > 0, "pebble rejected no nonce?");
      } finally {
        await mgr.stop();
      }
    }),
});

Deno.test({
  ...opts,
  name: "AcmeManager retries with back-off while the CA is down, then succeeds",
  fn: () =>
    withPebble({}, async (env) => {
      const log = new RecordingLogger();
      const execPath = await writeExecScript(env.dir, env.chall);
      await env.pebble.stop();
      const options = baseOptions(env, {
        extra: { ...baseOptions(env).extra, exec_path: execPath },
      });
      const mgr = new AcmeManager(options, {
        log,
        onCertificate: () => {},
        env: {},
        retryDelaysMs: [200, 400, 800, 1600],
      });
      try {
        const started = mgr.start();
        await waitFor(() => log.find("error", /failed \(attempt 2\)/).length > 0, "2 failures");
        const st = mgr.status();
        assert.equal(st.state, "failing");
        assert.ok(st.lastError);
        assert.ok(st.failures >= 2);
        const delays = log.find("error", /retrying in/).map((m) => /retrying in (\S+)/.exec(m)![1]);
        assert.ok(delays.length >= 2);
        // 200 ms and 400 ms ±20 % jitter: the second wait is longer than the first.
        const ms = delays.map((d) => Number(/^(\d+)ms$/.exec(d!)?.[1]));
        assert.ok(ms[0]! >= 160 && ms[0]! <= 240, `first delay ${delays[0]}`);
        assert.ok(ms[1]! > ms[0]!, `delays ${delays.join(",")}`);
        await env.pebble.start();
        const cert = await started;
        assertUsable(cert, ["nats-a.example.com"]);
        assert.equal(mgr.status().failures, 0);
        assert.equal(mgr.status().lastError, undefined);
      } finally {
        await mgr.stop();
      }
    }),
});

Deno.test({
  ...opts,
  name: "AcmeManager replaces a stored certificate from another CA with a warning",
  fn: () =>
    withPebble({}, async (env) => {
      const log = new RecordingLogger();
      const execPath = await writeExecScript(env.dir, env.chall);
      const options = baseOptions(env, {
        extra: { ...baseOptions(env).extra, exec_path: execPath },
      });
      const other = await makeCert({ cn: "Some Other CA", ca: true });
      const old = await makeCert({
        cn: "nats-a.example.com",
        names: ["nats-a.example.com"],
        issuer: other,
      });
      const base = `${env.dir}/storage/certificates/nats-a.example.com/nats-a.example.com`;
      await Deno.mkdir(`${env.dir}/storage/certificates/nats-a.example.com`, { recursive: true });
      await Deno.writeTextFile(`${base}.crt`, old.certPem + other.certPem);
      await Deno.writeTextFile(`${base}.key`, old.keyPem);
      const mgr = new AcmeManager(options, { log, onCertificate: () => {}, env: {} });
      try {
        const cert = await mgr.start();
        assert.notEqual(cert.serial, inspectCertificate(old.certPem).serial);
        assert.match(inspectCertificate(cert.certPem).issuer, /Pebble/);
        const warnings = log.find("warn", /Some Other CA.*replacing it/);
        assert.equal(warnings.length, 1, JSON.stringify(log.lines));
        assert.equal(await Deno.readTextFile(`${base}.crt`), cert.certPem);
      } finally {
        await mgr.stop();
      }
    }),
});

Deno.test({
  ...opts,
  name: "Two AcmeManagers sharing a storage directory order only once",
  fn: () =>
    withPebble({}, async (env) => {
      const execPath = await writeExecScript(env.dir, env.chall);
      const options = baseOptions(env, {
        extra: { ...baseOptions(env).extra, exec_path: execPath },
      });
      const logs = [new RecordingLogger(), new RecordingLogger()];
      const mgrs = logs.map((log) =>
        new AcmeManager(options, { log, onCertificate: () => {}, env: {}, lockRefreshMs: 500 })
      );
      try {
        const [a, b] = await Promise.all(mgrs.map((m) => m.start()));
        assert.equal(a!.serial, b!.serial);
        const orders = logs.flatMap((l) => l.find("notice", /obtaining a certificate/));
        assert.equal(orders.length, 1, "both managers ordered");
        const presents = (await Deno.readTextFile(`${env.dir}/exec.log`)).split("\n")
          .filter((l) => l.startsWith("present"));
        assert.equal(presents.length, 1);
        assert.equal(
          logs.flatMap((l) => l.find("notice", /storage already holds a fresh certificate/)).length,
          1,
        );
        const locks = [...Deno.readDirSync(`${env.dir}/storage/locks`)];
        assert.equal(locks.length, 0, "lock file left behind");
      } finally {
        await Promise.all(mgrs.map((m) => m.stop()));
      }
    }),
});
