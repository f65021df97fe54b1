// deno-lint-ignore-file no-import-prefix -- tests pin the real NATS client by explicit npm specifier
/**
 * ACME in a running dnatsd, end to end: real dnatsd processes get their
 * certificates from Debian's pebble (with pebble-challtestsrv as DNS), real
 * NATS clients connect over TLS trusting pebble's root, renewals are swapped
 * in without a restart or a signal, letsgo-nats' environment variables work,
 * and two servers sharing a storage directory order once. Reported as
 * ignored when pebble is not installed.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import type { NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { freePort, startDoFixture, waitFor, writeExecScript } from "./acme/_harness.ts";
import {
  acmeBlock,
  loggedSerials,
  monitorPort,
  natsConnect,
  norm,
  peerSerial,
  roundTrip,
  START_MS,
  varz,
  withPebble,
} from "./acme/_server_helpers.ts";
import { missing } from "./helpers/requires.ts";
import { MAIN_TS, ServerProcess } from "./helpers/server.ts";

const ignore = missing("pebble");

/** Child processes, sockets and npm clients outlive single ops; each test cleans up itself. */
const opts = { ignore, sanitizeResources: false, sanitizeOps: false };

const CHROMIUM = "/usr/bin/chromium";

/** The dashboard's certificate card shows the ACME certificate (headless Chromium). */
async function checkDashboardCard(httpPort: number): Promise<void> {
  const { chromium } = await import("npm:playwright-core@1.49.1");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${httpPort}/`);
    // Page code runs in the browser: given as a string (no DOM types in Deno).
    await page.waitForFunction("Number(document.body.dataset.polls || 0) >= 1");
    const sub = (await page.textContent("#cert-sub")) ?? "";
    assert.match(sub, /nats-a\.example\.com/);
    assert.match(sub, /by CN=Pebble Intermediate/);
    assert.match(sub, /ACME · renews \d{4}-\d\d-\d\d \d\d:\d\d/);
    assert.match((await page.textContent("#cert")) ?? "", /\d+ days/);
  } finally {
    await browser.close();
  }
}

Deno.test({
  ...opts,
  name:
    "ACME config mode: the server obtains a certificate (http-01) and serves it to NATS clients",
  fn: async (t) => {
    const httpPort = freePort();
    await withPebble({ httpPort }, async (env) => {
      const domain = "nats-a.example.com";
      const s = await ServerProcess.start({
        config: acmeBlock(
          env,
          `    domains: ["${domain}"]
    storage: "${env.dir}/storage"
    challenge: http-01
    http_listen: "127.0.0.1:${httpPort}"`,
        ),
        args: ["-m", "-1"],
        timeoutMs: START_MS,
      });
      const ncs: NatsConnection[] = [];
      try {
        // Obtained before the listener bound: the order is logged before "Listening".
        const text = s.logs.text;
        assert.ok(
          text.indexOf("ACME: obtained certificate") < text.indexOf("Listening for client"),
        );
        const serial = loggedSerials(s)[0];
        assert.ok(serial, s.logs.text);
        assert.equal(
          await peerSerial(s.port, { ca: env.root, servername: domain, natsInfo: true }),
          serial,
        );
        ncs.push(await natsConnect(s.port, env.root, domain));
        ncs.push(await natsConnect(s.port, env.root, domain));
        await roundTrip(ncs[0]!, ncs[1]!, "acme.hello", "over ACME TLS");

        const v = await varz(s);
        assert.equal(v.tls_required, true);
        const cert = v.tls_cert as Record<string, unknown>;
        assert.ok(cert, "no tls_cert in /varz");
        assert.match(String(cert.subject), /nats-a\.example\.com/);
        assert.match(String(cert.issuer), /Pebble/);
        assert.equal(norm(String(cert.serial)), serial);
        assert.equal(cert.source, "acme");
        assert.equal(cert.acme_state, "ready");
        assert.equal(cert.acme_ca, env.pebble.directoryUrl);
        assert.equal(cert.renewal_failures, 0);
        assert.ok(Date.parse(String(cert.next_renewal)) < Date.parse(String(cert.not_after)));

        const metrics = await (await fetch(`http://127.0.0.1:${monitorPort(s, "http")}/metrics`))
          .text();
        assert.match(metrics, /^dnatsd_tls_certificate_not_after_seconds\{subject=".*nats-a/m);
        assert.match(metrics, /^dnatsd_tls_certificate_next_renewal_seconds\{subject=/m);
        assert.match(metrics, /^dnatsd_tls_certificate_renewal_failures\{subject=.*\} 0$/m);
        await t.step({
          name: "the dashboard's certificate card (headless Chromium)",
          ignore: missing("chromium"),
          fn: () => checkDashboardCard(monitorPort(s, "http")),
        });
      } finally {
        await Promise.all(ncs.map((nc) => nc.close()));
        await s.stop();
      }
      // The challenge listener is gone and storage holds the certificate for the next start.
      const l = Deno.listen({ hostname: "127.0.0.1", port: httpPort });
      l.close();
      const stored = `${env.dir}/storage/certificates/${domain}/${domain}.crt`;
      assert.ok((await Deno.stat(stored)).isFile);
    });
  },
});

