/**
 * dnatsd command line: argv -> Options -> Server. Exit codes as nats-server.
 *
 * Kept tiny on purpose: the server must be listening within 300 ms of exec,
 * so nothing heavy is imported before the options are known.
 *
 * @module
 */
import { applyEventInterval } from "./lib/ops/event_interval.ts";
import { applyHeapDefaults } from "./lib/ops/heap_flags.ts";
import { maskSigusr1 } from "./lib/ops/sigusr1_mask.ts";

if (import.meta.main) {
  // First, before the server is even loaded: this may execute the program again
  // with SIGUSR1 blocked in every thread (else SIGUSR1, the log reopen signal,
  // makes the Deno runtime open a debugger; see lib/ops/sigusr1_mask.ts).
  // The V8 heap setting and the runtime's I/O polling interval ride along in
  // the environment (lib/ops/heap_flags.ts, lib/ops/event_interval.ts).
  applyHeapDefaults();
  applyEventInterval();
  maskSigusr1();
  const { runCli } = await import("./lib/cli.ts");
  const code = await runCli(Deno.args);
  if (code !== null) Deno.exit(code);
}
