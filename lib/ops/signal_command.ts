/**
 * `-sl <command>[=<pid|pid file>]`: send a command to a running server and exit,
 * as nats-server does (0 on success with no output; `dnatsd: <error>` on stderr
 * and 1 on failure).
 *
 * | Command | Unix signal | Control channel (Windows) |
 * | --- | --- | --- |
 * | stop | SIGKILL | process killed |
 * | quit | SIGINT | quit |
 * | term | SIGTERM | term |
 * | reopen | SIGUSR1 | reopen |
 * | reload | SIGHUP | reload |
 * | ldm | SIGUSR2 | ldm |
 *
 * @module
 */
import type { SignalRequest } from "../config/flags.ts";
import { readPidFile } from "./pid_file.ts";

/** The signal each command sends on Unix. */
export const COMMAND_SIGNALS: Readonly<Record<string, Deno.Signal>> = {
  stop: "SIGKILL",
  quit: "SIGINT",
  term: "SIGTERM",
  reopen: "SIGUSR1",
  reload: "SIGHUP",
  ldm: "SIGUSR2",
};

const encoder = new TextEncoder();

/** Where the command goes: a pid, and the PID file it came from if any. */
interface Target {
  pid: number;
  pidFile?: string;
}

/**
 * Resolves the target of `-sl cmd=<arg>`: a readable file holds the pid, anything
 * else must be the pid itself.
 *
 * @throws {Error} `invalid pid: ...`
 */
export function resolveTarget(arg: string): Target {
  let isFile = false;
  try {
    isFile = Deno.statSync(arg).isFile;
  } catch {
    isFile = false;
  }
  if (isFile) return { pid: readPidFile(arg), pidFile: arg };
  if (!/^[0-9]{1,10}$/.test(arg) || Number(arg) <= 0) throw new Error(`invalid pid: ${arg}`);
  return { pid: Number(arg) };
}

/**
 * Sends the command.
 *
 * @param req The parsed `-sl` value.
 * @returns The exit code: 0 sent, 1 failed (the reason is on stderr).
 */
export async function sendSignalCommand(req: SignalRequest): Promise<number> {
  try {
    await send(req);
    return 0;
  } catch (e) {
    await Deno.stderr.write(encoder.encode(`dnatsd: ${(e as Error).message}\n`));
    return 1;
  }
}

async function send(req: SignalRequest): Promise<void> {
  const sig = COMMAND_SIGNALS[req.command];
  if (sig === undefined) throw new Error(`unknown signal "${req.command}"`);
  const channel = await import("./control_channel.ts");
  const useChannel = channel.controlChannelEnabled();
  let target: Target;
  if (req.target !== undefined) {
    target = resolveTarget(req.target);
  } else {
    const pids = useChannel
      ? channel.discoverControlFiles().map((f) => f.pid)
      : await (await import("./process_discovery.ts")).findDnatsdProcesses();
    if (pids.length === 0) throw new Error("no dnatsd processes running");
    if (pids.length > 1) {
      throw new Error(`multiple dnatsd processes running:\n${pids.join("\n")}`);
    }
    target = { pid: pids[0] };
  }
  if (!useChannel || req.command === "stop") {
    kill(target.pid, sig);
    return;
  }
  const sidecar = target.pidFile ? channel.pidControlFile(target.pidFile) : undefined;
  const file = sidecar !== undefined && exists(sidecar)
    ? sidecar
    : channel.tempControlFile(target.pid);
  await channel.sendControlCommand(
    file,
    req.command as import("./control_channel.ts").ControlCommand,
  );
}

function kill(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`no process with pid ${pid}`);
    throw e;
  }
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
