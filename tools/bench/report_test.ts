/**
 * Medians over rounds, targets, the table and the JSON rows of the bench.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  atMost,
  combineRounds,
  exactly,
  type FigureDef,
  type FigureResult,
  ratioAtLeast,
  ratioAtMost,
  renderTable,
  toJson,
  verdict,
} from "./report.ts";

const RATE: FigureDef = { id: "r", label: "rate", format: "rate", target: ratioAtLeast(1.2) };

Deno.test("combineRounds() takes the median, notes every round, and skips n/a rounds", () => {
  const m = combineRounds(RATE, [
    { value: 300, note: "third" },
    { value: 100, note: "first" },
    { na: "failed" },
    { value: 200, note: "second" },
  ]);
  assert.ok(m !== undefined && !("na" in m));
  // Even count of values (3 measured of 4 rounds is odd: 100, 200, 300 -> 200).
  assert.equal(m.value, 200);
  assert.match(m.note!, /^second; rounds: 0\.3 k\/s \/ 0\.1 k\/s \/ n\/a \/ 0\.2 k\/s$/);
  const even = combineRounds(RATE, [{ value: 100 }, { value: 400 }]);
  assert.ok(even !== undefined && !("na" in even));
  assert.equal(even.value, 250);
});

Deno.test("combineRounds() keeps the worst round for max/min figures and n/a when all failed", () => {
  const lost: FigureDef = { id: "l", label: "lost", format: "count", combine: "max" };
  const m = combineRounds(lost, [{ value: 0 }, { value: 7 }, { value: 0 }]);
  assert.ok(m !== undefined && !("na" in m));
  assert.equal(m.value, 7);
  const once: FigureDef = { id: "o", label: "once", format: "okfail", combine: "min" };
  const o = combineRounds(once, [{ value: 1 }, { value: 0 }, { value: 1 }]);
  assert.ok(o !== undefined && !("na" in o));
  assert.equal(o.value, 0);
  assert.deepEqual(combineRounds(RATE, [{ na: "a" }, { na: "b" }]), { na: "a" });
  assert.equal(combineRounds(RATE, []), undefined);
});

Deno.test("targets judge ratios or dnatsd's own value, and cannot judge without a reference", () => {
  assert.equal(ratioAtLeast(1.2).met(120, 100), true);
  assert.equal(ratioAtLeast(1.2).met(119, 100), false);
  assert.equal(ratioAtLeast(1.2).met(119, undefined), undefined);
  assert.equal(ratioAtMost(0.9).met(90, 100), true);
  assert.equal(ratioAtMost(0.9).met(91, 100), false);
  assert.equal(ratioAtMost(1).text, "<= nats-server");
  assert.equal(atMost(30 * 1024, "MiB", 30).text, "<= 30 MiB");
  assert.equal(atMost(30 * 1024, "MiB", 30).met(30 * 1024, undefined), true);
  assert.equal(atMost(30 * 1024, "MiB", 30).met(30 * 1024 + 1, 1), false);
  assert.equal(exactly(0, "0 lost").met(0, 5), true);
  assert.equal(exactly(0, "0 lost").met(1, 0), false);
});

Deno.test("renderTable() shows dnatsd, nats-server, ratio, target and met in that order", () => {
  const results: FigureResult[] = [
    { def: RATE, dn: { value: 1.5e6 }, ref: { value: 1e6 } },
    {
      def: { id: "p", label: "p99", format: "us", target: ratioAtMost(1) },
      dn: { value: 500 },
      ref: { value: 400 },
    },
    {
      def: { id: "x", label: "no ref", format: "ms", target: ratioAtMost(1) },
      dn: { value: 3 },
      ref: undefined,
    },
    {
      def: { id: "n", label: "broken", format: "kib" },
      dn: { na: "server crashed" },
      ref: { value: 1 },
    },
  ];
  const lines = renderTable(results, "skipped (--no-reference)").split("\n");
  const cells = (i: number) => lines[i]!.split("|").slice(1, -1).map((c) => c.trim());
  assert.deepEqual(cells(0), ["workload", "dnatsd", "nats-server", "ratio", "target", "met"]);
  assert.deepEqual(cells(2), ["rate", "1.50 M/s", "1.00 M/s", "1.50x", ">= 1.2x", "met"]);
  assert.deepEqual(cells(3), ["p99", "500 µs", "400 µs", "1.25x", "<= nats-server", "NOT MET"]);
  assert.deepEqual(cells(4), [
    "no ref",
    "3.0 ms",
    "skipped (--no-reference)",
    "-",
    "<= nats-server",
    "?",
  ]);
  assert.deepEqual(cells(5), ["broken", "n/a (server crashed)", "1.0 KiB", "-", "", ""]);
  assert.equal(verdict(results[0]!), true);
  const json = toJson(results) as { id: string; ratio: string; targetMet: boolean | null }[];
  assert.deepEqual(json.map((r) => [r.id, r.ratio, r.targetMet]), [
    ["r", "1.50x", true],
    ["p", "1.25x", false],
    ["x", "-", null],
    ["n", "-", null],
  ]);
});

Deno.test("an every-round target fails when one round misses it, even if the medians meet it", () => {
  const def: FigureDef = { ...RATE, everyRound: true };
  const rounds = (dn: number[], ref: number[]): FigureResult => ({
    def,
    dnRounds: dn.map((value) => ({ value })),
    refRounds: ref.map((value) => ({ value })),
    dn: combineRounds(def, dn.map((value) => ({ value }))),
    ref: combineRounds(def, ref.map((value) => ({ value }))),
  });
  // Medians 130 vs 100 meet 1.2x, but round 3 is 100 vs 100.
  const missed = rounds([130, 140, 100], [100, 100, 100]);
  assert.equal(verdict(missed), false);
  assert.equal(verdict({ ...missed, def: RATE }), true);
  assert.equal(verdict(rounds([130, 140, 125], [100, 100, 100])), true);
  // A round without a reference value cannot be judged.
  const partial: FigureResult = { ...rounds([130, 140], [100, 100]) };
  partial.refRounds = [{ value: 100 }, { na: "crashed" }];
  assert.equal(verdict(partial), undefined);
  const line = renderTable([missed], "-").split("\n")[2]!;
  assert.match(line, /\| >= 1\.2x every round \| NOT MET \|$/);
});
