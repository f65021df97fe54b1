// deno-lint-ignore-file no-import-prefix -- tests pin the real NATS client by explicit npm specifier
/**
 * ACME beyond the client listener, end to end with real dnatsd processes:
 * route TLS certificates from pebble (a full TLS route between two nodes, and
 * a renewal reaching new route handshakes while the route stays up), what a
 * server does while its first certificate cannot be had (monitoring says why,
 * `startup_timeout` ends it, a name the CA refuses ends it at once), and
 * config reloads that turn ACME on, change it and turn it off.
 *
 * The pebble tests are reported as ignored when pebble is missing; the
 * start-up timeout test needs no CA at all (it points at a closed port).
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { connect, type NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { freePort, waitFor, writeExecScript } from "./acme/_harness.ts";
import {
  acmeBlock,
  type Env,
  loggedSerials,
  monitorPort,
  natsConnect,
  norm,
  peerSerial,
  START_MS,
  varz,
  withPebble,
} from "./acme/_server_helpers.ts";
import { reload } from "./helpers/reload.ts";
import { missing } from "./helpers/requires.ts";
import { REPO_ROOT, ServerProcess } from "./helpers/server.ts";
import { spawnDnatsd, waitForLog } from "./ops_helpers.ts";

const noPebble = missing("pebble");
/** A reload that obtains a certificate (or waits out a startup_timeout) takes seconds. */
const ACME_RELOAD_MS = 60_000;
/** Child processes, sockets and npm clients outlive single ops; each test cleans up itself. */
const opts = { sanitizeResources: false, sanitizeOps: false };

/** The acme block's fields for a dns-01 order through the exec provider into challtestsrv. */
async function dnsFields(
  env: Env,
  storage: string,
  domains: string[],
  extra = "",
): Promise<string> {
  const execPath = await writeExecScript(env.dir, env.chall);
  return `    domains: ${JSON.stringify(domains)}
    storage: "${env.dir}/${storage}"
    challenge: dns-01
    dns_provider: exec
    exec_path: "${execPath}"
    dns_resolvers: ["${env.chall.dns}"]
${extra}`;
}