Deno.test({
  ...opts,
  name:
    "ACME config mode: a renewal reaches new clients and the HTTPS monitor, old connections keep working",
  fn: () =>
    // 30 s certificates renewed with 90 % of their life left: a renewal every ~3 s.
    withPebble({ validitySeconds: 30 }, async (env) => {
      const domain = "nats-renew.example.com";
      const execPath = await writeExecScript(env.dir, env.chall);
      const s = await ServerProcess.start({
        config: acmeBlock(
          env,
          `    domains: ["${domain}"]
    storage: "${env.dir}/storage"
    challenge: dns-01
    dns_provider: exec
    exec_path: "${execPath}"
    dns_resolvers: ["${env.chall.dns}"]
    renew_fraction: 0.9`,
        ),
        args: ["-ms", "-1"],
        timeoutMs: START_MS,
      });
      const ncs: NatsConnection[] = [];
      try {
        const old = await natsConnect(s.port, env.root, domain);
        ncs.push(old);
        const oldSub = old.subscribe("acme.old");
        await old.flush();
        // What a handshake got at the time the old connection was made.
        const before = await peerSerial(s.port, {
          ca: env.root,
          servername: domain,
          natsInfo: true,
        });
        const seenBefore = loggedSerials(s).length;
        await waitFor(
          () => loggedSerials(s).length > seenBefore,
          "a renewal swapped in",
          30_000,
        );
        assert.match(
          s.logs.text,
          /ACME: renewed certificate .* now used by client TLS and HTTPS monitor/,
        );
        const renewed = new Set(loggedSerials(s).slice(seenBefore));
        const after = await peerSerial(s.port, {
          ca: env.root,
          servername: domain,
          natsInfo: true,
        });
        assert.notEqual(after, before, "a new handshake still gets the old certificate");
        assert.ok(
          renewed.has(after) || loggedSerials(s).includes(after),
          `served ${after}, logged ${[...renewed]}`,
        );
        const https = await peerSerial(monitorPort(s, "https"), {
          ca: env.root,
          servername: domain,
          natsInfo: false,
        });
        assert.notEqual(https, before, "the HTTPS monitor still serves the old certificate");

        // The connection made before the renewal still delivers, both ways.
        const fresh = await natsConnect(s.port, env.root, domain);
        ncs.push(fresh);
        fresh.publish("acme.old", "to the old connection");
        await fresh.flush();
        const timer = setTimeout(() => oldSub.unsubscribe(), 5000);
        let got: string | undefined;
        for await (const m of oldSub) {
          got = m.string();
          break;
        }
        clearTimeout(timer);
        assert.equal(got, "to the old connection");
        await roundTrip(fresh, old, "acme.from.old", "from the old connection");
        // No reload was involved: the swap is the ACME link's, not SIGHUP's.
        assert.doesNotMatch(s.logs.text, /Reloaded/);
      } finally {
        await Promise.all(ncs.map((nc) => nc.close()));
        await s.stop();
      }
    }),
});

