import { deepEqual, equal, throws } from "node:assert/strict";
import { buildAccountz, buildAccstatz } from "./accountz.ts";
import { buildGatewayz, buildHealthz, buildJsz } from "./health.ts";
import { buildLeafz } from "./leafz.ts";
import { startTestServer } from "./_test_util.ts";

Deno.test("buildAccountz() lists accounts and details one", async () => {
  const t = await startTestServer((o) => {
    o.accounts = [{ name: "A", users: [{ user: "a", password: "a", account: "A" }] }];
  });
  try {
    const list = buildAccountz(t.server, { acc: "" });
    deepEqual(Object.keys(list), ["server_id", "now", "system_account", "accounts"]);
    deepEqual(list.accounts, ["$G", "A", "$SYS"]);
    const c = await t.connect({ user: "a", pass: "a" });
    await c.send("SUB x 1\r\n");
    const d = buildAccountz(t.server, { acc: "A" }).account_detail as Record<string, unknown>;
    deepEqual(Object.keys(d), [
      "account_name",
      "update_time",
      "expired",
      "complete",
      "jetstream_enabled",
      "leafnode_connections",
      "client_connections",
      "subscriptions",
      "sublist_stats",
    ]);
    equal(d.client_connections, 1);
    equal(d.subscriptions, 1);
    const sys = buildAccountz(t.server, { acc: "$SYS" }).account_detail as Record<string, unknown>;
    equal(sys.is_system, true);
    throws(() => buildAccountz(t.server, { acc: "nope" }), {
      message: "Account nope does not exist",
    });
  } finally {
    await t.close();
  }
});

Deno.test("buildAccstatz() lists accounts with connections, or all with unused", async () => {
  const t = await startTestServer();
  try {
    deepEqual(buildAccstatz(t.server, { unused: false }).account_statz, []);
    const c = await t.connect();
    await c.send("SUB x 1\r\nPUB x 2\r\nhi\r\n");
    const [g] = buildAccstatz(t.server, { unused: false }).account_statz as Record<
      string,
      unknown
    >[];
    deepEqual(g, {
      acc: "$G",
      conns: 1,
      leafnodes: 0,
      total_conns: 1,
      sent: { msgs: 1, bytes: 2 },
      received: { msgs: 1, bytes: 2 },
      slow_consumers: 0,
    });
    equal((buildAccstatz(t.server, { unused: true }).account_statz as unknown[]).length, 2);
  } finally {
    await t.close();
  }
});

Deno.test("healthz is ok when listening; off-feature bodies match nats-server", async () => {
  const t = await startTestServer();
  try {
    deepEqual(buildHealthz(t.server), { status: 200, body: { status: "ok" } });
    deepEqual(Object.keys(buildJsz(t.server)), [
      "server_id",
      "now",
      "disabled",
      "config",
      "memory",
      "storage",
      "reserved_memory",
      "reserved_storage",
      "accounts",
      "ha_assets",
      "api",
      "streams",
      "consumers",
      "messages",
      "bytes",
    ]);
    deepEqual(buildGatewayz(t.server).outbound_gateways, {});
    equal(buildLeafz(t.server).leafs, null);
  } finally {
    await t.close();
  }
});

Deno.test("healthz is 503 before the client listener is up", async () => {
  const { Server } = await import("../server.ts");
  const { defaultOptions } = await import("../config/options.ts");
  const { MemoryLogger } = await import("../ops/logger.ts");
  const s = new Server(defaultOptions(), new MemoryLogger());
  const h = buildHealthz(s);
  equal(h.status, 503);
  equal(h.body.status, "error");
});
