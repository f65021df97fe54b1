// deno-lint-ignore-file no-import-prefix -- tests use the real NATS client straight from npm
/**
 * The system account side by side with Debian's nats-server: the same
 * configuration on both, the same clients. Monitoring numbers (/varz,
 * /subsz, /accountz, /accstatz) must be equal, events and `$SYS.REQ.*`
 * answers must have the same JSON shapes and stable values. Clusters (in
 * process, and mixed with nats-server) must answer a ping from every server.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { connect, type Msg, type NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { missing } from "./helpers/requires.ts";
import { runToExit, ServerProcess, waitFor } from "./helpers/server.ts";
import { type Monitored, shapeDiff, startMonitored } from "./monitor_helpers.ts";
import { Node, stopAll, waitForMesh, waitForRemoteInterest } from "./helpers/cluster.ts";
import { RawClient } from "./helpers/raw.ts";
import { reload, routePortOf } from "./helpers/reload.ts";
import type { AccountOptions } from "../lib/config/options.ts";

const NO_NATS_SERVER = missing("nats-server");

const CONFIG = `
accounts {
  A { users: [{user: a, password: a}] }
  B { users: [{user: b, password: b}] }
  SYS { users: [{user: sys, password: sys}] }
}
system_account: SYS
`;

type Json = Record<string, unknown>;

/** Ids and hashes differ between servers: replace them in subjects. */
function normalize(subject: string): string {
  return subject.replace(/N[A-Z0-9]{55}/g, "<id>").replace(
    /(_INBOX\.|M2\.)[A-Za-z0-9]{8}/g,
    "$1<hash>",
  );
}

async function bothMonitored(config: string): Promise<[Monitored, Monitored]> {
  return await Promise.all([
    startMonitored({ config }),
    startMonitored({ config, reference: true }),
  ]);
}

/** The numbers /varz, /subsz, /accountz and /accstatz report, comparable across servers. */
async function numbers(m: Monitored): Promise<Json> {
  const varz = await m.json("/varz");
  const subsz = await m.json("/subsz?subs=1&limit=1000");
  const subs = (subsz.subscriptions_list ?? []) as Json[];
  const isInternal = (s: Json) => (s.subject as string).startsWith("$SYS.");
  const accountz = await m.json("/accountz");
  const accounts = [...(accountz.accounts as string[])].sort();
  const details: Json = {};
  for (const name of accounts) {
    const d = (await m.json(`/accountz?acc=${encodeURIComponent(name)}`)).account_detail as Json;
    const subjects = (list: unknown) =>
      ((list ?? []) as Json[]).map((e) => `${e.subject}>${e.to ?? ""}`).sort();
    details[name] = {
      is_system: d.is_system ?? false,
      client_connections: d.client_connections,
      subscriptions: d.subscriptions,
      exports: subjects(d.exports),
      imports: subjects(d.imports),
    };
  }
  const accstatz = ((await m.json("/accstatz?unused=1")).account_statz as Json[])
    .map((s) => JSON.stringify([s.acc, s.conns, s.sent, s.received])).sort();
  return {
    varz: { subscriptions: varz.subscriptions, system_account: varz.system_account ?? null },
    subsz: {
      num_subscriptions: subsz.num_subscriptions,
      list: ((subsz.subscriptions_list ?? []) as Json[])
        .map((s) => `${s.account} ${normalize(s.subject as string)}`).sort(),
      // nats-server numbers its internal clients in map order: compare how many there
      // are, and the ids of the real clients (which come after them).
      internal: new Set(subs.filter(isInternal).map((s) => s.cid)).size,
      clients: subs.filter((s) => !isInternal(s)).map((s) => `${s.subject} cid=${s.cid}`).sort(),
    },
    system_account: accountz.system_account ?? null,
    accounts,
    details,
    accstatz,
  };
}

