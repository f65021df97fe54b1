/**
 * Black-box tests of subject mappings (`mappings {}` at top level and in an
 * account): the same subjects published to dnatsd and to Debian's
 * nats-server land on the same mapped subjects (renames, `$1`,
 * `{{wildcard()}}`, `{{partition()}}`, the split and slice functions),
 * permissions apply to the mapped subject on both, and weighted destinations
 * are drawn in proportion to their weights (a bounded sample, checked with a
 * wide tolerance).
 */
import { deepEqual, match, ok } from "node:assert/strict";
import { RawClient } from "./helpers/raw.ts";
import { ServerProcess, waitFor } from "./helpers/server.ts";
import { eachFlavor, type Flavor } from "./auth_helpers.ts";

const CONFIG = `
mappings {
  "ren": "renamed"
  "one.*": "one.$1.x"
  "two.*.*": "two.{{wildcard(2)}}.{{wildcard(1)}}"
  "part.*.*": "part.{{partition(5,1,2)}}.{{wildcard(1)}}.{{wildcard(2)}}"
  "sl.*": "sl.{{splitFromLeft(1,2)}}"
  "sr.*": "sr.{{sliceFromRight(1,2)}}"
  "sp.*": "sp.{{split(1,-)}}"
  "fw.>": "out.>"
  "deny.me": "secret.x"
}
accounts {
  A: {
    users: [{user: a, password: a, permissions: {publish: {deny: ["secret.>"]}}}]
    mappings: { "in.*": "acc.$1" }
  }
}
authorization { users: [{user: g, password: g, permissions: {publish: {deny: ["secret.>"]}}}] }
`;

const SUBJECTS = [
  "ren",
  "one.a",
  "two.a.b",
  "part.a.b",
  "part.x.y",
  "part.order.17",
  "part.order.18",
  "sl.abcdef",
  "sl.a",
  "sr.abcde",
  "sp.a-b--c-",
  "fw.q.r.s",
  "plain.subject",
];

async function login(port: number, user: string): Promise<RawClient> {
  const c = await RawClient.connect(port);
  await c.expect(/^INFO .*\r\n/);
  await c.send(
    `CONNECT {"verbose":false,"pedantic":false,"user":"${user}","pass":"${user}"}\r\n`,
  );
  await c.roundTrip();
  c.received = "";
  return c;
}

async function observe(port: number): Promise<string[]> {
  const g = await login(port, "g");
  const a = await login(port, "a");
  try {
    await g.send("SUB > 1\r\n");
    await a.send("SUB > 1\r\n");
    await Promise.all([g.roundTrip(), a.roundTrip()]);
    for (const s of SUBJECTS) await g.send(`PUB ${s} ${s.length}\r\n${s}\r\n`);
    await g.send("PUB deny.me 1\r\nx\r\n");
    await a.send("PUB in.z 1\r\nz\r\nPUB secret.y 1\r\ny\r\n");
    await g.expect(/Permissions Violation for Publish to "secret\.x"/);
    await a.expect(/Permissions Violation for Publish to "secret\.y"/);
    await a.expect(/MSG acc\.z 1 1\r\n/);
    await g.expect(/MSG plain\.subject /);
    await Promise.all([g.roundTrip(), a.roundTrip()]);
    const lines = [...g.received.matchAll(/MSG (\S+) 1 \d+\r\n(\S+)\r\n|-ERR [^\r]*/g)]
      .map((m) => m[0].replaceAll("\r\n", " "));
    return [...lines, ...a.received.split("\r\n").filter((l) => l && l !== "PONG")];
  } finally {
    await Promise.all([g.close(), a.close()]);
  }
}

Deno.test("mappings: published subjects are mapped as nats-server maps them", async (t) => {
  const seen: Partial<Record<Flavor, string[]>> = {};
  await eachFlavor(t, "map", async (flavor) => {
    const s = await ServerProcess.start({ config: CONFIG, reference: flavor === "nats-server" });
    try {
      seen[flavor] = await observe(s.port);
    } finally {
      await s.stop();
    }
  });
  const d = seen.dnatsd!.join("\n");
  // Without nats-server to compare with, what dnatsd must do still holds.
  match(d, /MSG renamed 1 3 ren/);
  match(d, /MSG one\.a\.x 1 5 one\.a/);
  match(d, /MSG two\.b\.a 1 7 two\.a\.b/);
  match(d, /MSG sl\.ab\.cdef 1 /);
  match(d, /MSG sr\.a\.bc\.de 1 /);
  match(d, /MSG sp\.a\.b\.c 1 /);
  match(d, /MSG out\.q\.r\.s 1 /);
  match(d, /MSG part\.[0-4]\.a\.b 1 /);
  ok(!d.includes("secret.x 1"), "a mapping let a denied subject through");
  if (seen["nats-server"]) deepEqual(seen.dnatsd, seen["nats-server"]);
});

Deno.test("mappings: weighted destinations follow their weights", async () => {
  const s = await ServerProcess.start({
    config: `mappings {
  "w": [{dest: "w.a", weight: 20%}, {dest: "w.b", weight: 50%}]
}`,
  });
  const c = await login(s.port, "");
  try {
    await c.send("SUB w.a 1\r\nSUB w.b 2\r\nSUB w 3\r\n");
    await c.roundTrip();
    const n = 2000;
    let batch = "";
    for (let i = 0; i < n; i++) batch += "PUB w 0\r\n\r\n";
    await c.send(batch);
    const count = (re: RegExp) => (c.received.match(re) ?? []).length;
    const total = () => count(/MSG w(?:\.a|\.b)? \d /g);
    await waitFor(() => total() === n, 10_000, `${n} mapped messages (got ${total()})`);
    const a = count(/MSG w\.a 1 /g);
    const b = count(/MSG w\.b 2 /g);
    const rest = count(/MSG w 3 /g);
    // Expected 400 / 1000 / 600 (the 30% the weights leave keeps the subject);
    // one standard deviation is 18-22 messages, the bounds are over 5 of them.
    ok(Math.abs(a - 400) < 110, `w.a: ${a} of ${n}`);
    ok(Math.abs(b - 1000) < 120, `w.b: ${b} of ${n}`);
    ok(Math.abs(rest - 600) < 120, `unmapped: ${rest} of ${n}`);
  } finally {
    await c.close();
    await s.stop();
  }
});
