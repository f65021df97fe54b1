// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * Config reload (SIGHUP) against a real dnatsd: each class of reloadable option
 * is applied live, a non-reloadable change refuses the whole reload with
 * nats-server's exact message, and a broken file leaves the server running on
 * the old configuration.
 */
import { connect } from "npm:@nats-io/transport-node@3.4.0";
import { equal, match, notEqual, ok } from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import { join } from "node:path";
import { REPO_ROOT, ServerProcess } from "./helpers/server.ts";
import { RawClient } from "./helpers/raw.ts";
import { tempDir, waitFor } from "./ops_helpers.ts";
import { reload, routePortOf, waitForFlow, waitForLogSince } from "./helpers/reload.ts";

Deno.test("reload: a user removed from authorization is disconnected, others stay", async () => {
  const users = (list: string) => `authorization { users [ ${list} ] }\n`;
  const s = await ServerProcess.start({
    config: users("{user: a, password: pa}, {user: b, password: pb}"),
  });
  const a = await connect({ servers: s.url, user: "a", pass: "pa", reconnect: false });
  const b = await connect({ servers: s.url, user: "b", pass: "pb", reconnect: false });
  try {
    const bClosed = b.closed();
    const out = await reload(s, users("{user: a, password: pa}"));
    match(out, /Reloaded: authorization users\n[\s\S]*Reloaded server configuration/);
    const err = await bClosed;
    match(String(err), /Authorization Violation/i);
    await a.flush(); // still connected and authorised
    equal(a.isClosed(), false);
    // And b can no longer log in.
    let refused = false;
    try {
      await (await connect({ servers: s.url, user: "b", pass: "pb", reconnect: false })).close();
    } catch {
      refused = true;
    }
    ok(refused, "removed user refused on a new connection");
  } finally {
    await a.close().catch(() => {});
    await b.close().catch(() => {});
    await s.stop();
  }
});

Deno.test("reload: permissions change applies to a connected client", async () => {
  const conf = (deny: string) =>
    `authorization { users [ {user: a, password: pa, permissions: { publish: { deny: [${deny}] } }} ] }\n`;
  const s = await ServerProcess.start({ config: conf('"nothing"') });
  const raw = await RawClient.connect(s.port);
  try {
    await raw.expect(/^INFO .*\r\n/);
    await raw.send(
      'CONNECT {"verbose":false,"user":"a","pass":"pa"}\r\nPUB secret 1\r\nx\r\nPING\r\n',
    );
    await raw.expect(/PONG\r\n/);
    await reload(s, conf('"secret"'));
    await raw.send("PUB secret 1\r\nx\r\nPING\r\n");
    await raw.expect(/-ERR 'Permissions Violation for Publish to "secret"'\r\n/);
  } finally {
    await raw.close();
    await s.stop();
  }
});

Deno.test("reload: max_payload reaches new INFOs and existing connections", async () => {
  const s = await ServerProcess.start({ config: "max_payload: 4096\n" });
  const old = await RawClient.connect(s.port);
  try {
    await old.expect(/"max_payload":4096/);
    await old.send('CONNECT {"verbose":false}\r\nPING\r\n');
    await old.expect(/PONG\r\n/);
    const out = await reload(s, 'max_payload: 100\nping_interval: "1m"\nmax_connections: 50\n');
    match(out, /Reloaded: max_connections = 50/);
    match(out, /Reloaded: ping_interval = 1m0s/);
    match(out, /Reloaded: max_payload = 100/);
    const fresh = await RawClient.connect(s.port);
    await fresh.expect(/"max_payload":100[,}]/);
    await fresh.close();
    await old.send(`PUB big 200\r\n${"x".repeat(200)}\r\n`);
    await old.expect(/-ERR 'Maximum Payload Violation'\r\n/);
  } finally {
    await old.close();
    await s.stop();
  }
});

Deno.test("reload: debug turned on takes effect at once", async () => {
  const s = await ServerProcess.start({ config: "debug: false\n" });
  try {
    const out = await reload(s, "debug: true\n");
    match(out, /\[INF\] Reloaded: debug = true/);
    const nc = await connect({ servers: s.url, reconnect: false });
    await nc.close();
    await s.waitForLog(/\[DBG\] .* - cid:\d+ - Client connection created/);
  } finally {
    await s.stop();
  }
});

