// deno-lint-ignore-file no-import-prefix -- tests use npm packages (client, browser driver) directly
/**
 * End-to-end test of the monitoring dashboard in a real headless Chromium:
 * the page loads without console errors, its figures move when a real client
 * publishes, headers sort the connection table, and it fits a phone screen.
 * Screenshots go to tests/artifacts/ (gitignored) for a human look.
 */
import { equal, ok } from "node:assert/strict";
import { connect } from "npm:@nats-io/transport-node@3.4.0";
import { chromium } from "npm:playwright-core@1.49.1";
import { missing } from "./helpers/requires.ts";
import { waitFor } from "./helpers/server.ts";
import { startMonitored } from "./monitor_helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = new URL("./artifacts/", import.meta.url).pathname;
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

Deno.test({
  name: "dashboard: live figures in a real browser, phone and desktop layouts",
  // Playwright keeps pipes and timers of its own until the browser is gone.
  sanitizeOps: false,
  sanitizeResources: false,
  ignore: missing("chromium"),
  async fn() {
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    const m = await startMonitored();
    const userDataDir = await Deno.makeTempDir({ prefix: "dnatsd-dashboard-" });
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      args: ARGS,
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
    });
    const nc = await connect({ servers: m.natsUrl, name: "dashboard-publisher" });
    let publishing = true;
    try {
      const page = context.pages()[0] ?? await context.newPage();
      // Page code runs in the browser: given as strings (no DOM types in Deno).
      const problems: string[] = [];
      page.on("console", (msg) => {
        if (msg.type() === "error" || msg.type() === "warning") problems.push(msg.text());
      });
      page.on("pageerror", (e) => problems.push(String(e)));
      await page.goto(`${m.base}/`);
      await page.waitForFunction("Number(document.body.dataset.polls || 0) >= 2");
      equal(await page.textContent("#conns"), "1");

      // Traffic: a subscriber and a steady publisher.
      nc.subscribe("dash.>", { callback: () => {} });
      const pump = (async () => {
        while (publishing) {
          for (let i = 0; i < 50; i++) nc.publish(`dash.${i % 5}`, "payload-0123456789");
          await nc.flush();
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      await waitFor(
        async () => {
          const t = (await page.textContent("#msgs-in-rate")) ?? "";
          return /^[\d.]+[kMG]?\/s$/.test(t) && parseFloat(t) > 0;
        },
        10_000,
        "non-zero msgs/s in the page",
      );
      await waitFor(
        async () => parseFloat((await page.textContent("#msgs-out-rate")) ?? "0") > 0,
        10_000,
        "msgs out/s",
      );
      ok(((await page.textContent("#bytes-in-rate")) ?? "").includes("/s"));
      ok((await page.locator("#chart-msgs polyline").count()) >= 1, "msgs chart drawn");
      const rows = await page.locator("#conn-body tr").allTextContents();
      ok(rows.some((r) => r.includes("dashboard-publisher")), rows.join("|"));

      // Sorting: click "Msgs in" twice (descending, then ascending).
      const header = page.locator("#conn-head th", { hasText: "Msgs in" });
      await header.click();
      ok((await header.getAttribute("class"))?.includes("sorted"));
      await page.locator("#conn-head th", { hasText: "Msgs in" }).click();
      ok(
        (await page.locator("#conn-head th", { hasText: "Msgs in" }).getAttribute("class"))
          ?.includes("asc"),
      );

      // Phone: nothing wider than the screen (tables scroll inside their card).
      const width = await page.evaluate<number>("document.documentElement.scrollWidth");
      ok(width <= 390, `page is ${width}px wide on a 390px screen`);
      const tableFits = await page.evaluate<boolean>(
        "(() => { const s = document.querySelector('#conn-table').parentElement; return s.scrollWidth <= s.clientWidth; })()",
      );
      ok(tableFits, "connections table fits a phone without sideways scrolling");
      // A few more polls so the charts have a history worth looking at.
      await page.waitForFunction("Number(document.body.dataset.polls || 0) >= 8");
      await page.screenshot({ path: `${ARTIFACTS}dashboard-phone.png`, fullPage: true });

      await page.setViewportSize({ width: 1280, height: 860 });
      await page.waitForFunction("Number(document.body.dataset.polls || 0) >= 11");
      await page.screenshot({ path: `${ARTIFACTS}dashboard-desktop.png`, fullPage: true });

      // Links to every endpoint are relative and answer.
      const hrefs = await page.locator("nav.links a").evaluateAll((as) =>
        as.map((a) => a.getAttribute("href") ?? "")
      );
      ok(hrefs.length >= 11 && hrefs.every((h) => !h.includes("/")), hrefs.join(","));
      for (const h of hrefs) {
        const r = await m.get(`/${h}`);
        equal(r.status, 200, h);
        await r.body?.cancel();
      }
      publishing = false;
      await pump;
      equal(problems.length, 0, `console errors: ${problems.join("\n")}`);
    } finally {
      publishing = false;
      await nc.close();
      await context.close();
      await m.stop();
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
    }
  },
});
