/**
 * Push consumers through nats.go's JetStream API (Debian's nats.go 1.22):
 * ordered consumers (also headers only, last per subject, and a 3 MB backlog
 * that needs flow control), a durable with manual acks, heartbeats and flow
 * control, a queue group, and an ephemeral deleted on unsubscribe. The program
 * (tests/clients/go/jspush/main.go) runs against nats-server -js and dnatsd
 * -js and must print the same transcript.
 */
import { deepStrictEqual } from "node:assert/strict";
import { missing } from "./helpers/requires.ts";
import { startJs } from "./jetstream/helpers.ts";
import { buildGoProgram } from "./clients/build.ts";

const SOURCE = new URL("./clients/go/jspush/main.go", import.meta.url).pathname;

/** Builds the program once per source hash (the Go cache is shared with the other runners). */
function build(): Promise<string> {
  return buildGoProgram("go-jspush", SOURCE);
}

Deno.test({
  name: "jetstream push go: nats.go push and ordered consumers as with nats-server",
  ignore: missing("nats-server") || missing("go"),
  sanitizeResources: false,
  async fn() {
    const bin = await build();
    const transcripts: string[] = [];
    for (const reference of [true, false]) {
      const s = await startJs(reference);
      try {
        const out = await new Deno.Command(bin, {
          args: [s.server.url],
          stdout: "piped",
          stderr: "piped",
        }).output();
        transcripts.push(new TextDecoder().decode(out.stdout));
      } finally {
        await s.stop();
      }
    }
    if (Deno.env.get("JS_TEST_DUMP")) console.log(transcripts.join("\n----\n"));
    deepStrictEqual(transcripts[1].split("\n"), transcripts[0].split("\n"));
  },
});