Deno.test("reload: a non-reloadable change is refused with nats-server's message and nothing applies", async () => {
  const s = await ServerProcess.start({ config: "max_payload: 4096\nserver_name: one\n" });
  try {
    const out = await reload(
      s,
      "max_payload: 100\nmax_pending: 50000000\ndebug: true\nserver_name: one\n",
    );
    match(
      out,
      /\[ERR\] Failed to reload server configuration: config reload not supported for MaxPending: old=67108864, new=50000000\n/,
    );
    ok(!/Reloaded:/.test(out), "no option applied");
    const raw = await RawClient.connect(s.port);
    await raw.expect(/"max_payload":4096/); // old value still in force
    await raw.close();
    const out2 = await reload(
      s,
      'max_payload: 4096\nlame_duck_duration: "40s"\nserver_name: one\n',
    );
    match(
      out2,
      /config reload not supported for LameDuckDuration: old=2m0s, new=40s/,
    );
    const out3 = await reload(s, "max_payload: 4096\nserver_name: two\n");
    match(out3, /config reload not supported for ServerName: old=one, new=two/);
  } finally {
    await s.stop();
  }
});

Deno.test("reload: a broken file is reported with file:line:col and the server keeps running", async () => {
  const s = await ServerProcess.start({ config: "max_payload: 4096\n" });
  try {
    const out = await reload(s, "max_payload: 100\nno_such_option: 1\n");
    match(
      out,
      new RegExp(
        `Failed to reload server configuration: ${
          s.configFile!.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
        }:2:1: unknown field "no_such_option"`,
      ),
    );
    const out2 = await reload(s, "max_payload: 100\nfoo {\n");
    match(out2, /Failed to reload server configuration: .*line 3/);
    const raw = await RawClient.connect(s.port);
    await raw.expect(/"max_payload":4096/);
    await raw.close();
    const nc = await connect({ servers: s.url, reconnect: false });
    await nc.flush();
    await nc.close();
  } finally {
    await s.stop();
  }
});

Deno.test("reload: pid_file moves with the option", async () => {
  const dir = tempDir();
  const p1 = join(dir.path, "one.pid");
  const p2 = join(dir.path, "two.pid");
  const s = await ServerProcess.start({ config: `pid_file: "${p1}"\n` });
  try {
    await waitFor(() => Deno.readTextFileSync(p1) === String(s.pid), 5000, "first pid file");
    await reload(s, `pid_file: "${p2}"\n`);
    equal(Deno.readTextFileSync(p2), String(s.pid));
    let gone = false;
    try {
      Deno.statSync(p1);
    } catch {
      gone = true;
    }
    ok(gone, "old pid file removed");
  } finally {
    await s.stop();
    dir.remove();
  }
});

/** Connects with TLS (INFO first, then the handshake) and returns the server certificate's fingerprint. */
/** The certificate fingerprint a new TLS handshake gets (after the INFO line on a NATS port). */
async function serverFingerprint(port: number, natsInfo = true): Promise<string> {
  const ca = await Deno.readTextFile(join(REPO_ROOT, "certs/ca.pem"));
  return await new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    sock.once("error", reject);
    const handshake = () => {
      // Only the fingerprint matters here; the second certificate has no DNS name.
      const opts = {
        socket: sock,
        ca,
        servername: "localhost",
        checkServerIdentity: () => undefined,
      };
      const t = tls.connect(opts, () => {
        const fp = t.getPeerCertificate().fingerprint256;
        t.destroy();
        resolve(fp);
      });
      t.once("error", reject);
    };
    if (natsInfo) sock.once("data", handshake);
    else sock.once("connect", handshake);
  });
}

Deno.test("reload: a new TLS certificate serves new clients while an old connection keeps working", async () => {
  const dir = tempDir();
  const cert = join(dir.path, "cert.pem");
  const key = join(dir.path, "key.pem");
  Deno.copyFileSync(join(REPO_ROOT, "certs/server-cert.pem"), cert);
  Deno.copyFileSync(join(REPO_ROOT, "certs/server-key.pem"), key);
  const conf = `tls { cert_file: "${cert}", key_file: "${key}" }\n`;
  const s = await ServerProcess.start({ config: conf, args: ["-ms", "-1"] });
  const ca = join(REPO_ROOT, "certs/ca.pem");
  const nc = await connect({ servers: s.url, tls: { caFile: ca }, reconnect: false });
  const httpsPort = Number(/Starting https monitor on \S+:(\d+)/.exec(s.logs.text)?.[1]);
  try {
    const before = await serverFingerprint(s.port);
    equal(await serverFingerprint(httpsPort, false), before);
    Deno.copyFileSync(join(REPO_ROOT, "certs/server-ip-only-cert.pem"), cert);
    Deno.copyFileSync(join(REPO_ROOT, "certs/server-ip-only-key.pem"), key);
    const out = await reload(s, conf);
    match(out, /Reloaded: tls = enabled/);
    const after = await serverFingerprint(s.port);
    notEqual(after, before, "new connections get the new certificate");
    equal(await serverFingerprint(httpsPort, false), after, "the HTTPS monitor too");
    await nc.flush(); // the old TLS connection still works
    equal(nc.isClosed(), false);
  } finally {
    await nc.close().catch(() => {});
    await s.stop();
    dir.remove();
  }
});

