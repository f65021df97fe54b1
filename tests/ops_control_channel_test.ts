/**
 * The local control channel (Windows' stand-in for SIGHUP/SIGUSR1/SIGUSR2),
 * exercised on this platform with `DNATSD_CONTROL_CHANNEL=1` on both ends:
 * `-sl` commands go through it, the control file is private, a wrong token is
 * refused, and it listens on 127.0.0.1 only.
 */
import { equal, match, ok } from "node:assert/strict";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exists, runSl, spawnDnatsd, tempDir, waitFor, waitForLog } from "./ops_helpers.ts";

const ENV = { DNATSD_CONTROL_CHANNEL: "1" };

async function withChannelServer(
  fn: (s: ReturnType<typeof spawnDnatsd>, pidFile: string, dir: string) => Promise<void>,
): Promise<void> {
  const dir = tempDir();
  const pidFile = join(dir.path, "d.pid");
  const portsDir = dir.path;
  const s = spawnDnatsd(
    ["-a", "127.0.0.1", "-p", "-1", "-D", "-P", pidFile, "--ports_file_dir", portsDir],
    { env: ENV },
  );
  try {
    await waitFor(() => exists(join(portsDir, `dnatsd_${s.child.pid}.ports`)), 10_000, "ready");
    await fn(s, pidFile, dir.path);
  } finally {
    await s.kill();
    dir.remove();
  }
}

Deno.test("control channel: -sl reopen/reload/quit go through it; files private and removed", async () => {
  await withChannelServer(async (s, pidFile) => {
    const files = [`${pidFile}.ctl`, join(tmpdir(), `dnatsd_${s.child.pid}.ctl`)];
    for (const f of files) {
      ok(exists(f), `${f} written`);
      equal(Deno.statSync(f).mode! & 0o777, 0o600, `${f} is owner-only`);
      const ctl = JSON.parse(Deno.readTextFileSync(f));
      equal(ctl.pid, s.child.pid);
      match(ctl.token, /^[0-9a-f]{64}$/, "256-bit token");
    }
    const reopen = await runSl(`reopen=${pidFile}`, ENV);
    equal(reopen.code, 0, reopen.stderr);
    await waitForLog(s, /File log re-open ignored, not a file logger/);
    ok(!/Trapped/.test(s.logs.text), "no signal was used");
    const reload = await runSl(`reload=${s.child.pid}`, ENV);
    equal(reload.code, 0, reload.stderr);
    await waitForLog(s, /can only reload config when a file is provided/);
    const quit = await runSl(`quit=${pidFile}`, ENV);
    equal(quit.code, 0, quit.stderr);
    equal((await s.exit()).code, 0);
    for (const f of files) ok(!exists(f), `${f} removed on exit`);
  });
});

Deno.test("control channel: wrong token refused, loopback only", async (t) => {
  await withChannelServer(async (s, pidFile) => {
    const ctl = JSON.parse(Deno.readTextFileSync(`${pidFile}.ctl`));
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: ctl.port });
    await conn.write(new TextEncoder().encode(`${"0".repeat(64)} quit\n`));
    const buf = new Uint8Array(128);
    const n = await conn.read(buf);
    conn.close();
    equal(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "-ERR not authorized\n");
    await waitForLog(s, /Control channel: request with a wrong token refused/);
    // Not reachable on another local address: the listener is bound to 127.0.0.1 only.
    const other = Deno.networkInterfaces().find((i) =>
      i.family === "IPv4" && i.address !== "127.0.0.1"
    );
    await t.step({
      name: "not reachable on a non-loopback IPv4 address",
      ignore: other === undefined, // this machine has none to probe
      fn: async () => {
        let reached = true;
        try {
          (await Deno.connect({ hostname: other!.address, port: ctl.port })).close();
        } catch {
          reached = false;
        }
        equal(reached, false, `not reachable on ${other!.address}`);
      },
    });
    const quit = await runSl(`quit=${pidFile}`, ENV);
    equal(quit.code, 0, quit.stderr);
    equal((await s.exit()).code, 0);
  });
});
