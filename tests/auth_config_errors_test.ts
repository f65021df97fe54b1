/**
 * Black-box tests: a bad authorization or accounts config stops dnatsd at
 * start (exit 1) with nats-server's `file:line:col: reason` message, never a
 * server that silently runs open. Each case also runs against Debian's
 * nats-server when installed, asserting the same exit code and message.
 */
import { equal, match, ok } from "node:assert/strict";
import { eachFlavor, type Flavor, runToExit } from "./auth_helpers.ts";

interface BadConfig {
  name: string;
  config: string;
  /** The message after `<file>:`; `null` position when nats-server prints none. */
  pos: string | null;
  reason: string;
  /** Another message nats-server may print instead (its checks run in Go map order). */
  referenceAlt?: string;
  /** nats-server accepts it (a feature dnatsd refuses): check dnatsd only. */
  dnatsdOnly?: boolean;
}

const CASES: BadConfig[] = [
  {
    name: "unknown key in authorization",
    config: "authorization {\n  user: a\n  password: b\n  foo: 1\n}\n",
    pos: "4:3",
    reason: 'unknown field "foo"',
  },
  {
    name: "unknown key in a user entry",
    config: "authorization {\n  users = [\n    {user: a, password: b, bogus: 1}\n  ]\n}\n",
    pos: "3:28",
    reason: 'unknown field "bogus"',
  },
  {
    name: "unknown key in a permissions map",
    config:
      'authorization {\n  users = [\n    {user: a, password: b, permissions: {pubish: "x"}}\n  ]\n}\n',
    pos: "3:42",
    reason: 'Unknown field "pubish" parsing permissions',
  },
  {
    name: "unknown key beside allow/deny",
    config:
      'authorization {\n  users = [\n    {user: a, password: b, permissions: {publish: {allow: "a", nope: "b"}}}\n  ]\n}\n',
    pos: "3:64",
    reason:
      "Unknown field name \"nope\" parsing subject permissions, only 'allow' or 'deny' are permitted",
  },
  {
    name: "unknown allow_responses key",
    config:
      "authorization {\n  users = [\n    {user: a, password: b, permissions: {allow_responses: {max: 1, bogus: 2}}}\n  ]\n}\n",
    pos: "3:68",
    reason: 'Unknown field "bogus" parsing permissions',
  },
  {
    name: "invalid permission subject",
    config:
      'authorization {\n  users = [\n    {user: a, password: b, permissions: {publish: "foo..bar"}}\n  ]\n}\n',
    // nats-server prints no position for this one; dnatsd adds it.
    pos: null,
    reason: 'subject "foo..bar" is not a valid subject',
  },
  {
    name: "permission of the wrong type",
    config: "authorization {\n  users = [{user: a, password: b, permissions: {publish: 5}}]\n}\n",
    pos: null,
    reason: "Expected subject permissions to be a subject, or array of subjects, got int64",
  },
  {
    name: "allow list of the wrong type (a map)",
    config:
      "authorization {\n  users = [{user: a, password: b, permissions: {publish: {allow: {x: 1}}}}]\n}\n",
    pos: "2:59",
    reason:
      "Expected subject permissions to be a subject, or array of subjects, got map[string]interface {}",
  },
  {
    name: "user of the wrong type",
    config: "authorization {\n  user: 1\n  password: b\n}\n",
    pos: "2:3",
    reason: "interface conversion: interface {} is int64, not string",
  },
  {
    name: "user/pass and token",
    config: "authorization {\n  user: a\n  password: b\n  token: c\n}\n",
    pos: "1:0",
    reason: "Cannot have a user/pass and token",
  },
  {
    name: "single user and users array",
    config: "authorization {\n  user: a\n  password: b\n  users = [{user: c, password: d}]\n}\n",
    pos: "1:0",
    reason: "Can not have a single user/pass and a users array",
  },
  {
    name: "single user and accounts",
    config:
      "authorization {\n  user: a\n  password: b\n}\naccounts {\n  A: {users: [{user: c, password: d}]}\n}\n",
    pos: "6:7",
    reason: "Can not have a single user/pass and accounts",
    referenceAlt: "1:0: Can not have a single user/pass and a users array",
  },
  {
    name: "duplicate user",
    config:
      "authorization {\n  users = [\n    {user: a, password: b}\n    {user: a, password: c}\n  ]\n}\n",
    pos: "1:0",
    reason: 'Duplicate user "a" detected',
  },
  {
    name: "user entry without user",
    config: "authorization {\n  users = [\n    {password: b}\n  ]\n}\n",
    pos: "3:6",
    reason: "User entry requires a user",
  },
  {
    name: "invalid user nkey",
    config: "authorization {\n  users = [\n    {nkey: UNOTAKEY}\n  ]\n}\n",
    pos: "3:6",
    reason: "Not a valid public nkey for a user",
  },
  {
    name: "invalid connection type",
    config:
      'authorization {\n  users = [\n    {user: a, password: b, allowed_connection_types: ["STANDARD", "CARRIER_PIGEON"]}\n  ]\n}\n',
    pos: "3:28",
    reason: 'invalid connection types ["CARRIER_PIGEON"]',
  },
  {
    name: "reserved account $G",
    config: "accounts {\n  $G: {users: [{user: a, password: a}]}\n}\n",
    pos: "2:3",
    reason: '"$G" is a Reserved Account',
  },
  {
    name: "undefined permissions variable",
    config:
      "authorization {\n  users = [\n    {user: a, password: b, permissions: $NOPE}\n  ]\n}\n",
    pos: null,
    reason: "variable reference for 'NOPE' on line 3 can not be found",
  },
  {
    name: "unknown no_auth_user",
    config: "authorization {\n  users = [{user: a, password: b}]\n}\nno_auth_user: ghost\n",
    pos: null,
    reason:
      'no_auth_user: "ghost" not present as user in authorization block or account configuration',
  },
  {
    name: "service export with latency tracking",
    config:
      'accounts {\n  A: {\n    users: [{user: a, password: a}]\n    exports: [{service: "q", latency: "lat.q"}]\n  }\n}\n',
    pos: "4:30",
    reason: '"latency" is not supported by dnatsd (service latency tracking is not implemented)',
    dnatsdOnly: true,
  },
];

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

