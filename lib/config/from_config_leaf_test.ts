import assert from "node:assert/strict";
import { formatIssue, validateOptions } from "./from_config.ts";
import { missing } from "../../tests/helpers/requires.ts";
import { runToExit } from "../../tests/helpers/server.ts";
import { load, problems } from "./_test_util.ts";

Deno.test("leafnodes block: keys, aliases and defaults", () => {
  const r = load(`
    leafnodes {
      LISTEN: 127.0.0.1:7422
      advertise: "example.com:7000"
      no_advertise: true
      reconnect: 3
      authorization { user: leaf, pass: secret, timeout: 1.5, account: A }
      remotes [
        { url: "nats-leaf://u:p@hub:7422", account: A, deny_imports: "x.>", deny_export: ["y", "z"] }
        { urls: ["nats-leaf://a:1", "nats-leaf://b:2"], local: B, dont_randomize: true }
      ]
    }
    accounts { A {}, B {} }
  `);
  assert.deepEqual(r.errors.map(formatIssue), []);
  const ln = r.options.leafnodes!;
  assert.equal(ln.host, "127.0.0.1");
  assert.equal(ln.port, 7422);
  assert.equal(ln.advertise, "example.com:7000");
  assert.equal(ln.noAdvertise, true);
  assert.equal(ln.reconnectMs, 3000);
  assert.deepEqual(ln.authorization, {
    user: "leaf",
    password: "secret",
    timeout: 1.5,
    account: "A",
  });
  assert.deepEqual(ln.remotes, [
    {
      urls: ["nats-leaf://u:p@hub:7422"],
      noRandomize: false,
      account: "A",
      denyImports: ["x.>"],
      denyExports: ["y", "z"],
    },
    { urls: ["nats-leaf://a:1", "nats-leaf://b:2"], noRandomize: true, account: "B" },
  ]);
  assert.deepEqual(validateOptions(r.options), []);
  // Without a block: no leaf options at all; an empty block listens nowhere.
  assert.equal(load("").options.leafnodes, undefined);
  assert.deepEqual(load("leafnodes {}").options.leafnodes?.port, 0);
  assert.equal(load("leafnodes {}").options.leafnodes?.reconnectMs, 1000);
});

Deno.test("leafnodes block: refused keys say why", () => {
  assert.deepEqual(
    problems('leafnodes { remotes [ { url: "nats-leaf://h:1", credentials: "/x.creds" } ] }'),
    [
      't.conf:1:48: leafnode remote "credentials" is not supported by dnatsd: a credentials ' +
      "file holds a user JWT, and dnatsd has no JWT authentication (put user and password in " +
      "the remote's URL instead)",
    ],
  );
  assert.deepEqual(problems('leafnodes { remotes [ { url: "ws://h:1" } ] }'), [
    't.conf:1:23: leafnode remote url "ws://h:1": WebSocket remotes are not supported',
  ]);
  assert.deepEqual(problems('leafnodes { remotes [ { url: "nats-leaf://h:1", hub: true } ] }'), [
    't.conf:1:48: leafnode remote "hub" is not supported by dnatsd',
  ]);
  assert.deepEqual(problems("leafnodes { tls { verify_and_map: true } }"), [
    't.conf:1:12: leafnode tls "verify_and_map" is not supported by dnatsd',
  ]);
  assert.deepEqual(problems('leafnodes { min_version: "2.8.0" }'), [
    't.conf:1:12: leafnode "min_version" is not supported by dnatsd',
  ]);
});

Deno.test("leafnodes block: start-up checks on accounts", () => {
  const check = (text: string) => validateOptions(load(text).options).map((i) => i.reason);
  assert.deepEqual(check("leafnodes { port: -1, authorization { account: NOPE } }"), [
    'cannot find local account "NOPE" specified in leafnode authorization',
  ]);
  assert.deepEqual(
    check('leafnodes { remotes [ { url: "nats-leaf://h:1", account: R } ] }'),
    ['cannot find local account "R" specified in leafnode remote'],
  );
  assert.deepEqual(
    check("leafnodes { authorization { users [ { user: a, password: b, account: U } ] } }"),
    ['cannot find local account "U" specified in leafnode authorization'],
  );
  assert.deepEqual(
    check('leafnodes { remotes [ { url: "nats-leaf://h:1", account: "$G" } ] }'),
    [],
  );
});

/** Bad leafnodes blocks: dnatsd must print nats-server's message (after the `file:` prefix). */
const BAD: string[] = [
  "leafnodes { authorization { user: a, password: b, users: [ {user: c, password: d} ] } }",
  "leafnodes { authorization { users: [ {user: c, password: d}, {user: c, password: e} ] } }",
  'leafnodes { remotes [ { url: "nats-leaf://h:1", deny_imports: "a b c" } ] }',
  'leafnodes { remotes [ { urls: ["nats-leaf://h:1","nats-leaf://h:1"] } ] }',
  "leafnodes { bogus: 1 }",
  "leafnodes { remotes: 5 }",
  "leafnodes { remotes [ 5 ] }",
  'leafnodes { remotes [ { url: "nats-leaf://h:1", nope: 1 } ] }',
  "leafnodes { authorization { users: 5 } }",
  "leafnodes { authorization { bogus: 5 } }",
  "leafnodes { port: abc }",
  "leafnodes: 5",
];

Deno.test({
  name: "leafnodes block: the same messages as nats-server -t",
  ignore: missing("nats-server"),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      for (const text of BAD) {
        const file = `${dir}/t.conf`;
        await Deno.writeTextFile(file, text + "\n");
        const out = await new Deno.Command("/usr/sbin/nats-server", {
          args: ["-t", "-c", file],
          stdout: "piped",
          stderr: "piped",
        }).output();
        const theirs = new TextDecoder().decode(out.stderr).trim().split("\n")[0]
          .replace(/^nats-server: /, "").replace(file, "t.conf");
        const ours = problems(text);
        assert.notEqual(out.code, 0, `nats-server accepts ${text}`);
        assert.equal(ours[0], theirs, text);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "leafnodes block: an unknown account stops start-up as with nats-server",
  ignore: missing("nats-server"),
  fn: async () => {
    const file = await Deno.makeTempFile({ suffix: ".conf" });
    try {
      await Deno.writeTextFile(
        file,
        "port: -1\nleafnodes { port: -1, authorization { account: NOPE } }\n",
      );
      const [ours, theirs] = await Promise.all([
        runToExit({ reference: false, args: ["-c", file] }),
        runToExit({ reference: true, args: ["-c", file] }),
      ]);
      const line = 'cannot find local account "NOPE" specified in leafnode authorization';
      assert.notEqual(theirs.code, 0);
      assert.notEqual(ours.code, 0);
      assert.match(theirs.stderr + theirs.stdout, new RegExp(line));
      assert.match(ours.stderr + ours.stdout, new RegExp(line));
    } finally {
      await Deno.remove(file);
    }
  },
});
