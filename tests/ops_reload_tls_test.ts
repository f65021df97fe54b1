// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * Config reload (SIGHUP) of TLS settings against a real dnatsd: every client
 * `tls {}` setting reaches new connections while connected clients keep
 * working, TLS can be turned on and off, a reload with a broken TLS file is
 * refused and leaves the old settings in force, and a new route certificate
 * is what new route handshakes (accepted and dialed) see.
 */
import { connect, type NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { equal, match, notEqual, ok } from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import type * as net from "node:net";
import * as tls from "node:tls";
import { join } from "node:path";
import { generateTestPki } from "../tools/gencerts.ts";
import { ServerProcess, waitFor } from "./helpers/server.ts";
import { RawClient } from "./helpers/raw.ts";
import { CA, CERTS, clientTls, outcome as tryClient } from "./helpers/tls_client.ts";
import { reload, routePortOf, waitForFlow } from "./helpers/reload.ts";

const SERVER_FILES = `cert_file: "${CERTS}server-cert.pem"\n key_file: "${CERTS}server-key.pem"`;

/** A client `tls {}` block with the server certificate and `extra` settings. */
function tlsConf(extra = ""): string {
  return `tls {\n ${SERVER_FILES}\n ${extra}\n}\n`;
}

function pem(file: string): string {
  return Deno.readTextFileSync(CERTS + file);
}

/** "ok" when a real client connects over TLS and round-trips, else "refused". */
function outcome(port: number, certName?: string): Promise<"ok" | "refused"> {
  return tryClient(port, { tls: clientTls(certName) });
}

/** Publishes on a fresh subject and waits for the client's own subscription to get it. */
async function roundTrip(nc: NatsConnection, subject: string): Promise<void> {
  let got = 0;
  const sub = nc.subscribe(subject, {
    callback: () => {
      got++;
    },
  });
  nc.publish(subject, "x");
  await nc.flush();
  await waitFor(() => got === 1, 3000, `own message on ${subject}`);
  sub.unsubscribe();
}

/** The first line the server sends to a plain TCP client (INFO unless handshake_first). */
async function plainInfo(port: number): Promise<string> {
  const raw = await RawClient.connect(port);
  try {
    return (await raw.expect(/^INFO (\{.*\}) \r\n/))[1];
  } finally {
    await raw.close();
  }
}

/** Hex SHA-256 of a certificate's public key, as `pinned_certs` lists it. */
function spkiPin(certFile: string): string {
  const spki = new X509Certificate(pem(certFile)).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("hex");
}

Deno.test("reload TLS: verify turned on refuses new clients without a certificate, connected ones keep working, and off again", async () => {
  const s = await ServerProcess.start({ config: tlsConf() });
  const old = await connect({
    servers: `tls://127.0.0.1:${s.port}`,
    tls: clientTls(),
    reconnect: false,
  });
  try {
    equal(await outcome(s.port), "ok");
    const out = await reload(s, tlsConf(`ca_file: "${CA}"\n verify: true`));
    match(out, /Reloaded: tls = enabled\n[\s\S]*Reloaded server configuration/);
    match(await plainInfo(s.port), /"tls_verify":true/);
    equal(await outcome(s.port), "refused", "no certificate: refused after the reload");
    equal(await outcome(s.port, "client"), "ok", "a trusted certificate is accepted");
    await roundTrip(old, "still.there"); // the client from before keeps publishing and receiving
    equal(old.isClosed(), false);

    await reload(s, tlsConf());
    equal(await outcome(s.port), "ok", "verify off: a client without certificate connects");
    await roundTrip(old, "still.there.2");
  } finally {
    await old.close().catch(() => {});
    await s.stop();
  }
});

Deno.test("reload TLS: a new ca_file and pinned_certs decide which client certificates pass", async () => {
  const verify = (ca: string, extra = "") => tlsConf(`ca_file: "${ca}"\n verify: true\n ${extra}`);
  const s = await ServerProcess.start({ config: verify(CA) });
  try {
    equal(await outcome(s.port, "client"), "ok");
    equal(await outcome(s.port, "untrusted-client"), "refused");

    await reload(s, verify(CERTS + "untrusted-ca.pem"));
    equal(await outcome(s.port, "untrusted-client"), "ok", "certificate of the new CA accepted");
    equal(await outcome(s.port, "client"), "refused", "certificate of the old CA refused");

    const out = await reload(s, verify(CA, `pinned_certs: ["${spkiPin("client-cert.pem")}"]`));
    match(out, /Reloaded: pinned_certs/);
    equal(await outcome(s.port, "client"), "ok", "the pinned certificate passes");
    equal(await outcome(s.port, "client-email"), "refused", "same CA, not pinned: refused");
    await s.waitForLog(/TLS handshake error: Certificate not pinned/);
  } finally {
    await s.stop();
  }
});

Deno.test("reload TLS: a new handshake timeout and handshake_first apply to new connections", async () => {
  const s = await ServerProcess.start({ config: tlsConf("timeout: 5") });
  try {
    const out = await reload(s, tlsConf("timeout: 0.5"));
    match(out, /Reloaded: tls timeout = 0\.5/);
    // A client that never starts the handshake is dropped after the new 0.5 s, not 5 s.
    const raw = await RawClient.connect(s.port);
    await raw.expect(/^INFO .*"tls_required":true/);
    const started = Date.now();
    await raw.expectClosed(2500);
    const took = Date.now() - started;
    ok(took >= 300, `closed after ${took} ms, not before the timeout`);
    await raw.close();
    await s.waitForLog(/TLS handshake timeout/);

    await reload(s, tlsConf("handshake_first: true"));
    // TLS first: the handshake works straight away and INFO comes over TLS.
    const sock = tls.connect({ port: s.port, host: "127.0.0.1", ca: pem("ca.pem") });
    let text = "";
    sock.on("data", (d) => text += String(d));
    sock.on("error", () => {});
    try {
      await waitFor(() => /^INFO .*"tls_required":true/.test(text), 3000, "INFO over TLS");
    } finally {
      sock.destroy();
    }

    await reload(s, tlsConf());
    match(await plainInfo(s.port), /"tls_required":true/, "INFO in plain text first again");
    equal(await outcome(s.port), "ok");
  } finally {
    await s.stop();
  }
});

Deno.test("reload TLS: a missing ca_file or an expired certificate refuses the reload and the old settings stay", async () => {
  const good = tlsConf(`ca_file: "${CA}"\n verify: true`);
  const s = await ServerProcess.start({ config: good });
  try {
    const missing = "/nonexistent/dnatsd-ca.pem";
    const out = await reload(s, tlsConf(`ca_file: "${missing}"`));
    match(out, /Failed to reload server configuration: .*\/nonexistent\/dnatsd-ca\.pem/);
    match(out, /no such file or directory/);
    ok(!/Reloaded:/.test(out), "nothing applied");

    const expired = `tls {\n cert_file: "${CERTS}expired-server-cert.pem"\n` +
      ` key_file: "${CERTS}expired-server-key.pem"\n}\n`;
    const out2 = await reload(s, expired);
    match(out2, /Failed to reload server configuration: certificate .* expired on/);
    ok(!/Reloaded:/.test(out2), "nothing applied");

    // Still the first settings: verify on, the old certificate served.
    equal(await outcome(s.port), "refused");
    equal(await outcome(s.port, "client"), "ok");
  } finally {
    await s.stop();
  }
});

Deno.test("reload TLS: turned on and off on the same port while connected clients stay", async () => {
  const s = await ServerProcess.start({ config: "" });
  const plain = await connect({ servers: s.url, reconnect: false });
  let secure: NatsConnection | undefined;
  try {
    ok(!(await plainInfo(s.port)).includes("tls_required"));
    const on = await reload(s, tlsConf());
    match(on, /Reloaded: tls = enabled/);
    match(await plainInfo(s.port), /"tls_required":true/);
    secure = await connect({
      servers: `tls://127.0.0.1:${s.port}`,
      tls: clientTls(),
      reconnect: false,
    });
    await roundTrip(plain, "plain.after.on");
    await waitForFlow(secure, plain, "secure.to.plain", 3000);

    const off = await reload(s, "");
    match(off, /Reloaded: tls = disabled/);
    ok(!(await plainInfo(s.port)).includes("tls_required"), "INFO without tls_required");
    const fresh = await connect({ servers: s.url, reconnect: false });
    await fresh.flush();
    await fresh.close();
    await waitForFlow(plain, secure, "plain.to.secure", 3000); // the TLS client stays
    ok(!/Client accept error/.test(s.logs.text), "the listener swap logs no accept error");
  } finally {
    await secure?.close().catch(() => {});
    await plain.close().catch(() => {});
    await s.stop();
  }
});

// ------------------------------------------------------------------ routes

/** A second test PKI (new CA, new route certificate), made once for the route test. */
async function secondPki(): Promise<{ dir: string; routeCert: string; routeKey: string }> {
  const dir = await Deno.makeTempDir({ prefix: "dnatsd_pki_" });
  await generateTestPki(dir);
  return { dir, routeCert: join(dir, "route-cert.pem"), routeKey: join(dir, "route-key.pem") };
}

/** Serial of the certificate the route listener at `port` presents to a TLS client. */
function acceptedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({
      port,
      host: "127.0.0.1",
      ca,
      cert: pem("route-cert.pem"),
      key: pem("route-key.pem"),
      checkServerIdentity: () => undefined,
    });
    sock.once("secureConnect", () => {
      resolve(sock.getPeerCertificate().serialNumber);
      sock.destroy();
    });
    sock.once("error", reject);
  });
}

