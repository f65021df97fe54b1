/**
 * SIGUSR1 (log reopen, what logrotate sends) must never expose a debugger. The
 * Deno runtime (>= 2.9.2) starts a V8 inspector on 127.0.0.1:9229 when a thread
 * of the process handles SIGUSR1; dnatsd blocks SIGUSR1 in every thread and
 * takes it from the pending set instead (lib/ops/sigusr1_mask.ts).
 *
 * Each test starts dnatsd one supported way (`deno task start`, `deno run` of
 * main.ts from a URL, the compiled binary), then sends it many SIGUSR1s spread
 * over a few seconds (most after the runtime's 500 ms start-up grace period,
 * when its own SIGUSR1 handler is in place) while another process
 * (tests/ops_inspector_poller.ts) connects to 127.0.0.1:9229 in a tight loop and
 * samples the ports the server listens on. Nothing may ever connect or listen,
 * the runtime may never announce a debugger on stderr, and the log is still
 * reopened: the file is moved halfway, and a new one must be written.
 *
 * Port 9229 may belong to some other process (another test's server, a
 * developer's debugger): then a connection proves nothing, and the test relies
 * on the server's own listening ports and stderr; a connection that the
 * debugger's `/json/list` attributes to another pid is not ours either.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { basename, join } from "node:path";
import { MAIN_TS, REPO_ROOT } from "./helpers/server.ts";
import { serveCheckout } from "./helpers/serve_checkout.ts";
import { exists, readOrEmpty, type Spawned, spawnLogged, tempDir, waitFor } from "./ops_helpers.ts";
import { listeningPorts, type PollResult } from "./ops_inspector_poller.ts";
import { hostTarget, outputFor } from "../tools/compile.ts";

const POLLER = new URL("./ops_inspector_poller.ts", import.meta.url).pathname;
/** How many SIGUSR1s each test sends, and how far apart. */
const SIGNALS = 60;
const SPACING_MS = 40;
/** What the runtime prints when it starts (or fails to start) its inspector. */
const INSPECTOR_WORDS = /Debugger listening|inspector server|chrome:\/\/inspect/i;

const unix = Deno.build.os !== "windows";

/** A dnatsd started for a test, logging to `logFile`. */
interface Started {
  /** The process that runs the server (the one a PID file names). */
  pid: number;
  /** What the test spawned (for `deno task`, the task runner; else the server). */
  spawned: Spawned;
  logFile: string;
  /** The process name it was started with (`ps`, `killall`): re-executing must keep it. */
  name: string;
}

/** Whether something accepts connections on 127.0.0.1:`port` now. */
async function accepting(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

/** True when every thread of `pid` blocks SIGUSR1 (signal 10 on Linux). */
function blocksSigusr1Everywhere(pid: number): boolean {
  const statuses = [...Deno.readDirSync(`/proc/${pid}/task`)].map((t) =>
    readOrEmpty(`/proc/${pid}/task/${t.name}/status`)
  );
  return statuses.every((s) => {
    const m = /^SigBlk:\s*([0-9a-f]+)$/m.exec(s);
    return m !== null && (BigInt(`0x${m[1]}`) & (1n << 9n)) !== 0n;
  });
}

/** Runs the poller against `pid`; `finish()` stops it and returns what it saw. */
async function startPoller(pid: number): Promise<{ finish(): Promise<PollResult> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", POLLER, String(pid), "60000"],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("polling\n")) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`poller ended before polling: ${text}`);
    text += value;
  }
  return {
    async finish() {
      await child.stdin.close();
      for (;;) {
        const { value, done } = await lines.read();
        if (done) break;
        text += value;
      }
      await child.status;
      const json = text.split("\n").find((l) => l.startsWith("{"));
      if (json === undefined) throw new Error(`poller said: ${text}`);
      return JSON.parse(json) as PollResult;
    },
  };
}

/**
 * The barrage: SIGUSR1s to the running server while the poller watches; the log
 * file is moved halfway. Then the assertions (see the module comment).
 */
async function signalAndWatch(s: Started): Promise<void> {
  const { pid, logFile } = s;
  await waitFor(() => /Server is ready/.test(readOrEmpty(logFile)), 60_000, "ready in log");
  const clientPort = Number(
    /Listening for client connections on \S+:(\d+)/.exec(readOrEmpty(logFile))![1],
  );
  const portsBefore = [...listeningPorts(pid)].sort((a, b) => a - b);
  const someoneOn9229 = await accepting(9229);
  const poller = await startPoller(pid);
  let result: PollResult;
  try {
    for (let i = 0; i < SIGNALS; i++) {
      if (i === SIGNALS / 2) Deno.renameSync(logFile, `${logFile}.1`);
      Deno.kill(pid, "SIGUSR1");
      // Pacing, not waiting for anything: the signals are spread over time so
      // that the runtime's handler, installed 500 ms after start, gets most of them.
      await new Promise((r) => setTimeout(r, SPACING_MS));
    }
    // The last signals may still be pending; one reopen must have happened.
    await waitFor(() => /File log re-opened/.test(readOrEmpty(logFile)), 5000, "new log file");
  } finally {
    result = await poller.finish();
  }
  const stderr = s.spawned.logs.text;
  ok(!INSPECTOR_WORDS.test(stderr), `the runtime started an inspector:\n${stderr}`);
  // A listener on 9229 (or anywhere) from this process would show up here.
  ok(result.samples > 0, JSON.stringify(result));
  deepEqual(result.ports.filter((p) => !portsBefore.includes(p)), [], JSON.stringify(result));
  deepEqual([...listeningPorts(pid)].sort((a, b) => a - b), portsBefore);
  if (!someoneOn9229) {
    ok(result.attempts > 0, JSON.stringify(result));
    // Excused: a debugger that says it belongs to another process.
    const ours = result.owners.filter((owner) => owner === 0 || owner === pid);
    deepEqual(ours, [], `connections to 127.0.0.1:9229: ${JSON.stringify(result)}`);
  }
  ok(blocksSigusr1Everywhere(pid), "every thread blocks SIGUSR1");
  equal(readOrEmpty(`/proc/${pid}/comm`).trim(), s.name);
  // Reopen still works: lines before the move are in the old file, the new file
  // was created by the server, and the server still serves clients.
  match(readOrEmpty(`${logFile}.1`), /Server is ready/);
  match(readOrEmpty(logFile), /File log re-opened/);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: clientPort });
  try {
    const buf = new Uint8Array(5);
    equal(await conn.read(buf), 5);
    equal(new TextDecoder().decode(buf), "INFO ");
  } finally {
    conn.close();
  }
}

