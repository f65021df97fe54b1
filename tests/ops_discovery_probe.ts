/**
 * Run by tests/ops_sl_test.ts inside a fresh PID namespace (`unshare -Urpf
 * --mount-proc`), where the only dnatsd processes are the ones started here: it
 * exercises `-sl` without a PID (process discovery) and prints what it saw as
 * JSON on stdout. Not a test file itself (no `_test` suffix).
 *
 * @module
 */
import { runSl, spawnDnatsd, waitForLog } from "./ops_helpers.ts";

const seen: Record<string, unknown> = {};
const none = await runSl("reload");
seen.none = { code: none.code, stderr: none.stderr };

const a = spawnDnatsd(["-a", "127.0.0.1", "-p", "-1", "-D"]);
const b = spawnDnatsd(["-a", "127.0.0.1", "-p", "-1", "-D"]);
try {
  await waitForLog(a, /Server is ready/);
  await waitForLog(b, /Server is ready/);
  const two = await runSl("reopen");
  seen.two = { code: two.code, stderr: two.stderr, pids: [a.child.pid, b.child.pid] };
  b.child.kill("SIGINT");
  seen.bExit = (await b.exit()).code;
  const one = await runSl("reopen");
  await waitForLog(a, /File log re-open ignored, not a file logger/);
  seen.one = { code: one.code, stderr: one.stderr };
  const quit = await runSl("quit");
  seen.quit = { code: quit.code, exit: (await a.exit()).code };
  seen.aLog = a.logs.text;
} finally {
  await a.kill();
  await b.kill();
}
console.log(JSON.stringify(seen));
