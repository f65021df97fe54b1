import assert from "node:assert/strict";
import { EVENT_INTERVAL, withEventInterval } from "./event_interval.ts";

Deno.test("withEventInterval() sets the runtime's I/O polling interval to every turn", () => {
  assert.equal(EVENT_INTERVAL, "1");
  assert.equal(withEventInterval(undefined), EVENT_INTERVAL);
  assert.equal(withEventInterval(""), EVENT_INTERVAL);
  assert.equal(withEventInterval("  "), EVENT_INTERVAL);
});

Deno.test("withEventInterval() keeps an operator's own value", () => {
  assert.equal(withEventInterval("61"), "61");
  assert.equal(withEventInterval("7"), "7");
});
