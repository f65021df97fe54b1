/**
 * The arithmetic of the TLS budget (tls_budget.ts) and of the Worker sinks'
 * thread split (tls_ceiling.ts): medians per server, the two lower bounds of
 * a perfectly threaded dnatsd, and CPU per thread between two `threads` lines.
 *
 * @module
 */
import assert from "node:assert/strict";
import { budget, type BudgetRun } from "./tls_budget.ts";
import { threadSplit } from "./tls_ceiling.ts";

function run(server: string, tls: boolean, wall: number, serverCpu: number, gen: number) {
  return {
    server,
    flow: "pub",
    tls,
    sent: 1,
    delivered: 0,
    wall,
    rate: 1,
    serverCpu,
    serverThread: serverCpu * 0.9,
    genCpu: gen,
    genThread: gen,
    load: 0,
  } satisfies BudgetRun;
}

Deno.test("budget() bounds a threaded dnatsd by the CPU of both cores and by its parsing thread", () => {
  const runs = [
    run("nats-server", true, 1.2, 1.0, 0.3),
    run("nats-server", true, 1.6, 1.0, 0.3), // median wall 1.4
    run("dnatsd", true, 1.8, 1.4, 0.4),
    run("dnatsd", false, 1.3, 1.0, 0.1), // parsing thread 0.9 s
  ];
  const b = budget(runs, "pub", 2)!;
  assert.equal(b.natsWall, 1.4);
  assert.ok(Math.abs(b.needed - 1.4 / 1.2) < 1e-9);
  assert.ok(Math.abs(b.spreadBound - 0.9) < 1e-9, "(1.4 + 0.4) / 2");
  assert.ok(Math.abs(b.parseBound - 0.9) < 1e-9);
  assert.equal(b.plainWall, 1.3);
  // One core: the CPU bound dominates.
  const one = budget(runs, "pub", 1)!;
  assert.ok(Math.abs(one.best - 1.8) < 1e-9);
  assert.ok(Math.abs(one.bestRatio - 1.4 / 1.8) < 1e-9);
  assert.equal(budget(runs, "fanout", 2), undefined, "no runs of that flow");
});

Deno.test("threadSplit() subtracts the first threads line from the last, per thread", () => {
  const tail = [
    "listening on 1",
    'threads {"main":1000000000,"others":{"11":500000000,"12":10}}',
    'threads {"main":1500000000,"others":{"11":900000000,"12":20}}',
    'threads {"main":3000000000,"others":{"11":2500000000,"12":100000010,"13":5}}',
    "",
  ].join("\n");
  const s = threadSplit(tail)!;
  assert.ok(Math.abs(s.main - 2) < 1e-9);
  assert.ok(Math.abs(s.busiest - 2) < 1e-9);
  assert.ok(
    Math.abs(s.others - (2 + 0.1 + 5e-9)) < 1e-9,
    "a thread started in between counts from 0",
  );
  assert.equal(threadSplit("threads {}\n"), undefined, "one line is no window");
});