for (const c of CASES) {
  Deno.test(`auth config: ${c.name} stops the server with a clear error`, async (t) => {
    const file = await Deno.makeTempFile({ suffix: ".conf" });
    try {
      await Deno.writeTextFile(file, c.config);
      const only: Flavor[] = c.dnatsdOnly ? ["dnatsd"] : ["dnatsd", "nats-server"];
      await eachFlavor(t, `config error: ${c.name}`, async (flavor) => {
        const r = await runToExit(flavor, ["-a", "127.0.0.1", "-p", "-1", "-c", file]);
        equal(r.code, 1, `[${flavor}] exit code; output:\n${r.stderr}`);
        ok(!/Server is ready/.test(r.stderr), `[${flavor}] started anyway:\n${r.stderr}`);
        // dnatsd may add a position where nats-server prints none; the reason is the same.
        const where = c.pos !== null
          ? `${escape(file)}:${c.pos}: `
          : flavor === "dnatsd"
          ? `(?:${escape(file)}:\\d+:\\d+: )?`
          : "";
        const want = `${flavor}: ${where}${escape(c.reason)}\\n`;
        const alt = flavor === "nats-server" && c.referenceAlt
          ? `|${flavor}: ${escape(file)}:${escape(c.referenceAlt)}\\n`
          : "";
        match(
          r.stderr,
          new RegExp(want + alt),
          `[${flavor}] output:\n${r.stderr}`,
        );
      }, only);
    } finally {
      await Deno.remove(file);
    }
  });
}
