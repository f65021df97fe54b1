import assert from "node:assert/strict";
import { type AuthorizationOptions, defaultOptions, defaultTlsOptions } from "../config/options.ts";
import type { Options } from "../config/options.ts";
import { bcrypt, nkeys } from "../deps.ts";
import type { Logger } from "../ops/logger.ts";
import {
  type AuthContext,
  Authenticator,
  type AuthOutcome,
  type CertIdentity,
  type ConnectCredentials,
  newNonce,
} from "./authenticator.ts";
import { BcryptPool } from "./bcrypt_pool.ts";
import type { ClientAuthenticator } from "../server/auth_api.ts";

function testLogger(lines: string[] = []): Logger {
  const put = (level: string) => (msg: string) => void lines.push(`[${level}] ${msg}`);
  return {
    debugEnabled: false,
    traceEnabled: false,
    notice: put("INF"),
    warn: put("WRN"),
    error: put("ERR"),
    fatal: put("FTL"),
    debug: put("DBG"),
    trace: put("TRC"),
    reopen() {},
    close() {},
  };
}

function opts(extra: Partial<Options>): Options {
  return { ...defaultOptions(), ...extra };
}

function auth(authorization: AuthorizationOptions, extra: Partial<Options> = {}): Authenticator {
  return new Authenticator(opts({ authorization, ...extra }), { log: testLogger() });
}

/** Asserts a synchronous outcome (no bcrypt work). */
function sync(a: Authenticator, creds: ConnectCredentials, ctx: AuthContext = {}): AuthOutcome {
  const r = a.authenticate(creds, ctx);
  assert.ok(!(r instanceof Promise), "expected a synchronous outcome");
  return r;
}

function b64url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

Deno.test("Authenticator without auth lets everyone in as $G", () => {
  const a = new Authenticator(defaultOptions(), { log: testLogger() });
  assert.equal(a.authRequired, false);
  assert.equal(a.needsNonce, false);
  assert.equal(a.timeoutMs, 2000);
  assert.deepEqual(sync(a, {}), { ok: true, account: "$G", permissions: null });
  assert.deepEqual(a.accountNames(), ["$G"]);
});

Deno.test("Authenticator single user (plain password)", () => {
  const a = auth({ user: "derek", password: "T0pS3cr3t", timeout: 1 });
  assert.equal(a.authRequired, true);
  assert.equal(a.timeoutMs, 1000);
  const ok = sync(a, { user: "derek", pass: "T0pS3cr3t" });
  assert.equal(ok.ok, true);
  assert.equal(ok.ok && ok.user, "derek");
  assert.equal(sync(a, { user: "derek", pass: "wrong" }).ok, false);
  assert.equal(sync(a, { user: "other", pass: "T0pS3cr3t" }).ok, false);
  assert.equal(sync(a, {}).ok, false);
  const bad = sync(a, { user: "derek", pass: "Xyzzy-42" });
  assert.ok(!bad.ok && !bad.reason.includes("Xyzzy-42") && !bad.reason.includes("T0pS3cr3t"));
});

Deno.test("Authenticator token (plain and bcrypt)", async () => {
  const a = auth({ token: "S3Cr3T0k3n!" });
  assert.equal(sync(a, { auth_token: "S3Cr3T0k3n!" }).ok, true);
  assert.equal(sync(a, { auth_token: "nope" }).ok, false);
  assert.equal(sync(a, { user: "S3Cr3T0k3n!" }).ok, false);
  const pool = new BcryptPool();
  try {
    const b = new Authenticator(
      opts({
        authorization: { token: "$2a$11$UP3xizk94sWF9SHF/wkklOfBT9jphTGNrhZqz2OHoBdk9yO1kvErG" },
      }),
      { log: testLogger(), bcrypt: pool },
    );
    const first = b.authenticate({ auth_token: "S3Cr3T0k3n!" }, {});
    assert.ok(first instanceof Promise, "first bcrypt check runs in the pool");
    assert.equal((await first).ok, true);
    // cached now: synchronous
    assert.equal(sync(b, { auth_token: "S3Cr3T0k3n!" }).ok, true);
    const wrong = b.authenticate({ auth_token: "S3Cr3T0k3n?" }, {});
    assert.ok(wrong instanceof Promise, "a wrong token is never cached");
    const w = await wrong;
    assert.ok(!w.ok && !w.reason.includes("S3Cr3T0k3n"));
    b.close(); // shared pool stays open
    assert.equal(await pool.compare("x", "$2a$04$" + "a".repeat(53)), false);
  } finally {
    pool.close();
  }
});

