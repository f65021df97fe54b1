// deno-lint-ignore-file no-import-prefix -- tests use the real NATS client straight from npm
/**
 * Black-box tests of the monitoring endpoints: dnatsd runs as a process with
 * `-m -1` (or `-ms -1`), real clients connect, and every endpoint and query
 * parameter is checked over HTTP.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { connect } from "npm:@nats-io/transport-node@3.4.0";
import { waitFor } from "./helpers/server.ts";
import { type Monitored, startMonitored } from "./monitor_helpers.ts";
import { parsePrometheus } from "../lib/monitor/_test_util.ts";

const CERTS = new URL("../certs/", import.meta.url).pathname;
type Obj = Record<string, unknown>;
const list = (o: Obj) => o.connections as Obj[];

async function withServer(
  config: string | undefined,
  fn: (m: Monitored) => Promise<void>,
  extra: { monitorArgs?: string[]; client?: Deno.HttpClient } = {},
): Promise<void> {
  const m = await startMonitored({ config, ...extra });
  try {
    await fn(m);
  } finally {
    await m.stop();
  }
}

Deno.test("monitor: every endpoint answers; unknown paths are 404", async () => {
  await withServer(undefined, async (m) => {
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
      ]
    ) {
      const r = await m.get(p);
      equal(r.status, 200, p);
      equal(r.headers.get("content-type"), "application/json");
      ok((await r.text()).startsWith("{\n  "), `${p} is indented`);
    }
    const h = await m.get("/healthz");
    equal(await h.text(), '{"status":"ok"}');
    const root = await m.get("/");
    ok((await root.text()).includes("<title>dnatsd"));
    const nf = await m.get("/nope");
    equal(nf.status, 404);
    equal(await nf.text(), "404 page not found\n");
    const jsonp = await m.get("/varz?callback=cb");
    equal(jsonp.headers.get("content-type"), "application/javascript");
    ok((await jsonp.text()).startsWith("cb({"));
  });
});

Deno.test("monitor: varz and connz follow real client traffic", async () => {
  await withServer(undefined, async (m) => {
    const nc = await connect({ servers: m.natsUrl, name: "bb-client" });
    try {
      let received = 0;
      // A callback, not `for await`: leaving that loop would unsubscribe.
      nc.subscribe("bb.>", {
        callback: () => {
          received++;
        },
      });
      nc.subscribe("other", { queue: "q" });
      nc.publish("bb.x", "hello");
      nc.publish("bb.y", "world!");
      await nc.flush();
      await waitFor(() => received === 2, 3000, "2 messages");
      await waitFor(async () => (await m.json("/varz")).out_msgs === 2, 3000, "out_msgs");
      const v = await m.json("/varz");
      equal(v.connections, 1);
      equal(v.in_msgs, 2);
      equal(v.in_bytes, 11);
      // With the 43 of the system account and $G's system imports, as nats-server.
      equal(v.subscriptions, 45);
      const [c] = list(await m.json("/connz?subs=1"));
      equal(c.name, "bb-client");
      equal(c.in_msgs, 2);
      equal(c.out_msgs, 2);
      deepEqual((c.subscriptions_list as string[]).sort(), ["bb.>", "other"]);
      const [d] = list(await m.json("/connz?subs=detail"));
      const q = (d.subscriptions_list_detail as Obj[]).find((s) => s.subject === "other")!;
      equal(q.qgroup, "q");
      const subsz = await m.json("/subsz?subs=1&test=bb.z");
      deepEqual((subsz.subscriptions_list as Obj[]).map((s) => s.subject), ["bb.>"]);
      equal((await m.json("/subsz")).num_subscriptions, 45);
      const stats = await m.json("/accstatz");
      equal((stats.account_statz as Obj[])[0].acc, "$G");
    } finally {
      await nc.close();
    }
    await waitFor(
      async () => list(await m.json("/connz?state=closed")).length === 1,
      3000,
      "closed",
    );
    const [closed] = list(await m.json("/connz?state=closed&sort=stop"));
    equal(closed.name, "bb-client");
    equal(typeof closed.reason, "string");
  });
});

Deno.test("monitor: connz sort, paging, cid, auth, user and acc filters", async () => {
  const config = `accounts {
    A { users: [{user: alice, password: pa}] }
    B { users: [{user: bob, password: pb}, {user: carol, password: pc}] }
  }`;
  await withServer(config, async (m) => {
    const a = await connect({ servers: m.natsUrl, user: "alice", pass: "pa", name: "a" });
    const b = await connect({ servers: m.natsUrl, user: "bob", pass: "pb", name: "b" });
    const c = await connect({ servers: m.natsUrl, user: "carol", pass: "pc", name: "c" });
    try {
      b.subscribe("x");
      b.subscribe("y");
      c.subscribe("x");
      await b.flush();
      await c.flush();
      const names = async (q: string) => list(await m.json(`/connz?${q}`)).map((x) => x.name);
      deepEqual(await names(""), ["a", "b", "c"]);
      deepEqual(await names("sort=subs"), ["b", "c", "a"]);
      deepEqual(await names("limit=1&offset=1"), ["b"]);
      const page = await m.json("/connz?limit=1&offset=1");
      equal(page.total, 3);
      equal(page.limit, 1);
      deepEqual(await names("acc=B"), ["b", "c"]);
      deepEqual(await names("user=carol"), ["c"]);
      const cid = list(await m.json("/connz"))[0].cid;
      deepEqual(await names(`cid=${cid}`), ["a"]);
      const [withAuth] = list(await m.json("/connz?auth=true&limit=1"));
      equal(withAuth.authorized_user, "alice");
      equal(withAuth.account, "A");
      const text = await (await m.get("/connz?auth=1&subs=1")).text();
      ok(!text.includes('"pa"') && !text.includes('"pb"'), "no passwords in connz");
      const acc = await m.json("/accountz");
      deepEqual(acc.accounts, ["$G", "A", "B", "$SYS"]);
      const detail = (await m.json("/accountz?acc=B")).account_detail as Obj;
      equal(detail.client_connections, 2);
      // With B's three system-import subscriptions, as nats-server.
      equal(detail.subscriptions, 6);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });
});

Deno.test("monitor: bad query values answer 400 with nats-server's text", async () => {
  await withServer(undefined, async (m) => {
    const cases: [string, string][] = [
      ["/connz?sort=bogus", "invalid sorting option: bogus"],
      ["/connz?sort=reason", "sort by reason only valid on closed connections"],
      [
        "/connz?subs=foo",
        `Error decoding boolean for 'subs': strconv.ParseBool: parsing "foo": invalid syntax`,
      ],
      [
        "/connz?offset=1.5",
        `Error decoding int for 'offset': strconv.Atoi: parsing "1.5": invalid syntax`,
      ],
      [
        "/connz?cid=x",
        `Error decoding uint64 for 'cid': strconv.ParseUint: parsing "x": invalid syntax`,
      ],
      ["/connz?state=x", "Error decoding state for x"],
      ["/subsz?test=a.>", "invalid test subject, must be valid publish subject: a.>"],
      ["/accountz?acc=nope", "Account nope does not exist"],
    ];
    for (const [path, text] of cases) {
      const r = await m.get(path);
      equal(r.status, 400, path);
      equal(await r.text(), text);
    }
    const v = await m.json("/varz");
    equal((v.http_req_stats as Obj)["/connz"], 6);
  });
});

Deno.test("monitor: http_base_path prefixes every path", async () => {
  await withServer("http_base_path: /mon", async (m) => {
    equal((await m.json("/mon/varz")).http_base_path, "/mon");
    const r = await m.get("/varz");
    equal(r.status, 404);
    await r.body?.cancel();
    const page = await (await m.get("/mon/")).text();
    ok(page.includes('href="connz"'));
  });
});

Deno.test("monitor: varz never shows secrets from the configuration", async () => {
  const config = `authorization { users: [{user: admin, password: "hunter2-secret"}] }`;
  await withServer(config, async (m) => {
    const text = await (await m.get("/varz")).text();
    equal(JSON.parse(text).auth_required, true);
    ok(!text.includes("hunter2-secret"));
    ok(!text.includes("admin"));
  });
});

Deno.test("monitor: /metrics is valid Prometheus text", async () => {
  await withServer(undefined, async (m) => {
    const nc = await connect({ servers: m.natsUrl });
    try {
      nc.publish("m", "12345");
      await nc.flush();
      const r = await m.get("/metrics");
      equal(r.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
      const fams = parsePrometheus(await r.text());
      equal(fams.get("dnatsd_connections")!.samples[0].value, 1);
      equal(fams.get("dnatsd_in_bytes_total")!.samples[0].value, 5);
      for (const [name, f] of fams) {
        ok(f.help !== undefined && f.type !== undefined, name);
        if (f.type === "counter") ok(name.endsWith("_total"), name);
      }
    } finally {
      await nc.close();
    }
  });
});

Deno.test("monitor: HTTPS with -ms uses the tls block and reports the certificate", async () => {
  const config = `tls { cert_file: "${CERTS}server-cert.pem", key_file: "${CERTS}server-key.pem" }`;
  const client = Deno.createHttpClient({ caCerts: [Deno.readTextFileSync(CERTS + "ca.pem")] });
  try {
    await withServer(config, async (m) => {
      ok(/Starting https monitor on/.test(m.proc.logs.text));
      const v = await m.json("/varz");
      ok((v.https_port as number) > 0);
      equal(v.http_port, 0);
      const fams = parsePrometheus(await (await m.get("/metrics")).text());
      const cert = fams.get("dnatsd_tls_certificate_not_after_seconds")!.samples[0];
      ok(cert.labels.subject.includes("localhost"));
    }, { monitorArgs: ["-ms", "-1"], client });
  } finally {
    client.close();
  }
});

Deno.test("monitor: subsz paging, accstatz unused, routez subs and the jsz/leafz/gatewayz forms", async () => {
  await withServer(undefined, async (m) => {
    const nc = await connect({ servers: m.natsUrl });
    try {
      for (const s of ["p.1", "p.2", "p.3"]) nc.subscribe(s);
      await nc.flush();
      const page = await m.json("/subsz?subs=1&offset=1&limit=1");
      equal(page.total, 1);
      equal(page.offset, 1);
      equal((page.subscriptions_list as Obj[]).length, 1);
      // With $G's three system-import subscriptions, as nats-server.
      equal((await m.json("/subsz?subs=1&acc=$G")).total, 6);
      equal((await m.json("/subsz?subs=1&acc=none")).server_id, undefined);
      const unused = await m.json("/accstatz?unused=1");
      deepEqual((unused.account_statz as Obj[]).map((a) => a.acc), ["$G", "$SYS"]);
      for (const q of ["/routez?subs=1", "/routez?subs=detail"]) {
        deepEqual((await m.json(q)).routes, []);
      }
      equal((await m.json("/jsz")).disabled, true);
      equal((await m.json("/leafz")).leafs, null);
      deepEqual((await m.json("/gatewayz")).inbound_gateways, {});
      const healthz = await m.get("/healthz?callback=h");
      equal(await healthz.text(), 'h({"status":"ok"})');
    } finally {
      await nc.close();
    }
  });
});
