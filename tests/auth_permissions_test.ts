// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * Black-box tests of multi-user authorization: per-user permissions through
 * config variables, default_permissions, the old and the allow/deny forms,
 * queue-group permissions, allow_responses, no_auth_user, NKey users and
 * account isolation. Exact -ERR bytes are checked over raw sockets, and every
 * config also runs against Debian's nats-server when it is installed.
 */
import { connect, type NatsConnection, nkeyAuthenticator } from "npm:@nats-io/transport-node@3.4.0";
import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import { nkeys } from "../lib/deps.ts";
import type { ServerProcess } from "./helpers/server.ts";
import { RawClient } from "./helpers/raw.ts";
import {
  afterInfo,
  assertAccepted,
  assertRefused,
  onBoth,
  RawSession,
  readInfo,
} from "./auth_helpers.ts";

const pubErr = (s: string) => `-ERR 'Permissions Violation for Publish to "${s}"'\r\n`;
const subErr = (s: string, q?: string) =>
  `-ERR 'Permissions Violation for Subscription to "${s}"${
    q === undefined ? "" : ` using queue "${q}"`
  }'\r\n`;

/** Runs `[op, expected reply]` steps in one raw session and checks each reply byte for byte. */
async function steps(
  s: ServerProcess,
  creds: Record<string, unknown>,
  list: Array<[string, string]>,
): Promise<void> {
  const session = await RawSession.open(s, creds);
  try {
    for (const [op, want] of list) {
      equal(await session.step(op), want, `${JSON.stringify(creds)}: ${JSON.stringify(op)}`);
    }
    ok(!session.raw.closed, "a permissions violation must not close the connection");
  } finally {
    await session.close();
  }
}

const PERMS_CONFIG = `
authorization {
  ADMIN = {
    publish = ">"
    subscribe = ">"
  }
  REQUESTOR = {
    publish = ["req.foo", "req.bar"]
    subscribe = "_INBOX.>"
  }
  RESPONDER = {
    subscribe = ["req.foo", "req.bar"]
    publish = "_INBOX.>"
  }
  DEFAULT_PERMISSIONS = {
    publish = "SANDBOX.*"
    subscribe = ["PUBLIC.>", "_INBOX.>"]
  }
  myUserPerms = {
    publish = {
      allow = "*.*"
      deny = ["SYS.*", "bar.baz", "foo.*"]
    }
    subscribe = {
      allow = ["foo.*", "bar"]
      deny = "foo.baz"
    }
  }
  QUEUES = {
    subscribe = {
      allow = ["foo.* myqueue", "bar", "baz.>"]
      deny = ["baz.* badq"]
    }
  }
  PASS: abcdefghijklmnopqrstuvwxwz0123456789
  default_permissions = $DEFAULT_PERMISSIONS
  users = [
    {user: joe, password: foo, permissions: $ADMIN}
    {user: alice, password: bar, permissions: $REQUESTOR}
    {user: bob, password: $PASS, permissions: $RESPONDER}
    {user: charlie, password: bar}
    {user: myUser, password: pwd, permissions: $myUserPerms}
    {user: q, password: q, permissions: $QUEUES}
  ]
}
`;