Deno.test("Authenticator users list: $2a/$2b/$2y passwords, permissions, defaults", async () => {
  const h = bcrypt.hashSync("bar", 4).slice(4);
  const a = auth({
    users: [
      { user: "joe", password: "foo", permissions: { publish: { allow: [">"] } } },
      { user: "alice", password: "$2a$" + h, permissions: { publish: { allow: ["req.foo"] } } },
      { user: "bob", password: "$2b$" + h },
      { user: "carol", password: "$2y$" + h },
    ],
    defaultPermissions: { publish: { allow: ["SANDBOX.*"] } },
  });
  try {
    const joe = sync(a, { user: "joe", pass: "foo" });
    assert.ok(joe.ok && joe.account === "$G" && joe.permissions?.canPublish("any.thing"));
    assert.equal(sync(a, { user: "joe", pass: "bar" }).ok, false);
    assert.equal(sync(a, { user: "nobody", pass: "foo" }).ok, false);
    for (const user of ["alice", "bob", "carol"]) {
      const r = await a.authenticate({ user, pass: "bar" }, {});
      assert.equal(r.ok, true, user);
      assert.equal((await a.authenticate({ user, pass: "foo" }, {})).ok, false, user);
    }
    const alice = await a.authenticate({ user: "alice", pass: "bar" }, {});
    assert.ok(alice.ok && alice.permissions);
    assert.equal(alice.permissions.canPublish("req.foo"), true);
    assert.equal(alice.permissions.canPublish("SANDBOX.x"), false);
    const bob = await a.authenticate({ user: "bob", pass: "bar" }, {});
    assert.ok(bob.ok && bob.permissions);
    assert.equal(bob.permissions.canPublish("SANDBOX.x"), true, "default_permissions");
    assert.equal(bob.permissions.canPublish("req.foo"), false);
    // every connection gets its own checker
    const bob2 = await a.authenticate({ user: "bob", pass: "bar" }, {});
    assert.ok(bob2.ok && bob2.permissions !== bob.permissions);
  } finally {
    a.close();
  }
});

Deno.test("Authenticator nkey users sign the nonce", () => {
  const user = nkeys.createUser();
  const pub = user.getPublicKey();
  const a = auth({ users: [{ nkey: pub, permissions: { subscribe: { allow: ["x"] } } }] });
  assert.equal(a.needsNonce, true);
  assert.equal(a.authRequired, true);
  const nonce = newNonce();
  const sig = b64url(user.sign(new TextEncoder().encode(nonce)));
  const ok = sync(a, { nkey: pub, sig }, { nonce });
  assert.ok(ok.ok && ok.nkey === pub && ok.permissions?.canSubscribe("x", null));
  assert.equal(sync(a, { nkey: pub, sig }, { nonce: newNonce() }).ok, false);
  assert.equal(sync(a, { nkey: pub }, { nonce }).ok, false);
  assert.equal(sync(a, { nkey: pub, sig }, {}).ok, false);
  const stranger = nkeys.createUser();
  const ssig = b64url(stranger.sign(new TextEncoder().encode(nonce)));
  assert.equal(sync(a, { nkey: stranger.getPublicKey(), sig: ssig }, { nonce }).ok, false);
});

