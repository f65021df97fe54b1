/**
 * `-sl <cmd>[=<pid|pid file>]` against a real dnatsd: every command sends the
 * right signal through a PID file and through a bare PID; errors and exit codes
 * as nats-server; discovery without a PID runs in its own PID namespace (other
 * tests' servers would otherwise count as "multiple").
 */
import { deepStrictEqual, equal, match } from "node:assert/strict";
import { join } from "node:path";
import { missing } from "./helpers/requires.ts";
import { REPO_ROOT } from "./helpers/server.ts";
import { exists, runSl, spawnDnatsd, tempDir, waitFor, waitForLog } from "./ops_helpers.ts";

/** Starts a server with a PID file and debug logging; runs `fn`; always cleans up. */
async function withPidServer(
  fn: (s: ReturnType<typeof spawnDnatsd>, pidFile: string) => Promise<void>,
): Promise<void> {
  const dir = tempDir();
  const pidFile = join(dir.path, "dnatsd.pid");
  const s = spawnDnatsd(["-a", "127.0.0.1", "-p", "-1", "-D", "-P", pidFile]);
  try {
    await waitForLog(s, /Server is ready/);
    await waitFor(() => exists(pidFile), 5000, "pid file");
    await fn(s, pidFile);
  } finally {
    await s.kill();
    dir.remove();
  }
}

for (
  const [cmd, trapped] of [
    ["reload", /Trapped "hangup" signal[\s\S]*can only reload config when a file is provided/],
    ["reopen", /Trapped "user defined signal 1" signal[\s\S]*File log re-open ignored/],
  ] as const
) {
  Deno.test(`-sl ${cmd}=<pid file> signals the server`, async () => {
    await withPidServer(async (s, pidFile) => {
      const r = await runSl(`${cmd}=${pidFile}`);
      equal(r.code, 0, r.stderr);
      equal(r.stderr, "");
      await waitForLog(s, trapped);
    });
  });
  Deno.test(`-sl ${cmd}=<pid> signals the server`, async () => {
    await withPidServer(async (s) => {
      const r = await runSl(`${cmd}=${s.child.pid}`);
      equal(r.code, 0, r.stderr);
      await waitForLog(s, trapped);
    });
  });
}

for (
  const [cmd, trapped] of [
    ["quit", /Trapped "interrupt" signal/],
    ["term", /Trapped "terminated" signal/],
    ["ldm", /Trapped "user defined signal 2" signal[\s\S]*Entering lame duck mode/],
  ] as const
) {
  Deno.test(`-sl ${cmd}=<pid file> stops the server (exit 0, pid file left as nats-server leaves it)`, async () => {
    await withPidServer(async (s, pidFile) => {
      const r = await runSl(`${cmd}=${pidFile}`);
      equal(r.code, 0, r.stderr);
      equal((await s.exit()).code, 0);
      match(s.logs.text, trapped);
      match(s.logs.text, /Server Exiting/);
      equal(Deno.readTextFileSync(pidFile), String(s.child.pid));
    });
  });
}

Deno.test("-sl stop=<pid> kills the server (SIGKILL)", async () => {
  await withPidServer(async (s, pidFile) => {
    const r = await runSl(`stop=${s.child.pid}`);
    equal(r.code, 0, r.stderr);
    const status = await s.exit();
    equal(status.signal, "SIGKILL");
    equal(exists(pidFile), true, "a killed server cannot clean up its pid file");
  });
});

Deno.test("-sl errors: invalid pid, bad pid file, unknown command, too many '='", async () => {
  const bad = await runSl("reload=notapid");
  equal(bad.code, 1);
  equal(bad.stderr, "dnatsd: invalid pid: notapid\n");
  const dir = tempDir();
  try {
    const f = join(dir.path, "x.pid");
    Deno.writeTextFileSync(f, "123\n");
    const nl = await runSl(`reload=${f}`);
    equal(nl.code, 1);
    match(nl.stderr, /^dnatsd: invalid pid: /);
  } finally {
    dir.remove();
  }
  const unknown = await runSl("bogus");
  equal(unknown.code, 1);
  match(unknown.stderr, /unknown signal "bogus"/);
  const many = await runSl("reload=1=2");
  equal(many.code, 1);
  match(many.stderr, /invalid signal parameters: \[2\]/);
});

Deno.test({
  name: "-sl without a pid finds the server by its command line (own PID namespace)",
  ignore: missing("unshare"),
}, async () => {
  const probe = await new Deno.Command("unshare", {
    args: [
      "-Urpf",
      "--mount-proc",
      Deno.execPath(),
      "run",
      "-A",
      "--no-check",
      join(REPO_ROOT, "tests/ops_discovery_probe.ts"),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(probe.stdout);
  equal(probe.code, 0, new TextDecoder().decode(probe.stderr));
  const seen = JSON.parse(out.trim().split("\n").at(-1)!);
  deepStrictEqual(seen.none, { code: 1, stderr: "dnatsd: no dnatsd processes running\n" });
  const pids = [...seen.two.pids].sort((x: number, y: number) => x - y);
  deepStrictEqual(seen.two.code, 1);
  equal(seen.two.stderr, `dnatsd: multiple dnatsd processes running:\n${pids.join("\n")}\n`);
  equal(seen.bExit, 0);
  deepStrictEqual(seen.one, { code: 0, stderr: "" });
  deepStrictEqual(seen.quit, { code: 0, exit: 0 });
});
