// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * Black-box tests of single-user and token authentication: flags, config,
 * plain and bcrypt secrets, URL credentials, exact wire errors, the auth
 * timeout, and redaction of secrets in trace logs. Every scenario also runs
 * against Debian's nats-server when it is installed, with the same
 * assertions (same accept/refuse outcome, same -ERR bytes).
 */
import { connect } from "npm:@nats-io/transport-node@3.4.0";
import { equal, match, ok, rejects } from "node:assert/strict";
import { RawClient } from "./helpers/raw.ts";
import { REPO_ROOT, type ServerProcess } from "./helpers/server.ts";
import {
  afterInfo,
  assertAccepted,
  assertRefused,
  AUTH_TIMEOUT,
  AUTH_VIOLATION,
  bcryptHash,
  eachFlavor,
  onBoth,
  rawConnect,
  readInfo,
  runToExit,
  withFlavor,
} from "./auth_helpers.ts";

const USER = "derek";
const PASS = "T0pS3cr3t";
const TOKEN = "S3Cr3T0k3n!";

/**
 * nats.js 3.4.0 does not take credentials from a server URL (its CONNECT only
 * carries what `user`/`pass`/`token`/`authenticator` give), so URL credentials
 * are read from the URL here the way clients that honour them (nats.go, the
 * nats CLI) do: `user:pass@` is a user and password, a lone `token@` a token.
 */
function urlCredentials(url: string): { user: string; pass: string } | { token: string } {
  const u = new URL(url.replace(/^nats:/, "http:"));
  const user = decodeURIComponent(u.username);
  if (u.password !== "") return { user, pass: decodeURIComponent(u.password) };
  return { token: user };
}

/** Real client: URL credentials and options both work; wrong ones are refused. */
async function realClientUserPass(s: ServerProcess): Promise<void> {
  const url = `nats://${USER}:${encodeURIComponent(PASS)}@127.0.0.1:${s.port}`;
  const viaUrl = await connect({ servers: url, reconnect: false, ...urlCredentials(url) });
  const got = (async () => {
    for await (const m of viaUrl.subscribe("hello", { max: 1 })) return m.string();
  })();
  await viaUrl.flush();
  const viaOpts = await connect({ servers: s.url, user: USER, pass: PASS, reconnect: false });
  viaOpts.publish("hello", "world");
  await viaOpts.flush();
  equal(await got, "world");
  await viaOpts.close();
  await viaUrl.close();
  await rejects(
    connect({ servers: s.url, user: USER, pass: "wrong", reconnect: false }),
    /Authorization Violation/i,
  );
  await rejects(connect({ servers: s.url, reconnect: false }), /Authorization Violation/i);
}

async function rawUserPassChecks(s: ServerProcess): Promise<void> {
  const r = await rawConnect(s, { user: USER, pass: PASS });
  equal(r.info.auth_required, true, "INFO must carry auth_required");
  equal(r.info.nonce, undefined, "no nonce without nkey users");
  equal(r.reply, "PONG\r\n");
  await assertRefused(s, { user: USER, pass: "wrong" });
  await assertRefused(s, { user: "someone", pass: PASS });
  await assertRefused(s, { user: USER });
  await assertRefused(s, {});
  await assertRefused(s, { auth_token: PASS });
}

Deno.test("auth: --user/--pass flags (dnatsd and nats-server)", async (t) => {
  await onBoth(t, "--user/--pass", { args: ["--user", USER, "--pass", PASS] }, async (s) => {
    await rawUserPassChecks(s);
    await realClientUserPass(s);
  });
});

Deno.test("auth: authorization { user, password, timeout } (dnatsd and nats-server)", async (t) => {
  const config = `authorization {\n  user: ${USER}\n  password: ${PASS}\n  timeout: 1\n}\n`;
  await onBoth(t, "authorization user/password", { config }, async (s) => {
    await rawUserPassChecks(s);
    await realClientUserPass(s);
  });
});

