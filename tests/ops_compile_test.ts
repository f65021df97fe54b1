// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * The single binary: `tools/compile.ts --host` builds dnatsd with `deno compile`,
 * then the binary runs, serves a client and stops on SIGINT. deno compile needs
 * denort (`DENORT_BIN`, one downloaded before, or a download that works now);
 * without any of them the test is reported as ignored.
 */
import { connect } from "npm:@nats-io/transport-node@3.4.0";
import { equal } from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "./helpers/server.ts";
import { clientPortOf, spawnLogged, waitFor } from "./ops_helpers.ts";
import { hostTarget, outputFor } from "../tools/compile.ts";
import { has, missing } from "./helpers/requires.ts";

/** True when deno compile could download denort now (a HEAD request, 5 s at most). */
async function denortDownloadable(): Promise<boolean> {
  const url = `https://dl.deno.land/release/v${Deno.version.deno}/denort-${Deno.build.target}.zip`;
  try {
    const res = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(5000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

const noDenort = !has("denort") && !(await denortDownloadable()) && missing("denort");

Deno.test({
  name: "compiled binary: builds, serves clients, stops on SIGINT",
  ignore: noDenort,
}, async () => {
  const build = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO_ROOT, "tools/compile.ts"), "--host", "--no-check"],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!build.success) {
    throw new Error(`compile failed:\n${new TextDecoder().decode(build.stderr)}`);
  }
  const bin = join(REPO_ROOT, outputFor(hostTarget()));
  const s = spawnLogged(bin, ["-a", "127.0.0.1", "-p", "-1", "-D"]);
  const logs = s.logs;
  try {
    await waitFor(() => /Server is ready/.test(logs.text), 10_000, `ready:\n${logs.text}`);
    const nc = await connect({ servers: `127.0.0.1:${clientPortOf(logs.text)}`, reconnect: false });
    const sub = nc.subscribe("bin", { max: 1 });
    nc.publish("bin", "ok");
    for await (const m of sub) equal(m.string(), "ok");
    await nc.close();
    s.child.kill("SIGINT");
    equal((await s.status).code, 0);
  } finally {
    await s.kill();
  }
});
