// deno-lint-ignore-file no-import-prefix -- tests use npm packages (client, browser driver) directly
/**
 * A real browser on the WebSocket port: headless Chromium (driven with
 * playwright-core, as the dashboard test does) loads a page this test serves;
 * the page speaks the NATS protocol over the browser's WebSocket and does
 * pub/sub and request/reply with a plain TCP client (npm nats.js), with and
 * without permessage-deflate, with the page's origin in `allowed_origins`.
 * The same page runs against Debian's nats-server as a check of the test.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { connect } from "npm:@nats-io/transport-node@3.4.0";
import { chromium } from "npm:playwright-core@1.49.1";
import { missing } from "./helpers/requires.ts";
import { waitFor } from "./helpers/server.ts";
import { startWithWebSocket, WsPeer } from "./helpers/ws.ts";
import { startMonitored } from "./monitor_helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
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

/** A minimal NATS client over the browser's WebSocket (runs in the page). */
const PAGE = `<!doctype html><meta charset="utf-8"><title>ws</title><script>
window.runNats = async (url) => {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const enc = new TextEncoder(), dec = new TextDecoder();
  let buf = "";
  const lines = [], msgs = [], waiters = [];
  const wake = () => { for (const w of waiters.splice(0)) w(); };
  const until = (cond, what) => new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("timeout: " + what)), 8000);
    const check = () => cond() ? (clearTimeout(t), resolve()) : waiters.push(check);
    check();
  });
  ws.onmessage = (e) => {
    buf += dec.decode(e.data, { stream: true });
    for (;;) {
      const i = buf.indexOf("\\r\\n");
      if (i < 0) break;
      const line = buf.slice(0, i);
      if (line.startsWith("MSG ")) {
        const p = line.split(" ");
        const size = Number(p[p.length - 1]);
        if (buf.length < i + 2 + size + 2) break;
        msgs.push({ subject: p[1], sid: p[2], reply: p.length === 5 ? p[3] : "", data: buf.slice(i + 2, i + 2 + size) });
        buf = buf.slice(i + 4 + size);
        const m = msgs[msgs.length - 1];
        if (m.sid === "2") send("PUB " + m.reply + " " + ("browser:" + m.data).length + "\\r\\nbrowser:" + m.data + "\\r\\n");
      } else {
        lines.push(line);
        buf = buf.slice(i + 2);
      }
    }
    wake();
  };
  const send = (s) => ws.send(enc.encode(s));
  await new Promise((r, j) => { ws.onopen = r; ws.onerror = () => j(new Error("ws error")); });
  await until(() => lines.some((l) => l.startsWith("INFO ")), "INFO");
  const pongs = () => lines.filter((l) => l === "PONG").length;
  send('CONNECT {"verbose":false,"pedantic":false,"protocol":1,"name":"browser"}\\r\\nPING\\r\\n');
  await until(() => pongs() >= 1, "PONG");
  send("SUB browser.in 1\\r\\nSUB browser.svc 2\\r\\nSUB inbox.b 3\\r\\n");
  const big = "b".repeat(20000);
  send("PUB from.browser 5\\r\\nhello\\r\\nPUB from.browser " + big.length + "\\r\\n" + big + "\\r\\nPING\\r\\n");
  await until(() => pongs() >= 2, "PONG 2");
  // Request to the TCP client's service, then the kick: it publishes to us and asks us.
  send("PUB tcp.svc inbox.b 2\\r\\nhi\\r\\n");
  await until(() => msgs.some((m) => m.sid === "3" && m.data === "tcp:hi"), "tcp reply");
  send("PUB tcp.kick inbox.b 0\\r\\n\\r\\n");
  await until(() => msgs.some((m) => m.sid === "3" && m.data.startsWith("kick:")), "kick reply");
  const result = {
    extensions: ws.extensions,
    received: msgs.filter((m) => m.sid === "1").map((m) => m.data.length > 100 ? "len:" + m.data.length : m.data),
    kick: msgs.find((m) => m.sid === "3" && m.data.startsWith("kick:")).data,
    errors: lines.filter((l) => l.startsWith("-ERR")),
  };
  ws.close(1000, "done");
  return result;
};
</script>`;

