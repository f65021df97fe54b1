/**
 * The request/reply rows' arithmetic: the nearest-rank percentile, and the
 * slow round trips `DNATSD_BENCH_SLOW` records (at or over a threshold).
 *
 * @module
 */
import assert from "node:assert/strict";
import { percentile, writeSlowSamples } from "./latency.ts";

Deno.test("percentile() is the nearest rank", () => {
  const s = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
  assert.equal(percentile(s, 0.5), 50);
  assert.equal(percentile(s, 0.99), 99);
  assert.equal(percentile(s, 1), 100);
  assert.equal(percentile([7], 0.99), 7);
  assert.ok(Number.isNaN(percentile([], 0.5)));
});

Deno.test("writeSlowSamples() appends the round trips at or over the threshold, only when asked", async () => {
  const file = await Deno.makeTempFile({ prefix: "dnatsd-slow-test-", suffix: ".jsonl" });
  const before = Deno.env.get("DNATSD_BENCH_SLOW");
  try {
    Deno.env.delete("DNATSD_BENCH_SLOW");
    await writeSlowSamples("rr", [1, 2], [900, 100], 500);
    assert.equal(await Deno.readTextFile(file), "", "nothing written without the variable");
    Deno.env.set("DNATSD_BENCH_SLOW", file);
    await writeSlowSamples("rr", [1000.1234, 2000, 3000], [400, 500, 650.6], 500);
    await writeSlowSamples("by", [5], [2500], 2000);
    const lines = (await Deno.readTextFile(file)).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines, [
      { prefix: "rr", pid: Deno.pid, count: 3, slow: [[2000, 500], [3000, 651]] },
      { prefix: "by", pid: Deno.pid, count: 1, slow: [[5, 2500]] },
    ]);
  } finally {
    if (before === undefined) Deno.env.delete("DNATSD_BENCH_SLOW");
    else Deno.env.set("DNATSD_BENCH_SLOW", before);
    await Deno.remove(file).catch(() => {});
  }
});