/** The numbers that differ between the two servers, with both values. */
async function numberDiff(ours: Monitored, theirs: Monitored): Promise<string[]> {
  const [x, y] = await Promise.all([numbers(ours), numbers(theirs)]);
  const out: string[] = [];
  for (const k of Object.keys(y)) {
    if (JSON.stringify(x[k]) === JSON.stringify(y[k])) continue;
    if (k === "subsz") {
      // Name the subscriptions one side lacks (the list is long).
      const a = (x.subsz as Json).list as string[], b = (y.subsz as Json).list as string[];
      out.push(
        `subsz: ${(x.subsz as Json).num_subscriptions} vs ${(y.subsz as Json).num_subscriptions}` +
          `, dnatsd only ${a.filter((s) => !b.includes(s))}, nats-server only ${
            b.filter((s) => !a.includes(s))
          }`,
      );
    } else out.push(`${k}: dnatsd ${JSON.stringify(x[k])}, nats-server ${JSON.stringify(y[k])}`);
  }
  return out;
}

/** Collects every answer to a request for `ms` (a ping is answered by each server). */
async function gather(
  nc: NatsConnection,
  subject: string,
  body = "",
  ms = 400,
): Promise<Json[]> {
  const inbox = `_INBOX.${crypto.randomUUID().replaceAll("-", "")}`;
  const sub = nc.subscribe(inbox);
  const out: Json[] = [];
  const done = (async () => {
    for await (const m of sub) out.push(JSON.parse(m.string()));
  })();
  await nc.flush();
  nc.publish(subject, body, { reply: inbox });
  await new Promise((r) => setTimeout(r, ms));
  sub.unsubscribe();
  await done;
  return out;
}

/** Waits for `n` answers (cluster pings) or the deadline. */
async function gatherN(
  nc: NatsConnection,
  subject: string,
  n: number,
  body = "",
  ms = 5000,
): Promise<Json[]> {
  const inbox = `_INBOX.${crypto.randomUUID().replaceAll("-", "")}`;
  const sub = nc.subscribe(inbox);
  const out: Json[] = [];
  const timer = setTimeout(() => sub.unsubscribe(), ms);
  await nc.flush();
  nc.publish(subject, body, { reply: inbox });
  for await (const m of sub) {
    out.push(JSON.parse(m.string()));
    if (out.length >= n) break;
  }
  clearTimeout(timer);
  sub.unsubscribe();
  return out;
}

async function traffic(url: string): Promise<NatsConnection[]> {
  const a = await connect({ servers: url, user: "a", pass: "a", name: "sys-a" });
  const b = await connect({ servers: url, user: "b", pass: "b", name: "sys-b" });
  a.subscribe("foo.*");
  b.subscribe("bar");
  await a.flush();
  await b.flush();
  a.publish("foo.x", "one");
  b.publish("bar", "twotwo");
  await a.flush();
  await b.flush();
  const gone = await connect({ servers: url, user: "a", pass: "a", name: "gone" });
  gone.publish("foo.y", "bye");
  await gone.flush();
  await gone.close();
  return [a, b];
}

Deno.test({
  name: "system account: /varz, /subsz, /accountz, /accstatz numbers equal nats-server's",
  ignore: NO_NATS_SERVER,
}, async (t) => {
  const configs: Record<string, string> = {
    "system_account SYS": CONFIG,
    "default $SYS": "accounts { A { users: [{user: a, password: a}] } }\n",
    "users in $SYS": 'accounts { A { users: [{user: a, password: a}] }, "$SYS": ' +
      "{ users: [{user: s, password: s}] } }\n",
    "no config": "",
    "no_system_account": "no_system_account: true\n" +
      "accounts { A { users: [{user: a, password: a}] } }\n",
  };
  for (const [name, config] of Object.entries(configs)) {
    await t.step(name, async () => {
      const [ours, theirs] = await bothMonitored(config);
      const clients: NatsConnection[] = [];
      try {
        deepEqual(await numberDiff(ours, theirs), []);
        if (config.includes("user: b")) {
          clients.push(...await traffic(ours.natsUrl), ...await traffic(theirs.natsUrl));
          // Closed clients' traffic is counted when the close is processed: poll.
          let diff: string[] = [];
          await waitFor(
            async () => (diff = await numberDiff(ours, theirs)).length === 0,
            3000,
            "same numbers after traffic",
          ).catch(() => {});
          deepEqual(diff, []);
        }
      } finally {
        await Promise.all(clients.map((c) => c.close()));
        await Promise.all([ours.stop(), theirs.stop()]);
      }
    });
  }
});

