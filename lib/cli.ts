/**
 * The command-line program: resolve options from flags and config, run the
 * server, wire signals. Returns an exit code, or null while the server runs.
 *
 * @module
 */
import { defaultOptions, type Options } from "./config/options.ts";
import { createLogger } from "./ops/logger.ts";
import { Server } from "./server.ts";

/** Runs the CLI; resolves with the exit code once the server stopped. */
export async function runCli(args: string[]): Promise<number | null> {
  const options = provisionalFlags(args);
  const log = createLogger({
    debug: options.debug,
    trace: options.trace,
    logtime: options.logtime,
    logFile: options.logFile,
    syslog: options.syslog,
    remoteSyslog: options.remoteSyslog,
    logSizeLimit: options.logSizeLimit,
    logMaxFiles: options.logMaxFiles,
  });
  const server = new Server(options, log);
  await server.start();
  const stop = () => server.shutdown();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await server.done;
  log.close();
  return 0;
}

/** Minimal flags until the full flag table lands (lib/config/flags.ts). */
function provisionalFlags(args: string[]): Options {
  const o = defaultOptions();
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].replace(/^--?/, "").split("=", 2);
    const value = () => inline ?? args[++i];
    if (flag === "p" || flag === "port") o.port = Number(value());
    else if (flag === "a" || flag === "addr") o.host = value();
    else if (flag === "D") o.debug = true;
    else if (flag === "V") o.trace = true;
    else if (flag === "DV") o.debug = o.trace = true;
  }
  return o;
}
