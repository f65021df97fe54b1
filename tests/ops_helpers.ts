/**
 * Helpers shared by the operations tests (tests/ops_*_test.ts): run dnatsd with
 * arbitrary arguments (also when it logs to a file, so stderr says nothing),
 * run `-sl`, and poll files. Never sleeps blindly: every wait has a deadline.
 *
 * @module
 */
import { MAIN_TS, waitFor } from "./helpers/server.ts";

export { MAIN_TS, waitFor };

/** A process started by {@link spawnLogged} or {@link spawnDnatsd}. */
export interface Spawned {
  child: Deno.ChildProcess;
  /** stderr so far. */
  logs: { text: string };
  status: Promise<Deno.CommandStatus>;
  /** Waits until the exit status is known (SIGKILL after `timeoutMs`). */
  exit(timeoutMs?: number): Promise<Deno.CommandStatus>;
  /** Kills the process if it still runs (test cleanup). */
  kill(): Promise<void>;
}

/** Starts `deno run main.ts <args>` without waiting for anything. */
export function spawnDnatsd(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): Spawned {
  return spawnLogged(Deno.execPath(), ["run", "-A", "--no-check", MAIN_TS, ...args], opts);
}

/**
 * Starts any command (a compiled dnatsd, main.ts from a URL) with its stderr
 * collected in `logs`, without waiting for anything.
 */
export function spawnLogged(
  command: string,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): Spawned {
  const child = new Deno.Command(command, {
    args,
    stdout: "null",
    stderr: "piped",
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  }).spawn();
  const logs = { text: "" };
  const decoder = new TextDecoder();
  const pump = (async () => {
    for await (const chunk of child.stderr) logs.text += decoder.decode(chunk, { stream: true });
  })().catch(() => {});
  const status = child.status.then(async (s) => {
    await pump;
    return s;
  });
  let done = false;
  status.then(() => done = true);
  const exit = async (timeoutMs = 10_000) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise<void>((r) => {
      timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
        r();
      }, timeoutMs);
    });
    await Promise.race([status, killed]);
    clearTimeout(timer);
    return await status;
  };
  return {
    child,
    logs,
    status,
    exit,
    async kill() {
      if (!done) {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }
      await status;
    },
  };
}

/** Waits for a log line on stderr. */
export async function waitForLog(s: Spawned, re: RegExp, timeoutMs = 10_000): Promise<void> {
  await waitFor(
    () => re.test(s.logs.text),
    timeoutMs,
    `log ${re}\n--- log so far:\n${s.logs.text}`,
  );
}

/** Reads a file, "" when it does not exist (yet). */
export function readOrEmpty(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** Whether a path exists. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Runs `dnatsd -sl <value>`; resolves with its exit code and stderr. */
export async function runSl(
  value: string,
  env?: Record<string, string>,
): Promise<{ code: number; stderr: string; stdout: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", MAIN_TS, "-sl", value],
    stdout: "piped",
    stderr: "piped",
    ...(env ? { env } : {}),
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stderr: d.decode(out.stderr), stdout: d.decode(out.stdout) };
}

/** The client port from a "Listening for client connections on host:port" line. */
export function clientPortOf(logText: string): number {
  const m = /Listening for client connections on \S+:(\d+)/.exec(logText);
  if (!m) throw new Error(`no listen line in:\n${logText}`);
  return Number(m[1]);
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(): { path: string; remove: () => void } {
  const path = Deno.makeTempDirSync({ prefix: "dnatsd_ops_" });
  return { path, remove: () => Deno.removeSync(path, { recursive: true }) };
}
