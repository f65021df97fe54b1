// deno-lint-ignore-file no-import-prefix -- tests use the browser driver directly
/**
 * The dashboard shows leaf connections: a dnatsd hub with a leaf, opened in a
 * real headless Chromium, counts the link and lists it (account, address) in
 * its Leaf nodes card, without console errors.
 */
import { deepStrictEqual, equal } from "node:assert/strict";
import { chromium } from "npm:playwright-core@1.49.1";
import { missing } from "./helpers/requires.ts";
import { hubConf, leafConf, type Node, startNode, waitLeafCount } from "./leaf_helpers.ts";

const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"];

Deno.test({
  name: "leaf dashboard: the Leaf nodes card lists the link",
  sanitizeOps: false,
  sanitizeResources: false,
  ignore: missing("chromium"),
  async fn() {
    const nodes: Node[] = [];
    const userDataDir = await Deno.makeTempDir({ prefix: "dnatsd-leaf-dashboard-" });
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: "/usr/bin/chromium",
      args: ARGS,
    });
    try {
      const hub = await startNode("dnatsd", hubConf());
      nodes.push(hub);
      nodes.push(await startNode("dnatsd", leafConf(hub.leafPort)));
      await waitLeafCount(hub, 1);
      const page = context.pages()[0] ?? await context.newPage();
      const problems: string[] = [];
      page.on("console", (msg) => {
        if (msg.type() === "error" || msg.type() === "warning") problems.push(msg.text());
      });
      page.on("pageerror", (e) => problems.push(String(e)));
      await page.goto(`http://127.0.0.1:${hub.httpPort}/`);
      await page.waitForFunction("Number(document.body.dataset.polls || 0) >= 2");
      equal(await page.textContent("#leafs"), "1");
      equal(await page.isVisible("#leafs-card"), true);
      const cells = await page.$$eval(
        "#leaf-body tr td",
        (tds) => tds.slice(0, 2).map((td) => td.textContent ?? ""),
      );
      equal(cells[0], "$G");
      equal(/^127\.0\.0\.1:\d+$/.test(cells[1]), true, cells[1]);
      deepStrictEqual(problems, []);
    } finally {
      await context.close();
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
      for (const n of nodes.reverse()) await n.proc.stop();
    }
  },
});
