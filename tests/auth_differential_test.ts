/**
 * Differential tests of client authentication against Debian's nats-server:
 * every auth mode (none, single user from flags and config, token, flags
 * combined with a config file, users list, bcrypt, NKeys, accounts,
 * no_auth_user, connection types), every credential combination in CONNECT
 * (missing, empty, wrong type, right, wrong, mixed), a CONNECT that is not the
 * first op, and a second CONNECT (same, other and wrong credentials, partial
 * fields that merge with the first). Each case goes to both servers as raw
 * bytes; the bytes after INFO, the close decision and the connection's
 * error/warning log lines must be identical.
 */
import { equal } from "node:assert/strict";
import { nkeys } from "../lib/deps.ts";
import { missing } from "./helpers/requires.ts";
import { prng } from "../lib/router/_test_util.ts";
import {
  describeMismatches,
  type DiffCase,
  type Mismatch,
  runDifferential,
  ServerPair,
} from "./helpers/differential.ts";
import {
  assertAccepted,
  assertRefused,
  AUTH_VIOLATION,
  bcryptHash,
  logShows,
  rawConnect,
  RawSession,
  runToExit,
  withFlavor,
} from "./auth_helpers.ts";
import { REPO_ROOT, ServerProcess } from "./helpers/server.ts";
import { startMonitored } from "./monitor_helpers.ts";

const TOKEN = "s3cr3t-t0ken";
const N1 = nkeys.createUser();
const N2 = nkeys.createUser();
const enc = new TextEncoder();
const sign = (kp: typeof N1, nonce: unknown) => nkeys.encode(kp.sign(enc.encode(String(nonce))));

/** A CONNECT field set; `$sig`/`$sig2` are replaced by N1's/N2's signature of the nonce. */
type Fields = Record<string, unknown>;

function connectLine(fields: Fields | string, info: Record<string, unknown>): string {
  if (typeof fields === "string") return `CONNECT ${fields}\r\n`;
  const f: Fields = { ...fields };
  for (const [k, v] of Object.entries(f)) {
    if (v === "$sig") f[k] = sign(N1, info.nonce);
    if (v === "$sig2") f[k] = sign(N2, info.nonce);
  }
  return `CONNECT ${JSON.stringify(f)}\r\n`;
}

const base = { verbose: true, pedantic: false };