Deno.test({
  name: "system account: an unknown system_account is refused at start as by nats-server",
  ignore: NO_NATS_SERVER,
}, async () => {
  const file = await Deno.makeTempFile({ suffix: ".conf" });
  try {
    await Deno.writeTextFile(file, "accounts { A {} }\nsystem_account: NOPE\n");
    const [ours, theirs] = await Promise.all([
      runToExit({ reference: false, args: ["-c", file, "-p", "-1"] }),
      runToExit({ reference: true, args: ["-c", file, "-p", "-1"] }),
    ]);
    equal(ours.code, theirs.code);
    ok(theirs.stderr.includes("error resolving system account: account missing"));
    ok(ours.stderr.includes("error resolving system account: account missing"), ours.stderr);
  } finally {
    await Deno.remove(file);
  }
});

/** Connect and disconnect events of one client in account A, by subject. */
async function events(url: string): Promise<Map<string, Json>> {
  const sys = await connect({ servers: url, user: "sys", pass: "sys" });
  const got = new Map<string, Json>();
  const global: Json[] = [];
  const gsub = sys.subscribe("$SYS.ACCOUNT.$G.>", {
    callback: (_e, m: Msg) => {
      global.push(JSON.parse(m.string()));
    },
  });
  const sub = sys.subscribe("$SYS.ACCOUNT.A.>", {
    callback: (_e, m: Msg) => {
      got.set(m.subject, JSON.parse(m.string()));
    },
  });
  await sys.flush();
  const a = await connect({ servers: url, user: "a", pass: "a", name: "evented" });
  a.subscribe("x");
  a.publish("x", "hello");
  await a.flush();
  await a.close();
  try {
    await waitFor(
      () => got.has("$SYS.ACCOUNT.A.DISCONNECT") && got.has("$SYS.ACCOUNT.A.CONNECT"),
      3000,
      "connect and disconnect events",
    );
    // The global account's count, announced once when the client was accepted.
    await sys.flush();
    got.set("$G", { count: global.length, conns: global[0]?.conns, acc: global[0]?.acc });
  } finally {
    sub.unsubscribe();
    gsub.unsubscribe();
    await sys.close();
  }
  return got;
}

/** The event of a refused login (`$SYS.SERVER.<id>.CLIENT.AUTH.ERR`). */
async function authError(m: Monitored): Promise<Json> {
  const sys = await connect({ servers: m.natsUrl, user: "sys", pass: "sys" });
  const got: Json[] = [];
  sys.subscribe("$SYS.SERVER.*.CLIENT.AUTH.ERR", {
    callback: (_e, msg) => {
      got.push(msg.json());
    },
  });
  await sys.flush();
  const raw = await RawClient.connect(m.proc.port);
  await raw.expect(/^INFO /);
  await raw.send('CONNECT {"user":"a","pass":"wrong","name":"intruder","verbose":false}\r\n');
  await raw.expectClosed();
  await raw.close();
  try {
    await waitFor(() => got.length === 1, 3000, "auth error event");
  } finally {
    await sys.close();
  }
  return got[0];
}

Deno.test({
  name: "system account: CONNECT, DISCONNECT, SERVER.CONNS and AUTH.ERR events as nats-server's",
  ignore: NO_NATS_SERVER,
}, async () => {
  const [ours, theirs] = await bothMonitored(CONFIG);
  try {
    const [x, y] = await Promise.all([events(ours.natsUrl), events(theirs.natsUrl)]);
    for (const subject of ["$SYS.ACCOUNT.A.CONNECT", "$SYS.ACCOUNT.A.DISCONNECT"]) {
      const e = x.get(subject)!;
      const f = y.get(subject)!;
      deepEqual(shapeDiff(e, f), [], subject);
      for (const k of ["type", "sent", "received", "reason"]) deepEqual(e[k], f[k], k);
      const c = e.client as Json, d = f.client as Json;
      for (const k of ["acc", "user", "name", "lang", "kind", "client_type"]) {
        equal(c[k], d[k], `client.${k}`);
      }
      equal(typeof (e.server as Json).seq, "number");
    }
    const [ex, ey] = await Promise.all([authError(ours), authError(theirs)]);
    deepEqual(shapeDiff(ex, ey), []);
    for (const k of ["type", "reason"]) equal(ex[k], ey[k], k);
    for (const k of ["acc", "user", "name"]) {
      equal((ex.client as Json)[k], (ey.client as Json)[k], `client.${k}`);
    }
    deepEqual(x.get("$G"), y.get("$G"));
    deepEqual(x.get("$G"), { count: 1, conns: 1, acc: "$G" });
    const conns = x.get("$SYS.ACCOUNT.A.SERVER.CONNS")!;
    deepEqual(shapeDiff(conns, y.get("$SYS.ACCOUNT.A.SERVER.CONNS")), []);
    equal(conns.acc, "A");
    equal(conns.conns, 0);
    deepEqual(conns.received, { msgs: 1, bytes: 5 });
  } finally {
    await Promise.all([ours.stop(), theirs.stop()]);
  }
});

