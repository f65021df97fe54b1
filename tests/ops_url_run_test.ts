// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * `deno run -A <URL>/main.ts` with no local checkout: the repository is served
 * over a local HTTP server and run from an empty directory without deno.json,
 * so every import (npm packages included) must resolve from the files alone.
 *
 * Deno decides how to load a remote module from the Content-Type the web
 * server sends, so the README documents which types work for `.ts` files;
 * each row of that table is checked here (a JavaScript or HTML type makes the
 * run fail, and the run says why).
 */
import { connect } from "npm:@nats-io/transport-node@3.4.0";
import { equal, match, ok } from "node:assert/strict";
import { extname, join, normalize } from "node:path";
import { REPO_ROOT } from "./helpers/server.ts";
import { clientPortOf, spawnLogged, tempDir, waitFor } from "./ops_helpers.ts";

const OTHER_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".json": "application/json",
};

/** Serves the checkout under `/<prefix>/` with `tsType` (null: no header) for `.ts` files. */
function serveTree(): {
  base: (prefix: string) => string;
  types: Map<string, string | null>;
  served: Set<string>;
  close: () => Promise<void>;
} {
  const ac = new AbortController();
  const types = new Map<string, string | null>();
  const served = new Set<string>();
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    async (req) => {
      const full = normalize(decodeURIComponent(new URL(req.url).pathname));
      const m = /^\/([^/]+)(\/.*)$/.exec(full);
      if (full.includes("..") || m === null) return new Response("bad path", { status: 400 });
      const [, prefix, path] = m;
      try {
        const body = await Deno.readFile(join(REPO_ROOT, path));
        served.add(path);
        const ext = extname(path);
        const type = ext === ".ts" ? types.get(prefix) : OTHER_TYPES[ext] ?? "text/plain";
        return new Response(body, type ? { headers: { "content-type": type } } : {});
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
  return {
    base: (prefix) => `http://127.0.0.1:${http.addr.port}/${prefix}`,
    types,
    served,
    close: async () => {
      ac.abort();
      await http.finished;
      await forgetCachedModules(http.addr.port);
    },
  };
}

/**
 * Removes what Deno's global cache keeps of modules fetched from
 * `127.0.0.1:<port>`, so runs do not leave a copy of the checkout behind each
 * (hundreds of MB over many runs) and a later server on the same port starts
 * from nothing.
 */
async function forgetCachedModules(port: number): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
  const cache = (JSON.parse(new TextDecoder().decode(out.stdout)) as { modulesCache?: string })
    .modulesCache;
  if (cache === undefined) return;
  await Deno.remove(join(cache, "http", `127.0.0.1_PORT${port}`), { recursive: true }).catch(
    () => {},
  );
}

/**
 * A URL prefix no earlier run used. Deno keeps remote modules in its global
 * cache by URL, and the server's port is a free one, so a port used by an
 * earlier run (of this test or another) with the same prefix would have the
 * run load the cached files instead of asking this server: a CI run failed
 * that way (main.ts never requested). {@link forgetCachedModules} cleans up
 * after a run that ends normally; a fresh prefix makes every URL new even
 * after one that was killed.
 */
function freshPrefix(name: string): string {
  return `${name}-${crypto.randomUUID()}`;
}

/** `.ts` Content-Types that work, as in the README's table (nginx sends video/mp2t). */
const WORKING: Array<string | null> = [
  "application/typescript; charset=utf-8",
  "text/typescript",
  "application/x-typescript",
  "text/plain; charset=utf-8",
  "video/mp2t",
  null,
];

for (const [i, type] of WORKING.entries()) {
  Deno.test(`run from a URL (.ts as ${type ?? "no Content-Type"}): starts and routes`, async () => {
    const tree = serveTree();
    const prefix = freshPrefix(`ok${i}`);
    tree.types.set(prefix, type);
    const dir = tempDir();
    const s = spawnLogged(Deno.execPath(), [
      ...["run", "-A", "--no-config", "--no-lock", "--no-check"],
      ...[`${tree.base(prefix)}/main.ts`, "-p", "-1", "-a", "127.0.0.1"],
    ], { cwd: dir.path });
    const logs = s.logs;
    try {
      await waitFor(() => /Server is ready/.test(logs.text), 60_000, `ready:\n${logs.text}`);
      const nc = await connect({
        servers: `127.0.0.1:${clientPortOf(logs.text)}`,
        reconnect: false,
      });
      const sub = nc.subscribe("url.run", { max: 1 });
      nc.publish("url.run", "hello");
      for await (const m of sub) equal(m.string(), "hello");
      await nc.close();
      equal(tree.served.has("/main.ts"), true);
      s.child.kill("SIGINT");
      equal((await s.status).code, 0);
    } finally {
      await s.kill();
      await tree.close();
      dir.remove();
    }
  });
}

/** Types that break the run, with what Deno says (the README quotes these). */
const BROKEN: Array<[string, RegExp]> = [
  ["text/javascript", /SyntaxError/],
  ["application/javascript", /SyntaxError/],
  ["text/html", /Expected a JavaScript or TypeScript module/],
];

for (const [type, says] of BROKEN) {
  Deno.test(`run from a URL (.ts as ${type}): refused with Deno's reason`, async () => {
    const tree = serveTree();
    const prefix = freshPrefix("bad");
    tree.types.set(prefix, type);
    const dir = tempDir();
    const s = spawnLogged(Deno.execPath(), [
      ...["run", "-A", "--no-config", "--no-lock", "--no-check"],
      ...[`${tree.base(prefix)}/main.ts`, "-p", "-1", "-a", "127.0.0.1"],
    ], { cwd: dir.path, env: { NO_COLOR: "1" } });
    try {
      const status = await s.exit(60_000);
      ok(!status.success);
      match(s.logs.text, says);
      ok(!/Server is ready/.test(s.logs.text));
    } finally {
      await s.kill();
      await tree.close();
      dir.remove();
    }
  });
}