async function tokenChecks(s: ServerProcess, token: string): Promise<void> {
  const r = await rawConnect(s, { auth_token: token });
  equal(r.info.auth_required, true);
  equal(r.reply, "PONG\r\n");
  await assertRefused(s, { auth_token: token + "x" });
  await assertRefused(s, { auth_token: "" });
  await assertRefused(s, {});
  await assertRefused(s, { user: token, pass: token });
  // Real client: URL token form and the token option.
  const url = `nats://${encodeURIComponent(token)}@127.0.0.1:${s.port}`;
  const viaUrl = await connect({ servers: url, reconnect: false, ...urlCredentials(url) });
  await viaUrl.flush();
  await viaUrl.close();
  const viaOpt = await connect({ servers: s.url, token, reconnect: false });
  await viaOpt.flush();
  await viaOpt.close();
  await rejects(
    connect({ servers: s.url, token: "nope", reconnect: false }),
    /Authorization Violation/i,
  );
}

Deno.test("auth: --auth token flag (dnatsd and nats-server)", async (t) => {
  await onBoth(t, "--auth", { args: ["--auth", TOKEN] }, (s) => tokenChecks(s, TOKEN));
});

Deno.test("auth: authorization { token } (dnatsd and nats-server)", async (t) => {
  const config = `authorization {\n  token: "${TOKEN}"\n  timeout: 1\n}\n`;
  await onBoth(t, "authorization token", { config }, (s) => tokenChecks(s, TOKEN));
});

Deno.test("auth: bcrypt passwords $2a$ (unquoted), $2b$ and $2y$ (quoted)", async (t) => {
  const cases: Array<[string, string]> = [
    ["$2a$ unquoted", bcryptHash(PASS, "$2a$")],
    ["$2b$ quoted", `"${bcryptHash(PASS, "$2b$")}"`],
    ["$2y$ quoted", `"${bcryptHash(PASS, "$2y$")}"`],
  ];
  for (const [what, value] of cases) {
    const config = `authorization {\n  user: ${USER}\n  password: ${value}\n}\n`;
    await onBoth(t, `bcrypt password ${what}`, { config }, async (s) => {
      await assertAccepted(s, { user: USER, pass: PASS });
      await assertRefused(s, { user: USER, pass: PASS + "!" });
      // The hash itself is not a password.
      await assertRefused(s, { user: USER, pass: value.replaceAll('"', "") });
      await realClientUserPass(s);
    });
  }
});

Deno.test("auth: bcrypt tokens $2a$ (unquoted), $2b$ and $2y$ (quoted)", async (t) => {
  const cases: Array<[string, string]> = [
    ["$2a$ unquoted", bcryptHash(TOKEN, "$2a$")],
    ["$2b$ quoted", `"${bcryptHash(TOKEN, "$2b$")}"`],
    ["$2y$ quoted", `"${bcryptHash(TOKEN, "$2y$")}"`],
  ];
  for (const [what, value] of cases) {
    const config = `authorization {\n  token: ${value}\n}\n`;
    await onBoth(t, `bcrypt token ${what}`, { config }, (s) => tokenChecks(s, TOKEN));
  }
});

Deno.test("auth: an unquoted $2b$ hash is a variable reference and fails at start", async (t) => {
  const config = `authorization {\n  user: ${USER}\n  password: ${bcryptHash(PASS, "$2b$")}\n}\n`;
  await eachFlavor(t, "unquoted $2b$", async (flavor) => {
    const file = await Deno.makeTempFile({ suffix: ".conf" });
    try {
      await Deno.writeTextFile(file, config);
      const r = await runToExit(flavor, ["-c", file]);
      equal(r.code, 1, `[${flavor}] exit code; stderr: ${r.stderr}`);
      match(r.stderr, /variable reference for '2b\$04\$[^']*' on line 3 can not be found/);
    } finally {
      await Deno.remove(file);
    }
  });
});

Deno.test("auth: first op other than CONNECT gets Authorization Violation and close", async (t) => {
  await onBoth(t, "first op not CONNECT", { args: ["--user", USER, "--pass", PASS] }, async (s) => {
    for (const first of ["PING\r\n", "SUB foo 1\r\n", "PUB foo 2\r\nhi\r\n"]) {
      const raw = await RawClient.connect(s.port);
      try {
        await readInfo(raw);
        await raw.send(first);
        await raw.expectClosed();
        equal(afterInfo(raw), AUTH_VIOLATION, `first op ${JSON.stringify(first)}`);
      } finally {
        await raw.close();
      }
    }
    await s.waitForLog(/Authorization Violation|authentication error/i);
  });
});

