/**
 * `deno task start` on a fresh machine fetches only what the server runs on:
 * deno.json's lock (the one `deno task` installs from) is deno.runtime.lock,
 * which must hold exactly the npm packages main.ts can load, and none that
 * only tests, benchmarks or tools use (those are in deno.lock).
 *
 * @module
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { REPO_ROOT } from "./helpers/server.ts";

Deno.test("deno.runtime.lock holds exactly the npm packages main.ts loads", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}deno.json`));
  equal(config.lock?.path, "deno.runtime.lock", "deno task installs from the runtime lock");
  // Frozen: a script that needs more than the server's packages must name deno.lock,
  // rather than growing the runtime lock behind the operator's back.
  equal(config.lock?.frozen, true);
  ok(!/--lock/.test(config.tasks.start), "start uses the runtime lock");
  const lock = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}deno.runtime.lock`));
  const locked = Object.keys(lock.npm ?? {}).sort();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: REPO_ROOT,
    stderr: "inherit",
  }).output();
  ok(out.success);
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  const loaded = Object.keys(info.npmPackages ?? {}).sort();
  deepStrictEqual(locked, loaded);
  for (const testOnly of ["playwright-core", "@nats-io/transport-node", "@peculiar/x509"]) {
    ok(!locked.some((p) => p.startsWith(`${testOnly}@`)), `${testOnly} is not a runtime package`);
  }
});