/** `acmeBlock` for the cluster: the same acme block, with the route CA and a roomy timeout. */
function clusterTls(env: Env, rootFile: string, fields: string): string {
  const block = acmeBlock(env, fields).replace(
    /^tls \{/,
    `tls {\n  ca_file: "${rootFile}"\n  timeout: 5`,
  );
  return block.replace(/^/gm, "  ");
}

async function routez(s: ServerProcess): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${monitorPort(s, "http")}/routez`);
  return await res.json() as Record<string, unknown>;
}

/** Subscribes on `a`, publishes on `b` until one message arrives (interest crosses the route). */
async function deliveredAcross(a: NatsConnection, b: NatsConnection, subject: string) {
  const sub = a.subscribe(subject, { max: 1 });
  await a.flush();
  const got = (async () => {
    for await (const m of sub) return m.string();
  })();
  await waitFor(
    async () => {
      b.publish(subject, "across");
      await b.flush();
      return await Promise.race([
        got,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 200)),
      ]) === "across";
    },
    `a message on ${subject} across the route`,
    15_000,
  );
}

Deno.test({
  ...opts,
  ignore: noPebble,
  name:
    "ACME route TLS: one certificate from pebble serves clients and routes, the TLS route to a file-certificate peer is verified both ways, renewals reach new route handshakes",
  fn: () => {
    const httpPort = freePort();
    // 30 s certificates renewed with 90 % of their life left: a renewal every ~3 s.
    return withPebble({ validitySeconds: 30, httpPort }, async (env) => {
      // Each side trusts the other's issuer: pebble's root for B's ACME
      // certificate, the test CA for A's file certificate.
      const bundle = `${env.dir}/route-roots.pem`;
      await Deno.writeTextFile(
        bundle,
        env.root + "\n" + await Deno.readTextFile(`${REPO_ROOT}certs/ca.pem`),
      );
      const routePortB = freePort();
      // HTTP-01 for "localhost": the name a route dials must resolve to this host,
      // and the runtime's resolver answers localhost itself, so DNS-01 cannot see it.
      const fields = `    domains: ["localhost"]
    storage: "${env.dir}/storage-b"
    challenge: http-01
    http_listen: "127.0.0.1:${httpPort}"
    renew_fraction: 0.9`;
      // B: the same acme block for clients and routes, so one manager and one order.
      const b = await ServerProcess.start({
        config: `server_name: b
${acmeBlock(env, fields)}
cluster {
  name: acme
  host: 127.0.0.1
  port: ${routePortB}
${clusterTls(env, bundle, fields)}
}
`,
        args: ["-m", "-1"],
        timeoutMs: START_MS,
      });
      // A: a route certificate from files, dialing B by the name in B's certificate.
      const a = await ServerProcess.start({
        config: `server_name: a
cluster {
  name: acme
  host: 127.0.0.1
  port: -1
  routes: ["nats-route://localhost:${routePortB}"]
  tls {
    cert_file: "${REPO_ROOT}certs/route-cert.pem"
    key_file: "${REPO_ROOT}certs/route-key.pem"
    ca_file: "${bundle}"
    timeout: 5
  }
}
`,
        args: ["-m", "-1"],
      });
      const ncs: NatsConnection[] = [];
      try {
        assert.match(b.logs.text, /ACME: serving certificate .* to clients and routes/);
        assert.equal(b.logs.text.match(/ACME: obtained certificate/g)?.length, 1, b.logs.text);

        await waitFor(async () => (await routez(a)).num_routes === 1, "route A->B", 15_000);
        await waitFor(async () => (await routez(b)).num_routes === 1, "route B<-A", 15_000);
        ncs.push(await connect({ servers: a.url, reconnect: false }));
        ncs.push(await natsConnect(b.port, env.root, "localhost"));
        await deliveredAcross(ncs[0]!, ncs[1]!, "acme.route.1");

        const vb = await varz(b);
        const routeCert = (vb.cluster as Record<string, unknown>).tls_cert as Record<
          string,
          unknown
        >;
        assert.ok(routeCert, `no cluster.tls_cert in B's /varz: ${JSON.stringify(vb.cluster)}`);
        assert.equal(routeCert.source, "acme");
        assert.deepEqual(routeCert.used_by, ["client", "route"]);
        assert.match(String(routeCert.issuer), /Pebble/);
        assert.deepEqual((vb.tls_cert as Record<string, unknown>).used_by, ["client", "route"]);
        // A's route certificate comes from files: no ACME section anywhere.
        const va = await varz(a);
        assert.equal((va.cluster as Record<string, unknown>).tls_cert, undefined);

        // What a new route handshake to B gets now, then after B renews.
        const route = { ca: env.root, servername: "localhost", natsInfo: false };
        const before = await peerSerial(routePortB, route);
        const seen = loggedSerials(b).length;
        await waitFor(() => loggedSerials(b).length > seen, "B renewed", 30_000);
        assert.match(
          b.logs.text,
          /ACME: renewed certificate .* now used by client TLS and route TLS for new/,
        );
        const after = await peerSerial(routePortB, route);
        assert.notEqual(after, before, "a new route handshake still gets the old certificate");
        assert.ok(loggedSerials(b).includes(after), `B serves ${after}, not one it logged`);
        assert.ok(
          loggedSerials(b).includes(
            await peerSerial(b.port, { ca: env.root, servername: "localhost", natsInfo: true }),
          ),
        );
        // The route made before the renewals still carries messages, both ways.
        assert.doesNotMatch(a.logs.text + b.logs.text, /Router connection closed/);
        await deliveredAcross(ncs[0]!, ncs[1]!, "acme.route.2");
        await deliveredAcross(ncs[1]!, ncs[0]!, "acme.route.3");
      } finally {
        await Promise.all(ncs.map((nc) => nc.close()));
        await a.stop();
        await b.stop();
      }
    });
  },
});