/** Stops a started server (SIGTERM to the server, then waits for what was spawned). */
async function stop(s: Started | undefined, spawned: Spawned): Promise<void> {
  if (s !== undefined) {
    try {
      Deno.kill(s.pid, "SIGTERM");
    } catch { /* gone */ }
  }
  await spawned.exit(10_000);
  await spawned.kill();
}

Deno.test({
  name: "SIGUSR1 never exposes a debugger: deno task start",
  ignore: !unix,
  fn: async () => {
    const dir = tempDir();
    const logFile = join(dir.path, "dnatsd.log");
    const pidFile = join(dir.path, "dnatsd.pid");
    const spawned = spawnLogged(
      Deno.execPath(),
      ["task", "start", "-a", "127.0.0.1", "-p", "-1", "-l", logFile, "-P", pidFile],
      { cwd: REPO_ROOT },
    );
    let s: Started | undefined;
    try {
      // The task runner is the parent: the server's pid is in the PID file, the
      // pid logrotate's `kill -USR1 $(cat ...)` signals.
      await waitFor(() => /^\d+$/.test(readOrEmpty(pidFile).trim()), 30_000, "pid file");
      s = { pid: Number(readOrEmpty(pidFile).trim()), spawned, logFile, name: "deno" };
      ok(s.pid !== spawned.child.pid);
      await signalAndWatch(s);
    } finally {
      await stop(s, spawned);
      dir.remove();
    }
  },
});

Deno.test({
  name: "SIGUSR1 never exposes a debugger: deno run -A <URL>/main.ts",
  ignore: !unix,
  fn: async () => {
    const repo = serveCheckout("application/typescript; charset=utf-8");
    const dir = tempDir();
    const logFile = join(dir.path, "dnatsd.log");
    const spawned = spawnLogged(Deno.execPath(), [
      "run",
      "-A",
      "--no-config",
      "--no-lock",
      "--no-check",
      `${repo.url}/main.ts`,
      "-a",
      "127.0.0.1",
      "-p",
      "-1",
      "-l",
      logFile,
    ], { cwd: dir.path });
    const s: Started = { pid: spawned.child.pid, spawned, logFile, name: "deno" };
    try {
      await signalAndWatch(s);
    } finally {
      await stop(s, spawned);
      await repo.close();
      dir.remove();
    }
  },
});

const denort = Deno.env.get("DENORT_BIN");
const noDenort = denort === undefined || !exists(denort);
if (unix && noDenort) {
  console.error(
    "ignored: the compiled-binary SIGUSR1 test (deno compile needs denort: set DENORT_BIN)",
  );
}

Deno.test({
  name: "SIGUSR1 never exposes a debugger: compiled binary",
  // deno compile needs denort: downloaded (not possible on our build machines) or DENORT_BIN.
  ignore: !unix || noDenort,
  fn: async () => {
    const build = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(REPO_ROOT, "tools/compile.ts"), "--host", "--no-check"],
      cwd: REPO_ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    ok(build.success, new TextDecoder().decode(build.stderr));
    const dir = tempDir();
    const logFile = join(dir.path, "dnatsd.log");
    const bin = join(REPO_ROOT, outputFor(hostTarget()));
    const spawned = spawnLogged(bin, [
      "-a",
      "127.0.0.1",
      "-p",
      "-1",
      "-l",
      logFile,
    ]);
    // The kernel keeps the first 15 bytes of the file name.
    const name = basename(bin).slice(0, 15);
    const s: Started = { pid: spawned.child.pid, spawned, logFile, name };
    try {
      await signalAndWatch(s);
    } finally {
      await stop(s, spawned);
      dir.remove();
    }
  },
});

Deno.test({
  name: "SIGUSR1 without --allow-ffi: cannot be blocked, and the log says so at start-up",
  ignore: !unix,
  fn: async () => {
    const spawned = spawnLogged(Deno.execPath(), [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
      "--no-prompt",
      "--no-check",
      MAIN_TS,
      "-a",
      "127.0.0.1",
      "-p",
      "-1",
    ]);
    try {
      await waitFor(() => /Server is ready/.test(spawned.logs.text), 30_000, "ready");
      match(
        spawned.logs.text,
        /\[WRN\] SIGUSR1 could not be blocked \(needs --allow-ffi or -A\): the Deno runtime opens a debugger/,
      );
      ok(!blocksSigusr1Everywhere(spawned.child.pid));
      spawned.child.kill("SIGTERM");
      equal((await spawned.exit()).code, 0);
    } finally {
      await spawned.kill();
    }
  },
});
