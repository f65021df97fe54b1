import { deepEqual, equal } from "node:assert/strict";
import { buildRoutez } from "./routez.ts";
import { fakeRoute, startTestServer, withFakeCluster } from "./_test_util.ts";

Deno.test("buildRoutez() without a cluster lists no routes", async () => {
  const t = await startTestServer();
  try {
    const z = buildRoutez(t.server, { subs: "none" });
    deepEqual(Object.keys(z), ["server_id", "now", "num_routes", "routes"]);
    equal(z.num_routes, 0);
    deepEqual(z.routes, []);
  } finally {
    await t.close();
  }
});

Deno.test("buildRoutez() renders cluster routes in nats-server's field order", async () => {
  const t = await startTestServer();
  try {
    withFakeCluster(t.server, () => [fakeRoute()]);
    const z = buildRoutez(t.server, { subs: "none" });
    equal(z.num_routes, 1);
    const [r] = z.routes as Record<string, unknown>[];
    deepEqual(Object.keys(r), [
      "rid",
      "remote_id",
      "did_solicit",
      "is_configured",
      "ip",
      "port",
      "start",
      "last_activity",
      "rtt",
      "uptime",
      "idle",
      "pending_size",
      "in_msgs",
      "out_msgs",
      "in_bytes",
      "out_bytes",
      "subscriptions",
    ]);
    equal(r.rtt, "500µs");
    equal(r.uptime, "1m5s");
    equal(r.idle, "1s");
    const withSubs =
      (buildRoutez(t.server, { subs: "list" }).routes as Record<string, unknown>[])[0];
    deepEqual(withSubs.subscriptions_list, ["a", "b"]);
  } finally {
    await t.close();
  }
});
