import { deepEqual, equal, ok } from "node:assert/strict";
import { buildVarz, routeHostPort } from "./varz.ts";
import { CpuSampler } from "./proc_stats.ts";
import { startTestServer } from "./_test_util.ts";

const ctx = () => ({
  httpPort: 8222,
  httpsPort: 0,
  reqStats: new Map([["/varz", 3]]),
  cpu: new CpuSampler(),
});

/** nats-server 2.9.10's /varz keys, in order, for a plain server (captured). */
const PLAIN_KEYS = [
  "server_id",
  "server_name",
  "version",
  "proto",
  "go",
  "host",
  "port",
  "max_connections",
  "ping_interval",
  "ping_max",
  "http_host",
  "http_port",
  "http_base_path",
  "https_port",
  "auth_timeout",
  "max_control_line",
  "max_payload",
  "max_pending",
  "cluster",
  "gateway",
  "leaf",
  "mqtt",
  "websocket",
  "jetstream",
  "tls_timeout",
  "write_deadline",
  "start",
  "now",
  "uptime",
  "mem",
  "cores",
  "gomaxprocs",
  "cpu",
  "connections",
  "total_connections",
  "routes",
  "remotes",
  "leafnodes",
  "in_msgs",
  "out_msgs",
  "in_bytes",
  "out_bytes",
  "slow_consumers",
  "subscriptions",
  "http_req_stats",
  "config_load_time",
  "system_account",
];

Deno.test("buildVarz() has nats-server's keys in order and live counters", async () => {
  const t = await startTestServer();
  try {
    const c = await t.connect({ name: "v" });
    await c.send("SUB foo 1\r\nPUB foo 5\r\nhello\r\n");
    const v = buildVarz(t.server, ctx());
    deepEqual(Object.keys(v), PLAIN_KEYS);
    equal(v.server_id, t.server.serverId);
    equal(v.port, t.server.clientPort);
    equal(v.ping_interval, 120_000_000_000);
    equal(v.write_deadline, 10_000_000_000);
    equal(v.connections, 1);
    equal(v.total_connections, 1);
    // The client's one and the 43 of the system account and $G's imports (as nats-server).
    equal(v.subscriptions, 44);
    equal(v.system_account, "$SYS");
    equal(v.in_msgs, 1);
    equal(v.in_bytes, 5);
    equal(v.out_msgs, 1);
    equal(v.http_port, 8222);
    deepEqual(v.http_req_stats, { "/varz": 3 });
    deepEqual(v.cluster, {});
    ok(typeof v.mem === "number" && v.mem > 0);
    ok(typeof v.cpu === "number");
    ok(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/.test(v.now as string));
  } finally {
    await t.close();
  }
});

Deno.test("buildVarz() shows auth/TLS/limits flags but never secrets", async () => {
  const t = await startTestServer((o) => {
    o.authorization = { user: "admin", password: "s3cr3t-pass" };
    o.maxSubscriptions = 10;
    o.cluster = {
      name: "cl",
      host: "127.0.0.1",
      port: 0,
      routes: ["nats://ruser:route-secret@127.0.0.1:1"],
      authorization: { user: "r", password: "route-pass" },
      noAdvertise: false,
      connectRetries: 0,
    };
  });
  try {
    const v = buildVarz(t.server, ctx());
    equal(v.auth_required, true);
    equal(v.max_subscriptions, 10);
    deepEqual(v.cluster, {
      name: "cl",
      addr: "127.0.0.1",
      auth_timeout: 2,
      urls: ["127.0.0.1:1"],
      tls_timeout: 2,
    });
    const text = JSON.stringify(v);
    for (const secret of ["s3cr3t-pass", "route-secret", "route-pass", "ruser", "admin"]) {
      ok(!text.includes(secret), `varz leaks ${secret}`);
    }
  } finally {
    await t.close();
  }
});

Deno.test("routeHostPort() drops credentials and scheme", () => {
  equal(routeHostPort("nats://u:p@host.example:6222"), "host.example:6222");
  equal(routeHostPort("127.0.0.1:7000"), "127.0.0.1:7000");
  equal(routeHostPort("nats-route://[::1]:7000"), "[::1]:7000");
});