// ------------------------------------------------------------------ cluster

/** A cluster block on a random local port; `body` adds settings. */
function clusterConf(body: string): string {
  return `cluster {\n name: rl\n host: 127.0.0.1\n port: -1\n ${body}\n}\n`;
}

Deno.test("reload: cluster authorization applies to routes: the old password is refused, the new one accepted", async () => {
  const auth = (pass: string) => `authorization { user: ru, password: ${pass} }`;
  const a = await ServerProcess.start({ config: clusterConf(auth("p1")) });
  const aRoute = await routePortOf(a);
  const route = (pass: string) => `routes: ["nats-route://ru:${pass}@127.0.0.1:${aRoute}"]`;
  const b = await ServerProcess.start({ config: clusterConf(route("p1")) });
  const ca = await connect({ servers: a.url, reconnect: false });
  const cb = await connect({ servers: b.url, reconnect: false });
  try {
    await waitForFlow(cb, ca, "auth.before");
    const mark = a.logs.text.length;
    const out = await reload(a, clusterConf(auth("p2")));
    match(out, /Reloaded: cluster\n/);
    // The route accepted with p1 is closed at once, as nats-server does...
    await waitForLogSince(a, mark, /rid:\d+ - Router connection closed: Authentication Failure/);
    // ...and B's redial with the old password is refused.
    await waitFor(
      () => (a.logs.text.slice(mark).match(/rid:\d+ - authentication error/g) ?? []).length >= 2,
      5000,
      "the redial with the old password refused",
    );
    const outB = await reload(b, clusterConf(route("p2")));
    match(outB, /Reloaded: cluster routes/);
    await waitForFlow(cb, ca, "auth.after"); // the new password gets the route back
  } finally {
    await ca.close().catch(() => {});
    await cb.close().catch(() => {});
    await a.stop();
    await b.stop();
  }
});

Deno.test("reload: cluster permissions change which interest a route carries", async () => {
  const perms = (deny: string) => `permissions { export: { deny: ["${deny}"] } }`;
  const a = await ServerProcess.start({ config: clusterConf(perms("secret")) });
  const aRoute = await routePortOf(a);
  const b = await ServerProcess.start({
    config: clusterConf(`routes: ["nats-route://127.0.0.1:${aRoute}"]`),
  });
  const ca = await connect({ servers: a.url, reconnect: false });
  const cb = await connect({ servers: b.url, reconnect: false });
  const got = new Map<string, number>();
  for (const subject of ["secret", "other"]) {
    cb.subscribe(subject, { callback: () => void got.set(subject, (got.get(subject) ?? 0) + 1) });
  }
  /** Publishes on A and a probe after it; once the probe is at B, `subject` had its chance. */
  const delivered = async (subject: string, probe: string): Promise<number> => {
    let probes = 0;
    const sub = cb.subscribe(probe, { callback: () => void probes++ });
    await cb.flush();
    await waitFor(
      async () => {
        ca.publish(subject);
        ca.publish(probe);
        await ca.flush();
        return probes > 0;
      },
      8000,
      `probe ${probe} at B`,
    );
    sub.unsubscribe();
    return got.get(subject) ?? 0;
  };
  try {
    await cb.flush();
    equal(await delivered("secret", "probe.1"), 0, "export denied: A ignores B's interest");
    ok(await delivered("other", "probe.2") > 0, "other flows before the reload");

    const out = await reload(a, clusterConf(perms("other")));
    match(out, /Reloaded: cluster\n/);
    // B is told the new permissions and sends its interest again: "secret" now flows.
    await waitForFlow(ca, cb, "secret");
    const before = got.get("other") ?? 0;
    equal(await delivered("other", "probe.3"), before, "now denied: B's interest is dropped");
  } finally {
    await ca.close().catch(() => {});
    await cb.close().catch(() => {});
    await a.stop();
    await b.stop();
  }
});