/** Requests from the system account, compared by shape. */
const SYS_REQUESTS: [string, string][] = [
  ["$SYS.REQ.SERVER.PING", ""],
  ["$SYS.REQ.SERVER.PING.STATSZ", ""],
  ["$SYS.REQ.SERVER.PING.STATSZ", "[1]"],
  ["$SYS.REQ.SERVER.PING.VARZ", ""],
  ["$SYS.REQ.SERVER.PING.CONNZ", ""],
  ["$SYS.REQ.SERVER.PING.CONNZ", '{"auth":true,"subscriptions":true,"state":2}'],
  ["$SYS.REQ.SERVER.PING.CONNZ", '{"subscriptions_detail":true,"acc":"A"}'],
  ["$SYS.REQ.SERVER.PING.CONNZ", '{"sort":"bogus"}'],
  ["$SYS.REQ.SERVER.PING.CONNZ", '{"limit":"ten"}'],
  ["$SYS.REQ.SERVER.PING.CONNZ", "{not json"],
  ["$SYS.REQ.SERVER.PING.SUBSZ", ""],
  ["$SYS.REQ.SERVER.PING.SUBSZ", '{"subscriptions":true,"account":"A"}'],
  ["$SYS.REQ.SERVER.PING.SUBSZ", '{"test":"foo.*"}'],
  ["$SYS.REQ.SERVER.PING.ROUTEZ", '{"subscriptions":true}'],
  ["$SYS.REQ.SERVER.PING.HEALTHZ", ""],
  ["$SYS.REQ.SERVER.PING.ACCOUNTZ", ""],
  ["$SYS.REQ.SERVER.PING.ACCOUNTZ", '{"account":"A"}'],
  ["$SYS.REQ.SERVER.PING.ACCOUNTZ", '{"account":"nope"}'],
  ["$SYS.REQ.SERVER.PING.GATEWAYZ", ""],
  ["$SYS.REQ.SERVER.PING.LEAFZ", ""],
  ["$SYS.REQ.SERVER.PING.LEAFZ", '{"subscriptions":true,"account":"A"}'],
  ["$SYS.REQ.SERVER.PING.JSZ", ""],
  ["$SYS.REQ.SERVER.<id>.VARZ", ""],
  ["$SYS.REQ.SERVER.<id>.STATSZ", ""],
  ["$SYS.REQ.SERVER.<id>.CONNZ", '{"auth":true}'],
  ["$SYS.REQ.ACCOUNT.A.CONNZ", ""],
  ["$SYS.REQ.ACCOUNT.A.SUBSZ", ""],
  ["$SYS.REQ.ACCOUNT.A.STATZ", ""],
  ["$SYS.REQ.ACCOUNT.A.CONNS", ""],
  ["$SYS.REQ.ACCOUNT.A.LEAFZ", ""],
  ["$SYS.REQ.ACCOUNT.A.INFO", ""],
  ["$SYS.REQ.ACCOUNT.A.JSZ", ""],
  ["$SYS.REQ.ACCOUNT.B.STATZ", '{"include_unused":true}'],
  ["$SYS.REQ.ACCOUNT.PING.STATZ", ""],
  ["$SYS.REQ.ACCOUNT.PING.STATZ", '{"accounts":["B"],"include_unused":true}'],
];

/** Requests a client of account A makes (nats-server's automatic imports). */
const ACCOUNT_REQUESTS = [
  "$SYS.REQ.SERVER.PING.CONNZ",
  "$SYS.REQ.ACCOUNT.PING.CONNZ",
  "$SYS.REQ.ACCOUNT.PING.STATZ",
];