/** First CONNECTs: every credential combination, including bad JSON types. */
const CREDENTIALS: Array<[string, Fields | string]> = [
  ["no credentials", {}],
  ["user only", { user: "alice" }],
  ["pass only", { pass: "apw" }],
  ["alice right", { user: "alice", pass: "apw" }],
  ["alice wrong pass", { user: "alice", pass: "bpw" }],
  ["bob right", { user: "bob", pass: "bpw" }],
  ["unknown user", { user: "mallory", pass: "apw" }],
  ["user with empty pass", { user: "alice", pass: "" }],
  ["empty user with pass", { user: "", pass: "apw" }],
  ["empty user with bob's pass", { user: "", pass: "bpw" }],
  ["empty user and pass", { user: "", pass: "" }],
  ["empty user", { user: "" }],
  ["empty pass", { pass: "" }],
  ["token right", { auth_token: TOKEN }],
  ["token wrong", { auth_token: TOKEN + "x" }],
  ["token empty", { auth_token: "" }],
  ["token right and user", { auth_token: TOKEN, user: "alice" }],
  ["token right and alice", { auth_token: TOKEN, user: "alice", pass: "apw" }],
  ["token right and alice wrong", { auth_token: TOKEN, user: "alice", pass: "x" }],
  ["token wrong and alice right", { auth_token: "x", user: "alice", pass: "apw" }],
  ["token as password", { user: "alice", pass: TOKEN }],
  ["nkey without sig", { nkey: N1.getPublicKey() }],
  ["nkey with sig", { nkey: N1.getPublicKey(), sig: "$sig" }],
  ["nkey with other key's sig", { nkey: N1.getPublicKey(), sig: "$sig2" }],
  ["nkey with garbage sig", { nkey: N1.getPublicKey(), sig: "!!!" }],
  ["unknown nkey with its sig", { nkey: N2.getPublicKey(), sig: "$sig2" }],
  ["nkey without sig and alice", { nkey: N1.getPublicKey(), user: "alice", pass: "apw" }],
  ["unknown nkey and alice", { nkey: N2.getPublicKey(), sig: "$sig2", user: "alice", pass: "apw" }],
  ["empty nkey and alice", { nkey: "", user: "alice", pass: "apw" }],
  ["empty nkey", { nkey: "" }],
  ["jwt only", { jwt: "eyJ0eXAi.x.y" }],
  ["user null", { user: null, pass: null, auth_token: null }],
  ["user number", { user: 1, pass: "apw" }],
  ["pass bool", { user: "alice", pass: true }],
  ["token object", { auth_token: {} }],
  ["user array", { user: ["alice"], pass: "apw" }],
  ["nkey number", { nkey: 5 }],
  ["sig number", { nkey: N1.getPublicKey(), sig: 5 }],
  ["jwt number", { jwt: 5 }],
  ["verbose string", { verbose: "true" }],
  ["echo number", { echo: 1 }],
  ["name number", { name: 1 }],
  ["protocol string", { protocol: "1" }],
  ["protocol float", { protocol: 1.5 }],
  ["protocol 1.0", '{"verbose":true,"pedantic":false,"protocol":1.0}'],
  ["protocol 1e0", '{"verbose":true,"pedantic":false,"protocol":1e0}'],
  ["protocol huge", '{"verbose":true,"pedantic":false,"protocol":99999999999999999999}'],
  ["upper-case keys", '{"verbose":true,"pedantic":false,"USER":"alice","PASS":"apw"}'],
  ["mixed-case keys", '{"Verbose":true,"pedantic":false,"User":"alice","Pass":"apw"}'],
  [
    "duplicate user key",
    '{"verbose":true,"pedantic":false,"user":"x","user":"alice","pass":"apw"}',
  ],
  ["account empty", { account: "" }],
  ["account set", { account: "A" }],
  ["account set and alice", { account: "A", user: "alice", pass: "apw" }],
  ["new_account false", { new_account: false }],
  ["new_account true", { new_account: true }],
  ["protocol 5 and wrong creds", { protocol: 5, user: "mallory" }],
  ["protocol 5 and alice", { protocol: 5, user: "alice", pass: "apw" }],
  ["protocol 5 and token", { protocol: 5, auth_token: TOKEN }],
  ["no_responders without headers, wrong creds", { no_responders: true, user: "mallory" }],
  ["no_responders without headers, alice", { no_responders: true, user: "alice", pass: "apw" }],
  ["CONNECT null", "null"],
  ["CONNECT array", "[]"],
  ["CONNECT string", '"x"'],
  ["CONNECT number", "5"],
  ["CONNECT bad json", "{user:alice}"],
  ["key folded with long s", '{"verbose":true,"u\u017fer":"alice","pa\u017fs":"apw"}'],
  ["key folded with Kelvin sign", '{"verbose":true,"n\u212aey":"UABC"}'],
  ["trailing comma", '{"verbose":true,"user":"alice",}'],
  ["leading zero", '{"verbose":true,"protocol":01}'],
  ["bad escape", '{"verbose":true,"user":"\\q"}'],
  ["control character in string", '{"verbose":true,"user":"a\u0001"}'],
  ["truncated", '{"verbose":true,"user":"alice"'],
  ["bad literal", '{"verbose":tru}'],
  ["garbage after object", '{"verbose":true} x'],
  ["deep nesting", `{"x":${"[".repeat(300)}${"]".repeat(300)},"verbose":true}`],
  ["import of wrong type", '{"verbose":true,"import":5}'],
  ["byte-order mark", '\ufeff{"verbose":true}'],
  ["non-ASCII outside a string", '{"verbose":true,\u00e9}'],
  ["unknown fields", '{"verbose":true,"foo":[1,{"user":"x"}],"bar":null}'],
];

