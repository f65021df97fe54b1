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
import { serveCheckout } from "./helpers/serve_checkout.ts";
import { clientPortOf, spawnLogged, tempDir, waitFor } from "./ops_helpers.ts";

/** `.ts` Content-Types that work, as in the README's table (nginx sends video/mp2t). */
const WORKING: Array<string | null> = [
  "application/typescript; charset=utf-8",
  "text/typescript",
  "application/x-typescript",
  "text/plain; charset=utf-8",
  "video/mp2t",
  null,
];

for (const type of WORKING) {
  Deno.test(`run from a URL (.ts as ${type ?? "no Content-Type"}): starts and routes`, async () => {
    const tree = serveCheckout(type);
    const dir = tempDir();
    const s = spawnLogged(Deno.execPath(), [
      ...["run", "-A", "--no-config", "--no-lock", "--no-check"],
      ...[`${tree.url}/main.ts`, "-p", "-1", "-a", "127.0.0.1"],
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
    const tree = serveCheckout(type);
    const dir = tempDir();
    const s = spawnLogged(Deno.execPath(), [
      ...["run", "-A", "--no-config", "--no-lock", "--no-check"],
      ...[`${tree.url}/main.ts`, "-p", "-1", "-a", "127.0.0.1"],
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