Deno.test("authz: per-user permissions, variables, defaults, old and allow/deny forms", async (t) => {
  await onBoth(t, "multi-user permissions", { config: PERMS_CONFIG, args: ["-D"] }, async (s) => {
    await assertRefused(s, { user: "joe", pass: "bar" });
    await assertRefused(s, { user: "nobody", pass: "foo" });
    await assertAccepted(s, { user: "bob", pass: "abcdefghijklmnopqrstuvwxwz0123456789" });
    await steps(s, { user: "joe", pass: "foo" }, [
      ["SUB anything.at.all 1\r\n", ""],
      ["PUB SYS.x 0\r\n\r\n", ""],
    ]);
    await steps(s, { user: "alice", pass: "bar" }, [
      ["PUB req.foo 2\r\nhi\r\n", ""],
      ["PUB req.baz 2\r\nhi\r\n", pubErr("req.baz")],
      ["SUB _INBOX.abc 1\r\n", ""],
      ["SUB req.foo 2\r\n", subErr("req.foo")],
      // The cached verdict gives the same answer the second time.
      ["PUB req.baz 0\r\n\r\n", pubErr("req.baz")],
    ]);
    await steps(s, { user: "bob", pass: "abcdefghijklmnopqrstuvwxwz0123456789" }, [
      ["SUB req.foo 1\r\n", ""],
      ["SUB req.* 2\r\n", subErr("req.*")],
      ["PUB _INBOX.x.y 0\r\n\r\n", ""],
      ["PUB req.foo 0\r\n\r\n", pubErr("req.foo")],
    ]);
    // charlie has no permissions of his own: default_permissions apply.
    await steps(s, { user: "charlie", pass: "bar" }, [
      ["PUB SANDBOX.a 0\r\n\r\n", ""],
      ["PUB SANDBOX.a.b 0\r\n\r\n", pubErr("SANDBOX.a.b")],
      ["SUB PUBLIC.news 1\r\n", ""],
      ["SUB PRIVATE.news 2\r\n", subErr("PRIVATE.news")],
    ]);
    await steps(s, { user: "myUser", pass: "pwd" }, [
      ["PUB a.b 0\r\n\r\n", ""],
      ["PUB SYS.x 0\r\n\r\n", pubErr("SYS.x")],
      ["PUB bar.baz 0\r\n\r\n", pubErr("bar.baz")],
      ["PUB foo.bar 0\r\n\r\n", pubErr("foo.bar")],
      ["PUB single 0\r\n\r\n", pubErr("single")],
      ["SUB foo.bar 1\r\n", ""],
      ["SUB bar 2\r\n", ""],
      ["SUB foo.baz 3\r\n", subErr("foo.baz")],
      ["SUB baz 4\r\n", subErr("baz")],
    ]);
    await steps(s, { user: "q", pass: "q" }, [
      ["SUB foo.x myqueue 1\r\n", ""],
      ["SUB foo.x other 2\r\n", subErr("foo.x", "other")],
      ["SUB foo.x 3\r\n", subErr("foo.x")],
      ["SUB bar anyq 4\r\n", ""],
      ["SUB baz.x goodq 5\r\n", ""],
      ["SUB baz.x badq 6\r\n", subErr("baz.x", "badq")],
      ["SUB baz.x 7\r\n", ""],
    ]);
    // Violations are logged at the server.
    await s.waitForLog(/Publish Violation - User "alice", Subject "req\.baz"\n/);
    await s.waitForLog(/Subscription Violation - User "bob", Subject "req\.\*", SID 2\n/);
    await s.waitForLog(
      /Subscription Violation - User "q", Subject "foo\.x", Queue: "other", SID 2\n/,
    );
  });
});

