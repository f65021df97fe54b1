/**
 * The README's commands, run as written right after the quick start: the
 * quick start itself (`npx -y deno@2 task start`), `npx -y deno@2 task install`
 * and every `dnatsd` line of "Usage", with flags and signals, on a PATH that
 * holds no `deno`. The commands are read from README.md, so the test fails when
 * the README drifts: a command that needs a bare `deno`, a task deno.json lacks,
 * a flag the server refuses.
 *
 * What is changed before running, and only this: fixed ports become free ones
 * (`-1`), the address 127.0.0.1 is added, file names point at temporary files
 * and the test certificates, and `pidof dnatsd` / `-sl reload` name the server
 * this test started (other dnatsd processes may run on the machine).
 *
 * @module
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "./helpers/server.ts";
import { type Spawned, spawnLogged, tempDir, waitFor } from "./ops_helpers.ts";
import { CERTS } from "./helpers/tls_client.ts";

const README = Deno.readTextFileSync(join(REPO_ROOT, "README.md"));
const TASKS = Object.keys(JSON.parse(Deno.readTextFileSync(join(REPO_ROOT, "deno.json"))).tasks);

/** Fenced code blocks: language and text. */
function blocks(md: string): Array<{ lang: string; text: string }> {
  return [...md.matchAll(/^```(\w*)\n([\s\S]*?)^```/gm)].map((m) => ({ lang: m[1], text: m[2] }));
}

