/**
 * Heap bytes a SUB allocates and keeps: bursts of the wildcard workload's
 * 10,000 SUBs (`deno task bench --only wildcard`), each on a new in-process
 * `ClientConnection` (as tools/hotpath.ts), under its own first token.
 * `heapUsed` is read after two forced collections, right after the burst
 * (everything allocated, with a young generation large enough that no
 * scavenge runs during it) and after two more collections (what the burst
 * kept). A scavenge during a burst copies what survives it; the allocated
 * figure is how often it runs. See docs/performance.md ("Wildcard workload,
 * fourth round").
 *
 * Usage: `deno run -A --v8-flags=--expose-gc,--min-semi-space-size=64,--max-semi-space-size=64
 * tools/bench/sub_alloc.ts [root]`, where `root` is another checkout to
 * measure.
 *
 * @module
 */
import type { ClientConnection } from "../../lib/client/connection.ts";
import { inProcessServer, wildcardSubs } from "../hotpath.ts";

const BURSTS = 6;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error("run with --v8-flags=--expose-gc (see the module comment)");
  Deno.exit(2);
}
const root = Deno.args[0] === undefined
  ? new URL("../../", import.meta.url)
  : new URL(`file://${Deno.args[0].replace(/\/?$/, "/")}`);
const { connect } = await inProcessServer(root);
const enc = new TextEncoder();
const clients: ClientConnection[] = [];
for (let k = 0; k < BURSTS; k++) {
  const { transport, client } = connect(k + 2, "");
  clients.push(client);
  const chunk = enc.encode(wildcardSubs(`r${k}`));
  gc();
  gc();
  const before = Deno.memoryUsage().heapUsed;
  transport.onData(chunk);
  const after = Deno.memoryUsage().heapUsed;
  gc();
  gc();
  const kept = Deno.memoryUsage().heapUsed;
  if (client.subs.size !== 10_000) throw new Error(`${client.subs.size} subscriptions`);
  console.log(
    `burst ${k + 1}: allocated ${Math.round((after - before) / 10_000)} B per SUB, kept ${
      Math.round((kept - before) / 10_000)
    } B per SUB`,
  );
  await new Promise((resolve) => setTimeout(resolve, 0));
}