/** Subjects no server answers here (filtered out, or nothing to report). */
const SILENT: [string, string][] = [
  ["$SYS.REQ.SERVER.PING.VARZ", '{"server_name":"no-such-server"}'],
  ["$SYS.REQ.SERVER.PING.STATSZ", '{"cluster":"no-such-cluster"}'],
  ["$SYS.REQ.ACCOUNT.B.STATZ", ""],
  ["$SYS.REQ.SERVER.PING.HEALTHZ", '{"tags":["nope"]}'],
];

interface Side {
  sys: NatsConnection;
  a: NatsConnection;
  id: string;
}

async function side(m: Monitored): Promise<Side> {
  const sys = await connect({ servers: m.natsUrl, user: "sys", pass: "sys" });
  const a = await connect({ servers: m.natsUrl, user: "a", pass: "a", name: "req-a" });
  a.subscribe("foo.>");
  await a.flush();
  return { sys, a, id: (await m.json("/varz")).server_id as string };
}

Deno.test({
  name: "system account: $SYS.REQ answers have nats-server's JSON shapes",
  ignore: NO_NATS_SERVER,
}, async (t) => {
  const [ours, theirs] = await bothMonitored(CONFIG);
  const [x, y] = await Promise.all([side(ours), side(theirs)]);
  try {
    for (const [subject, body] of SYS_REQUESTS) {
      await t.step(`${subject} ${body}`, async () => {
        const [ax, ay] = await Promise.all([
          gatherN(x.sys, subject.replace("<id>", x.id), 1, body),
          gatherN(y.sys, subject.replace("<id>", y.id), 1, body),
        ]);
        equal(ax.length, 1, JSON.stringify(ax));
        equal(ay.length, 1);
        deepEqual(shapeDiff(ax[0], ay[0]), []);
        // Stable values: the error code, the server's identity.
        deepEqual((ax[0].error as Json | undefined)?.code, (ay[0].error as Json | undefined)?.code);
        equal((ax[0].server as Json)?.id ?? x.id, x.id);
      });
    }
    for (const subject of ACCOUNT_REQUESTS) {
      await t.step(`from account A: ${subject}`, async () => {
        const [ax, ay] = await Promise.all([gatherN(x.a, subject, 1), gatherN(y.a, subject, 1)]);
        equal(ax.length, 1);
        equal(ay.length, 1);
        deepEqual(shapeDiff(ax[0], ay[0]), []);
        const data = ax[0].data as Json;
        if (subject.endsWith("CONNZ")) {
          // Only the account's own connections.
          equal(data.num_connections, (ay[0].data as Json).num_connections);
          equal(data.num_connections, 1);
        } else {
          deepEqual(
            (data.account_statz as Json[]).map((s) => s.acc),
            ((ay[0].data as Json).account_statz as Json[]).map((s) => s.acc),
          );
        }
      });
    }
    for (const [subject, body] of SILENT) {
      await t.step(`silent: ${subject} ${body}`, async () => {
        const [ax, ay] = await Promise.all([
          gather(x.sys, subject, body, 250),
          gather(y.sys, subject, body, 250),
        ]);
        equal(ay.length, 0);
        equal(ax.length, 0);
      });
    }
    await t.step("account A cannot see other accounts through the imports", async () => {
      const body = '{"acc":"B","state":2,"auth":true}';
      const [ax, ay] = await Promise.all([
        gatherN(x.a, "$SYS.REQ.SERVER.PING.CONNZ", 1, body),
        gatherN(y.a, "$SYS.REQ.SERVER.PING.CONNZ", 1, body),
      ]);
      for (const r of [ax, ay]) {
        equal(r.length, 1);
        const conns = (r[0].data as Json).connections as Json[];
        deepEqual(conns.map((c) => c.account), ["A"]);
      }
      // Nor receive the system account's events by subscribing to them.
      for (const [s, m] of [[x, ours], [y, theirs]] as const) {
        const got: string[] = [];
        const sub = s.a.subscribe("$SYS.>", {
          callback: (_e, msg) => {
            got.push(msg.subject);
          },
        });
        await s.a.flush();
        // The system account listens, so the events are made.
        const events: string[] = [];
        const sysSub = s.sys.subscribe("$SYS.ACCOUNT.B.CONNECT", {
          callback: (_e, msg) => {
            events.push(msg.subject);
          },
        });
        await s.sys.flush();
        const b = await connect({ servers: m.natsUrl, user: "b", pass: "b" });
        await b.close();
        await waitFor(() => events.length === 1, 3000, "the event in the system account");
        await s.a.flush();
        sub.unsubscribe();
        sysSub.unsubscribe();
        deepEqual(got, []);
      }
    });
    await t.step("a PING without reply broadcasts STATSZ", async () => {
      for (const s of [x, y]) {
        const got: string[] = [];
        const sub = s.sys.subscribe(`$SYS.SERVER.${s.id}.STATSZ`, {
          callback: (_e, m) => {
            got.push(m.string());
          },
        });
        await s.sys.flush();
        s.sys.publish("$SYS.REQ.SERVER.PING");
        await waitFor(() => got.length > 0, 3000, "broadcast STATSZ");
        sub.unsubscribe();
        ok("statsz" in JSON.parse(got[0]));
      }
    });
  } finally {
    await Promise.all([x, y].flatMap((s) => [s.sys.close(), s.a.close()]));
    await Promise.all([ours.stop(), theirs.stop()]);
  }
});

