// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * `deno run -A <URL>/main.ts` with no local checkout: the repository is served
 * over a local HTTP server and run from an empty directory without deno.json,
 * so every import (npm packages included) must resolve from the files alone.
 */
import { connect } from "npm:@nats-io/transport-node@3.4.0";
import { equal } from "node:assert/strict";
import { extname, join, normalize } from "node:path";
import { REPO_ROOT } from "./helpers/server.ts";
import { clientPortOf, spawnLogged, tempDir, waitFor } from "./ops_helpers.ts";

const TYPES: Record<string, string> = {
  ".ts": "application/typescript; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".json": "application/json",
};

Deno.test("run from a URL: the server starts, listens and routes messages", async () => {
  const ac = new AbortController();
  const served = new Set<string>();
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    async (req) => {
      const path = normalize(decodeURIComponent(new URL(req.url).pathname));
      if (path.includes("..")) return new Response("bad path", { status: 400 });
      try {
        const body = await Deno.readFile(join(REPO_ROOT, path));
        served.add(path);
        return new Response(body, {
          headers: { "content-type": TYPES[extname(path)] ?? "application/octet-stream" },
        });
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
  const base = `http://127.0.0.1:${http.addr.port}`;
  const dir = tempDir();
  const s = spawnLogged(Deno.execPath(), [
    "run",
    "-A",
    "--no-config",
    "--no-lock",
    "--no-check",
    `${base}/main.ts`,
    "-p",
    "-1",
    "-a",
    "127.0.0.1",
  ], { cwd: dir.path });
  const logs = s.logs;
  try {
    await waitFor(() => /Server is ready/.test(logs.text), 60_000, `ready:\n${logs.text}`);
    const port = clientPortOf(logs.text);
    const nc = await connect({ servers: `127.0.0.1:${port}`, reconnect: false });
    const sub = nc.subscribe("url.run", { max: 1 });
    nc.publish("url.run", "hello");
    for await (const m of sub) equal(m.string(), "hello");
    await nc.close();
    equal(served.has("/main.ts"), true);
    s.child.kill("SIGINT");
    equal((await s.status).code, 0);
  } finally {
    await s.kill();
    ac.abort();
    await http.finished;
    dir.remove();
  }
});
