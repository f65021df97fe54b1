/**
 * Cross-check: dnatsd and Debian's nats-server 2.9 must agree on which sample
 * configurations are valid (`nats-server -t -c <file>`). Only file-level checks
 * are compared: start-time checks (no_auth_user, lame duck ordering...) are
 * not run by `nats-server -t` and are covered in from_config_test.ts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseConfFile } from "./conf_parser.ts";
import { optionsFromConfig } from "./from_config.ts";
import { defaultOptions } from "./options.ts";
import { missing } from "../../tests/helpers/requires.ts";

const NATS_SERVER = "/usr/sbin/nats-server";
const CERTS = new URL("../../certs/", import.meta.url).pathname;

const tls = `cert_file: "${CERTS}server-cert.pem", key_file: "${CERTS}server-key.pem"`;

/** [name, config text]; validity is whatever nats-server says. */
const SAMPLES: Array<[string, string]> = [
  ["empty", ""],
  ["basic", "port: 4222\nhost: 127.0.0.1\n"],
  ["separators", "port = 4222\ndebug true\ntrace: false; logtime: yes\n"],
  ["whole file braces", "{\n  port: 4222\n}\n"],
  ["listen", "listen: 127.0.0.1:4333\nhttp: 127.0.0.1:8222\n"],
  ["sizes", "max_payload: 1MB\nmax_pending: 64MB\nmax_control_line: 4KB\n"],
  ["durations", 'ping_interval: "30s"\nwrite_deadline: "2s"\nping_max: 3\n'],
  ["int ping_interval warns", "ping_interval: 30\n"],
  ["bad duration", 'write_deadline: "5x"\n'],
  ["lame duck", 'lame_duck_duration: "40s"\nlame_duck_grace_period: "5s"\n'],
  ["lame duck too short", 'lame_duck_duration: "10s"\n'],
  ["lame duck int", "lame_duck_duration: 40\n"],
  ["unknown top", "port: 4222\nfoo: 1\n"],
  ["used variable", "PORT = 4333\nport: $PORT\n"],
  ["unused variable", "PORT = 4333\nport: 4222\n"],
  ["missing variable", "port: $NOPE_NOT_SET_ANYWHERE\n"],
  ["block scope var", "x = 1\ncluster { port: $x }\n"],
  [
    "bcrypt unquoted",
    "authorization { user: a, password: $2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG }\n",
  ],
  ["bcrypt 2b unquoted", "authorization { user: a, password: $2b$11$W2zko751KUvVy59mUTWmpO }\n"],
  ["type mismatch", 'port: "abc"\n'],
  ["bad escape", 'server_name: "a\\qb"\n'],
  ["float start", "max_payload: .5\n"],
  ["datetime bad", "a = 2006-01-02\n"],
  ["top level garbage", "port: 1 2\n"],
  ["array trailing comma", `tls { ${tls}, cipher_suites: [TLS_AES_128_GCM_SHA256,] }\n`],
  ["unknown cipher", `tls { ${tls}, cipher_suites: [FOO] }\n`],
  ["empty ciphers", `tls { ${tls}, cipher_suites: [] }\n`],
  ["bad curve", `tls { ${tls}, curve_preferences: [Foo] }\n`],
  ["tls ok", `tls { ${tls}, verify: true, timeout: 3, ca_file: "${CERTS}ca.pem" }\n`],
  ["tls missing key", `tls { cert_file: "${CERTS}server-cert.pem" }\n`],
  [
    "tls missing file",
    `tls { cert_file: "${CERTS}nope.pem", key_file: "${CERTS}server-key.pem" }\n`,
  ],
  ["tls unknown key", `tls { ${tls}, bogus: 1 }\n`],
  ["tls timeout string", `tls { ${tls}, timeout: "2s" }\n`],
  ["tls timeout bad", `tls { ${tls}, timeout: true }\n`],
  ["auth user pass", "authorization { user: a, password: b, timeout: 1.5 }\n"],
  ["auth token", "authorization { token: s3cr3t }\n"],
  ["auth user+token", "authorization { user: a, password: b, token: c }\n"],
  ["auth users", "authorization { users: [{user: a, password: b}, {user: c, password: d}] }\n"],
  ["auth dup users", "authorization { users: [{user: a}, {user: a}] }\n"],
  ["auth user+users", "authorization { user: a, users: [] }\n"],
  ["user entry unknown", "authorization { users: [{user: a, foo: 1}] }\n"],
  ["user entry no user", "authorization { users: [{password: b}] }\n"],
  [
    "permissions",
    'authorization { users: [{user: a, permissions: {publish: {allow: ["a.>"], deny: "b"}, subscribe: ["c", "d q"], allow_responses: {max: 2, expires: "1m"}}}] }\n',
  ],
  ["perm bad subject", 'authorization { users: [{user: a, permissions: {publish: "a..b"}}] }\n'],
  [
    "perm bad field",
    "authorization { users: [{user: a, permissions: {publish: {allow: a, x: b}}}] }\n",
  ],
  ["perm unknown", "authorization { users: [{user: a, permissions: {bogus: a}}] }\n"],
  [
    "default permissions",
    "authorization { default_permissions: {publish: a}, users: [{user: a}] }\n",
  ],
  ["nkey bad", "authorization { users: [{nkey: UABC}] }\n"],
  [
    "nkey good",
    "authorization { users: [{nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4}] }\n",
  ],
  ["accounts", "accounts { A { users: [{user: a}] }, B { users: [{user: b}] } }\n"],
  ["accounts array", "accounts [A, B]\n"],
  ["accounts $G", "accounts { $G { users: [{user: a}] } }\n"],
  ["accounts dup", "accounts { A { users: [{user: a}] }, B { users: [{user: a}] } }\n"],
  ["accounts unknown", "accounts { A { foo: 1 } }\n"],
  [
    "accounts + auth user",
    "accounts { A { users: [{user: a}] } }\nauthorization { user: b, password: c }\n",
  ],
  ["cluster", 'cluster { name: c1, listen: 127.0.0.1:6222, routes: ["nats://127.0.0.1:6223"] }\n'],
  ["cluster unknown", "cluster {\n  port: 4244\n  bogus: 1\n}\n"],
  ["cluster users", "cluster { authorization { users: [] } }\n"],
  ["cluster token", "cluster { authorization { token: x } }\n"],
  [
    "cluster auth",
    "cluster { port: 6222, authorization { user: r, password: p, timeout: 0.5 } }\n",
  ],
  ["cluster perms", "cluster { permissions { import: a, export: {deny: b} } }\n"],
  ["cluster perms responses", "cluster { permissions { import: a, allow_responses: true } }\n"],
  ["cluster dup routes", 'cluster { routes: ["nats://a:1", "nats://a:1"] }\n'],
  ["cluster tls", `cluster { port: 6222, tls { ${tls} } }\n`],
  ["max_payload too big", "max_payload: 3GB\n"],
  ["include missing", "include nope_does_not_exist.conf\n"],
  ["trailing map comma", "cluster { port: 4244, }\n"],
  ["comments", "# c\nport: 4222 // c\n// x\ndebug: true # y\n"],
  ["block string", "server_name: (\nabc\n)\n"],
  ["map value terminator", "c { a: 1 2 }\n"],
  ["quoted keys", "\"port\": 4222\n'debug': true\n"],
  ["case insensitive keys", "PORT: 4222\nMax_Payload: 1000\n"],
];

Deno.test({
  name: "optionsFromConfig() agrees with nats-server -t on valid/invalid samples",
  ignore: missing("nats-server"),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "dnatsd_xcheck_" });
    try {
      const disagreements: string[] = [];
      for (const [name, text] of SAMPLES) {
        const file = join(dir, "sample.conf");
        await Deno.writeTextFile(file, text);
        const run = await new Deno.Command(NATS_SERVER, {
          args: ["-t", "-c", file],
          stdout: "null",
          stderr: "piped",
          env: { NOPE_NOT_SET_ANYWHERE: "" },
          clearEnv: true,
        }).output();
        const natsValid = run.code === 0;
        let ours = "";
        try {
          const tree = parseConfFile(file, { env: () => undefined });
          const r = optionsFromConfig(tree, defaultOptions());
          ours = [...r.warnings, ...r.errors].map((i) => i.reason).join("; ");
        } catch (err) {
          ours = (err as Error).message;
        }
        const oursValid = ours === "";
        if (natsValid !== oursValid) {
          const theirs = new TextDecoder().decode(run.stderr).trim();
          disagreements.push(`${name}: nats-server=${theirs} | dnatsd=${ours || "valid"}`);
        }
      }
      assert.deepEqual(disagreements, []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