/** Valid first CONNECTs of a scenario, each followed by these second CONNECTs. */
const SECOND: Array<[string, Fields | string]> = [
  ["same again", {}], // merged: the first CONNECT's credentials stay
  ["bob", { user: "bob", pass: "bpw" }],
  ["alice", { user: "alice", pass: "apw" }],
  ["alice wrong", { user: "alice", pass: "wrong" }],
  ["pass wrong only", { pass: "wrong" }],
  ["user bob only", { user: "bob" }],
  ["empty user and pass", { user: "", pass: "" }],
  ["token right", { auth_token: TOKEN }],
  ["token wrong", { auth_token: "wrong" }],
  ["nkey with sig", { nkey: N1.getPublicKey(), sig: "$sig" }],
  ["nkey without sig", { nkey: N1.getPublicKey(), sig: "" }],
  ["account set", { account: "A" }],
  ["bad type", { user: 7 }],
  ["protocol 5", { protocol: 5 }],
  ["null", "null"],
];

/** What a connection can still do after its CONNECTs (own subject: cases run in parallel). */
let subjects = 0;
function after(): string {
  const subject = `t.${++subjects}`;
  return `SUB ${subject} 1\r\nPUB ${subject} 2\r\nhi\r\nPING\r\n`;
}

function credentialCases(): DiffCase[] {
  const cases: DiffCase[] = CREDENTIALS.map(([name, fields]) => {
    const then = after();
    return {
      name: `CONNECT ${name}`,
      send: (info) =>
        connectLine(typeof fields === "string" ? fields : { ...base, ...fields }, info) + then,
    };
  });
  const [a1, a2, a3] = [after(), after(), after()];
  // Ops before CONNECT, and a CONNECT after them.
  cases.push(
    { name: "PING first", send: "PING\r\n" },
    { name: "SUB first", send: a1 },
    {
      name: "PING then CONNECT {}",
      send: (info) => "PING\r\n" + connectLine({ ...base }, info) + a2,
    },
    {
      name: "PING then CONNECT bob",
      send: (info) => "PING\r\n" + connectLine({ ...base, pass: "bpw" }, info) + a3,
    },
    { name: "nothing sent (auth timeout)", send: "", closeWithinMs: 3500 },
  );
  return cases;
}

/** Values each credential field takes in random combinations (undefined = absent). */
const POOLS: Record<string, unknown[]> = {
  user: [undefined, "", "alice", "bob", "mallory", null, 1],
  pass: [undefined, "", "apw", "bpw", "x", null],
  auth_token: [undefined, "", TOKEN, "x"],
  nkey: [undefined, "", N1.getPublicKey(), N2.getPublicKey()],
  sig: [undefined, "", "$sig", "$sig2"],
  account: [undefined, undefined, undefined, ""],
};

/** Seeded random CONNECTs mixing every credential field (same cases on both servers). */
function randomCases(seed: number, count: number): DiffCase[] {
  const rnd = prng(seed);
  const cases: DiffCase[] = [];
  for (let i = 0; i < count; i++) {
    const fields: Fields = { ...base };
    for (const [k, pool] of Object.entries(POOLS)) {
      const v = pool[Math.floor(rnd() * pool.length)];
      if (v !== undefined) fields[k] = v;
    }
    const then = after();
    cases.push({
      name: `random CONNECT #${i} ${JSON.stringify(fields)}`,
      send: (info) => connectLine(fields, info) + then,
    });
  }
  return cases;
}

function secondConnectCases(valid: Array<[string, Fields]>): DiffCase[] {
  const cases: DiffCase[] = [];
  for (const [firstName, first] of valid) {
    for (const [secondName, second] of SECOND) {
      const then = after();
      cases.push({
        name: `first ${firstName}, second CONNECT ${secondName}`,
        send: (info) => [
          connectLine({ ...base, ...first }, info) + "PING\r\n",
          connectLine(second, info) + then,
        ],
      });
    }
  }
  return cases;
}