Deno.test({
  name: "system account: STATSZ is published periodically, as by nats-server",
  ignore: NO_NATS_SERVER,
}, async () => {
  const [ours, theirs] = await bothMonitored(CONFIG);
  const conns: NatsConnection[] = [];
  try {
    const seen = await Promise.all([ours, theirs].map(async (m) => {
      const nc = await connect({ servers: m.natsUrl, user: "sys", pass: "sys" });
      conns.push(nc);
      const got: Json[] = [];
      nc.subscribe("$SYS.SERVER.*.STATSZ", {
        callback: (_e, msg) => {
          got.push(msg.json());
        },
      });
      await nc.flush();
      // The pace starts at 250 ms and doubles: two within a few seconds.
      await waitFor(() => got.length >= 2, 8000, "two STATSZ");
      return got;
    }));
    deepEqual(shapeDiff(seen[0][0], seen[1][0]), []);
    const stats = seen[0][1].statsz as Json;
    equal(stats.active_servers, 1);
    ok((stats.subscriptions as number) >= 40);
  } finally {
    await Promise.all(conns.map((c) => c.close()));
    await Promise.all([ours.stop(), theirs.stop()]);
  }
});

Deno.test("system account: a ping gathers every node of a 3-node cluster", async () => {
  const accounts: AccountOptions[] = [
    { name: "A", users: [{ user: "a", password: "a", account: "A" }] },
    { name: "SYS", users: [{ user: "sys", password: "sys", account: "SYS" }] },
  ];
  const options = { accounts, systemAccount: "SYS" };
  const n1 = await Node.start({ name: "n1", clusterName: "c", options });
  const nodes = [n1];
  const clients: NatsConnection[] = [];
  try {
    nodes.push(await Node.start({ name: "n2", clusterName: "c", routes: [n1.routeUrl], options }));
    nodes.push(await Node.start({ name: "n3", clusterName: "c", routes: [n1.routeUrl], options }));
    await waitForMesh(nodes);
    const sys = await connect({ servers: nodes[0].url, user: "sys", pass: "sys" });
    const a = await connect({ servers: nodes[2].url, user: "a", pass: "a" });
    clients.push(sys, a);
    const names = (answers: Json[]) => answers.map((r) => (r.server as Json).name as string).sort();
    // Interest spreads over the routes: poll until all three answer.
    await waitFor(
      async () => (await gatherN(sys, "$SYS.REQ.SERVER.PING", 3, "", 1000)).length === 3,
      8000,
      "three STATSZ answers",
    );
    const statsz = await gatherN(sys, "$SYS.REQ.SERVER.PING", 3);
    deepEqual(names(statsz), ["n1", "n2", "n3"]);
    for (const r of statsz) equal((r.server as Json).cluster, "c");
    const varz = await gatherN(sys, "$SYS.REQ.SERVER.PING.VARZ", 3);
    deepEqual(names(varz), ["n1", "n2", "n3"]);
    const direct = await gatherN(sys, `$SYS.REQ.SERVER.${nodes[1].id}.HEALTHZ`, 2, "", 800);
    deepEqual(names(direct), ["n2"]);
    // From account A on n3: every node reports A's connections (one, on n3).
    const connz = await gatherN(a, "$SYS.REQ.SERVER.PING.CONNZ", 3);
    deepEqual(names(connz), ["n1", "n2", "n3"]);
    const counts = Object.fromEntries(
      connz.map((r) => [(r.server as Json).name, (r.data as Json).num_connections]),
    );
    deepEqual(counts, { n1: 0, n2: 0, n3: 1 });
    // STATSZ heartbeats make every node count the others.
    await waitFor(
      async () => {
        const r = await gatherN(sys, "$SYS.REQ.SERVER.PING", 3, "", 1000);
        return r.length === 3 && r.every((x) => (x.statsz as Json).active_servers === 3);
      },
      10_000,
      "active_servers 3 everywhere",
    );
    // A connect on n2 is seen by a subscriber on n1.
    const seen: string[] = [];
    sys.subscribe("$SYS.ACCOUNT.A.CONNECT", {
      callback: (_e, m) => {
        seen.push(m.string());
      },
    });
    await sys.flush();
    await waitForRemoteInterest(nodes[1], "$SYS.ACCOUNT.A.CONNECT", 1);
    const c = await connect({ servers: nodes[1].url, user: "a", pass: "a", name: "far" });
    await c.close();
    await waitFor(() => seen.length === 1, 5000, "connect event from n2");
    equal((JSON.parse(seen[0]).server as Json).name, "n2");
    // n3's SHUTDOWN event makes the others forget it at once (not after five heartbeats).
    await nodes[2].stop();
    await waitFor(
      async () => {
        const r = await gatherN(sys, "$SYS.REQ.SERVER.PING", 2, "", 1000);
        return r.length === 2 && r.every((x) => (x.statsz as Json).active_servers === 2);
      },
      5000,
      "active_servers 2 after n3's shutdown",
    );
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await stopAll(nodes);
  }
});

