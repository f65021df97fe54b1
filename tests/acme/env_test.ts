/**
 * letsgo-nats environment mode end to end against pebble: the variables'
 * names and defaults, the DigitalOcean provider with its token read from a
 * (fake) Azure Key Vault through a (fake) managed identity endpoint, and the
 * files `<OUTPUT_DIRECTORY>/<FILENAME>.crt/.key/.issuer.crt` with mode 0600.
 */
import assert from "node:assert/strict";
import { inspectCertificate, keyMatchesCertificate } from "../../lib/acme/cert_info.ts";
import { splitCertificates } from "../../lib/acme/_encoding.ts";
import { acmeOptionsFromEnv } from "../../lib/acme/env.ts";
import { AcmeManager } from "../../lib/acme/manager.ts";
import { ChallTestSrv, Pebble, RecordingLogger, startDoFixture } from "./_harness.ts";
import { missing } from "../helpers/requires.ts";

const ignore = missing("pebble");

/** Fake IMDS + Key Vault on one listener; records what it was asked. */
function startAzureFake(secret: string) {
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/metadata/identity/oauth2/token") {
      seen.push(
        `imds metadata=${req.headers.get("metadata")} resource=${url.searchParams.get("resource")}`,
      );
      if (req.headers.get("metadata") !== "true") return new Response(null, { status: 400 });
      return Response.json({ access_token: "vault-access-token", token_type: "Bearer" });
    }
    if (url.pathname === "/secrets/dns-token") {
      seen.push(
        `vault auth=${req.headers.get("authorization")} v=${url.searchParams.get("api-version")}`,
      );
      if (req.headers.get("authorization") !== "Bearer vault-access-token") {
        return new Response(null, { status: 401 });
      }
      return Response.json({ value: `${secret}\n`, id: "x" });
    }
    return new Response(null, { status: 404 });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, seen, close: () => server.shutdown() };
}

Deno.test({
  ignore,
  name: "letsgo-nats environment variables drive an ACME order end to end",
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "dnatsd-acme-env-" });
    const chall = new ChallTestSrv();
    await chall.start();
    const pebble = new Pebble(dir, { dnsServer: chall.dns });
    const doApi = startDoFixture(chall, "token-from-vault", "example.com");
    const azure = startAzureFake("token-from-vault");
    try {
      await pebble.start();
      const env = {
        DOMAINS: "*.env.example.com,env.example.com",
        OUTPUT_DIRECTORY: "out/certs",
        ACCOUNT_EMAIL: "ops@example.com",
        ACCOUNT_KEY_FILE: "acct/account.key",
        CA_DIR: pebble.directoryUrl,
        DNS_RESOLVERS: chall.dns,
        DNS_TIMEOUT: "2.9",
        DNS_AUTH_TOKEN_VAULT: azure.url,
        DNS_AUTH_TOKEN_SECRET: "dns-token",
        AZURE_IMDS_URL: `${azure.url}/metadata/identity/oauth2/token`,
        DO_API_URL: doApi.url,
        ACME_CA_ROOTS: pebble.caFile,
      };
      const parsed = acmeOptionsFromEnv(env, dir);
      assert.ok(parsed);
      assert.deepEqual(parsed.files, {
        cert: `${dir}/out/certs/_.env.example.com.crt`,
        key: `${dir}/out/certs/_.env.example.com.key`,
        issuer: `${dir}/out/certs/_.env.example.com.issuer.crt`,
      });
      assert.equal(parsed.options.dnsProvider, "digitalocean");
      assert.equal(parsed.options.keyType, "RSA2048");
      assert.equal(parsed.options.extra.dns_timeout, 2);

      const log = new RecordingLogger();
      const mgr = new AcmeManager(parsed.options, { log, onCertificate: () => {}, env: {} });
      let serial: string;
      try {
        const cert = await mgr.start();
        serial = cert.serial;
        const crt = await Deno.readTextFile(parsed.files.cert);
        const key = await Deno.readTextFile(parsed.files.key);
        const issuer = await Deno.readTextFile(parsed.files.issuer);
        assert.equal(crt, cert.certPem);
        assert.ok(keyMatchesCertificate(crt, key));
        assert.match(key, /BEGIN RSA PRIVATE KEY/);
        const chain = splitCertificates(crt);
        assert.ok(chain.length >= 2, "the .crt must be a bundle (leaf + issuer)");
        assert.equal(issuer, chain.slice(1).join(""));
        const info = inspectCertificate(crt);
        assert.deepEqual(info.names.sort(), ["*.env.example.com", "env.example.com"]);
        for (const f of [parsed.files.cert, parsed.files.key, parsed.files.issuer]) {
          assert.equal((await Deno.stat(f)).mode! & 0o777, 0o600, f);
        }
        const acct = `${dir}/acct/account.key`;
        assert.match(await Deno.readTextFile(acct), /BEGIN EC PRIVATE KEY/);
        assert.equal((await Deno.stat(acct)).mode! & 0o777, 0o600);
        assert.deepEqual(azure.seen, [
          "imds metadata=true resource=https://vault.azure.net",
          "vault auth=Bearer vault-access-token v=7.4",
        ]);
        assert.equal(doApi.calls.filter((c) => c.startsWith("POST")).length, 2);
        assert.ok(!JSON.stringify(log.lines).includes("token-from-vault"), "token was logged");
        assert.ok(!JSON.stringify(log.lines).includes("vault-access-token"), "token was logged");
      } finally {
        await mgr.stop();
      }
      // Restart: the files and account key are reused, nothing is ordered.
      const log2 = new RecordingLogger();
      const again = new AcmeManager(parsed.options, {
        log: log2,
        onCertificate: () => {},
        env: {},
      });
      try {
        assert.equal((await again.start()).serial, serial);
        assert.equal(log2.find("notice", /obtaining/).length, 0);
      } finally {
        await again.stop();
      }
    } finally {
      await pebble.close();
      await chall.stop();
      await doApi.close();
      await azure.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