Deno.test("auth: authorization { timeout: 0.5 } sends Authentication Timeout", async (t) => {
  const config = `authorization {\n  user: ${USER}\n  password: ${PASS}\n  timeout: 0.5\n}\n`;
  // -D: nats-server logs the timeout at debug level only.
  await onBoth(t, "auth timeout", { config, args: ["-D"] }, async (s) => {
    const raw = await RawClient.connect(s.port);
    try {
      await readInfo(raw);
      const t0 = performance.now();
      await raw.expectClosed(3000);
      const elapsed = performance.now() - t0;
      equal(afterInfo(raw), AUTH_TIMEOUT);
      ok(elapsed >= 350 && elapsed < 1500, `closed after ${elapsed.toFixed(0)} ms, want ~500`);
    } finally {
      await raw.close();
    }
    await s.waitForLog(/Authentication Timeout/);
  });
});

Deno.test("auth: bad credentials are logged at the server without the secret", async (t) => {
  await onBoth(t, "bad credential log", { args: ["--user", USER, "--pass", PASS] }, async (s) => {
    await assertRefused(s, { user: USER, pass: "Wr0ngSecretXYZ" });
    await s.waitForLog(/authentication error|Authorization Violation/i);
    ok(!s.logs.text.includes("Wr0ngSecretXYZ"), "wrong password leaked into the log");
    ok(!s.logs.text.includes(PASS), "configured password leaked into the log");
  });
});

Deno.test("auth: -DV trace never shows passwords or tokens", async (t) => {
  const pass = "PlainPa55-Secret";
  const token = "T0ken-Secret-42";
  const check = async (s: ServerProcess, creds: Record<string, string>, secret: string) => {
    const nc = await connect({ servers: s.url, reconnect: false, ...creds });
    await nc.flush();
    await nc.close();
    // The CONNECT trace line proves tracing was on and the line was written.
    await s.waitForLog(/CONNECT \{[^\n]*\[REDACTED\]/);
    ok(!s.logs.text.includes(secret), `secret found in log:\n${s.logs.text}`);
  };
  const userArgs = ["-DV", "--user", "tracer", "--pass", pass];
  await onBoth(t, "-DV redaction of pass", { args: userArgs }, async (s) => {
    await assertAccepted(s, { user: "tracer", pass });
    await check(s, { user: "tracer", pass }, pass);
  });
  // dnatsd only: nats-server 2.9.10 redacts "pass" but prints "auth_token" in clear.
  await withFlavor("dnatsd", { args: ["-DV", "--auth", token] }, async (s) => {
    await assertAccepted(s, { auth_token: token });
    await check(s, { token }, token);
  });
});

Deno.test("auth: a hash from `deno task mkpasswd -p` works in a dnatsd config", async (t) => {
  const secret = "mkpasswd-Round-Trip-9";
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "mkpasswd", "-p", "--cost", "6"],
    cwd: REPO_ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(secret));
  await w.close();
  const out = await child.output();
  const stdout = new TextDecoder().decode(out.stdout);
  equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const hash = /^bcrypt hash: (\S+)$/m.exec(stdout)?.[1];
  ok(hash, `no hash in ${JSON.stringify(stdout)}`);
  match(hash, /^\$2a\$06\$/);
  // Unquoted, exactly as the seed documentation shows it.
  const config = `authorization {\n  user: mk\n  password: ${hash}\n}\n`;
  await onBoth(t, "mkpasswd hash", { config }, async (s) => {
    await assertAccepted(s, { user: "mk", pass: secret });
    await assertRefused(s, { user: "mk", pass: "mkpasswd-Round-Trip-8" });
    const nc = await connect({ servers: s.url, user: "mk", pass: secret, reconnect: false });
    await nc.flush();
    await nc.close();
  });
});
