/**
 * The command-line program: resolve options from flags and config, then run
 * the server (or print help/version, check a config with -t, signal a running
 * server with -sl). Returns the exit code once the process should end.
 *
 * @module
 */
import { resolveOptions } from "./config/resolve.ts";
import type { Options } from "./config/options.ts";
import { createLogger, type Logger } from "./ops/logger.ts";
import { Server } from "./server.ts";
import { NATS_COMPAT_VERSION, VERSION } from "./version.ts";

const encoder = new TextEncoder();

/** Runs the CLI with `args` (without the program name); resolves with the exit code. */
export async function runCli(args: string[]): Promise<number> {
  const resolved = await resolveOptions(args);
  if (resolved.stdout) await Deno.stdout.write(encoder.encode(resolved.stdout));
  if (resolved.stderr) await Deno.stderr.write(encoder.encode(resolved.stderr));
  switch (resolved.command) {
    case "help":
    case "help_tls":
      return resolved.exitCode;
    case "version":
      console.log(`dnatsd: v${VERSION} (nats-server v${NATS_COMPAT_VERSION} compatible)`);
      return 0;
    case "check_config":
      return resolved.exitCode;
    case "signal": {
      const { sendSignalCommand } = await import("./ops/signal_command.ts");
      return await sendSignalCommand(resolved.signal!);
    }
  }
  if (resolved.exitCode !== 0 || resolved.errors.length > 0) return resolved.exitCode || 1;
  return await runServer(resolved.options, resolved);
}

/** Starts the server and waits until it has shut down. */
async function runServer(
  options: Options,
  resolved: Awaited<ReturnType<typeof resolveOptions>>,
): Promise<number> {
  const log = loggerFor(options);
  const server = new Server(options, log);
  try {
    await server.start();
  } catch (e) {
    log.fatal((e as Error).message);
    await server.shutdown().catch(() => {});
    log.close();
    return 1;
  }
  const { installSignalHandlers } = await import("./ops/signals.ts");
  const signals = installSignalHandlers(server, { resolved, makeLogger: loggerFor });
  const exitCode = await signals.exitCode;
  signals.uninstall();
  server.log.close();
  return exitCode;
}

/** The logger the options ask for (also rebuilt on reload). */
export function loggerFor(o: Options): Logger {
  return createLogger({
    debug: o.debug,
    trace: o.trace,
    logtime: o.logtime,
    logFile: o.logFile,
    syslog: o.syslog,
    remoteSyslog: o.remoteSyslog,
    logSizeLimit: o.logSizeLimit,
    logMaxFiles: o.logMaxFiles,
  });
}
