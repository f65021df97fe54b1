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

Deno.test("pid file and ports file: content, mode, removal on exit", async () => {
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
    ok(!exists(pidFile), "pid file removed");
    ok(!exists(portsFile), "ports file removed");
  } finally {
    await s.kill();
    dir.remove();
  }
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
