/**
 * Smoke test of the benchmark: a quick pub/sub and queue run against dnatsd
 * alone must print a positive pub/sub rate and a passing exactly-once check.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const BENCH = fileURLToPath(new URL("./bench.ts", import.meta.url));

Deno.test("bench.ts --quick prints a pub/sub rate and queue exactly-once OK for dnatsd", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", BENCH, "--quick", "--only", "pubsub,queue", "--no-reference"],
    stdout: "piped",
    stderr: "piped",
    // The bench stops its servers on SIGTERM, so a hung run cleans up after itself.
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const detail = `${text}\n${new TextDecoder().decode(out.stderr)}`;
  assert.ok(out.success, `bench failed:\n${detail}`);
  const rate = /dnatsd\s+pub\/sub 1:1 128 B \(msgs\/s\): ([\d.]+) [Mk]\/s/.exec(text);
  assert.ok(rate !== null, `no dnatsd pub/sub figure:\n${detail}`);
  assert.ok(Number(rate[1]) > 0, `pub/sub rate is not positive:\n${detail}`);
  assert.match(text, /dnatsd\s+queue 1:4 exactly-once: OK/, detail);
});
