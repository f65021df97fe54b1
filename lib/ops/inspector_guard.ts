/**
 * Closes the debugger that the Deno runtime opens on SIGUSR1: the fallback for
 * when SIGUSR1 cannot be blocked (lib/ops/sigusr1_mask.ts: not Linux, or no
 * --allow-ffi), and only a partial one.
 *
 * Deno >= 2.9.2 (denoland/deno#35738) starts a V8 inspector on 127.0.0.1:9229
 * when the process gets SIGUSR1, like Node.js. An inspector lets any local user
 * run code inside the server, and SIGUSR1 is the nats-server signal for "reopen
 * the log file", which logrotate sends. The runtime starts it after our listener
 * runs, so we close it on the next timer turns: it is still open for a few
 * milliseconds, long enough to be found and used.
 *
 * @module
 */
import inspector from "node:inspector";
import type { Logger } from "./logger.ts";

/** Delays after the signal at which we look for (and close) the inspector. */
const CHECKS_MS = [0, 5, 25, 100, 500];

/**
 * Call from the SIGUSR1 listener: closes the runtime's inspector if it opened
 * one, and says so once.
 */
export function closeSignalInspector(log: () => Logger): void {
  for (const ms of CHECKS_MS) {
    setTimeout(() => {
      if (inspector.url() === undefined) return;
      try {
        inspector.close();
        log().warn(
          "SIGUSR1 made the Deno runtime open a debugger on 127.0.0.1:9229: closed it " +
            "(use log_size_limit or the control channel for log rotation)",
        );
      } catch (e) {
        log().error(`Could not close the debugger opened by SIGUSR1: ${(e as Error).message}`);
      }
    }, ms);
  }
}
