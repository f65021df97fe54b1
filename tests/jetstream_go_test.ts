/**
 * nats.go's JetStream API against dnatsd and nats-server -js: a Go program
 * (tests/clients/go/jetstream) built against Debian's nats.go runs the same
 * cases on each server, with an empty store, and prints one JSON line per
 * case; each case here requires dnatsd's line to equal nats-server's. The Go
 * program runs once per server; the cases share those runs.
 */
import { deepStrictEqual, ok } from "node:assert/strict";
import { missing } from "./helpers/requires.ts";
import { ServerProcess } from "./helpers/server.ts";
import { buildGoProgram } from "./clients/build.ts";

const SOURCE = new URL("./clients/go/jetstream/main.go", import.meta.url).pathname;

/** The cases, in the order the program runs them. */
const CASES = [
  "account_info",
  "add_stream",
  "add_stream_again_different",
  "publish",
  "publish_async",
  "stream_info",
  "stream_names",
  "get_msg",
  "delete_msg",
  "pull_subscribe",
  "fetch_and_ack",
  "fetch_nak_redelivery",
  "fetch_rest_then_timeout",
  "consumer_info",
  "consumer_names",
  "purge_filtered",
  "purge",
  "delete_consumer",
  "push_subscribe",
  "ordered_consumer",
  "direct_get",
  "kv_create",
  "kv_put_get_update",
  "kv_delete_keys_history",
  "delete_stream",
];

/** Builds the program once per source hash, in GOPATH mode against Debian's nats.go. */
function binary(): Promise<string> {
  return buildGoProgram("jetstream", SOURCE);
}

/** Runs the program against a fresh server with an empty store: case -> result JSON text. */
async function runOn(bin: string, reference: boolean): Promise<Map<string, string>> {
  const dir = await Deno.makeTempDir({ prefix: "js-go-" });
  const s = await ServerProcess.start({ reference, args: ["-js", "-sd", dir] });
  try {
    const out = await new Deno.Command(bin, {
      args: [s.url],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    if (!out.success) {
      throw new Error(`${text}\n${new TextDecoder().decode(out.stderr)}`);
    }
    const results = new Map<string, string>();
    for (const line of text.trim().split("\n")) {
      const { case: name, result } = JSON.parse(line) as { case: string; result: unknown };
      results.set(name, JSON.stringify(result));
    }
    return results;
  } finally {
    await s.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

let runs: Promise<{ ref: Map<string, string>; ours: Map<string, string> }> | undefined;

/** Both runs, made once for all the cases (one after the other: the machine is small). */
function bothRuns(): Promise<{ ref: Map<string, string>; ours: Map<string, string> }> {
  runs ??= (async () => {
    const bin = await binary();
    const ref = await runOn(bin, true);
    const ours = await runOn(bin, false);
    return { ref, ours };
  })();
  return runs;
}

const ignore = missing("go", "nats-server");

for (const name of CASES) {
  Deno.test({
    name: `nats.go JetStream: ${name} as nats-server`,
    ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const { ref, ours } = await bothRuns();
      ok(ref.has(name), `nats-server run has no ${name}: ${[...ref.keys()]}`);
      // nats-server's own answer is a result (only one case is meant to end in an error).
      ok(
        (name === "add_stream_again_different") === ref.get(name)!.startsWith('{"error"'),
        `nats-server: ${ref.get(name)}`,
      );
      deepStrictEqual(ours.get(name), ref.get(name));
    },
  });
}

Deno.test({
  name: "nats.go JetStream: the program runs every case",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { ref, ours } = await bothRuns();
    deepStrictEqual([...ref.keys()], CASES);
    deepStrictEqual([...ours.keys()], CASES);
  },
});
