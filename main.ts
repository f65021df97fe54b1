/**
 * dnatsd command line: argv -> Options -> Server. Exit codes as nats-server.
 *
 * Kept tiny on purpose: the server must be listening within 300 ms of exec,
 * so nothing heavy is imported before the options are known.
 *
 * @module
 */
import { runCli } from "./lib/cli.ts";

if (import.meta.main) {
  const code = await runCli(Deno.args);
  if (code !== null) Deno.exit(code);
}