Deno.test("reload route TLS: new route handshakes (accepted and dialed) get the new certificate, the route up stays", async () => {
  const pki = await secondPki();
  const bundle = join(pki.dir, "bundle.pem");
  await Deno.writeTextFile(bundle, pem("ca.pem") + Deno.readTextFileSync(join(pki.dir, "ca.pem")));
  const caText = Deno.readTextFileSync(bundle);
  const routeTls = (cert: string, key: string) =>
    `tls { cert_file: "${cert}", key_file: "${key}", ca_file: "${bundle}" }`;
  const oldTls = routeTls(CERTS + "route-cert.pem", CERTS + "route-key.pem");
  const cluster = (tlsBlock: string, routes: string[] = []) =>
    `cluster {\n name: rt\n host: 127.0.0.1\n port: -1\n ${tlsBlock}\n routes: ${
      JSON.stringify(routes)
    }\n}\n`;
  // A TLS server standing in for a peer A dials: it records the certificate A presents.
  const dialedSerials: string[] = [];
  const peer = tls.createServer({
    cert: pem("route-cert.pem"),
    key: pem("route-key.pem"),
    ca: caText,
    requestCert: true,
    rejectUnauthorized: false,
  }, (sock) => {
    dialedSerials.push(sock.getPeerCertificate().serialNumber);
    sock.destroy();
  });
  peer.on("tlsClientError", () => {});
  await new Promise<void>((r) => peer.listen(0, "127.0.0.1", () => r()));
  const peerPort = (peer.address() as net.AddressInfo).port;

  const a = await ServerProcess.start({ config: cluster(oldTls) });
  const aRoute = await routePortOf(a);
  const b = await ServerProcess.start({
    config: cluster(oldTls, [`nats-route://127.0.0.1:${aRoute}`]),
  });
  const ca = await connect({ servers: a.url, reconnect: false });
  const cb = await connect({ servers: b.url, reconnect: false });
  try {
    await waitForFlow(ca, cb, "before");
    const oldSerial = new X509Certificate(pem("route-cert.pem")).serialNumber;
    const newSerial = new X509Certificate(Deno.readTextFileSync(pki.routeCert)).serialNumber;
    equal(await acceptedSerial(aRoute, caText), oldSerial);

    const out = await reload(
      a,
      cluster(routeTls(pki.routeCert, pki.routeKey), [`nats-route://127.0.0.1:${peerPort}`]),
    );
    match(out, /Reloaded: cluster\n/);
    equal(await acceptedSerial(aRoute, caText), newSerial, "accepted handshakes: new certificate");
    await waitFor(() => dialedSerials.length > 0, 5000, "A dials the new route");
    equal(dialedSerials[0], newSerial, "dialed handshakes present the new certificate");
    notEqual(newSerial, oldSerial);
    await waitForFlow(ca, cb, "after"); // the established route still carries messages
    ok(!/Router connection closed/.test(b.logs.text), "B never lost its route to A");
  } finally {
    await ca.close().catch(() => {});
    await cb.close().catch(() => {});
    await a.stop();
    await b.stop();
    peer.close();
    await Deno.remove(pki.dir, { recursive: true });
  }
});

