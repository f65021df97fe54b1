/**
 * Maps process signals to server actions (nats-server's signal.go table):
 * INT/TERM stop gracefully. Reload, reopen and lame duck are added by the
 * operations work (see issue "Operations").
 *
 * @module
 */
import type { Server } from "../server.ts";
import type { Options } from "../config/options.ts";
import type { Logger } from "./logger.ts";

export interface SignalContext {
  /** What the command line resolved to (flags are re-applied on reload). */
  resolved: unknown;
  makeLogger: (o: Options) => Logger;
}

export interface SignalHandle {
  /** Resolves with the process exit code once the server has shut down. */
  exitCode: Promise<number>;
  uninstall(): void;
}

export function installSignalHandlers(server: Server, _ctx: SignalContext): SignalHandle {
  let code = 0;
  const handlers: [Deno.Signal, () => void][] = [
    ["SIGINT", () => {
      server.log.debug('Trapped "interrupt" signal');
      code = 0;
      server.shutdown();
    }],
    ["SIGTERM", () => {
      server.log.debug('Trapped "terminated" signal');
      code = 0;
      server.shutdown();
    }],
  ];
  for (const [sig, fn] of handlers) Deno.addSignalListener(sig, fn);
  return {
    exitCode: server.done.then(() => code),
    uninstall() {
      for (const [sig, fn] of handlers) Deno.removeSignalListener(sig, fn);
    },
  };
}
