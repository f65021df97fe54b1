/**
 * The scheduler-trace attribution of slow round trips (docs/performance.md,
 * "The bystander's max").
 *
 * @module
 */
import assert from "node:assert/strict";
import { attribute, parseTimehist } from "./slow_trips.ts";

function near(actual: number, expected: number): void {
  assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} != ${expected}`);
}

const TIMEHIST =
  `           time    cpu  task name                       wait time  sch delay   run time
                        [tid/pid]                          (msec)     (msec)     (msec)
--------------- ------  ------------------------------  ---------  ---------  ---------
     100.010000 [0000]  deno[10]                            0.000      4.000      2.000 
     100.012000 [0001]  worker-1[11/10]                     1.000      3.000      1.000 
     100.020000 [0000]  V8 DefaultWorke[21/20]              0.000      0.000      9.000 
     100.030000 [0001]  <idle>                              0.000      0.000      5.000 
`;

Deno.test("parseTimehist() reads tid, pid, delay and run of each switch", () => {
  const s = parseTimehist(TIMEHIST);
  assert.deepEqual(s.map((x) => [x.tid, x.pid]), [["10", "10"], ["11", "10"], ["21", "20"]]);
  near(s[0]!.delay, 0.004);
  near(s[2]!.run, 0.009);
});

Deno.test("attribute() splits a round trip into waits and CPU by role", () => {
  // The requester (tid 10) waited 100.004-100.008 and ran 100.008-100.010; the
  // responder (worker-1) waited 100.008-100.011; the server's helper ran
  // 100.011-100.020. The round trip spans 100.005-100.015.
  const [t] = attribute(parseTimehist(TIMEHIST), [[100.005, 0.01]], "10", "20");
  near(t!.waits.get("requester")!, 0.003);
  near(t!.waits.get("responder")!, 0.003);
  near(t!.cpu.get("requester")!, 0.002);
  near(t!.cpu.get("responder")!, 0.001);
  near(t!.cpu.get("server other")!, 0.004);
});