Deno.test({
  name:
    "websocket in Chromium: pub/sub and request/reply with a TCP client, with and without compression",
  sanitizeOps: false,
  sanitizeResources: false,
  ignore: missing("chromium"),
  async fn() {
    const http = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () => new Response(PAGE, { headers: { "content-type": "text/html" } }),
    );
    const pageOrigin = `http://127.0.0.1:${http.addr.port}`;
    const userDataDir = await Deno.makeTempDir({ prefix: "dnatsd-ws-browser-" });
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      args: ARGS,
    });
    const scenarios: Array<[string, boolean, string]> = [
      ["dnatsd", false, "no_tls: true"],
      ["dnatsd", false, `no_tls: true, compression: true, allowed_origins: ["${pageOrigin}"]`],
    ];
    if (!missing("nats-server")) {
      scenarios.push([
        "nats-server",
        true,
        `no_tls: true, compression: true, allowed_origins: ["${pageOrigin}"]`,
      ]);
    }
    try {
      const page = context.pages()[0] ?? await context.newPage();
      const problems: string[] = [];
      page.on("pageerror", (e) => problems.push(String(e)));
      await page.goto(`${pageOrigin}/`);
      for (const [name, reference, block] of scenarios) {
        const { server, wsPort } = await startWithWebSocket(reference, block);
        const tcp = await connect({ servers: server.url, name: "tcp-side" });
        const enc = new TextEncoder();
        const dec = new TextDecoder();
        try {
          const fromBrowser: string[] = [];
          tcp.subscribe("from.browser", {
            callback: (_e, m) => {
              fromBrowser.push(m.data.length > 100 ? `len:${m.data.length}` : dec.decode(m.data));
            },
          });
          tcp.subscribe("tcp.svc", {
            callback: (_e, m) => {
              m.respond(enc.encode(`tcp:${dec.decode(m.data)}`));
            },
          });
          tcp.subscribe("tcp.kick", {
            callback: (_e, m) => {
              tcp.publish("browser.in", enc.encode("one"));
              tcp.publish("browser.in", new Uint8Array(10_000).fill(0x61));
              tcp.publish("browser.in", enc.encode("three"));
              tcp.request("browser.svc", enc.encode("ping1"), { timeout: 5000 }).then(
                (r) => m.respond(enc.encode(`kick:${dec.decode(r.data)}`)),
                (e) => m.respond(enc.encode(`kick-failed:${e}`)),
              );
            },
          });
          await tcp.flush();
          const result = await page.evaluate(`window.runNats("ws://127.0.0.1:${wsPort}")`) as {
            extensions: string;
            received: string[];
            kick: string;
            errors: string[];
          };
          const label = `${name} ${block}`;
          deepEqual(result.errors, [], label);
          deepEqual(result.received, ["one", "len:10000", "three"], label);
          equal(result.kick, "kick:browser:ping1", label);
          deepEqual(fromBrowser, ["hello", "len:20000"], label);
          const compressed = block.includes("compression: true");
          equal(
            result.extensions,
            compressed
              ? "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
              : "",
            label,
          );
        } finally {
          await tcp.close();
          await server.stop();
        }
      }
      deepEqual(problems, []);
      ok(scenarios.length >= 2);
    } finally {
      await context.close();
      await http.shutdown();
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "websocket in Chromium: the dashboard lists WebSocket connections with their type",
  sanitizeOps: false,
  sanitizeResources: false,
  ignore: missing("chromium"),
  async fn() {
    const m = await startMonitored({
      config: 'websocket { listen: "127.0.0.1:-1", no_tls: true }',
    });
    const port = Number(
      /Listening for websocket clients on ws:\/\/\S+:(\d+)/.exec(m.proc.logs.text)![1],
    );
    const peer = await WsPeer.connect(port);
    const tcp = await connect({ servers: m.natsUrl, name: "tcp-client" });
    const userDataDir = await Deno.makeTempDir({ prefix: "dnatsd-ws-dash-" });
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      args: ARGS,
      viewport: { width: 1280, height: 900 },
    });
    try {
      await peer.nextText();
      await peer.sendFrame(2, 'CONNECT {"name":"ws-client"}\r\nPING\r\n');
      await peer.collectUntil((t) => t.includes("PONG"));
      const page = context.pages()[0] ?? await context.newPage();
      await page.goto(`${m.base}/`);
      await page.waitForFunction("Number(document.body.dataset.polls || 0) >= 1");
      await waitFor(
        async () => (await page.locator("#conn-body tr").count()) === 2,
        10_000,
        "two rows",
      );
      const rows = await page.locator("#conn-body tr").allTextContents();
      ok(rows.some((r) => r.includes("websocket") && r.includes("ws-client")), rows.join("\n"));
      ok(rows.some((r) => r.includes("nats") && r.includes("tcp-client")), rows.join("\n"));
      equal(await page.textContent("#conn-head th[data-key=type]"), "Type");
    } finally {
      await context.close();
      await tcp.close();
      await peer.close();
      await m.stop();
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
    }
  },
});
