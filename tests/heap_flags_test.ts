/**
 * The server runs with a capped V8 young generation (lib/ops/heap_flags.ts):
 * the setting reaches the re-executed server process through DENO_V8_FLAGS,
 * and an operator's own semi-space flag wins.
 *
 * @module
 */
import assert from "node:assert/strict";
import { withHeapDefaults } from "../lib/ops/heap_flags.ts";
import { ServerProcess } from "./helpers/server.ts";

const linux = Deno.build.os === "linux";

/** DENO_V8_FLAGS of a running process, from /proc/<pid>/environ. */
async function v8FlagsOf(pid: number): Promise<string | undefined> {
  const env = await Deno.readTextFile(`/proc/${pid}/environ`);
  const entry = env.split("\0").find((e) => e.startsWith("DENO_V8_FLAGS="));
  return entry?.slice("DENO_V8_FLAGS=".length);
}

Deno.test({
  name: "the server process runs with --max-semi-space-size=1 in DENO_V8_FLAGS",
  ignore: !linux,
  fn: async () => {
    // Whatever this runner has in DENO_V8_FLAGS (usually nothing), plus the cap.
    const inherited = Deno.env.get("DENO_V8_FLAGS");
    const server = await ServerProcess.start();
    try {
      const flags = await v8FlagsOf(server.pid);
      assert.equal(flags, withHeapDefaults(inherited));
      assert.match(flags ?? "", /--max-semi-space-size=1/);
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "an operator's semi-space flag in DENO_V8_FLAGS is kept as given",
  ignore: !linux,
  fn: async () => {
    const server = await ServerProcess.start({
      env: { DENO_V8_FLAGS: "--max-semi-space-size=8" },
    });
    try {
      assert.equal(await v8FlagsOf(server.pid), "--max-semi-space-size=8");
    } finally {
      await server.stop();
    }
  },
});