Deno.test({
  ...opts,
  name:
    "ACME start-up: while no certificate can be had, /healthz and /varz say why; startup_timeout then exits 1",
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "dnatsd-acme-wait-" });
    // A CA that does not answer: a port nobody listens on.
    const deadCa = `https://127.0.0.1:${freePort()}/dir`;
    const conf = `${dir}/server.conf`;
    await Deno.writeTextFile(
      conf,
      `tls {
  acme {
    domains: ["nats-wait.example.com"]
    ca: "${deadCa}"
    agree_tos: true
    storage: "${dir}/storage"
    challenge: http-01
    http_listen: "127.0.0.1:${freePort()}"
    startup_timeout: "4s"
  }
}
`,
    );
    const s = spawnDnatsd(["-a", "127.0.0.1", "-p", "-1", "-m", "-1", "-c", conf]);
    try {
      await waitForLog(s, /Starting http monitor on \S+:(\d+)/);
      const mport = Number(/Starting http monitor on \S+:(\d+)/.exec(s.logs.text)![1]);
      const base = `http://127.0.0.1:${mport}`;
      let health: Record<string, unknown> = {};
      await waitFor(
        async () => {
          const res = await fetch(`${base}/healthz`);
          health = await res.json();
          return res.status === 503 && /last error/.test(String(health.error));
        },
        "/healthz naming the ACME failure",
        10_000,
      );
      assert.match(
        String(health.error),
        /client listener not ready: waiting for the first ACME certificate for nats-wait\.example\.com/,
      );
      const v = await (await fetch(`${base}/varz`)).json();
      assert.equal(v.tls_cert.acme_state, "failing");
      assert.equal(v.tls_cert.renewal_failures, 1);
      assert.equal(v.tls_cert.not_after, undefined, "no certificate yet, no expiry");
      assert.ok(v.tls_cert.last_error, JSON.stringify(v.tls_cert));
      assert.deepEqual(v.tls_cert.domains, ["nats-wait.example.com"]);

      const status = await s.exit(15_000);
      assert.equal(status.code, 1, s.logs.text);
      assert.match(
        s.logs.text,
        /ACME: no certificate for nats-wait\.example\.com within 4s(\.0+)? \(startup_timeout\); last error: /,
      );
      assert.doesNotMatch(s.logs.text, /Listening for client connections/);
    } finally {
      await s.kill();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  ...opts,
  ignore: noPebble,
  name:
    "ACME start-up: a name the CA refuses ends the start at once with the CA's reason (no retry loop)",
  fn: () =>
    withPebble({}, async (env) => {
      const conf = `${env.dir}/bad.conf`;
      await Deno.writeTextFile(
        conf,
        acmeBlock(env, await dnsFields(env, "storage", ["bad_name.example.com"])),
      );
      const started = Date.now();
      const s = spawnDnatsd(["-a", "127.0.0.1", "-p", "-1", "-c", conf]);
      try {
        // The first retry would come after a minute: exiting well before proves there was none.
        const status = await s.exit(40_000);
        assert.equal(status.code, 1, s.logs.text);
        assert.ok(Date.now() - started < 40_000);
        assert.match(
          s.logs.text,
          /ACME: cannot obtain a certificate for bad_name\.example\.com: .*illegal character.* \(a retry cannot fix this; check the acme settings\)/,
        );
        assert.doesNotMatch(s.logs.text, /retrying in/);
        assert.doesNotMatch(s.logs.text, /Listening for client connections/);
      } finally {
        await s.kill();
      }
    }),
});

