import { deepEqual, equal, throws } from "node:assert/strict";
import { addStats, buildSubsz, parseSubszParams } from "./subsz.ts";
import { startTestServer } from "./_test_util.ts";

const params = (s: string) => parseSubszParams(new URLSearchParams(s));
const STATS_KEYS = [
  "num_subscriptions",
  "num_cache",
  "num_inserts",
  "num_removes",
  "num_matches",
  "cache_hit_rate",
  "max_fanout",
  "avg_fanout",
];

Deno.test("parseSubszParams() refuses a wildcard test subject", () => {
  throws(() => params("test=foo.*"), {
    message: "invalid test subject, must be valid publish subject: foo.*",
  });
  deepEqual(params(""), { subs: false, offset: 0, limit: 1024, test: "", acc: "" });
});

Deno.test("buildSubsz() returns only statistics when the list is empty", async () => {
  // Only the client's subscriptions (no system account's).
  const t = await startTestServer((o) => o.noSystemAccount = true);
  try {
    const c = await t.connect();
    await c.send("SUB foo 1\r\nSUB foo.* 2\r\nPUB foo 1\r\nx\r\n");
    const z = buildSubsz(t.server, params(""));
    deepEqual(Object.keys(z), STATS_KEYS);
    equal(z.num_subscriptions, 2);
    equal(z.num_inserts, 2);
    deepEqual(Object.keys(buildSubsz(t.server, params("subs=1&acc=nope"))), STATS_KEYS);
    deepEqual(Object.keys(buildSubsz(t.server, params("subs=1&test=nomatch"))), STATS_KEYS);
  } finally {
    await t.close();
  }
});

Deno.test("buildSubsz() lists, filters by test subject and pages", async () => {
  // Only the client's subscriptions (no system account's).
  const t = await startTestServer((o) => o.noSystemAccount = true);
  try {
    const c = await t.connect();
    await c.send("SUB foo 1\r\nSUB foo.* 2\r\nSUB bar q 3\r\nUNSUB 3 5\r\n");
    const z = buildSubsz(t.server, params("subs=1"));
    deepEqual(Object.keys(z), [
      "server_id",
      "now",
      ...STATS_KEYS,
      "total",
      "offset",
      "limit",
      "subscriptions_list",
    ]);
    equal(z.total, 3);
    const list = z.subscriptions_list as Record<string, unknown>[];
    const bar = list.find((s) => s.subject === "bar")!;
    deepEqual(bar, {
      account: "$G",
      subject: "bar",
      qgroup: "q",
      sid: "3",
      msgs: 0,
      max: 5,
      cid: bar.cid,
    });
    const tested = buildSubsz(t.server, params("subs=1&test=foo.x"));
    deepEqual((tested.subscriptions_list as { subject: string }[]).map((s) => s.subject), [
      "foo.*",
    ]);
    const page = buildSubsz(t.server, params("subs=1&offset=1&limit=1"));
    equal(page.total, 1);
    equal(page.offset, 1);
    equal(page.limit, 1);
    equal(buildSubsz(t.server, params("subs=1&acc=$G")).total, 3);
  } finally {
    await t.close();
  }
});

Deno.test("addStats() sums counts and re-weights rates", () => {
  const s = addStats([
    {
      numSubscriptions: 1,
      numCache: 2,
      numInserts: 3,
      numRemoves: 0,
      numMatches: 10,
      cacheHitRate: 0.5,
      maxFanout: 2,
      avgFanout: 1,
    },
    {
      numSubscriptions: 1,
      numCache: 2,
      numInserts: 1,
      numRemoves: 1,
      numMatches: 30,
      cacheHitRate: 0.1,
      maxFanout: 4,
      avgFanout: 3,
    },
  ]);
  equal(s.numSubscriptions, 2);
  equal(s.numMatches, 40);
  equal(s.cacheHitRate, (5 + 3) / 40);
  equal(s.maxFanout, 4);
  equal(s.avgFanout, 2);
});
