/**
 * The differential protocol fuzzer, bounded for the suite: generated client
 * streams (tests/fuzz/generator.ts) go to dnatsd and to Debian's nats-server,
 * and both must answer and close alike, except for the differences listed in
 * tests/fuzz/allowed.ts (and the README). Meanwhile an observer must receive
 * every sequence-numbered message of a steady publisher, and afterwards a
 * normal client must still work. `deno task fuzz` runs the same for longer.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { ServerProcess } from "./helpers/server.ts";
import { missing } from "./helpers/requires.ts";
import { FUZZ_CONFIG } from "./fuzz/generator.ts";
import {
  CRASH_IN_LOG,
  describe,
  normalClientWorks,
  Observer,
  runDifferential,
} from "./fuzz/differential.ts";
import { ALLOWED_DIFFERENCES } from "./fuzz/allowed.ts";

/** Fixed seeds: the same streams every run (as many as the time budget allows). */
const SEEDS = [101, 202, 303, 404];
const BUDGET_MS = 12_000;

Deno.test({
  name: "fuzzed client streams: dnatsd answers and closes as nats-server, observer loses nothing",
  ignore: missing("nats-server"),
  fn: async () => {
    const dnatsd = await ServerProcess.start({ config: FUZZ_CONFIG });
    const reference = await ServerProcess.start({ config: FUZZ_CONFIG, reference: true });
    try {
      const observer = new Observer("fuzzobs.q7Zk");
      await observer.start(dnatsd.port);
      const result = await runDifferential({
        dnatsdPort: dnatsd.port,
        referencePort: reference.port,
        observerSubject: observer.subject,
        seeds: SEEDS,
        maxPerSeed: 250,
        budgetMs: BUDGET_MS,
        concurrency: 4,
        allowed: ALLOWED_DIFFERENCES,
      });
      await observer.stop();
      const byName = new Map<string, number>();
      for (const d of result.differences) {
        if (d.allowed) byName.set(d.allowed, (byName.get(d.allowed) ?? 0) + 1);
      }
      console.log(
        `fuzz: ${result.compared} streams compared (seeds ${SEEDS.join(", ")}); ` +
          `allowed differences: ${
            [...byName].map(([n, c]) => `${n} ${c}`).join(", ") || "none"
          }; ` +
          `${result.unconfirmed} timing-only; observer ${observer.received}/${observer.published}`,
      );
      const unexplained = result.differences.filter((d) => !d.allowed);
      equal(unexplained.length, 0, unexplained.map(describe).join("\n"));
      ok(result.compared >= 40, `only ${result.compared} streams compared`);
      deepStrictEqual(observer.problems, []);
      ok(observer.published > 0);
      equal(observer.received, observer.published);
      equal(await normalClientWorks(dnatsd.port), null);
      const crash = CRASH_IN_LOG.exec(dnatsd.logs.text);
      equal(
        crash,
        null,
        `dnatsd log: ${dnatsd.logs.text.slice(Math.max(0, crash?.index ?? 0) - 500)}`,
      );
    } finally {
      await dnatsd.stop();
      await reference.stop();
    }
  },
});