/** The command lines of a shell block, comments removed. */
function commands(text: string): string[] {
  return text.split("\n").map((l) => l.replace(/\s+#.*$/, "").trim()).filter((l) =>
    l !== "" && !l.startsWith("#")
  );
}

const SH = blocks(README).filter((b) => b.lang === "sh");
const allCommands = SH.flatMap((b) => commands(b.text));
const usage = SH.find((b) => commands(b.text).some((c) => c.startsWith("dnatsd ")));

Deno.test("README: no command needs a deno on the PATH, every task exists", () => {
  // A bare `deno` is not on the PATH after the set-up commands: only `npx -y deno@2`.
  const bare = /(^|[\s;&|(`])deno\s/;
  deepStrictEqual(allCommands.filter((c) => bare.test(c)), []);
  const spans = [...README.matchAll(/`(deno (?:task|run) [^`]*)`/g)].map((m) => m[1]);
  deepStrictEqual(spans, []);
  const tasks = [...README.matchAll(/npx -y deno@2 task (\w+)/g)].map((m) => m[1]);
  ok(tasks.length > 5);
  deepStrictEqual([...new Set(tasks.filter((t) => !TASKS.includes(t)))], []);
});

/** `[pid]` of the server from its first log line. */
function serverPid(log: string): number {
  const m = /^\[(\d+)\] /m.exec(log);
  if (m === null) throw new Error(`no pid in:\n${log}`);
  return Number(m[1]);
}

/** Kills whatever a test started, whatever happened (the server pid may not be the child). */
async function stopAll(s: Spawned, pid?: number): Promise<void> {
  if (pid !== undefined) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* exited */ }
  }
  await s.kill();
}

Deno.test("README quick start: `npx -y deno@2 task start` serves, stops on SIGTERM", async () => {
  const quick = SH.map((b) => commands(b.text)).find((c) => c[0]?.includes("task start"));
  ok(quick !== undefined, "no quick-start block");
  equal(quick[0], "npx -y deno@2 task start");
  // "Flags go after the task": a free port on 127.0.0.1 instead of 0.0.0.0:4222.
  const line = `${quick[0]} -a 127.0.0.1 -p -1`;
  const s = spawnLogged("sh", ["-c", line], { cwd: REPO_ROOT });
  let pid: number | undefined;
  try {
    await waitFor(() => /Server is ready/.test(s.logs.text), 120_000, `ready:\n${s.logs.text}`);
    pid = serverPid(s.logs.text);
    // npx does not pass signals on; an operator's Ctrl-C reaches the whole group.
    Deno.kill(pid, "SIGTERM");
    await waitFor(() => /Server Exiting/.test(s.logs.text), 10_000, "exit line");
    equal((await s.exit(30_000)).code, 0);
  } finally {
    await stopAll(s, pid);
  }
});

/** A Usage line made runnable here (see the module comment). */
function adapt(line: string, dir: string, pid: number): string {
  let l = line
    .replace(/ -p \d+/, " -p -1")
    .replace(/ -m \d+/, " -m -1")
    .replace(/--cluster nats:\/\/127\.0\.0\.1:\d+/, "--cluster nats://127.0.0.1:-1")
    .replace(/--routes nats:\/\/127\.0\.0\.1:\d+/, "--routes nats://127.0.0.1:1")
    .replace("/var/log/dnatsd.log", join(dir, "dnatsd.log"))
    .replaceAll("nats.conf", join(dir, "nats.conf"))
    .replace("server.pem", `${CERTS}server-cert.pem`)
    .replace("key.pem", `${CERTS}server-key.pem`)
    .replace("$(pidof dnatsd)", String(pid))
    .replace(/-sl (\w+)$/, `-sl $1=${pid}`);
  if (l.startsWith("dnatsd ") && !/ -a /.test(l) && !/ -sl /.test(l) && !/\.conf/.test(l)) {
    l = l.replace(/^dnatsd /, "dnatsd -a 127.0.0.1 -p -1 ");
  }
  return l;
}

Deno.test("README: `npx -y deno@2 task install`, then every Usage line with flags and signals", async () => {
  ok(usage !== undefined, "no Usage block");
  const install = allCommands.find((c) => c.includes("task install"));
  equal(install, "npx -y deno@2 task install");
  const dir = tempDir();
  const root = join(dir.path, "root");
  const conf = join(dir.path, "nats.conf");
  Deno.writeTextFileSync(conf, 'listen: "127.0.0.1:-1"\n');
  const servers: Array<{ s: Spawned; pid?: number }> = [];
  try {
    const out = await new Deno.Command("sh", {
      args: ["-c", install],
      cwd: REPO_ROOT,
      env: { DENO_INSTALL_ROOT: root },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const said = new TextDecoder().decode(out.stdout);
    ok(out.success, new TextDecoder().decode(out.stderr));
    ok(said.includes(join(root, "bin", "dnatsd")), said);
    // The command must not need a deno on the PATH: the PATH holds nothing else.
    const path = join(root, "bin");
    const env = { PATH: path, NO_COLOR: "1" };
    const run = (line: string) => spawnLogged("/bin/sh", ["-c", line], { env, cwd: dir.path });

    // The `-c nats.conf` line starts the server the signal lines talk to (a reload needs a file).
    const all = commands(usage.text);
    const target = all.find((l) => / -c nats\.conf$/.test(l));
    ok(target !== undefined, "no `dnatsd -c nats.conf` line");
    const lines = all.filter((l) => l !== target);
    const first = run(adapt(target, dir.path, 0));
    servers.push({ s: first });
    await waitFor(
      () => /Server is ready/.test(first.logs.text),
      30_000,
      `ready:\n${first.logs.text}`,
    );
    const pid = serverPid(first.logs.text);
    servers[0].pid = pid;

    for (const line of lines) {
      const cmd = adapt(line, dir.path, pid);
      if (/ -t$/.test(line) || / -sl /.test(line) || line.startsWith("kill ")) {
        const o = await new Deno.Command("/bin/sh", {
          args: ["-c", cmd],
          env,
          cwd: dir.path,
          stderr: "piped",
        })
          .output();
        ok(o.success, `${cmd}: ${new TextDecoder().decode(o.stderr)}`);
        continue;
      }
      const s = run(cmd);
      servers.push({ s });
      const logFile = /-l (\S+)/.exec(cmd)?.[1];
      const text = () => logFile ? readOr(logFile) : s.logs.text;
      await waitFor(
        () => /Server is ready/.test(text()),
        30_000,
        `${cmd}:\n${text()}${s.logs.text}`,
      );
      const spid = serverPid(text());
      servers.at(-1)!.pid = spid;
      Deno.kill(spid, "SIGTERM");
      equal((await s.exit(15_000)).code, 0, `${cmd}:\n${text()}`);
    }
    // `-sl reload` and `kill -HUP` each reloaded the first server.
    await waitFor(
      () => (first.logs.text.match(/Reloaded server configuration/g) ?? []).length >= 2,
      10_000,
      `two reloads:\n${first.logs.text}`,
    );
    Deno.kill(pid, "SIGTERM");
    equal((await first.exit(15_000)).code, 0);
  } finally {
    for (const { s, pid } of servers) await stopAll(s, pid);
    dir.remove();
  }
});

function readOr(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

Deno.test("README: the library example runs", async () => {
  const ts = blocks(README).find((b) => b.lang === "ts" && b.text.includes("./mod.ts"));
  ok(ts !== undefined, "no library example");
  const dir = tempDir();
  try {
    const file = join(dir.path, "example.ts");
    Deno.writeTextFileSync(
      file,
      ts.text.replace('"./mod.ts"', JSON.stringify(new URL("../mod.ts", import.meta.url).href)),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", "--config", join(REPO_ROOT, "deno.json"), file],
      stdout: "piped",
      stderr: "piped",
    }).output();
    ok(out.success, new TextDecoder().decode(out.stderr));
    ok(/^listening on \d+$/m.test(new TextDecoder().decode(out.stdout)));
  } finally {
    dir.remove();
  }
});