Deno.test({
  ...opts,
  ignore: noPebble,
  name:
    "ACME reload: files -> acme -> other domains -> files, each seen by new clients; an ACME block that cannot get a certificate fails the reload",
  fn: () =>
    withPebble({}, async (env) => {
      const certs = `${REPO_ROOT}certs`;
      const fileTls = `tls {
  cert_file: "${certs}/server-cert.pem"
  key_file: "${certs}/server-key.pem"
}
`;
      const fileSerial = norm(
        new X509Certificate(await Deno.readTextFile(`${certs}/server-cert.pem`)).serialNumber,
      );
      const testCa = await Deno.readTextFile(`${certs}/ca.pem`);
      const fileHandshake = { ca: testCa, servername: "localhost", natsInfo: true };
      const s = await ServerProcess.start({ config: fileTls, args: ["-m", "-1"] });
      const ncs: NatsConnection[] = [];
      try {
        assert.equal(await peerSerial(s.port, fileHandshake), fileSerial);
        const old = await connect({
          servers: `tls://127.0.0.1:${s.port}`,
          tls: { ca: testCa },
          reconnect: false,
        });
        ncs.push(old);

        // files -> acme
        let out = await reload(
          s,
          acmeBlock(env, await dnsFields(env, "storage", ["nats-r1.example.com"])),
          ACME_RELOAD_MS,
        );
        assert.match(out, /Reloaded server configuration/, out);
        const acme1 = loggedSerials(s).at(-1);
        assert.ok(acme1, s.logs.text);
        const acmeHandshake = { ca: env.root, servername: "nats-r1.example.com", natsInfo: true };
        assert.equal(await peerSerial(s.port, acmeHandshake), acme1);
        assert.equal(((await varz(s)).tls_cert as Record<string, unknown>).source, "acme");
        // The connection made under the file certificate keeps working.
        await old.flush();

        // acme -> acme for more names: a new manager, the old one stops.
        out = await reload(
          s,
          acmeBlock(
            env,
            await dnsFields(env, "storage", ["nats-r1.example.com", "nats-r2.example.com"]),
          ),
          ACME_RELOAD_MS,
        );
        assert.match(out, /Reloaded server configuration/, out);
        assert.match(out, /ACME: stopped renewing nats-r1\.example\.com \(no longer configured\)/);
        const acme2 = loggedSerials(s).at(-1)!;
        assert.notEqual(acme2, acme1);
        assert.equal(await peerSerial(s.port, acmeHandshake), acme2);
        const nc = await natsConnect(s.port, env.root, "nats-r2.example.com");
        ncs.push(nc);

        // An ACME block whose CA does not answer: refused after its startup_timeout.
        const dead = acmeBlock(
          env,
          await dnsFields(env, "storage", ["nats-dead.example.com"], '    startup_timeout: "3s"'),
        )
          .replace(env.pebble.directoryUrl, `https://127.0.0.1:${freePort()}/dir`);
        out = await reload(s, dead, ACME_RELOAD_MS);
        assert.match(
          out,
          /Failed to reload server configuration: ACME: no certificate for nats-dead\.example\.com within 3s(\.0+)?; reload aborted/,
          out,
        );
        assert.equal(
          await peerSerial(s.port, acmeHandshake),
          acme2,
          "the failed reload changed TLS",
        );

        // acme -> files: the manager stops, the file certificate is served again.
        out = await reload(s, fileTls, ACME_RELOAD_MS);
        assert.match(out, /Reloaded server configuration/, out);
        assert.match(out, /ACME: stopped renewing nats-r1\.example\.com,nats-r2\.example\.com/);
        assert.equal(await peerSerial(s.port, fileHandshake), fileSerial);
        assert.equal(
          ((await varz(s)).tls_cert as Record<string, unknown>).source ?? "file",
          "file",
        );
        await old.flush();
        await nc.flush();
      } finally {
        await Promise.all(ncs.map((c) => c.close()));
        await s.stop();
      }
    }),
});