Deno.test("reload route TLS: turned on and off on the route port while the route up stays", async () => {
  const tlsBlock =
    `tls { cert_file: "${CERTS}route-cert.pem", key_file: "${CERTS}route-key.pem", ` +
    `ca_file: "${CA}" }`;
  const cluster = (block: string) =>
    `cluster {\n name: onoff\n host: 127.0.0.1\n port: -1\n ${block}\n}\n`;
  const a = await ServerProcess.start({ config: cluster("") });
  const aRoute = await routePortOf(a);
  const b = await ServerProcess.start({
    config:
      `cluster {\n name: onoff\n host: 127.0.0.1\n port: -1\n routes: ["nats-route://127.0.0.1:${aRoute}"]\n}\n`,
  });
  const ca = await connect({ servers: a.url, reconnect: false });
  const cb = await connect({ servers: b.url, reconnect: false });
  try {
    await waitForFlow(cb, ca, "plain.route");
    match(await reload(a, cluster(tlsBlock)), /Reloaded: cluster\n/);
    // Route TLS starts with the handshake: it now completes on the same port.
    const serial = new X509Certificate(pem("route-cert.pem")).serialNumber;
    equal(await acceptedSerial(aRoute, pem("ca.pem")), serial);
    await waitForFlow(cb, ca, "plain.route.kept"); // the plain route from before stays

    match(await reload(a, cluster("")), /Reloaded: cluster\n/);
    const raw = await RawClient.connect(aRoute);
    try {
      await raw.expect(/^INFO \{.*"cluster":"onoff"/); // plain route INFO again
      ok(!raw.received.includes("tls_required"));
    } finally {
      await raw.close();
    }
    await waitForFlow(cb, ca, "plain.route.still");
    ok(!/Route accept error/.test(a.logs.text), "the listener swap logs no accept error");
  } finally {
    await ca.close().catch(() => {});
    await cb.close().catch(() => {});
    await a.stop();
    await b.stop();
  }
});
