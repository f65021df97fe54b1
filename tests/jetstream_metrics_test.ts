// deno-lint-ignore-file no-import-prefix -- tests use npm packages (client, browser driver) directly
/**
 * JetStream in /metrics and on the dashboard: usage, per-stream figures and
 * the file store's compaction counters, read from a real server after real
 * traffic (small segments, so a few hundred overwrites compact), and the
 * dashboard's JetStream figure in a real headless Chromium.
 */
import { equal, ok } from "node:assert/strict";
import { connect } from "npm:@nats-io/transport-node@3.4.0";
import { chromium } from "npm:playwright-core@1.49.1";
import { parsePrometheus } from "../lib/monitor/_test_util.ts";
import { missing } from "./helpers/requires.ts";
import { ServerProcess } from "./helpers/server.ts";

const enc = new TextEncoder();

async function start(js: boolean, dir: string): Promise<{ s: ServerProcess; base: string }> {
  const s = await ServerProcess.start({
    args: ["-m", "-1", ...(js ? ["-js", "-sd", dir] : [])],
    env: { DNATSD_JS_SEGMENT_BYTES: "2048" },
  });
  const m = /Starting http monitor on (\S+)/.exec(s.logs.text)!;
  return { s, base: `http://127.0.0.1:${m[1].slice(m[1].lastIndexOf(":") + 1)}` };
}

/** Two streams (file with overwrites, memory), a durable consumer. */
async function traffic(url: string): Promise<void> {
  const nc = await connect({ servers: url });
  await nc.request(
    "$JS.API.STREAM.CREATE.F",
    enc.encode('{"name":"F","subjects":["f.*"],"max_msgs_per_subject":1}'),
  );
  await nc.request(
    "$JS.API.STREAM.CREATE.M",
    enc.encode('{"name":"M","subjects":["m"],"storage":"memory"}'),
  );
  for (let i = 0; i < 300; i++) await nc.request(`f.k${i % 3}`, enc.encode("v".repeat(100)));
  for (let i = 0; i < 4; i++) await nc.request("m", enc.encode("hi"));
  await nc.request(
    "$JS.API.CONSUMER.DURABLE.CREATE.F.D",
    enc.encode('{"stream_name":"F","config":{"durable_name":"D","ack_policy":"explicit"}}'),
  );
  await nc.close();
}

Deno.test({
  name: "jetstream metrics: usage, streams and compaction in /metrics",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "js-metrics-" });
    const { s, base } = await start(true, dir);
    try {
      await traffic(s.url);
      const fams = parsePrometheus(await (await fetch(`${base}/metrics`)).text());
      const one = (n: string) => {
        ok(fams.has(n), `no ${n}`);
        return fams.get(n)!.samples[0].value;
      };
      const byStream = (n: string) =>
        Object.fromEntries(fams.get(n)!.samples.map((x) => [x.labels.stream, x.value]));
      equal(one("dnatsd_jetstream_enabled"), 1);
      equal(one("dnatsd_jetstream_streams"), 2);
      equal(one("dnatsd_jetstream_consumers"), 1);
      equal(one("dnatsd_jetstream_messages"), 3 + 4);
      const jsz = await (await fetch(`${base}/jsz`)).json();
      equal(one("dnatsd_jetstream_bytes"), jsz.bytes);
      equal(one("dnatsd_jetstream_storage_used_bytes"), jsz.storage);
      equal(one("dnatsd_jetstream_memory_used_bytes"), jsz.memory);
      equal(one("dnatsd_jetstream_api_requests_total"), jsz.api.total);
      ok(one("dnatsd_jetstream_storage_limit_bytes") > 0);
      equal(byStream("dnatsd_jetstream_stream_messages").F, 3);
      equal(byStream("dnatsd_jetstream_stream_messages").M, 4);
      equal(byStream("dnatsd_jetstream_stream_consumers").F, 1);
      // Only the file stream has a log on disk; 300 writes of ~140 bytes were mostly compacted.
      const disk = byStream("dnatsd_jetstream_stream_disk_bytes");
      equal(Object.keys(disk).join(), "F");
      ok(disk.F > 0 && disk.F < 300 * 140 / 4, `disk ${disk.F}`);
      const steps = fams.get("dnatsd_jetstream_compactions_total")!.samples;
      ok(steps.reduce((a, x) => a + x.value, 0) > 0, JSON.stringify(steps));
      ok(one("dnatsd_jetstream_compaction_reclaimed_bytes_total") > 0);
      equal(one("dnatsd_jetstream_compaction_errors_total"), 0);
      ok(one("dnatsd_jetstream_compaction_max_pause_seconds") > 0);
    } finally {
      await s.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "jetstream metrics: without JetStream only dnatsd_jetstream_enabled 0",
  sanitizeResources: false,
  fn: async () => {
    const { s, base } = await start(false, "");
    try {
      const fams = parsePrometheus(await (await fetch(`${base}/metrics`)).text());
      equal(fams.get("dnatsd_jetstream_enabled")!.samples[0].value, 0);
      equal([...fams.keys()].filter((k) => k.startsWith("dnatsd_jetstream_")).length, 1);
    } finally {
      await s.stop();
    }
  },
});

Deno.test({
  name: "jetstream dashboard: the JetStream figure in a real browser",
  sanitizeOps: false,
  sanitizeResources: false,
  ignore: missing("chromium"),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "js-dash-" });
    const userDataDir = await Deno.makeTempDir({ prefix: "dnatsd-js-dashboard-" });
    const { s, base } = await start(true, dir);
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
    });
    try {
      await traffic(s.url);
      const page = context.pages()[0] ?? await context.newPage();
      const problems: string[] = [];
      page.on("pageerror", (e) => problems.push(String(e)));
      await page.goto(`${base}/`);
      await page.waitForFunction(
        "(document.querySelector('#js-sub')?.textContent ?? '').includes('streams')",
        undefined,
        { timeout: 10_000 },
      );
      equal(await page.textContent("#js"), "7 msgs");
      const sub = (await page.textContent("#js-sub")) ?? "";
      ok(sub.startsWith("2 streams · 1 consumers · "), sub);
      equal(problems.length, 0, problems.join("\n"));
    } finally {
      await context.close();
      await s.stop();
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
    }
  },
});
