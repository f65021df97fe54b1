/**
 * AcmeManager with a CA that offers ACME Renewal Information (RFC 9773).
 * pebble 2.4 (Debian) has no renewalInfo endpoint, so a minimal fake CA
 * serves the directory and the ARI resource; ordering is refused, which is
 * enough to see when the manager decides to renew.
 */
import assert from "node:assert/strict";
import { inspectCertificate } from "../../lib/acme/cert_info.ts";
import { AcmeManager } from "../../lib/acme/manager.ts";
import { MemoryStorage } from "../../lib/acme/storage.ts";
import type { AcmeOptions } from "../../lib/config/options.ts";
import { RecordingLogger } from "./_harness.ts";
import { makeCert } from "./_pki.ts";

async function setup(window: { start: Date; end: Date }) {
  const asked: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    const base = `http://127.0.0.1:${url.port}`;
    asked.push(`${req.method} ${url.pathname}`);
    if (url.pathname === "/dir") {
      return Response.json({
        newNonce: `${base}/nonce`,
        newAccount: `${base}/acct`,
        newOrder: `${base}/order`,
        renewalInfo: `${base}/ari/`,
      });
    }
    if (url.pathname.startsWith("/ari/")) {
      return Response.json({
        suggestedWindow: { start: window.start.toISOString(), end: window.end.toISOString() },
      }, { headers: { "Retry-After": "3600" } });
    }
    if (url.pathname === "/nonce") {
      return new Response(null, { headers: { "Replay-Nonce": "n1" } });
    }
    return Response.json({
      type: "urn:ietf:params:acme:error:serverInternal",
      detail: "this fake CA does not issue",
    }, { status: 500, headers: { "Replay-Nonce": "n2" } });
  });
  const dirUrl = `http://127.0.0.1:${server.addr.port}/dir`;
  const ca = await makeCert({ cn: "ARI Test CA", ca: true });
  const leaf = await makeCert({ cn: "ari.example.com", names: ["ari.example.com"], issuer: ca });
  const storage = new MemoryStorage();
  const prefix = "certificates/ari.example.com/ari.example.com";
  await storage.store(`${prefix}.crt`, leaf.certPem + ca.certPem);
  await storage.store(`${prefix}.key`, leaf.keyPem);
  await storage.store(`${prefix}.acme.json`, JSON.stringify({ ca: dirUrl }));
  const options: AcmeOptions = {
    domains: ["ari.example.com"],
    caDirectory: dirUrl,
    agreeTos: true,
    keyType: "EC256",
    storageDir: "/nonexistent",
    challenge: "dns-01",
    dnsProvider: "exec",
    extra: { exec_path: "/bin/false" },
  };
  const info = inspectCertificate(leaf.certPem);
  return { server, asked, storage, options, info };
}

Deno.test("AcmeManager renews inside the CA's ARI window when it is due", async () => {
  const now = Date.now();
  const { server, asked, storage, options, info } = await setup({
    start: new Date(now - 7200_000),
    end: new Date(now - 3600_000),
  });
  const log = new RecordingLogger();
  const mgr = new AcmeManager(options, {
    log,
    onCertificate: () => {},
    storage,
    env: {},
    retryDelaysMs: [60_000],
  });
  try {
    // The stored certificate is young (1/3 rule: not due), but the ARI window has passed.
    const cert = await mgr.start();
    assert.equal(cert.serial, info.serial);
    assert.ok(asked.includes(`GET /ari/${info.ariCertId}`), asked.join(","));
    assert.ok(asked.includes("POST /acct"), "no renewal attempted");
    const st = mgr.status();
    assert.equal(st.state, "failing");
    assert.match(st.lastError ?? "", /does not issue/);
    assert.ok(st.nextRenewal! <= new Date());
    assert.deepEqual(st.renewalWindow?.end, new Date(now - 3600_000));
    assert.ok(st.nextCheck! > new Date(Date.now() + 30_000), "retry not backed off");
  } finally {
    await mgr.stop();
    await server.shutdown();
  }
});

Deno.test("AcmeManager waits for a future ARI window", async () => {
  const now = Date.now();
  const window = { start: new Date(now + 86400_000), end: new Date(now + 2 * 86400_000) };
  const { server, asked, storage, options, info } = await setup(window);
  const log = new RecordingLogger();
  const mgr = new AcmeManager(options, { log, onCertificate: () => {}, storage, env: {} });
  try {
    await mgr.start();
    const st = mgr.status();
    assert.equal(st.serial, info.serial);
    assert.ok(st.nextRenewal! >= window.start && st.nextRenewal! <= window.end);
    assert.ok(!asked.includes("POST /acct"), "renewed too early");
    assert.equal(asked.filter((a) => a.startsWith("GET /ari/")).length, 1);
    assert.equal(st.lastError, undefined);
    // Checks happen no later than the renewal time.
    assert.ok(st.nextCheck! <= st.nextRenewal!);
  } finally {
    await mgr.stop();
    await server.shutdown();
  }
});