Deno.test("Authenticator accounts put users in their account", () => {
  const a = new Authenticator(
    opts({
      accounts: [
        { name: "A", users: [{ user: "a", password: "pa" }] },
        {
          name: "B",
          users: [{ user: "b", password: "pb" }],
          defaultPermissions: { publish: { deny: [">"] } },
        },
        { name: "C", users: [] },
      ],
      authorization: { users: [{ user: "g", password: "pg" }] },
    }),
    { log: testLogger() },
  );
  assert.deepEqual(a.accountNames(), ["$G", "A", "B", "C"]);
  const ra = sync(a, { user: "a", pass: "pa" });
  assert.ok(ra.ok && ra.account === "A" && ra.permissions === null);
  const rb = sync(a, { user: "b", pass: "pb" });
  assert.ok(rb.ok && rb.account === "B" && rb.permissions?.canPublish("x") === false);
  const rg = sync(a, { user: "g", pass: "pg" });
  assert.ok(rg.ok && rg.account === "$G");
  assert.equal(sync(a, { user: "a", pass: "pb" }).ok, false);
});

Deno.test("Authenticator no_auth_user: anonymous CONNECT becomes that user", () => {
  const a = new Authenticator(
    opts({
      accounts: [{ name: "FOO", users: [{ user: "anon", password: "x" }] }],
      authorization: { users: [{ user: "real", password: "secret" }] },
      noAuthUser: "anon",
    }),
    { log: testLogger() },
  );
  assert.equal(a.authRequired, false);
  const r = sync(a, {});
  assert.ok(r.ok && r.user === "anon" && r.account === "FOO");
  assert.equal(sync(a, { user: "real", pass: "secret" }).ok, true);
  assert.equal(sync(a, { user: "real", pass: "nope" }).ok, false);
  assert.throws(
    () =>
      new Authenticator(
        opts({ authorization: { users: [{ user: "a", password: "b" }] }, noAuthUser: "zz" }),
        { log: testLogger() },
      ),
    /no_auth_user/,
  );
});

Deno.test("Authenticator no_auth_user: only a CONNECT without user, password and token", () => {
  const a = new Authenticator(
    opts({
      authorization: {
        users: [{ user: "alice", password: "apw" }, { user: "bob", password: "bpw" }],
      },
      noAuthUser: "bob",
    }),
    { log: testLogger() },
  );
  const anon: ConnectCredentials = {};
  const r = sync(a, anon);
  assert.ok(r.ok && r.user === "bob");
  // As nats-server, the chosen user and password are written into the credentials,
  // so that a later CONNECT merging into them is checked against that user.
  assert.deepEqual(anon, { user: "bob", pass: "bpw" });
  assert.ok(sync(a, { user: "" }).ok, "an empty user is no user");
  // Was: each of these logged in as bob.
  for (const creds of [{ auth_token: "x" }, { pass: "x" }, { user: "", pass: "bpw" }]) {
    assert.equal(sync(a, creds).ok, false, JSON.stringify(creds));
  }
  assert.equal(sync(a, { pass: "bpw" }).ok, false, "a password alone is not the no_auth_user");
  assert.equal(a.violationLine({ user: "x\n" }), 'authentication error - User "x\\n"');
});

Deno.test("Authenticator: the token is checked before the single user (nats-server order)", () => {
  const a = auth({ user: "alice", password: "apw", token: "tok" });
  assert.equal(a.authRequired, true);
  assert.equal(sync(a, { auth_token: "tok" }).ok, true);
  // Was: the single user won and the token was ignored.
  assert.equal(sync(a, { user: "alice", pass: "apw" }).ok, false);
  assert.equal(sync(a, { user: "alice", pass: "apw", auth_token: "tok" }).ok, true);
  assert.equal(a.violationLine({ user: "alice" }), "authentication error");
  // Next to a users list, a CONNECT naming no user is checked against the token.
  const b = auth({ users: [{ user: "bob", password: "bpw" }], token: "tok" });
  assert.equal(sync(b, { auth_token: "tok" }).ok, true);
  assert.equal(sync(b, { user: "bob", pass: "x", auth_token: "tok" }).ok, false);
  // An empty users list is no users: no auth.
  assert.equal(auth({ users: [] }).active, false);
});

