/**
 * Maps process signals to server actions, as nats-server's `signal.go`:
 *
 * | Signal | Action |
 * | --- | --- |
 * | SIGINT, SIGTERM | graceful stop, exit 0 (SIGTERM ignored during lame duck) |
 * | SIGHUP | reload the configuration file |
 * | SIGUSR1 | reopen the log file (log rotation) |
 * | SIGUSR2 | lame duck mode |
 *
 * SIGUSR1 is not trapped like the others: the Deno runtime would open a debugger
 * on it. It is blocked in every thread and taken from the pending set
 * (lib/ops/sigusr1_mask.ts); only where that is impossible is it trapped, with
 * the debugger closed after the fact (lib/ops/inspector_guard.ts).
 *
 * nats-server 2.9.10 exits with code 1 after SIGTERM; dnatsd exits 0, because
 * service managers (systemd, Docker) treat a non-zero code after their own stop
 * request as a failure. On Windows only Ctrl-C (SIGINT) and Ctrl-Break
 * (SIGBREAK) exist; the other actions arrive through the control channel
 * (lib/ops/control_channel.ts), which runs the same {@link ServerControl}.
 *
 * @module
 */
import { closeSignalInspector } from "./inspector_guard.ts";
import { sigusr1MaskFailure, watchSigusr1 } from "./sigusr1_mask.ts";
import type { Server } from "../server.ts";
import { FileLogger } from "./logger.ts";
import { reloadConfig, type ReloadContext } from "./reload.ts";

/** The actions signals and the control channel trigger. */
export interface ServerControl {
  /** Reloads the config file; failures are logged, never thrown. */
  reload(): Promise<void>;
  /** Reopens the log file (SIGUSR1). */
  reopen(): void;
  /** Enters lame duck mode (SIGUSR2). */
  lameDuck(): void;
  /** Graceful stop; `terminate` is SIGTERM's variant (ignored during lame duck). */
  stop(terminate?: boolean): void;
  /** Resolves with the process exit code once the server has shut down. */
  readonly exitCode: Promise<number>;
}

/**
 * Builds the control actions for a running server.
 *
 * @param server The server.
 * @param ctx What a reload needs (config file, flags, logger factory, files).
 * @returns The actions; `exitCode` settles when the server is done.
 */
export function createServerControl(server: Server, ctx: ReloadContext): ServerControl {
  // Reloads run one at a time: a second SIGHUP waits for the first to finish.
  let reloading: Promise<void> = Promise.resolve();
  return {
    reload() {
      reloading = reloading.then(async () => {
        try {
          await reloadConfig(server, ctx);
        } catch (e) {
          server.log.error(`Failed to reload server configuration: ${(e as Error).message}`);
        }
      });
      return reloading;
    },
    reopen() {
      const log = server.log;
      if (!(log instanceof FileLogger)) {
        log.notice("File log re-open ignored, not a file logger");
        return;
      }
      try {
        log.reopen();
        log.notice("File log re-opened");
      } catch (e) {
        log.error(`Error re-opening log file ${log.path}: ${(e as Error).message}`);
      }
    },
    lameDuck() {
      server.lameDuck().catch((e) => server.log.error(`Lame duck: ${(e as Error).message}`));
    },
    stop(terminate = false) {
      // nats-server lets lame duck finish with its own shutdown when SIGTERM comes.
      if (terminate && server.isLameDuck) return;
      server.shutdown().catch((e) => server.log.error(`Shutdown: ${(e as Error).message}`));
    },
    exitCode: server.done.then(() => 0),
  };
}

/** What {@link installSignalHandlers} returns. */
export interface SignalHandle {
  /** Resolves with the process exit code once the server has shut down. */
  exitCode: Promise<number>;
  /** Removes the listeners (lets the process exit once the server is done). */
  uninstall(): void;
}

/** nats-server's names for the signals (Go's `os.Signal.String()`), for the debug line. */
const SIGNAL_NAMES: Partial<Record<Deno.Signal, string>> = {
  SIGINT: "interrupt",
  SIGTERM: "terminated",
  SIGHUP: "hangup",
  SIGUSR1: "user defined signal 1",
  SIGUSR2: "user defined signal 2",
  SIGBREAK: "break",
};

/**
 * Installs the signal listeners of this platform.
 *
 * @param server The running server.
 * @param control From {@link createServerControl}.
 * @returns The exit code promise and a way to remove the listeners.
 */
export function installSignalHandlers(server: Server, control: ServerControl): SignalHandle {
  const trapped = (sig: Deno.Signal, action: () => void) => () => {
    server.log.debug(`Trapped "${SIGNAL_NAMES[sig] ?? sig}" signal`);
    action();
  };
  const usr1 = Deno.build.os === "windows"
    ? null
    : watchSigusr1(trapped("SIGUSR1", () => control.reopen()));
  const actions: [Deno.Signal, () => void][] = Deno.build.os === "windows"
    ? [
      ["SIGINT", () => control.stop()],
      // Ctrl-Break, and what service wrappers may send besides Ctrl-C.
      ["SIGBREAK", () => control.stop()],
    ]
    : [
      ["SIGINT", () => control.stop()],
      ["SIGTERM", () => control.stop(true)],
      ["SIGHUP", () => void control.reload()],
      ["SIGUSR2", () => control.lameDuck()],
    ];
  if (Deno.build.os !== "windows" && usr1 === null) {
    server.log.warn(
      `SIGUSR1 could not be blocked (${sigusr1MaskFailure() ?? "unknown reason"}): the Deno ` +
        "runtime opens a debugger on 127.0.0.1:9229 for a moment at each SIGUSR1 (log reopen); " +
        "use log_size_limit or the control channel instead",
    );
    actions.push(["SIGUSR1", () => {
      closeSignalInspector(() => server.log);
      control.reopen();
    }]);
  }
  const installed: [Deno.Signal, () => void][] = [];
  for (const [sig, action] of actions) {
    const listener = trapped(sig, action);
    try {
      Deno.addSignalListener(sig, listener);
      installed.push([sig, listener]);
    } catch (e) {
      // A signal this platform or runtime build does not offer: nothing to trap.
      server.log.debug(`Signal ${sig} not trapped: ${(e as Error).message}`);
    }
  }
  return {
    exitCode: control.exitCode,
    uninstall() {
      usr1?.stop();
      for (const [sig, fn] of installed) Deno.removeSignalListener(sig, fn);
    },
  };
}
