/**
 * The command-line program: resolve options from flags and config, then run
 * the server (or print help/version, check a config with -t, signal a running
 * server with -sl). Returns the exit code once the process should end.
 *
 * @module
 */
import { resolveOptions } from "./config/resolve.ts";
import type { Options } from "./config/options.ts";
import { createLogger, type Logger, MemoryLogger } from "./ops/logger.ts";
import { Server } from "./server.ts";
import { NATS_COMPAT_VERSION, VERSION } from "./version.ts";

const encoder = new TextEncoder();

/** Runs the CLI with `args` (without the program name); resolves with the exit code. */
export async function runCli(args: string[]): Promise<number> {
  // Letsgo-nats env mode (DOMAINS set) writes cert_file/key_file at start,
  // so they may not exist yet while the configuration is read.
  const acmeEnv = letsgoEnv();
  const resolved = await resolveOptions(
    args,
    undefined,
    acmeEnv ? { checkFiles: false, acmeEnv } : {},
  );
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
  return await runServer(resolved.options, resolved, acmeEnv);
}

/** The environment when letsgo-nats' DOMAINS is set (ACME env mode), else null. */
function letsgoEnv(): Record<string, string> | null {
  try {
    return Deno.env.get("DOMAINS") ? Deno.env.toObject() : null;
  } catch {
    return null; // no --allow-env: env mode is off
  }
}

/**
 * Starts the server, writes the PID and ports files, wires signals (and the
 * control channel where enabled), then waits until the server has shut down.
 */
async function runServer(
  options: Options,
  resolved: Awaited<ReturnType<typeof resolveOptions>>,
  acmeEnv: Record<string, string> | null,
): Promise<number> {
  const log = loggerFor(options);
  const server = new Server(options, log);
  server.acmeEnv = acmeEnv; // Env mode, see lib/tls/acme_tls.ts
  const [{ installSignalHandlers, createServerControl }, { ProcessFiles }] = await Promise.all([
    import("./ops/signals.ts"),
    import("./ops/process_files.ts"),
  ]);
  const files = new ProcessFiles();
  const control = createServerControl(server, {
    configFile: resolved.configFile,
    flags: resolved.flags,
    makeLogger: loggerFor,
    files,
  });
  // Trap signals before "Server is ready" is logged: whoever waits for that line
  // may signal at once, and an untrapped SIGHUP/SIGUSR2 would kill the process.
  const signals = installSignalHandlers(server, control);
  try {
    await server.start();
  } catch (e) {
    signals.uninstall();
    log.fatal((e as Error).message);
    // nats-server exits right after its fatal line: release what was bound
    // without the "Initiating Shutdown..." and "Server Exiting.." lines.
    server.setLogger(new MemoryLogger());
    await server.shutdown().catch(() => {});
    log.close();
    return 1;
  }
  // The control channel first: the ports file tells waiting tools "ready for -sl too".
  const channel = await startControlChannelIfEnabled(server, control);
  files.sync(server);
  const exitCode = await signals.exitCode;
  signals.uninstall();
  channel?.close();
  files.exited(server.log);
  server.log.close();
  return exitCode;
}

/** The `-sl` channel for platforms without SIGHUP/SIGUSR1/SIGUSR2 (see control_channel.ts). */
async function startControlChannelIfEnabled(
  server: Server,
  control: import("./ops/signals.ts").ServerControl,
): Promise<import("./ops/control_channel.ts").ControlChannel | null> {
  const channel = await import("./ops/control_channel.ts");
  if (!channel.controlChannelEnabled()) return null;
  try {
    return channel.startControlChannel(control, {
      log: server.log,
      pidFile: server.options.pidFile,
    });
  } catch (e) {
    server.log.error(`Control channel not started: ${(e as Error).message}`);
    return null;
  }
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
