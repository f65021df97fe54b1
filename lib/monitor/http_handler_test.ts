import { deepEqual, equal, ok } from "node:assert/strict";
import { goJson, normalizeBasePath } from "./http_handler.ts";
import { startTestServer } from "./_test_util.ts";

Deno.test("normalizeBasePath() cleans like nats-server", () => {
  equal(normalizeBasePath(""), "");
  equal(normalizeBasePath("/"), "");
  equal(normalizeBasePath("nats"), "/nats");
  equal(normalizeBasePath("/nats/"), "/nats");
  equal(normalizeBasePath("//a//b/"), "/a/b");
});

Deno.test("goJson() escapes <, > and & like Go", () => {
  equal(goJson({ a: "<b>&" }, false), '{"a":"\\u003cb\\u003e\\u0026"}');
});

Deno.test("handler serves every endpoint with the right content type", async () => {
  const t = await startTestServer();
  try {
    for (
      const p of [
        "/varz",
        "/connz",
        "/routez",
        "/subsz",
        "/subscriptionsz",
        "/accountz",
        "/accstatz",
        "/jsz",
        "/gatewayz",
        "/leafz",
        "/healthz",
      ]
    ) {
      const r = t.get(p);
      equal(r.status, 200, p);
      equal(r.headers.get("content-type"), "application/json", p);
      JSON.parse(await r.text());
    }
    const m = t.get("/metrics");
    equal(m.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    await m.body?.cancel();
    const root = t.get("/");
    equal(root.headers.get("content-type"), "text/html; charset=utf-8");
    ok((await root.text()).startsWith("<!doctype html>"));
  } finally {
    await t.close();
  }
});

Deno.test("handler pretty-prints with 2 spaces, healthz compact, JSONP with callback", async () => {
  const t = await startTestServer();
  try {
    ok((await t.get("/varz").text()).startsWith('{\n  "server_id": '));
    equal(await t.get("/healthz").text(), '{"status":"ok"}');
    const cb = t.get("/healthz?callback=cb");
    equal(cb.headers.get("content-type"), "application/javascript");
    equal(await cb.text(), 'cb({"status":"ok"})');
    ok((await t.get("/connz?callback=x&limit=1").text()).startsWith("x({\n"));
  } finally {
    await t.close();
  }
});

Deno.test("handler answers bad queries with 400 text and unknown paths with 404", async () => {
  const t = await startTestServer();
  try {
    const cases: [string, string][] = [
      ["/connz?sort=bogus", "invalid sorting option: bogus"],
      [
        "/connz?auth=x",
        `Error decoding boolean for 'auth': strconv.ParseBool: parsing "x": invalid syntax`,
      ],
      [
        "/connz?limit=x",
        `Error decoding int for 'limit': strconv.Atoi: parsing "x": invalid syntax`,
      ],
      [
        "/connz?cid=-1",
        `Error decoding uint64 for 'cid': strconv.ParseUint: parsing "-1": invalid syntax`,
      ],
      ["/connz?state=x", "Error decoding state for x"],
      [
        "/routez?subs=x",
        `Error decoding boolean for 'subs': strconv.ParseBool: parsing "x": invalid syntax`,
      ],
      ["/subsz?test=foo.*", "invalid test subject, must be valid publish subject: foo.*"],
      ["/accountz?acc=nope", "Account nope does not exist"],
    ];
    for (const [path, message] of cases) {
      const r = t.get(path);
      equal(r.status, 400, path);
      equal(r.headers.get("content-type"), "text/plain; charset=utf-8");
      equal(await r.text(), message);
    }
    for (const path of ["/nope", "/varz/x", "/VARZ"]) {
      const r = t.get(path);
      equal(r.status, 404, path);
      equal(await r.text(), "404 page not found\n");
    }
  } finally {
    await t.close();
  }
});

Deno.test("handler counts requests per endpoint in http_req_stats", async () => {
  const t = await startTestServer();
  try {
    await t.get("/connz").body?.cancel();
    await t.get("/connz?sort=bogus").body?.cancel();
    await t.get("/subscriptionsz").body?.cancel();
    await t.get("/nope").body?.cancel();
    const v = await t.json("/varz");
    deepEqual(v.http_req_stats, { "/connz": 2, "/subsz": 1, "/varz": 1 });
  } finally {
    await t.close();
  }
});

Deno.test("handler serves under http_base_path and redirects the bare base", async () => {
  const t = await startTestServer((o) => o.httpBasePath = "/nats/");
  try {
    equal(t.get("/nats/varz").status, 200);
    equal((await t.json("/nats/varz")).http_base_path, "/nats/");
    equal(t.get("/varz").status, 404);
    const bare = t.get("/nats");
    equal(bare.status, 301);
    equal(new URL(bare.headers.get("location")!, "http://h/nats").pathname, "/nats/");
    const page = await t.get("/nats/").text();
    ok(page.includes('href="varz"'), "relative links");
    ok(!/(?:src|href)="(?:https?:)?\/\//.test(page), "no external resources");
    ok(page.includes('getJson("varz")'), "relative fetches");
  } finally {
    await t.close();
  }
});