Deno.test({
  name: "system account: a mixed dnatsd + nats-server cluster answers a ping from both",
  ignore: NO_NATS_SERVER,
}, async () => {
  const conf = (seed: number | null) =>
    CONFIG + `cluster {\n  name: mixed\n  listen: 127.0.0.1:-1\n` +
    (seed === null ? "" : `  routes: ["nats-route://127.0.0.1:${seed}"]\n`) + "}\n";

  const theirs = await ServerProcess.start({ config: conf(null), reference: true });
  let ours: ServerProcess | null = null;
  const clients: NatsConnection[] = [];
  try {
    ours = await ServerProcess.start({ config: conf(await routePortOf(theirs)) });
    const nameOf = (p: ServerProcess) => /ID:\s+(\S+)/.exec(p.logs.text)![1];
    const oursName = nameOf(ours), theirsName = nameOf(theirs);
    for (const p of [ours, theirs]) {
      const sys = await connect({ servers: p.url, user: "sys", pass: "sys" });
      clients.push(sys);
      await waitFor(
        async () => (await gatherN(sys, "$SYS.REQ.SERVER.PING", 2, "", 800)).length === 2,
        10_000,
        `both servers answer a ping sent to ${p === ours ? "dnatsd" : "nats-server"}`,
      );
      const varz = await gatherN(sys, "$SYS.REQ.SERVER.PING.VARZ", 2);
      equal(varz.length, 2);
      const versions = varz.map((r) => ((r.data as Json).go as string).slice(0, 2)).sort();
      deepEqual(versions, ["de", "go"]);
    }
    // STATSZ of each kind, routes included, have the same shape.
    const sys = clients[0];
    const statsz = await gatherN(sys, "$SYS.REQ.SERVER.PING", 2);
    const byKind = (go: string) =>
      statsz.find((r) =>
        ((r.server as Json).name as string) === (go === "de" ? oursName : theirsName)
      )!;
    deepEqual(shapeDiff(byKind("de"), byKind("go")), []);
    // From account A on nats-server: both servers report A's connections.
    const a = await connect({ servers: theirs.url, user: "a", pass: "a" });
    clients.push(a);
    const connz = await gatherN(a, "$SYS.REQ.SERVER.PING.CONNZ", 2);
    equal(connz.length, 2);
    // And from account A on dnatsd: both report, each its own A connections.
    const a2 = await connect({ servers: ours.url, user: "a", pass: "a" });
    clients.push(a2);
    const connz2 = await gatherN(a2, "$SYS.REQ.ACCOUNT.PING.CONNZ", 2);
    equal(connz2.length, 2);
    deepEqual(connz2.map((r) => (r.data as Json).num_connections), [1, 1]);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all([ours?.stop(), theirs.stop()]);
  }
});

