// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * Signals sent to a real dnatsd process: INT/TERM stop gracefully with exit 0,
 * USR1 reopens the log file, HUP reloads, USR2 enters lame duck mode. Each one
 * logs `Trapped "<name>" signal` at debug level, as nats-server.
 */
import { connect } from "npm:@nats-io/transport-node@3.4.0";
import { equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { ServerProcess } from "./helpers/server.ts";
import { exists, readOrEmpty, spawnDnatsd, tempDir, waitFor } from "./ops_helpers.ts";

Deno.test("SIGINT stops gracefully with exit code 0", async () => {
  const s = await ServerProcess.start({ args: ["-D"] });
  s.signal("SIGINT");
  // The server must stop on SIGINT alone: stop() would add a SIGTERM that can
  // overtake it, so wait for the exit first (stop() then only collects it).
  await waitFor(() => /Server Exiting\.\./.test(s.logs.text), 10_000, "exit after SIGINT");
  const status = await s.stop();
  equal(status.code, 0);
  match(s.logs.text, /\[DBG\] Trapped "interrupt" signal/);
  match(s.logs.text, /Initiating Shutdown\.\.\.[\s\S]*Server Exiting\.\./);
});

Deno.test("SIGTERM stops gracefully with exit code 0 and delivers what subscribers are owed", async () => {
  const s = await ServerProcess.start({ args: ["-D"] });
  const sub = await connect({ servers: s.url, reconnect: false });
  const pub = await connect({ servers: s.url, reconnect: false });
  try {
    const got: string[] = [];
    const it = sub.subscribe("owed");
    const reading = (async () => {
      for await (const m of it) got.push(m.string());
    })();
    await sub.flush();
    for (let i = 0; i < 100; i++) pub.publish("owed", `m${i}`);
    await pub.flush(); // the server has read every PUB
    s.child.kill("SIGTERM");
    const status = await s.exited;
    equal(status.code, 0, "the issue asks exit 0 (nats-server 2.9.10 exits 1 on SIGTERM)");
    await reading;
    equal(got.length, 100, "all 100 messages delivered before the connection closed");
    match(s.logs.text, /Trapped "terminated" signal/);
  } finally {
    await sub.close().catch(() => {});
    await pub.close().catch(() => {});
    await s.stop();
  }
});

Deno.test("SIGUSR1 without a log file logs that there is nothing to reopen", async () => {
  const s = await ServerProcess.start({ args: ["-D"] });
  try {
    s.signal("SIGUSR1");
    await s.waitForLog(/Trapped "user defined signal 1" signal/);
    await s.waitForLog(/\[INF\] File log re-open ignored, not a file logger/);
  } finally {
    await s.stop();
  }
});

Deno.test("SIGUSR1 reopens a log file moved away by a rotator; no line is lost", async () => {
  const dir = tempDir();
  const log = join(dir.path, "dnatsd.log");
  const s = spawnDnatsd(["-a", "127.0.0.1", "-p", "-1", "-D", "-l", log]);
  try {
    await waitFor(() => /Server is ready/.test(readOrEmpty(log)), 10_000, "server ready in log");
    const port = Number(/Listening for client connections on \S+:(\d+)/.exec(readOrEmpty(log))![1]);
    Deno.renameSync(log, `${log}.1`);
    // Lines written after the move still land in the moved file (same inode).
    const nc1 = await connect({ servers: `127.0.0.1:${port}`, reconnect: false });
    await nc1.close();
    await waitFor(() => /Client connection closed/.test(readOrEmpty(`${log}.1`)), 5000, "c1");
    s.child.kill("SIGUSR1");
    await waitFor(() => /File log re-opened/.test(readOrEmpty(log)), 5000, "re-opened line");
    const nc2 = await connect({ servers: `127.0.0.1:${port}`, reconnect: false });
    await nc2.close();
    await waitFor(() => /Client connection closed/.test(readOrEmpty(log)), 5000, "c2 in new file");
    const old = readOrEmpty(`${log}.1`);
    match(old, /Server is ready/);
    match(old, /Trapped "user defined signal 1" signal/);
    ok(!/File log re-opened/.test(old), "the notice goes to the new file");
    s.child.kill("SIGINT");
    equal((await s.exit()).code, 0);
    match(readOrEmpty(log), /Server Exiting/);
  } finally {
    await s.kill();
    dir.remove();
  }
});

Deno.test("SIGHUP without a config file: reload refused, server keeps running", async () => {
  const s = await ServerProcess.start({ args: ["-D"] });
  try {
    s.signal("SIGHUP");
    await s.waitForLog(/Trapped "hangup" signal/);
    await s.waitForLog(
      /\[ERR\] Failed to reload server configuration: can only reload config when a file is provided using -c or --config/,
    );
    const nc = await connect({ servers: s.url, reconnect: false });
    await nc.flush();
    await nc.close();
  } finally {
    await s.stop();
  }
});

Deno.test("SIGHUP with a config file reloads it", async () => {
  const s = await ServerProcess.start({ config: "max_payload: 1000\n", args: ["-D"] });
  try {
    await Deno.writeTextFile(s.configFile!, "max_payload: 2000\n");
    s.signal("SIGHUP");
    await s.waitForLog(/Reloaded: max_payload = 2000\n[\s\S]*Reloaded server configuration/);
  } finally {
    await s.stop();
  }
});

Deno.test("SIGUSR2 enters lame duck mode; with no clients the server exits at once (0)", async () => {
  const dir = tempDir();
  const pid = join(dir.path, "s.pid");
  const s = await ServerProcess.start({ args: ["-D", "-P", pid] });
  try {
    await waitFor(() => exists(pid), 5000, "pid file");
    s.signal("SIGUSR2");
    const status = await s.exited;
    equal(status.code, 0);
    match(s.logs.text, /Trapped "user defined signal 2" signal/);
    match(s.logs.text, /Entering lame duck mode, stop accepting new clients/);
    match(s.logs.text, /Server Exiting/);
    equal(Deno.readTextFileSync(pid), String(s.pid), "pid file left after exit, as nats-server");
  } finally {
    await s.stop();
    dir.remove();
  }
});
