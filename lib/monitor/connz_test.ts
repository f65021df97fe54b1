import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { buildConnz, defaultConnzParams, parseConnzParams } from "./connz.ts";
import { startTestServer, until } from "./_test_util.ts";

const params = (s: string) => parseConnzParams(new URLSearchParams(s));
type Conn = Record<string, unknown>;
const conns = (o: Record<string, unknown>) => o.connections as Conn[];

Deno.test("parseConnzParams() applies defaults and nats-server's errors", () => {
  deepEqual(defaultConnzParams(), {
    sort: "cid",
    auth: false,
    subs: "none",
    offset: 0,
    limit: 1024,
    cid: 0,
    state: "open",
    user: "",
    acc: "",
  });
  equal(params("offset=-3&limit=-1").offset, 0);
  equal(params("offset=-3&limit=-1").limit, 1024);
  equal(params("state=all").state, "any");
  equal(params("subs=detail").subs, "detail");
  equal(params("subs=1").subs, "list");
  throws(() => params("sort=bogus"), { message: "invalid sorting option: bogus" });
  throws(() => params("sort=stop"), { message: "sort by stop only valid on closed connections" });
  throws(() => params("sort=reason&state=any"), {
    message: "sort by reason only valid on closed connections",
  });
  throws(() => params("state=x"), { message: "Error decoding state for x" });
  throws(() => params("subs=foo"), {
    message: `Error decoding boolean for 'subs': strconv.ParseBool: parsing "foo": invalid syntax`,
  });
  equal(params("sort=stop&state=closed").sort, "stop");
});

Deno.test("buildConnz() lists open clients with nats-server's fields", async () => {
  const t = await startTestServer();
  try {
    const a = await t.connect({ name: "alpha", lang: "raw", version: "1.0" });
    await a.send("SUB foo 1\r\nSUB bar q 2\r\nPUB foo 3\r\nabc\r\n");
    const z = buildConnz(t.server, defaultConnzParams());
    deepEqual(Object.keys(z), [
      "server_id",
      "now",
      "num_connections",
      "total",
      "offset",
      "limit",
      "connections",
    ]);
    const [c] = conns(z);
    deepEqual(Object.keys(c), [
      "cid",
      "kind",
      "type",
      "ip",
      "port",
      "start",
      "last_activity",
      "rtt",
      "uptime",
      "idle",
      "pending_bytes",
      "in_msgs",
      "out_msgs",
      "in_bytes",
      "out_bytes",
      "subscriptions",
      "name",
      "lang",
      "version",
    ]);
    equal(c.kind, "Client");
    equal(c.type, "nats");
    equal(c.in_msgs, 1);
    equal(c.out_msgs, 1);
    equal(c.in_bytes, 3);
    equal(c.subscriptions, 2);
    equal(c.name, "alpha");

    const list = conns(buildConnz(t.server, params("subs=1")))[0];
    deepEqual((list.subscriptions_list as string[]).sort(), ["bar", "foo"]);
    const detail = conns(buildConnz(t.server, params("subs=detail")))[0];
    equal(detail.subscriptions_list, undefined);
    deepEqual(detail.subscriptions_list_detail, [
      { subject: "foo", sid: "1", msgs: 1, cid: c.cid },
      { subject: "bar", qgroup: "q", sid: "2", msgs: 0, cid: c.cid },
    ]);
  } finally {
    await t.close();
  }
});

Deno.test("buildConnz() sorts, pages and filters by cid", async () => {
  const t = await startTestServer();
  try {
    const a = await t.connect({ name: "a" });
    const b = await t.connect({ name: "b" });
    const c = await t.connect({ name: "c" });
    await b.send("SUB x 1\r\nSUB y 2\r\nSUB z 3\r\n");
    await c.send("SUB x 1\r\n");
    await a.send("PUB x 2\r\nhi\r\nPUB x 2\r\nhi\r\n");
    const names = (q: string) => conns(buildConnz(t.server, params(q))).map((x) => x.name);
    deepEqual(names(""), ["a", "b", "c"]);
    deepEqual(names("sort=subs"), ["b", "c", "a"]);
    deepEqual(names("sort=msgs_from"), ["a", "b", "c"]);
    deepEqual(names("sort=bytes_to"), ["b", "c", "a"]);
    deepEqual(names("offset=1&limit=1"), ["b"]);
    deepEqual(names("offset=5"), []);
    const z = buildConnz(t.server, params("offset=1&limit=1"));
    equal(z.total, 3);
    equal(z.num_connections, 1);
    const cidB = conns(buildConnz(t.server, params("")))[1].cid as number;
    const one = buildConnz(t.server, params(`cid=${cidB}`));
    equal(one.limit, 1);
    deepEqual(conns(one).map((x) => x.name), ["b"]);
    equal(conns(buildConnz(t.server, params("cid=999"))).length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("buildConnz() shows closed connections with stop and reason", async () => {
  const t = await startTestServer();
  try {
    const a = await t.connect({ name: "gone" });
    await a.send("SUB s 1\r\n");
    await t.connect({ name: "stays" });
    a.close();
    await until(() => t.server.closedClients.size === 1, 3000, "closed client");
    const closed = conns(buildConnz(t.server, params("state=closed&subs=1")));
    equal(closed.length, 1);
    equal(closed[0].name, "gone");
    equal(closed[0].reason, "Client Closed");
    ok(typeof closed[0].stop === "string");
    deepEqual(closed[0].subscriptions_list, ["s"]);
    const keys = Object.keys(closed[0]);
    equal(keys.indexOf("stop"), keys.indexOf("last_activity") + 1);
    equal(keys.indexOf("reason"), keys.indexOf("stop") + 1);
    deepEqual(conns(buildConnz(t.server, params("state=any"))).map((x) => x.name), [
      "gone",
      "stays",
    ]);
    deepEqual(conns(buildConnz(t.server, params("state=closed&sort=stop"))).map((x) => x.name), [
      "gone",
    ]);
  } finally {
    await t.close();
  }
});

Deno.test("buildConnz() auth shows user and non-global account; user/acc filter", async () => {
  const t = await startTestServer((o) => {
    o.accounts = [{ name: "A", users: [{ user: "alice", password: "pa", account: "A" }] }];
    o.authorization = { users: [{ user: "bob", password: "pb" }] };
  });
  try {
    await t.connect({ user: "alice", pass: "pa", name: "ca" });
    await t.connect({ user: "bob", pass: "pb", name: "cb" });
    const all = conns(buildConnz(t.server, params("auth=1")));
    const byName = Object.fromEntries(all.map((c) => [c.name, c]));
    equal(byName.ca.authorized_user, "alice");
    equal(byName.ca.account, "A");
    equal(byName.cb.authorized_user, "bob");
    equal(byName.cb.account, undefined);
    const noAuth = conns(buildConnz(t.server, params("")));
    ok(noAuth.every((c) => c.authorized_user === undefined && c.account === undefined));
    deepEqual(conns(buildConnz(t.server, params("user=bob"))).map((c) => c.name), ["cb"]);
    deepEqual(conns(buildConnz(t.server, params("acc=A"))).map((c) => c.name), ["ca"]);
    ok(!JSON.stringify(all).includes('pa"'), "no password in connz");
  } finally {
    await t.close();
  }
});