Deno.test("Authenticator verify_and_map by email SAN and by subject DN", () => {
  const lines: string[] = [];
  const a = new Authenticator(
    opts({
      tls: { ...defaultTlsOptions(), verify: true, verifyAndMap: true },
      authorization: {
        users: [
          { user: "derek@nats.io", permissions: { publish: { allow: ["derek.>"] } } },
          { user: "CN=example.com,OU=CNCF" },
          { user: "OU=ops,CN=svc.local" },
          { user: "dns.example.com" },
        ],
      },
    }),
    { log: testLogger(lines) },
  );
  assert.equal(a.verifyAndMap, true);
  assert.equal(a.timeoutMs, 3000, "tls timeout + 1 s");
  const cert = (c: Partial<CertIdentity>): CertIdentity => ({
    emails: [],
    dnsNames: [],
    uris: [],
    subjectDn: "CN=nobody",
    ...c,
  });
  const byEmail = sync(a, {}, { cert: cert({ emails: ["derek@nats.io"] }) });
  assert.ok(byEmail.ok && byEmail.user === "derek@nats.io");
  assert.equal(byEmail.permissions?.canPublish("derek.x"), true);
  const byDn = sync(a, {}, { cert: cert({ subjectDn: "CN=example.com,OU=CNCF" }) });
  assert.ok(byDn.ok && byDn.user === "CN=example.com,OU=CNCF");
  // spacing/case of attribute types, and a DN written in certificate order
  assert.equal(sync(a, {}, { cert: cert({ subjectDn: "cn=example.com, ou=CNCF" }) }).ok, true);
  assert.equal(sync(a, {}, { cert: cert({ subjectDn: "CN=svc.local,OU=ops" }) }).ok, true);
  assert.equal(sync(a, {}, { cert: cert({ dnsNames: ["dns.example.com"] }) }).ok, true);
  // email not known: falls through to the DN
  const fall = sync(a, {}, {
    cert: cert({ emails: ["x@y.z"], subjectDn: "CN=example.com,OU=CNCF" }),
  });
  assert.ok(fall.ok && fall.user === "CN=example.com,OU=CNCF");
  assert.equal(sync(a, {}, { cert: cert({ subjectDn: "CN=example.com,OU=Other" }) }).ok, false);
  assert.equal(sync(a, { user: "derek@nats.io" }, {}).ok, false, "no certificate");
  assert.equal(sync(a, { user: "x" }, { cert: cert({ emails: ["derek@nats.io"] }) }).ok, true);
  assert.ok(lines.some((l) => l.includes("user required from cert")));
});

Deno.test("Authenticator allowed_connection_types", () => {
  const a = auth({
    users: [{ user: "ws", password: "p", allowedConnectionTypes: ["WEBSOCKET"] }],
  });
  assert.equal(sync(a, { user: "ws", pass: "p" }).ok, false);
  assert.equal(sync(a, { user: "ws", pass: "p" }, { connectionType: "websocket" }).ok, true);
});

Deno.test("Authenticator timeout defaults and reload re-authentication is cheap", async () => {
  assert.equal(
    auth({ token: "t" }, { tls: { ...defaultTlsOptions(), timeout: 0.5 } }).timeoutMs,
    1500,
  );
  assert.equal(auth({ token: "t", timeout: 0.25 }).timeoutMs, 250);
  const pool = new BcryptPool();
  try {
    const hash = bcrypt.hashSync("pw", 10);
    const conf = opts({ authorization: { users: [{ user: "u", password: hash }] } });
    const before = new Authenticator(conf, { log: testLogger(), bcrypt: pool });
    const creds = { user: "u", pass: "pw" };
    assert.equal((await before.authenticate(creds, {})).ok, true);
    // the reloaded server re-checks stored credentials: a synchronous cache hit
    const after = new Authenticator(conf, { log: testLogger(), bcrypt: pool });
    assert.equal(sync(after, creds).ok, true);
    before.close();
    after.close();
  } finally {
    pool.close();
  }
});

Deno.test("Authenticator satisfies the server's ClientAuthenticator contract", () => {
  const a: ClientAuthenticator = auth({
    users: [{
      user: "u",
      password: "p",
      permissions: { allowResponses: { maxMsgs: 1, expiresMs: 1 } },
    }],
  });
  const r = a.authenticate({ user: "u", pass: "p" }, {});
  assert.ok(!(r instanceof Promise) && r.ok && r.permissions?.respondsToReplies === true);
  a.close();
});
