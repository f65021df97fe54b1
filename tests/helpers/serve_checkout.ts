/**
 * The checkout served over HTTP on 127.0.0.1, as a release URL would serve it,
 * for tests that `deno run <URL>/main.ts` with no local checkout.
 *
 * Deno keeps remote modules in its global cache by URL, and the server's port
 * is a free one. A port used by an earlier run with the same path would have
 * Deno load the cached files (possibly of an older commit) instead of asking
 * this server: a CI run failed that way, main.ts never requested. So every
 * server serves under a fresh random prefix, and on close removes what the
 * cache keeps for its port, so runs do not leave a copy of the checkout
 * behind each (356 port directories, 445 MB, had built up).
 *
 * @module
 */
import { extname, join, normalize } from "node:path";
import { REPO_ROOT } from "./server.ts";

const OTHER_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".json": "application/json",
};

/** A running server of the checkout. */
export interface ServedCheckout {
  /** The checkout's root: `http://127.0.0.1:<port>/<fresh prefix>`. */
  url: string;
  /** Paths requested so far, from the checkout's root (`/main.ts`). */
  served: Set<string>;
  /** Stops the server and forgets the modules Deno cached from it. */
  close(): Promise<void>;
}

/**
 * Serves the checkout, `.ts` files with the Content-Type `tsType` (null: no
 * header), other files as `.js`/`.json` or `text/plain`.
 */
export function serveCheckout(tsType: string | null): ServedCheckout {
  const ac = new AbortController();
  const prefix = crypto.randomUUID();
  const served = new Set<string>();
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    async (req) => {
      const full = normalize(decodeURIComponent(new URL(req.url).pathname));
      const m = /^\/([^/]+)(\/.*)$/.exec(full);
      if (full.includes("..") || m === null || m[1] !== prefix) {
        return new Response("bad path", { status: 400 });
      }
      const path = m[2]!;
      try {
        const body = await Deno.readFile(join(REPO_ROOT, path));
        served.add(path);
        const ext = extname(path);
        const type = ext === ".ts" ? tsType : OTHER_TYPES[ext] ?? "text/plain";
        return new Response(body, type ? { headers: { "content-type": type } } : {});
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
  return {
    url: `http://127.0.0.1:${http.addr.port}/${prefix}`,
    served,
    close: async () => {
      ac.abort();
      await http.finished;
      await forgetCachedModules(http.addr.port);
    },
  };
}

let modulesCacheDir: Promise<string | undefined> | undefined;

/** Where Deno caches remote modules (`deno info --json`), asked once per process. */
function remoteModulesCache(): Promise<string | undefined> {
  return modulesCacheDir ??= new Deno.Command(Deno.execPath(), { args: ["info", "--json"] })
    .output()
    .then((out) =>
      (JSON.parse(new TextDecoder().decode(out.stdout)) as { modulesCache?: string }).modulesCache
    );
}

/** Removes what Deno's global cache keeps of modules fetched from `127.0.0.1:<port>`. */
async function forgetCachedModules(port: number): Promise<void> {
  const cache = await remoteModulesCache();
  if (cache === undefined) return;
  await Deno.remove(join(cache, "http", `127.0.0.1_PORT${port}`), { recursive: true }).catch(
    () => {},
  );
}