Deno.test({
  ...opts,
  name:
    "ACME env mode: letsgo-nats variables write the files and the tls block serves them, renewed live",
  fn: () =>
    // 30 s certificates: the default renewal (a third of the life left) comes ~20 s in.
    withPebble({ validitySeconds: 30 }, async (env) => {
      const token = "do-token-5f1c9e0b7a";
      const fixture = startDoFixture(env.chall, token, "example.com");
      const out = `${env.dir}/certs`;
      const crt = `${out}/nats-env.crt`;
      const key = `${out}/nats-env.key`;
      const s = await ServerProcess.start({
        config: `tls {
  cert_file: "${crt}"
  key_file: "${key}"
}
`,
        args: ["-m", "-1"],
        env: {
          DOMAINS: "env.nats.example.com",
          ACCOUNT_EMAIL: "ops@example.com",
          ACCOUNT_KEY_FILE: `${env.dir}/account.key`,
          OUTPUT_DIRECTORY: out,
          FILENAME: "nats-env",
          CA_DIR: env.pebble.directoryUrl,
          ACME_CA_ROOTS: env.pebble.caFile,
          DNS_PROVIDER: "digitalocean",
          DNS_AUTH_TOKEN: token,
          DO_API_URL: fixture.url,
          DNS_RESOLVERS: env.chall.dns,
        },
        timeoutMs: START_MS,
      });
      const ncs: NatsConnection[] = [];
      try {
        for (const f of [crt, key, `${out}/nats-env.issuer.crt`, `${env.dir}/account.key`]) {
          assert.equal((await Deno.stat(f)).mode! & 0o777, 0o600, f);
        }
        const fileSerial = norm(
          new X509Certificate(
            await Deno.readTextFile(crt),
          ).serialNumber,
        );
        const name = "env.nats.example.com";
        assert.equal(
          await peerSerial(s.port, { ca: env.root, servername: name, natsInfo: true }),
          fileSerial,
        );
        assert.match(s.logs.text, /ACME: serving certificate .* renewals are swapped in live/);
        const old = await natsConnect(s.port, env.root, name);
        ncs.push(old);
        const v = await varz(s);
        const cert = v.tls_cert as Record<string, unknown>;
        assert.equal(cert.source, "acme-env");
        assert.equal(cert.file, crt);
        assert.equal(norm(String(cert.serial)), fileSerial);
        assert.ok(fixture.calls.includes("POST /v2/domains/example.com/records"));

        // Renewal: new files, served to new handshakes, no signal, old connection alive.
        await waitFor(
          async () => {
            const now = await peerSerial(s.port, {
              ca: env.root,
              servername: name,
              natsInfo: true,
            });
            return now !== fileSerial;
          },
          "the renewed certificate on a new handshake",
          40_000,
        );
        const renewedFile = norm(
          new X509Certificate(
            await Deno.readTextFile(crt),
          ).serialNumber,
        );
        assert.notEqual(renewedFile, fileSerial);
        const fresh = await natsConnect(s.port, env.root, name);
        ncs.push(fresh);
        await roundTrip(old, fresh, "acme.env", "after renewal");

        // The DNS token shows nowhere.
        assert.ok(!s.logs.text.includes(token), "token in the log");
        assert.ok(!JSON.stringify(await varz(s)).includes(token), "token in /varz");
      } finally {
        await Promise.all(ncs.map((nc) => nc.close()));
        await s.stop();
        await fixture.close();
      }
      assert.ok(!s.logs.text.includes(token), "token in the log");
    }),
});

Deno.test({
  ...opts,
  name: "ACME: two servers sharing one storage directory order once and serve the same certificate",
  fn: () =>
    withPebble({}, async (env) => {
      const domain = "nats-shared.example.com";
      const execPath = await writeExecScript(env.dir, env.chall);
      const config = acmeBlock(
        env,
        `    domains: ["${domain}"]
    storage: "${env.dir}/shared"
    challenge: dns-01
    dns_provider: exec
    exec_path: "${execPath}"
    dns_resolvers: ["${env.chall.dns}"]`,
      );
      const servers = await Promise.all([
        ServerProcess.start({ config, timeoutMs: START_MS }),
        ServerProcess.start({ config, timeoutMs: START_MS }),
      ]);
      try {
        const orders = servers.flatMap((s) => [
          ...s.logs.text.matchAll(/ACME: obtaining a certificate/g),
        ]);
        assert.equal(orders.length, 1, servers.map((s) => s.logs.text).join("\n----\n"));
        const presents = (await Deno.readTextFile(`${env.dir}/exec.log`)).split("\n")
          .filter((l) => l.startsWith("present"));
        assert.equal(presents.length, 1);
        const serials = await Promise.all(
          servers.map((s) =>
            peerSerial(s.port, { ca: env.root, servername: domain, natsInfo: true })
          ),
        );
        assert.equal(serials[0], serials[1]);
      } finally {
        await Promise.all(servers.map((s) => s.stop()));
      }
    }),
});

Deno.test({
  name: "ACME env mode stays out of the way of --help and -v",
  fn: async () => {
    for (const [flag, want] of [["--help", /Usage:/], ["-v", /dnatsd: v/]] as const) {
      // DOMAINS without ACCOUNT_EMAIL would be an error, but only when the server runs.
      const res = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-check", MAIN_TS, flag],
        env: { DOMAINS: "x.example.com" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(res.code, 0);
      assert.match(new TextDecoder().decode(res.stdout), want);
    }
    const res = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", MAIN_TS, "-a", "127.0.0.1", "-p", "-1"],
      env: { DOMAINS: "x.example.com" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(res.code, 1);
    assert.match(new TextDecoder().decode(res.stderr), /ACCOUNT_EMAIL/);
  },
});
