/**
 * SIGUSR1 (log reopen) must not leave a debugger open: Deno >= 2.9.2 starts a
 * V8 inspector on 127.0.0.1:9229 when the process gets SIGUSR1.
 */
import { ok } from "node:assert/strict";
import { ServerProcess, waitFor } from "./helpers/server.ts";

async function inspectorListening(): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: 9229 });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "SIGUSR1 reopens the log and closes the debugger the runtime opens",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const s = await ServerProcess.start({});
    try {
      s.signal("SIGUSR1");
      await s.waitForLog(/File log re-open ignored, not a file logger/);
      const runtimeOpenedOne = /Debugger listening on/.test(s.logs.text) ||
        await waitFor(() => /Debugger listening on/.test(s.logs.text), 1000, "banner")
          .then(() => true, () => false);
      if (runtimeOpenedOne) {
        await s.waitForLog(/SIGUSR1 made the Deno runtime open a debugger .*: closed it/);
      }
      // Other tests may send SIGUSR1 to their own servers at the same time: poll
      // until nobody listens rather than sampling once.
      await waitFor(async () => !(await inspectorListening()), 3000, "port 9229 closed");
      ok(!s.logs.text.includes("Could not close the debugger"), s.logs.text);
    } finally {
      await s.stop();
    }
  },
});
