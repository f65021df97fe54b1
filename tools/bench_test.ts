/**
 * Tests of the benchmark itself, cheap enough for every test run: the command
 * line, and tiny smoke runs against dnatsd alone (every workload must produce
 * every one of its figures; the checks that need no reference must pass).
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parseCli, peakFigure, WORKLOADS } from "./bench.ts";

const BENCH = fileURLToPath(new URL("./bench.ts", import.meta.url));

/** Runs bench.ts in its own process (it stops its servers on SIGTERM, so a timeout cleans up). */
async function runBench(args: string[], timeoutMs: number) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--lock=deno.lock", BENCH, ...args],
    cwd: fileURLToPath(new URL("..", import.meta.url)),
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const detail = `${text}\n${new TextDecoder().decode(out.stderr)}`;
  assert.ok(out.success, `bench failed:\n${detail}`);
  return { text, detail };
}

Deno.test("bench.ts --quick prints a pub/sub rate and queue exactly-once OK for dnatsd", async () => {
  const { text, detail } = await runBench(
    ["--quick", "--only", "pubsub,queue", "--no-reference"],
    60_000,
  );
  const rate = /dnatsd\s+pub\/sub 1:1 128 B \(msgs\/s\): ([\d.]+) [Mk]\/s/.exec(text);
  assert.ok(rate !== null, `no dnatsd pub/sub figure:\n${detail}`);
  assert.ok(Number(rate[1]) > 0, `pub/sub rate is not positive:\n${detail}`);
  assert.match(text, /dnatsd\s+queue 1:4 exactly-once: OK/, detail);
});

Deno.test("parseCli() reads --rounds, --only, --smoke and keeps the old flags", () => {
  const dflt = parseCli([]);
  assert.equal(dflt.rounds, 3);
  assert.equal(dflt.only.length, WORKLOADS.length);
  assert.equal(dflt.reference, true);
  const c = parseCli([
    "--rounds",
    "5",
    "--only",
    "tlspub, wildcard",
    "--quick",
    "--no-reference",
    "--json",
    "/tmp/x.json",
    "--nats-server",
    "/opt/nats-server",
    "--dnatsd-cmd",
    "dnatsd --foo",
  ]);
  assert.equal(c.rounds, 5);
  assert.deepEqual(c.only.map((w) => w.name), ["tlspub", "wildcard"]);
  assert.equal(c.quick, true);
  assert.equal(c.smoke, false);
  assert.equal(c.reference, false);
  assert.equal(c.json, "/tmp/x.json");
  assert.equal(c.natsServer, "/opt/nats-server");
  assert.deepEqual(c.dnatsdCmd, ["dnatsd", "--foo"]);
  const smoke = parseCli(["--smoke"]);
  assert.equal(smoke.rounds, 1);
  assert.equal(smoke.quick, true);
  assert.throws(() => parseCli(["--only", "pub,nope"]), /Unknown workload: nope/);
  assert.throws(() => parseCli(["--rounds", "0"]), /--rounds must be a positive integer/);
  assert.throws(() => parseCli(["--rounds", "two"]), /--rounds must be a positive integer/);
});

Deno.test("workload names and figure ids are unique, so --only and the JSON rows are unambiguous", () => {
  const names = WORKLOADS.map((w) => w.name);
  assert.equal(new Set(names).size, names.length);
  const ids = WORKLOADS.flatMap((w) => [...w.figures, peakFigure(w)].filter((f) => f !== undefined))
    .map((f) => f.id);
  assert.equal(new Set(ids).size, ids.length, ids.join(" "));
});

interface JsonRow {
  id: string;
  label: string;
  dnatsd: { value: number; note?: string } | { na: string } | null;
  natsServer: unknown;
}

interface JsonCpu {
  workload: string;
  server: string;
  median: { genAvg: number; workerPeak: number | null; serverAvg: number };
}

Deno.test("bench.ts --smoke measures every figure of every workload on dnatsd", async () => {
  const json = await Deno.makeTempFile({ prefix: "dnatsd-bench-test-", suffix: ".json" });
  try {
    const { detail } = await runBench(["--smoke", "--no-reference", "--json", json], 240_000);
    const out = JSON.parse(await Deno.readTextFile(json)) as {
      rounds: number;
      counts: string;
      rows: JsonRow[];
      cpu: JsonCpu[];
      table: string;
    };
    assert.equal(out.rounds, 1);
    assert.equal(out.counts, "smoke");
    const want = WORKLOADS.flatMap((w) =>
      [...w.figures, peakFigure(w)].filter((f) => f !== undefined)
    ).map((f) => f.id).sort();
    assert.deepEqual(out.rows.map((r) => r.id).sort(), want);
    const value = (id: string) => {
      const row = out.rows.find((r) => r.id === id)!;
      assert.ok(
        row.dnatsd !== null && "value" in row.dnatsd,
        `${row.label}: ${JSON.stringify(row.dnatsd)}\n${detail}`,
      );
      return row.dnatsd.value;
    };
    for (const r of out.rows) {
      const v = value(r.id);
      assert.ok(Number.isFinite(v) && v >= 0, `${r.label}: ${v}`);
      assert.equal(r.natsServer, null, "--no-reference must leave nats-server's column empty");
      // Rates, latencies and memory are positive; counts of lost messages and of
      // slow consumers cut may be 0.
      if (!r.id.endsWith(".lost") && !r.id.endsWith(".slow")) {
        assert.ok(v > 0, `${r.label} is 0\n${detail}`);
      }
    }
    // The checks that need no reference server hold for dnatsd.
    assert.equal(value("queue.once"), 1, detail);
    assert.equal(value("c1k.lost"), 0, detail);
    assert.equal(value("c1k.slow"), 0, detail);
    // Peak RSS at least what the idle process holds; the route flood's peak is its own row.
    assert.ok(value("tlspub.peak") >= value("idle.rss") * 0.5, detail);
    // Every workload has its CPU row; workloads with load Workers report their busiest one.
    for (const w of WORKLOADS) {
      const row = out.cpu.find((c) => c.workload === w.name && c.server === "dnatsd");
      assert.ok(row !== undefined, `no CPU row for ${w.name}`);
      assert.ok(row.median.genAvg >= 0 && row.median.serverAvg >= 0, JSON.stringify(row));
    }
    for (const name of ["tlspub", "tlsfanout", "pubsub", "wildcard", "cluster1k", "bystander"]) {
      const row = out.cpu.find((c) => c.workload === name)!;
      assert.ok(row.median.workerPeak !== null, `${name}: no load Worker CPU\n${detail}`);
    }
    assert.match(
      out.table,
      /^\| workload +\| dnatsd +\| nats-server +\| ratio +\| target +\| met +\|$/m,
    );
  } finally {
    await Deno.remove(json).catch(() => {});
  }
});
