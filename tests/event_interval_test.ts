/**
 * The server runs with the runtime's I/O polling interval at every turn
 * (lib/ops/event_interval.ts): the setting reaches the re-executed server
 * process through DENO_TOKIO_EVENT_INTERVAL, and an operator's own value wins.
 * What the setting does under a flood is checked in tests/fairness_test.ts.
 *
 * @module
 */
import assert from "node:assert/strict";
import { EVENT_INTERVAL_VAR, withEventInterval } from "../lib/ops/event_interval.ts";
import { ServerProcess } from "./helpers/server.ts";

const linux = Deno.build.os === "linux";

/** DENO_TOKIO_EVENT_INTERVAL of a running process, from /proc/<pid>/environ. */
async function eventIntervalOf(pid: number): Promise<string | undefined> {
  const env = await Deno.readTextFile(`/proc/${pid}/environ`);
  const entry = env.split("\0").find((e) => e.startsWith(`${EVENT_INTERVAL_VAR}=`));
  return entry?.slice(EVENT_INTERVAL_VAR.length + 1);
}

Deno.test({
  name: "the server process runs with DENO_TOKIO_EVENT_INTERVAL=1",
  ignore: !linux,
  fn: async () => {
    // Whatever this runner has (usually nothing), or the server's value.
    const expected = withEventInterval(Deno.env.get(EVENT_INTERVAL_VAR));
    const server = await ServerProcess.start();
    try {
      assert.equal(await eventIntervalOf(server.pid), expected);
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "an operator's DENO_TOKIO_EVENT_INTERVAL is kept as given",
  ignore: !linux,
  fn: async () => {
    const server = await ServerProcess.start({ env: { [EVENT_INTERVAL_VAR]: "61" } });
    try {
      assert.equal(await eventIntervalOf(server.pid), "61");
    } finally {
      await server.stop();
    }
  },
});