interface Scenario {
  name: string;
  args?: string[];
  config?: string;
  /** Credentials a first CONNECT succeeds with (for the second-CONNECT cases). */
  valid: Array<[string, Fields]>;
}

const ALICE: [string, Fields] = ["alice", { user: "alice", pass: "apw" }];
const BOB: [string, Fields] = ["bob", { user: "bob", pass: "bpw" }];
const TOK: [string, Fields] = ["token", { auth_token: TOKEN }];
const NKEY: [string, Fields] = ["nkey", { nkey: N1.getPublicKey(), sig: "$sig" }];
const ANON: [string, Fields] = ["anonymous", {}];

const timeout = "authorization_timeout_placeholder";

function scenarios(): Scenario[] {
  const users = `{user: alice, password: apw}, {user: bob, password: bpw}`;
  const hashA = bcryptHash("apw", "$2a$");
  const hashT = bcryptHash(TOKEN, "$2a$");
  return [
    { name: "no auth", valid: [ANON, ALICE] },
    { name: "--user/--pass", args: ["--user", "alice", "--pass", "apw"], valid: [ALICE] },
    {
      name: "authorization user/password",
      config: `authorization { user: alice, password: apw, ${timeout} }`,
      valid: [ALICE],
    },
    { name: "--auth", args: ["--auth", TOKEN], valid: [TOK] },
    {
      name: "authorization token",
      config: `authorization { token: "${TOKEN}", ${timeout} }`,
      valid: [TOK],
    },
    {
      name: "--user/--pass and --auth",
      args: ["--user", "alice", "--pass", "apw", "--auth", TOKEN],
      valid: [TOK, ALICE],
    },
    {
      name: "config user/password, --auth flag",
      config: `authorization { user: alice, password: apw }`,
      args: ["--auth", TOKEN],
      valid: [TOK, ALICE],
    },
    {
      name: "config token, --user/--pass flags",
      config: `authorization { token: "${TOKEN}" }`,
      args: ["--user", "bob", "--pass", "bpw"],
      valid: [TOK, BOB],
    },
    {
      name: "config user/password, --pass flag",
      config: `authorization { user: alice, password: apw }`,
      args: ["--pass", "bpw"],
      valid: [ALICE, ["alice with bpw", { user: "alice", pass: "bpw" }]],
    },
    {
      name: "config user/password, --user flag",
      config: `authorization { user: alice, password: apw }`,
      args: ["--user", "bob"],
      valid: [ALICE, ["bob with apw", { user: "bob", pass: "apw" }]],
    },
    {
      name: "config user/password, empty --user flag",
      config: `authorization { user: alice, password: apw }`,
      args: ["--user", ""],
      valid: [ALICE],
    },
    {
      name: "config token, empty --auth flag",
      config: `authorization { token: "${TOKEN}" }`,
      args: ["--auth", ""],
      valid: [ANON],
    },
    { name: "--pass only", args: ["--pass", "apw"], valid: [ANON] },
    {
      name: "users list",
      config: `authorization { users: [${users}], ${timeout} }`,
      valid: [ALICE, BOB],
    },
    {
      name: "users list, --auth flag",
      config: `authorization { users: [${users}] }`,
      args: ["--auth", TOKEN],
      valid: [ALICE, TOK],
    },
    {
      name: "users list, --user/--pass flags",
      config: `authorization { users: [${users}] }`,
      args: ["--user", "carol", "--pass", "cpw"],
      valid: [ALICE],
    },
    {
      name: "empty users list",
      config: `authorization { users: [] }`,
      valid: [],
    },
    {
      name: "user without password",
      config: `authorization { users: [{user: alice}, {user: bob, password: bpw}] }`,
      valid: [["alice", { user: "alice" }], BOB],
    },
    {
      name: "bcrypt user",
      config:
        `authorization { users: [{user: alice, password: "${hashA}"}, {user: bob, password: bpw}] }`,
      valid: [ALICE, BOB],
    },
    {
      name: "bcrypt single user",
      config: `authorization { user: alice, password: "${hashA}" }`,
      valid: [ALICE],
    },
    {
      name: "bcrypt token",
      config: `authorization { token: "${hashT}" }`,
      valid: [TOK],
    },
    {
      name: "nkeys and users",
      config: `authorization { users: [{nkey: ${N1.getPublicKey()}}, ${users}] }`,
      valid: [NKEY, ALICE],
    },
    {
      name: "nkeys only",
      config: `authorization { users: [{nkey: ${N1.getPublicKey()}}], ${timeout} }`,
      valid: [NKEY],
    },
    {
      name: "accounts",
      config: `accounts { A { users: [{user: alice, password: apw}] }, ` +
        `B { users: [{user: bob, password: bpw}, {nkey: ${N1.getPublicKey()}}] } }`,
      valid: [ALICE, BOB, NKEY],
    },
    {
      name: "no_auth_user",
      config: `authorization { users: [${users}], ${timeout} }\nno_auth_user: bob`,
      valid: [ANON, ALICE, BOB],
    },
    {
      name: "no_auth_user in accounts",
      config: `accounts { A { users: [{user: alice, password: apw}] }, ` +
        `B { users: [{user: bob, password: bpw}] } }\nno_auth_user: bob`,
      valid: [ANON, ALICE, BOB],
    },
    {
      name: "no_auth_user with nkeys",
      config: `authorization { users: [{nkey: ${N1.getPublicKey()}}, ${users}] }\n` +
        `no_auth_user: bob`,
      valid: [ANON, NKEY, ALICE],
    },
    {
      name: "no_auth_user with a bcrypt password",
      config: `authorization { users: [{user: alice, password: apw}, ` +
        `{user: bob, password: "${bcryptHash("bpw", "$2a$")}"}] }\nno_auth_user: bob`,
      valid: [ALICE, BOB],
    },
    {
      name: "no_auth_user, --auth flag",
      config: `authorization { users: [${users}] }\nno_auth_user: bob`,
      args: ["--auth", TOKEN],
      valid: [ANON, TOK],
    },
    {
      name: "connection types",
      config: `authorization { users: [` +
        `{user: alice, password: apw, allowed_connection_types: ["WEBSOCKET"]}, ` +
        `{user: bob, password: bpw, allowed_connection_types: ["STANDARD"]}] }`,
      valid: [BOB],
    },
  ];
}

