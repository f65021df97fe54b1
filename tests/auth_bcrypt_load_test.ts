// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * Black-box tests: bcrypt checks (cost 11, ~180 ms each in bcryptjs) run off
 * the routing thread, so a request/reply stream keeps flowing while clients
 * authenticate, and a reconnect storm is cheap thanks to the success cache.
 * dnatsd only: these are properties of dnatsd's worker pool and cache
 * (nats-server checks bcrypt on the connecting client's own goroutine).
 */
import { connect, type NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { equal, ok } from "node:assert/strict";
import { bcrypt } from "../lib/deps.ts";
import { withFlavor } from "./auth_helpers.ts";

/**
 * 20 users with their own password and cost-11 hash (cost 11 is what mkpasswd
 * and nats-server use by default): distinct credentials, so every login pays a
 * real bcrypt check instead of sharing one in-flight check or a cached success.
 * Hashing them here costs ~4 s once per file.
 */
const STORM = Array.from({ length: 20 }, (_, i) => {
  const pass = `Storm-Pa55word-${i}`;
  return { user: `storm${i}`, pass, hash: bcrypt.hashSync(pass, 11) };
});

const CONFIG = `
authorization {
  users = [
    {user: svc, password: svcpw}
${STORM.map((u) => `    {user: ${u.user}, password: "${u.hash}"}`).join("\n")}
  ]
}
`;

Deno.test("bcrypt: 20 cost-11 logins never stall a request/reply stream (< 150 ms)", async () => {
  await withFlavor("dnatsd", { config: CONFIG }, async (s) => {
    const svc = await connect({ servers: s.url, user: "svc", pass: "svcpw", reconnect: false });
    const req = await connect({ servers: s.url, user: "svc", pass: "svcpw", reconnect: false });
    const logins: NatsConnection[] = [];
    try {
      svc.subscribe("echo", { callback: (_e, m) => void m.respond(m.data) });
      await svc.flush();
      // Warm up the path so the first measured request is not a cold start.
      await req.request("echo", "warm", { timeout: 2000 });

      let loginsDone = false;
      const t0 = performance.now();
      const storm = Promise.all(
        STORM.map((u) =>
          connect({ servers: s.url, user: u.user, pass: u.pass, reconnect: false })
            .then((nc) => {
              logins.push(nc);
            })
        ),
      ).finally(() => loginsDone = true);

      const latencies: number[] = [];
      // Bounded: 20 checks on a 2-worker pool take ~2 s; 15 s is a hard stop.
      while (!loginsDone && performance.now() - t0 < 15_000) {
        const t = performance.now();
        await req.request("echo", "x", { timeout: 2000 });
        latencies.push(performance.now() - t);
      }
      await storm;
      const stormMs = performance.now() - t0;
      equal(logins.length, 20);
      const worst = Math.max(...latencies);
      // The logins took several bcrypt rounds; the stream ran all along.
      // 20 real checks on a pool of at most 2 workers: several rounds of ~180 ms.
      ok(stormMs > 500, `20 cost-11 logins took only ${stormMs.toFixed(0)} ms: were they checked?`);
      ok(latencies.length >= 10, `only ${latencies.length} requests during the logins`);
      ok(
        worst < 150,
        `slowest reply ${worst.toFixed(1)} ms during the logins (${latencies.length} requests)`,
      );
    } finally {
      await Promise.all(logins.map((nc) => nc.close()));
      await req.close();
      await svc.close();
    }
  });
});

Deno.test("bcrypt: a reconnect storm (20 reconnects) is fast thanks to the success cache", async () => {
  await withFlavor("dnatsd", { config: CONFIG }, async (s) => {
    const opts = { servers: s.url, user: STORM[0]!.user, pass: STORM[0]!.pass, reconnect: false };
    const t1 = performance.now();
    const first = await connect(opts);
    await first.close();
    const firstMs = performance.now() - t1;
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      const nc = await connect(opts);
      await nc.flush();
      times.push(performance.now() - t);
      await nc.close();
    }
    const total = times.reduce((a, b) => a + b, 0);
    const sorted = [...times].sort((a, b) => a - b);
    const median = sorted[10]!;
    // Without the cache each reconnect would pay a full cost-11 check (~180 ms).
    ok(firstMs > 100, `first login ${firstMs.toFixed(0)} ms: was bcrypt really checked?`);
    ok(median < 60, `median reconnect ${median.toFixed(1)} ms (first login ${firstMs.toFixed(0)})`);
    ok(total < 2000, `20 reconnects took ${total.toFixed(0)} ms`);
  });
});
