// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * Process files and log rotation against a real dnatsd: the PID file and the
 * ports file are written once listeners are up and removed on a clean exit;
 * `log_size_limit` rotates the log file end to end.
 */
import { connect } from "npm:@nats-io/transport-node@3.4.0";
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import {
  clientPortOf,
  exists,
  readOrEmpty,
  spawnDnatsd,
  tempDir,
  waitFor,
  waitForLog,
} from "./ops_helpers.ts";
import { ServerProcess } from "./helpers/server.ts";
import { missing } from "./helpers/requires.ts";

Deno.test("pid file and ports file: content, mode; on exit the ports file goes and the pid file stays (as nats-server)", async () => {
  const dir = tempDir();
  const pidFile = join(dir.path, "d.pid");
  const s = spawnDnatsd([
    "-a",
    "127.0.0.1",
    "-p",
    "-1",
    "-m",
    "-1",
    "-P",
    pidFile,
    "--ports_file_dir",
    dir.path,
  ]);
  const portsFile = join(dir.path, `dnatsd_${s.child.pid}.ports`);
  try {
    await waitFor(() => exists(portsFile), 10_000, "ports file");
    await waitForLog(s, /Server is ready/);
    equal(Deno.readTextFileSync(pidFile), String(s.child.pid), "decimal pid, no newline");
    equal(Deno.statSync(pidFile).mode! & 0o777 & ~0o660, 0, "mode within 0660");
    const ports = JSON.parse(Deno.readTextFileSync(portsFile));
    const clientPort = clientPortOf(s.logs.text);
    deepStrictEqual(ports.nats, [`nats://127.0.0.1:${clientPort}`]);
    equal(ports.monitoring.length, 1);
    match(ports.monitoring[0], /^http:\/\/127\.0\.0\.1:\d+$/);
    const varz = await fetch(`${ports.monitoring[0]}/varz`);
    equal(varz.status, 200);
    await varz.body?.cancel();
    s.child.kill("SIGINT");
    equal((await s.exit()).code, 0);
    equal(Deno.readTextFileSync(pidFile), String(s.child.pid), "pid file left, as nats-server");
    ok(!exists(portsFile), "ports file removed");
  } finally {
    await s.kill();
    dir.remove();
  }
});

Deno.test({
  name:
    "pid file after a clean stop: dnatsd and nats-server both leave it, with the same content and mode",
  ignore: missing("nats-server"),
  async fn() {
    const seen: Record<string, { content: string; mode: number }> = {};
    for (const reference of [true, false]) {
      const dir = tempDir();
      const pidFile = join(dir.path, "s.pid");
      const s = await ServerProcess.start({ reference, args: ["-P", pidFile] });
      try {
        await waitFor(() => exists(pidFile), 5000, "pid file");
        s.signal("SIGINT");
        await waitFor(() => /Server Exiting/.test(s.logs.text), 10_000, "exit");
        await s.stop();
        ok(exists(pidFile), `${reference ? "nats-server" : "dnatsd"} left its pid file`);
        seen[reference ? "nats-server" : "dnatsd"] = {
          content: Deno.readTextFileSync(pidFile) === String(s.pid) ? "its pid" : "other",
          mode: Deno.statSync(pidFile).mode! & 0o777,
        };
      } finally {
        await s.stop();
        dir.remove();
      }
    }
    deepStrictEqual(seen["dnatsd"], seen["nats-server"]);
    equal(seen["dnatsd"]!.content, "its pid");
  },
});

Deno.test("log_size_limit rotates the log file and keeps logging", async () => {
  const dir = tempDir();
  const log = join(dir.path, "d.log");
  const conf = join(dir.path, "d.conf");
  Deno.writeTextFileSync(conf, `log_file: "${log}"\nlog_size_limit: 2000\ndebug: true\n`);
  const s = spawnDnatsd(["-a", "127.0.0.1", "-p", "-1", "-c", conf]);
  try {
    await waitFor(() => /Server is ready/.test(readOrEmpty(log)), 10_000, "ready in log");
    const port = clientPortOf(readOrEmpty(log));
    // Each connection writes a few debug lines; a handful passes 2000 bytes.
    const deadline = Date.now() + 10_000;
    let backups: string[] = [];
    while (backups.length === 0 && Date.now() < deadline) {
      const nc = await connect({ servers: `127.0.0.1:${port}`, reconnect: false });
      await nc.close();
      backups = [...Deno.readDirSync(dir.path)].map((e) => e.name).filter((n) =>
        /^d\.log\.\d{4}\.\d{2}\.\d{2}\.\d{2}\.\d{2}\.\d{2}\.\d{9}$/.test(n)
      );
    }
    equal(backups.length >= 1, true, "a dated backup exists");
    await waitFor(
      () => /Rotated log, backup saved as/.test(readOrEmpty(log)),
      5000,
      "rotation notice",
    );
    match(readOrEmpty(join(dir.path, backups[0])), /Starting nats-server/);
    s.child.kill("SIGINT");
    equal((await s.exit()).code, 0);
    match(readOrEmpty(log), /Server Exiting/);
  } finally {
    await s.kill();
    dir.remove();
  }
});
