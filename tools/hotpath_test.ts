import { ok } from "node:assert/strict";
import { measure } from "./hotpath.ts";

Deno.test("tools/hotpath.ts measures the publish path of this checkout (every byte delivered)", async () => {
  const ns = await measure(new URL("../", import.meta.url), 2);
  ok(Number.isFinite(ns) && ns > 0, `ns per delivery: ${ns}`);
});

Deno.test("tools/hotpath.ts times bursts of the wildcard workload's 10,000 SUBs", async () => {
  const ns = await measure(new URL("../", import.meta.url), 3, "burst");
  ok(Number.isFinite(ns) && ns > 0, `ns per SUB: ${ns}`);
});

Deno.test("tools/hotpath.ts --shuffled delivers the wildcard workload in a random subject order", async () => {
  const ns = await measure(new URL("../", import.meta.url), 1, "wildcard", true);
  ok(Number.isFinite(ns) && ns > 0, `ns per message: ${ns}`);
});