/** A fixed seed per scenario (its name), so a failure names a reproducible case. */
function scenarioSeed(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Short auth timeouts keep the "nothing sent" cases fast where a config is used. */
function withTimeout(config: string | undefined): string | undefined {
  return config?.replace(timeout, "timeout: 1");
}

for (const sc of scenarios()) {
  Deno.test({
    name: `auth differential: ${sc.name}`,
    ignore: missing("nats-server"),
    fn: async () => {
      const pair = await ServerPair.start({ args: sc.args, config: withTimeout(sc.config) });
      let mismatches: Mismatch[] = [];
      let total = 0;
      try {
        const cases = [
          ...credentialCases(),
          ...secondConnectCases(sc.valid),
          ...randomCases(scenarioSeed(sc.name), 24),
        ];
        const r = await runDifferential(sc.name, pair, cases, 6);
        mismatches = r.mismatches;
        total = r.count;
      } finally {
        await pair.stop();
      }
      console.error(`auth differential [${sc.name}]: ${total} cases`);
      equal(
        mismatches.length,
        0,
        `${mismatches.length} of ${total} differ:\n` +
          describeMismatches(mismatches),
      );
    },
  });
}

Deno.test({
  name: "auth differential: no_auth_user start-up checks (NKey, empty users list)",
  ignore: missing("nats-server"),
  fn: async () => {
    const nkey = N1.getPublicKey();
    const configs = [
      `authorization { users: [{nkey: ${nkey}}] }\nno_auth_user: ${nkey}`,
      `authorization { users: [] }\nno_auth_user: bob`,
      `authorization { users: [{nkey: ${nkey}}, {user: bob}] }\nno_auth_user: ${nkey}`,
      `accounts { A { users: [{nkey: ${nkey}}] }, B { users: [{user: bob}] } }\n` +
      `no_auth_user: ${nkey}`,
    ];
    for (const config of configs) {
      const file = await Deno.makeTempFile({ suffix: ".conf" });
      try {
        await Deno.writeTextFile(file, config);
        const args = ["-a", "127.0.0.1", "-p", "-1", "-c", file];
        const [d, n] = await Promise.all([
          runToExit("dnatsd", args),
          runToExit("nats-server", args),
        ]);
        // "<program>: <error>" on both; the error text must be the same.
        const errorOf = (out: string) => out.trim().split("\n").at(-1)!.replace(/^[\w-]+: /, "");
        equal(d.code, n.code, `${config}\nexit: dnatsd ${d.code}, nats-server ${n.code}`);
        equal(errorOf(d.stderr), errorOf(n.stderr), config);
      } finally {
        await Deno.remove(file);
      }
    }
  },
});

Deno.test("auth: a second CONNECT into another account moves the subscriptions along (dnatsd)", async () => {
  // Deliberately not nats-server's behaviour: it leaves the subscriptions in the old
  // account, where they keep receiving that account's messages (README).
  const config = `accounts { A { users: [{user: alice, password: apw}] }, ` +
    `B { users: [{user: bob, password: bpw}] } }`;
  const s = await ServerProcess.start({ config });
  const sessions: RawSession[] = [];
  try {
    const open = async (user: string, pass: string) => {
      const session = await RawSession.open(s, { user, pass });
      sessions.push(session);
      return session;
    };
    const switcher = await open("alice", "apw");
    equal(await switcher.step("SUB x 1\r\n"), "");
    equal(await switcher.step(`CONNECT {"user":"bob","pass":"bpw"}\r\n`), "");
    const inA = await open("alice", "apw");
    const inB = await open("bob", "bpw");
    equal(await inA.step("PUB x 1\r\na\r\n"), "");
    equal(await inB.step("PUB x 1\r\nb\r\n"), "");
    equal(await switcher.step(""), "MSG x 1 1\r\nb\r\n", "only account B's message");
  } finally {
    for (const session of sessions) await session.close();
    await s.stop();
  }
});

/** The three defects of issue 12 item 5, spelled out (the matrix above covers them too). */
Deno.test({
  name: "auth: second CONNECT, no_auth_user and --user/--auth precedence (dnatsd and nats-server)",
  ignore: missing("nats-server"),
  fn: async () => {
    for (const flavor of ["dnatsd", "nats-server"] as const) {
      // A second CONNECT with wrong credentials closes a logged-in connection.
      await withFlavor(flavor, { args: ["--user", "alice", "--pass", "apw"] }, async (s) => {
        const session = await RawSession.open(s, { user: "alice", pass: "apw" });
        try {
          equal(
            await session.step(`CONNECT {"user":"alice","pass":"wrong"}\r\nPUB x 1\r\na\r\n`),
            AUTH_VIOLATION,
          );
          await session.raw.expectClosed();
        } finally {
          await session.close();
        }
        await logShows(s, /authentication error/);
      });
      // no_auth_user: only a CONNECT without user, password and token.
      const config = `authorization { users: [{user: alice, password: apw}, ` +
        `{user: bob, password: bpw}] }\nno_auth_user: bob`;
      await withFlavor(flavor, { config }, async (s) => {
        await assertRefused(s, { auth_token: "x" });
        await assertRefused(s, { pass: "bpw" });
        await assertRefused(s, { user: "", pass: "bpw" });
        await assertAccepted(s, { user: "" });
        await assertAccepted(s, {});
      });
      // The token wins over the single user when both are given.
      const args = ["--user", "alice", "--pass", "apw", "--auth", TOKEN];
      await withFlavor(flavor, { args }, async (s) => {
        await assertAccepted(s, { auth_token: TOKEN });
        await assertRefused(s, { user: "alice", pass: "apw" });
      });
    }
  },
});

Deno.test({
  name: "auth differential: TLS verify_and_map (certificate users, CONNECT credentials)",
  ignore: missing("nats-server"),
  fn: async () => {
    const certs = `${REPO_ROOT}certs/`;
    const config = `tls { cert_file: "${certs}server-cert.pem", key_file: "${certs}server-key.pem",
  ca_file: "${certs}ca.pem", verify_and_map: true }
authorization { users: [
  {user: "derek@nats.io", password: dpw}
  {user: "CN=example.com,OU=CNCF"}
  {user: alice, password: apw}
] }`;
    const creds: Fields[] = [
      {},
      { user: "derek@nats.io" },
      { pass: "dpw" },
      { user: "derek@nats.io", pass: "dpw" },
      { user: "x", pass: "dpw" },
      { auth_token: TOKEN },
      { user: "alice", pass: "apw" },
    ];
    const cases: DiffCase[] = [];
    for (const cert of ["client-email", "client-dn", "client"]) {
      for (const f of creds) {
        const then = after();
        cases.push({
          name: `cert ${cert}, CONNECT ${JSON.stringify(f)}`,
          tlsCert: cert,
          send: (info) => connectLine({ ...base, ...f }, info) + then,
        });
      }
    }
    for (const second of [{}, { pass: "x" }, { user: "alice", pass: "apw" }, { user: "" }]) {
      const then = after();
      cases.push({
        name: `cert client-email, second CONNECT ${JSON.stringify(second)}`,
        tlsCert: "client-email",
        send: (info) => [
          connectLine({ ...base, pass: "dpw" }, info) + "PING\r\n",
          connectLine(second, info) + then,
        ],
      });
    }
    const pair = await ServerPair.start({ config });
    let r: { mismatches: Mismatch[]; count: number };
    try {
      r = await runDifferential("verify_and_map", pair, cases, 4);
    } finally {
      await pair.stop();
    }
    console.error(`auth differential [verify_and_map]: ${r.count} cases`);
    equal(r.mismatches.length, 0, describeMismatches(r.mismatches));
  },
});

Deno.test("auth: traced CONNECTs hide every spelling of a credential the server accepts", async () => {
  const secret = "S3cret-Trace-Pw";
  const s = await ServerProcess.start({
    config: `authorization { users: [{user: alice, password: "${secret}"}] }`,
    args: ["-V"],
  });
  try {
    // Keys match case-insensitively (as nats-server's decoder), so these are the password.
    for (const key of ["PASS", "Pass", "pa\u017fs"]) {
      const session = await RawSession.open(s, { USER: "alice", [key]: secret });
      await session.close();
    }
    await s.waitForLog(/CONNECT .*pa\u017fs/);
    equal(s.logs.text.includes(secret), false, "a password reached the trace log");
  } finally {
    await s.stop();
  }
});

Deno.test({
  name: "auth differential: /varz auth_required with no_auth_user (INFO says false)",
  ignore: missing("nats-server"),
  fn: async () => {
    const config = `authorization { users: [{user: alice, password: apw}] }\nno_auth_user: alice`;
    for (const reference of [false, true]) {
      const m = await startMonitored({ config, reference });
      try {
        const varz = await m.json("/varz");
        equal(varz.auth_required, true, `${reference ? "nats-server" : "dnatsd"} /varz`);
        const r = await rawConnect(m.proc, {});
        equal(r.info.auth_required, undefined, "INFO without auth_required");
      } finally {
        await m.stop();
      }
    }
  },
});
