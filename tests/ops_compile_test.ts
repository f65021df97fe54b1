// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * The single binary: `tools/compile.ts --host` builds dnatsd with `deno compile`,
 * then the binary runs, serves a client and stops on SIGINT. deno compile needs
 * denort (downloaded, or `DENORT_BIN`); without it the test prints a SKIP line.
 */
import { connect } from "npm:@nats-io/transport-node@3.4.0";
import { equal } from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "./helpers/server.ts";
import { clientPortOf, spawnLogged, waitFor } from "./ops_helpers.ts";
import { hostTarget, outputFor } from "../tools/compile.ts";

Deno.test("compiled binary: builds, serves clients, stops on SIGINT", async () => {
  const build = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO_ROOT, "tools/compile.ts"), "--host", "--no-check"],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!build.success) {
    const err = new TextDecoder().decode(build.stderr);
    if (!Deno.env.get("DENORT_BIN") && /could not download denort/.test(err)) {
      console.log("SKIP: deno compile needs denort (set DENORT_BIN)");
      return;
    }
    throw new Error(`compile failed:\n${err}`);
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