Deno.test("authz: request/reply with REQUESTOR and RESPONDER through the real client", async (t) => {
  await onBoth(t, "requestor/responder", { config: PERMS_CONFIG }, async (s) => {
    const bob = await connect({
      servers: s.url,
      user: "bob",
      pass: "abcdefghijklmnopqrstuvwxwz0123456789",
      reconnect: false,
    });
    const alice = await connect({ servers: s.url, user: "alice", pass: "bar", reconnect: false });
    try {
      bob.subscribe("req.foo", { callback: (_e, m) => void m.respond(`re:${m.string()}`) });
      await bob.flush();
      const r = await alice.request("req.foo", "ping", { timeout: 2000 });
      equal(r.string(), "re:ping");
      // alice may not publish outside her list: the server reports it asynchronously.
      const errs: string[] = [];
      (async () => {
        for await (const st of alice.status()) if (st.type === "error") errs.push(String(st.error));
      })();
      alice.publish("req.other", "x");
      await alice.flush();
      await waitUntil(() => errs.some((e) => /Permissions Violation for Publish/.test(e)));
    } finally {
      await alice.close();
      await bob.close();
    }
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

const RESPONSES_CONFIG = `
authorization {
  users = [
    {user: svc, password: svc, permissions: {subscribe: "svc.>", allow_responses: true}}
    {user: svc2, password: svc2, permissions: {
      subscribe: "svc.>"
      allow_responses: {max: 2, expires: "400ms"}
    }}
    {user: cli, password: cli}
  ]
}
`;

Deno.test("authz: allow_responses lets a responder reply once, then refuses", async (t) => {
  await onBoth(t, "allow_responses", { config: RESPONSES_CONFIG }, async (s) => {
    const cli = await RawSession.open(s, { user: "cli", pass: "cli" });
    const svc = await RawSession.open(s, { user: "svc", pass: "svc" });
    const svc2 = await RawSession.open(s, { user: "svc2", pass: "svc2" });
    try {
      equal(await svc.step("SUB svc.a 1\r\n"), "");
      equal(await svc2.step("SUB svc.b 1\r\n"), "");
      equal(await cli.step("SUB reply.> 9\r\n"), "");
      // No request seen yet: the reply subject is not granted.
      equal(await svc.step("PUB reply.1 0\r\n\r\n"), pubErr("reply.1"));
      // A publish allow list is empty with allow_responses: nothing else is allowed.
      equal(await svc.step("PUB svc.a 0\r\n\r\n"), pubErr("svc.a"));
      equal(await cli.step("PUB svc.a reply.1 3\r\nreq\r\n"), "");
      equal(await svc.step(""), "MSG svc.a 1 reply.1 3\r\nreq\r\n");
      equal(await svc.step("PUB reply.1 4\r\nresp\r\n"), "");
      equal(await cli.step(""), "MSG reply.1 9 4\r\nresp\r\n");
      equal(await svc.step("PUB reply.1 4\r\nresp\r\n"), pubErr("reply.1"));
      equal(await svc.step("PUB reply.2 0\r\n\r\n"), pubErr("reply.2"));

      // max 2: two replies, the third is refused.
      equal(await cli.step("PUB svc.b reply.2 1\r\nx\r\n"), "");
      equal(await svc2.step(""), "MSG svc.b 1 reply.2 1\r\nx\r\n");
      equal(await svc2.step("PUB reply.2 1\r\n1\r\nPUB reply.2 1\r\n2\r\n"), "");
      equal(await svc2.step("PUB reply.2 1\r\n3\r\n"), pubErr("reply.2"));
      equal(await cli.step(""), "MSG reply.2 9 1\r\n1\r\nMSG reply.2 9 1\r\n2\r\n");

      // expires 400ms: a reply after the grant expired is refused.
      equal(await cli.step("PUB svc.b reply.3 1\r\nx\r\n"), "");
      equal(await svc2.step(""), "MSG svc.b 1 reply.3 1\r\nx\r\n");
      // Waiting out the grant's lifetime is the behaviour under test, not a synchronisation.
      await new Promise((r) => setTimeout(r, 700));
      equal(await svc2.step("PUB reply.3 1\r\nz\r\n"), pubErr("reply.3"));
      equal(await cli.step(""), "");
    } finally {
      await cli.close();
      await svc.close();
      await svc2.close();
    }
  });
});

const NO_AUTH_CONFIG = `
authorization {
  users = [
    {user: anon, password: anonpw, permissions: {publish: "public.>", subscribe: "public.>"}}
    {user: admin, password: adminpw}
  ]
}
no_auth_user: anon
`;

Deno.test("authz: no_auth_user gives credential-less clients that user's permissions", async (t) => {
  await onBoth(t, "no_auth_user", { config: NO_AUTH_CONFIG }, async (s) => {
    // No CONNECT at all: the client already is the no_auth_user.
    const raw = await RawClient.connect(s.port);
    try {
      const info = await readInfo(raw);
      equal(info.auth_required, undefined, "no_auth_user: INFO without auth_required");
      await raw.send("SUB private.a 1\r\nPUB private.a 0\r\n\r\nSUB public.a 2\r\nPING\r\n");
      await raw.expect(/PONG\r\n/);
      // verbose is on until a CONNECT says otherwise: the allowed SUB gets +OK.
      equal(afterInfo(raw), subErr("private.a") + pubErr("private.a") + "+OK\r\nPONG\r\n");
    } finally {
      await raw.close();
    }
    await steps(s, {}, [
      ["PUB public.a 0\r\n\r\n", ""],
      ["PUB private.a 0\r\n\r\n", pubErr("private.a")],
      ["SUB private.a 1\r\n", subErr("private.a")],
    ]);
    await steps(s, { user: "admin", pass: "adminpw" }, [["PUB private.a 0\r\n\r\n", ""]]);
    await assertRefused(s, { user: "admin", pass: "wrong" });
    await assertRefused(s, { user: "ghost", pass: "x" });
    const nc = await connect({ servers: s.url, reconnect: false });
    try {
      const got = (async () => {
        for await (const m of nc.subscribe("public.x", { max: 1 })) return m.string();
      })();
      await nc.flush();
      nc.publish("public.x", "hi");
      equal(await got, "hi");
    } finally {
      await nc.close();
    }
  });
});

Deno.test("authz: nkey users sign the INFO nonce (real client and raw)", async (t) => {
  const kp = nkeys.createUser();
  const limited = nkeys.createUser();
  const stranger = nkeys.createUser();
  const config = `
authorization {
  users = [
    {nkey: ${kp.getPublicKey()}}
    {nkey: ${limited.getPublicKey()}, permissions: {publish: "only.this"}}
    {user: pwuser, password: pw}
  ]
}
`;
  const sign = (k: typeof kp, nonce: unknown) =>
    nkeys.encode(k.sign(new TextEncoder().encode(String(nonce))));
  await onBoth(t, "nkey users", { config }, async (s) => {
    const session = await RawSession.open(s, (info) => ({
      nkey: kp.getPublicKey(),
      sig: sign(kp, info.nonce),
    }));
    ok(typeof session.info.nonce === "string" && session.info.nonce.length > 0, "INFO nonce");
    equal(session.info.auth_required, true);
    await session.close();
    await steps(s, { user: "pwuser", pass: "pw" }, [["PUB x 0\r\n\r\n", ""]]);
    // Wrong signer, unknown key, no signature, a signature of another nonce.
    await assertRefusedWithInfo(s, (info) => ({
      nkey: kp.getPublicKey(),
      sig: sign(stranger, info.nonce),
    }));
    await assertRefusedWithInfo(s, (info) => ({
      nkey: stranger.getPublicKey(),
      sig: sign(stranger, info.nonce),
    }));
    await assertRefused(s, { nkey: kp.getPublicKey() });
    await assertRefused(s, { nkey: kp.getPublicKey(), sig: sign(kp, "not-the-nonce") });

    const nc = await connect({
      servers: s.url,
      authenticator: nkeyAuthenticator(kp.getSeed()),
      reconnect: false,
    });
    await nc.flush();
    await nc.close();
    const lim = await connect({
      servers: s.url,
      authenticator: nkeyAuthenticator(limited.getSeed()),
      reconnect: false,
    });
    lim.publish("only.this", "ok");
    await lim.flush();
    await lim.close();
    await checkLimitedNkey(s, limited, sign);
    await rejects(
      connect({
        servers: s.url,
        authenticator: nkeyAuthenticator(stranger.getSeed()),
        reconnect: false,
      }),
      /Authorization Violation/i,
    );
  });
});

/** The nkey user with a publish allow list gets exact violations (raw, signing the nonce). */
async function checkLimitedNkey(
  s: ServerProcess,
  k: ReturnType<typeof nkeys.createUser>,
  sign: (k: ReturnType<typeof nkeys.createUser>, nonce: unknown) => string,
): Promise<void> {
  const session = await RawSession.open(s, (info) => ({
    nkey: k.getPublicKey(),
    sig: sign(k, info.nonce),
  }));
  try {
    equal(await session.step("PUB only.this 0\r\n\r\n"), "");
    equal(await session.step("PUB not.this 0\r\n\r\n"), pubErr("not.this"));
  } finally {
    await session.close();
  }
}

async function assertRefusedWithInfo(
  s: ServerProcess,
  fields: (info: Record<string, unknown>) => Record<string, unknown>,
): Promise<void> {
  await rejects(RawSession.open(s, fields), /Authorization Violation/);
}

const ACCOUNTS_CONFIG = `
accounts {
  A: { users: [{user: a1, password: a1}, {user: a2, password: a2}] }
  B: { users: [{user: b1, password: b1}, {user: b2, password: b2}] }
}
`;

Deno.test("authz: accounts are isolated (same subject, no cross-talk)", async (t) => {
  await onBoth(t, "accounts isolation", { config: ACCOUNTS_CONFIG }, async (s) => {
    const conns: NatsConnection[] = [];
    const open = async (user: string) => {
      const nc = await connect({ servers: s.url, user, pass: user, reconnect: false });
      conns.push(nc);
      return nc;
    };
    try {
      const [a1, a2, b1, b2] = await Promise.all(["a1", "a2", "b1", "b2"].map(open));
      const seen = (nc: NatsConnection, last: string) => {
        const got: string[] = [];
        const done = (async () => {
          for await (const m of nc.subscribe("shared.>")) {
            got.push(m.string());
            if (m.string() === last) break;
          }
          return got;
        })();
        return done;
      };
      const a1Got = seen(a1!, "a-end");
      const b1Got = seen(b1!, "b-end");
      await a1!.flush();
      await b1!.flush();
      a2!.publish("shared.x", "a-msg");
      b2!.publish("shared.x", "b-msg");
      a2!.publish("shared.y", "a-end");
      b2!.publish("shared.y", "b-end");
      deepStrictEqual(await a1Got, ["a-msg", "a-end"]);
      deepStrictEqual(await b1Got, ["b-msg", "b-end"]);
      // Request/reply does not cross accounts either.
      b1!.subscribe("svc", { callback: (_e, m) => void m.respond("from-B") });
      await b1!.flush();
      await rejects(a2!.request("svc", "?", { timeout: 500 }));
      equal((await b2!.request("svc", "?", { timeout: 2000 })).string(), "from-B");
    } finally {
      await Promise.all(conns.map((c) => c.close()));
    }
    await assertRefused(s, { user: "a1", pass: "b1" });
  });
});