Deno.test("system account: no event is built while nobody listens (the server's seq shows it)", async () => {
  const ours = await startMonitored({ config: CONFIG });
  const conns: NatsConnection[] = [];
  try {
    const sys = await connect({ servers: ours.natsUrl, user: "sys", pass: "sys" });
    conns.push(sys);
    // Every message the system account sends carries the next `server.seq`.
    const seq = async () => {
      const [r] = await gatherN(sys, "$SYS.REQ.SERVER.PING.HEALTHZ", 1);
      return (r.server as Json).seq as number;
    };
    const first = await seq();
    for (let i = 0; i < 5; i++) {
      const c = await connect({ servers: ours.natsUrl, user: "a", pass: "a" });
      await c.close();
    }
    // Past the first STATSZ ticks too (250 ms, 500 ms): none was built for nobody.
    await new Promise((r) => setTimeout(r, 800));
    equal(await seq(), first + 1);
    // With a listener, connect, disconnect and two account counts: four more.
    const got: string[] = [];
    const sub = sys.subscribe("$SYS.ACCOUNT.A.>", {
      callback: (_e, m) => {
        got.push(m.subject);
      },
    });
    await sys.flush();
    const c = await connect({ servers: ours.natsUrl, user: "a", pass: "a" });
    await c.close();
    await waitFor(() => got.length === 4, 3000, "four events");
    sub.unsubscribe();
    equal(await seq(), first + 6);
  } finally {
    await Promise.all(conns.map((c) => c.close()));
    await ours.stop();
  }
});

Deno.test({
  name: "system account: a reload that adds an account gives it the system imports; " +
    "system_account is not reloadable",
  ignore: NO_NATS_SERVER,
}, async () => {
  const [ours, theirs] = await bothMonitored(CONFIG);
  try {
    const added = CONFIG.replace(
      "accounts {",
      "accounts {\n  C { users: [{user: c, password: c}] }",
    );
    for (const m of [ours, theirs]) await reload(m.proc, added);
    // The new account gets the three import subscriptions on both servers.
    const detail = async (m: Monitored) => (await m.json("/accountz?acc=C")).account_detail as Json;
    const [cx, cy] = await Promise.all([detail(ours), detail(theirs)]);
    equal(cx.subscriptions, 3);
    equal(cy.subscriptions, 3);
    // (nats-server lists them in map order.)
    const sorted = (l: unknown) => (l as Json[]).map((e) => JSON.stringify(e)).sort();
    deepEqual(sorted(cx.imports), sorted(cy.imports));
    // nats-server 2.9.10 drops the existing accounts' import subscriptions on such a
    // reload (their clients' pings go unanswered); dnatsd keeps them working.
    const a = await connect({ servers: ours.natsUrl, user: "a", pass: "a" });
    try {
      equal((await gather(a, "$SYS.REQ.SERVER.PING.CONNZ")).length, 1);
    } finally {
      await a.close();
    }
    const changed = added.replace("system_account: SYS", "system_account: C");
    const [x, y] = await Promise.all([reload(ours.proc, changed), reload(theirs.proc, changed)]);
    const refusal = (log: string) =>
      /config reload not supported for SystemAccount.*/.exec(log)?.[0];
    equal(refusal(x), refusal(y));
    ok(refusal(x));
  } finally {
    await Promise.all([ours.stop(), theirs.stop()]);
  }
});

Deno.test({
  name: "system account: the debug line for a created default $SYS, as nats-server's",
  ignore: NO_NATS_SERVER,
}, async () => {
  const configs = [
    ["accounts { A { users: [{user: a, password: a}] } }\n", true],
    [CONFIG, false],
  ] as const;
  for (const [config, created] of configs) {
    const procs = await Promise.all([
      ServerProcess.start({ config, args: ["-D"] }),
      ServerProcess.start({ config, args: ["-D"], reference: true }),
    ]);
    try {
      for (const p of procs) {
        equal(p.logs.text.includes('[DBG] Created system account: "$SYS"'), created);
      }
    } finally {
      await Promise.all(procs.map((p) => p.stop()));
    }
  }
});
