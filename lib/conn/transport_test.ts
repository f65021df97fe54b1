import { equal as assertEquals } from "node:assert/strict";
import { noteRead, turnWaits } from "./transport.ts";

/** Idle waits `transport` takes when it yields every ms from `from` to `to` (ms, inclusive). */
function waitsBetween(transport: object, from: number, to: number): number {
  let waits = 0;
  for (let t = from; t <= to; t++) if (turnWaits(transport, t)) waits++;
  return waits;
}

Deno.test("turnWaits: a new publisher's own first reads do not put it on the short interval", () => {
  const previous = {};
  const publisher = {};
  // An earlier flood that ended, then a new client's CONNECT and PING.
  noteRead(previous);
  turnWaits(previous, 1_000);
  noteRead(publisher);
  noteRead(publisher);
  // Nobody else talks for 200 ms: the long interval (80 ms) applies, so 3 waits, not 40.
  assertEquals(waitsBetween(publisher, 2_000, 2_200), 3);
});

Deno.test("turnWaits: a bystander's read brings the short interval back", () => {
  const flood = {};
  const bystander = {};
  turnWaits(flood, 10_000);
  waitsBetween(flood, 10_001, 10_200);
  noteRead(bystander);
  // 5 ms interval for the 250 ms after the read was seen: 21 waits in 100 ms.
  assertEquals(waitsBetween(flood, 10_300, 10_400), 21);
});

Deno.test("turnWaits: two floods taking turns count each other's reads", () => {
  const a = {};
  const b = {};
  turnWaits(a, 20_000);
  waitsBetween(a, 20_001, 20_400);
  let waits = 0;
  for (let t = 20_500; t <= 20_600; t++) {
    const who = t % 2 === 0 ? a : b;
    noteRead(who);
    if (turnWaits(who, t)) waits++;
  }
  assertEquals(waits, 21);
});
