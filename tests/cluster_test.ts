// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * Clustering with several in-process dnatsd servers: full mesh from a seed,
 * messages between every pair, interest propagation, queue groups exactly
 * once, the one-hop rule, restarts with client failover, route auth, and the
 * exact route protocol bytes seen by a hand-driven fake peer.
 */
import { connect, headers, type NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { Node, stopAll, waitForMesh, waitForRemoteInterest } from "./helpers/cluster.ts";
import { RawClient } from "./helpers/raw.ts";
import { waitFor } from "./helpers/server.ts";
import { bcrypt } from "../lib/deps.ts";
import { defaultTlsOptions } from "../lib/config/options.ts";

/** A seed plus two servers that only know the seed, as in the seed document's example. */
async function seedCluster(
  opts: { clusterName?: string; debug?: boolean } = {},
): Promise<Node[]> {
  const seed = await Node.start({ name: "srvA", ...opts });
  const b = await Node.start({ name: "srvB", routes: [seed.routeUrl], ...opts });
  const c = await Node.start({ name: "srvC", routes: [seed.routeUrl], ...opts });
  const nodes = [seed, b, c];
  await waitForMesh(nodes);
  return nodes;
}

async function clients(nodes: Node[]): Promise<NatsConnection[]> {
  return await Promise.all(nodes.map((n) => connect({ servers: n.url, reconnect: false })));
}

async function closeAll(ncs: NatsConnection[]): Promise<void> {
  await Promise.all(ncs.map((nc) => nc.close().catch(() => {})));
}

/** Counts messages on a subscription until told to stop. */
function counter(nc: NatsConnection, subject: string, opts: { queue?: string } = {}) {
  const sub = nc.subscribe(subject, opts);
  const got: string[] = [];
  const done = (async () => {
    for await (const m of sub) got.push(m.string());
  })();
  return { sub, got, done };
}

Deno.test("cluster: a seed and two servers form a full mesh (dynamic names converge)", async () => {
  const nodes = await seedCluster();
  try {
    const names = new Set(nodes.map((n) => n.cluster.name));
    equal(names.size, 1, `cluster names ${[...names]}`);
    for (const n of nodes) {
      equal(n.cluster.numRoutes, 2);
      ok(n.log.find("Listening for route connections on 127.0.0.1:").length === 1);
      ok(n.log.find("Route connection created").length >= 2, n.logText());
      ok(n.log.find(/Registering remote route "N[A-Z0-9]{55}"/).length >= 2, n.logText());
    }
    // The newcomers learned about each other through gossip.
    const [, b, c] = nodes;
    ok(b.cluster.remotes().includes(c.id));
    ok(c.cluster.remotes().includes(b.id));
    // Every server advertises the others' client URLs.
    for (const n of nodes) {
      const urls = n.server.connectUrls();
      equal(urls.length, 3, urls.join(","));
    }
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("cluster: messages flow between every pair of servers", async () => {
  const nodes = await seedCluster({ clusterName: "c1" });
  const ncs = await clients(nodes);
  try {
    const counters = ncs.map((nc, i) => counter(nc, `to.${i}`));
    await Promise.all(ncs.map((nc) => nc.flush()));
    for (let i = 0; i < nodes.length; i++) {
      for (const other of nodes) {
        if (other !== nodes[i]) await waitForRemoteInterest(other, `to.${i}`, 1);
      }
    }
    for (let from = 0; from < ncs.length; from++) {
      for (let to = 0; to < ncs.length; to++) ncs[from].publish(`to.${to}`, `${from}->${to}`);
      await ncs[from].flush();
    }
    await waitFor(() => counters.every((c) => c.got.length === 3), 5000, "3 messages each");
    for (let to = 0; to < counters.length; to++) {
      deepStrictEqual(counters[to].got.sort(), [0, 1, 2].map((f) => `${f}->${to}`));
    }
  } finally {
    await closeAll(ncs);
    await stopAll(nodes);
  }
});

Deno.test("cluster: request/reply and headers cross servers", async () => {
  const nodes = await seedCluster({ clusterName: "c1" });
  const ncs = await clients(nodes);
  try {
    const svc = ncs[2].subscribe("svc.echo", {
      callback: (_e, m) => {
        const h = headers();
        h.set("X-Seen", m.headers?.get("X-In") ?? "none");
        m.respond(m.data, { headers: h });
      },
    });
    await ncs[2].flush();
    await waitForRemoteInterest(nodes[0], "svc.echo", 1);
    const h = headers();
    h.set("X-In", "abc");
    const reply = await ncs[0].request("svc.echo", "ping", { timeout: 3000, headers: h });
    equal(reply.string(), "ping");
    equal(reply.headers?.get("X-Seen"), "abc");
    svc.unsubscribe();
  } finally {
    await closeAll(ncs);
    await stopAll(nodes);
  }
});

Deno.test("cluster: UNSUB stops remote delivery", async () => {
  const nodes = await seedCluster({ clusterName: "c1" });
  const ncs = await clients(nodes);
  try {
    const c = counter(ncs[1], "news");
    await ncs[1].flush();
    await waitForRemoteInterest(nodes[0], "news", 1);
    for (let i = 0; i < 10; i++) ncs[0].publish("news", `${i}`);
    await ncs[0].flush();
    await waitFor(() => c.got.length === 10, 5000, "10 messages");
    c.sub.unsubscribe();
    await ncs[1].flush();
    await waitFor(
      () => nodes[0].cluster.routes().every((r) => r.remoteSubs.size === 0),
      5000,
      "RS- reached the publisher's server",
    );
    const before = nodes[0].cluster.routes().reduce((n, r) => n + r.outMsgs, 0);
    for (let i = 0; i < 10; i++) ncs[0].publish("news", `late ${i}`);
    await ncs[0].flush();
    // Nothing is routed once interest is gone, and the subscriber saw nothing more.
    const after = nodes[0].cluster.routes().reduce((n, r) => n + r.outMsgs, 0);
    equal(after, before);
    equal(c.got.length, 10);
  } finally {
    await closeAll(ncs);
    await stopAll(nodes);
  }
});

Deno.test("cluster: a queue group spread over three servers gets each message exactly once", async () => {
  const nodes = await seedCluster({ clusterName: "c1" });
  const ncs = await clients(nodes);
  const pub = await connect({ servers: nodes[0].url, reconnect: false });
  try {
    const members = ncs.flatMap((
      nc,
    ) => [counter(nc, "work", { queue: "g" }), counter(nc, "work", { queue: "g" })]);
    await Promise.all(ncs.map((nc) => nc.flush()));
    await waitForRemoteInterest(nodes[0], "work", 2);
    // The publisher's own server has members: publish from a server without any.
    const n = 300;
    const pubNode = await Node.start({
      name: "srvD",
      clusterName: "c1",
      routes: [nodes[0].routeUrl],
    });
    nodes.push(pubNode);
    await waitForMesh(nodes);
    await waitForRemoteInterest(pubNode, "work", 3);
    const pd = await connect({ servers: pubNode.url, reconnect: false });
    ncs.push(pd);
    for (let i = 0; i < n; i++) pd.publish("work", `${i}`);
    await pd.flush();
    for (let i = 0; i < n; i++) pub.publish("work", `a${i}`);
    await pub.flush();
    await waitFor(
      () => members.reduce((s, m) => s + m.got.length, 0) >= 2 * n,
      8000,
      "all messages",
    );
    const all = members.flatMap((m) => m.got);
    equal(all.length, 2 * n);
    equal(new Set(all).size, 2 * n, "no duplicates");
    // Messages from the server without members were spread over the other servers.
    const perServer = [0, 1, 2].map((s) =>
      members.slice(2 * s, 2 * s + 2).reduce(
        (t, m) => t + m.got.filter((x) => !x.startsWith("a")).length,
        0,
      )
    );
    ok(perServer.every((x) => x > 0), `spread ${perServer}`);
  } finally {
    await pub.close();
    await closeAll(ncs);
    await stopAll(nodes);
  }
});

Deno.test("cluster: one hop: every subscriber gets each message exactly once", async () => {
  const nodes = await seedCluster({ clusterName: "c1" });
  const ncs = await clients(nodes);
  try {
    const subs = ncs.flatMap((nc) => [counter(nc, "fan.>"), counter(nc, "fan.x")]);
    await Promise.all(ncs.map((nc) => nc.flush()));
    for (const n of nodes) await waitForRemoteInterest(n, "fan.>", 2);
    for (const n of nodes) await waitForRemoteInterest(n, "fan.x", 2);
    const per = 50;
    for (let p = 0; p < ncs.length; p++) {
      for (let i = 0; i < per; i++) ncs[p].publish("fan.x", `${p}:${i}`);
      await ncs[p].flush();
    }
    const total = per * ncs.length;
    await waitFor(() => subs.every((s) => s.got.length >= total), 5000, "all deliveries");
    // Give a loop (if any) a chance to show up: a round trip through every server.
    await Promise.all(ncs.map((nc) => nc.flush()));
    for (const s of subs) {
      equal(s.got.length, total);
      equal(new Set(s.got).size, total);
    }
    // Each server routed each of its clients' messages once per peer, and never forwarded.
    for (const n of nodes) {
      const out = n.cluster.routes().reduce((t, r) => t + r.outMsgs, 0);
      equal(out, per * 2, `${n.server.serverName} routed ${out}`);
    }
  } finally {
    await closeAll(ncs);
    await stopAll(nodes);
  }
});

Deno.test("cluster: a server killed and restarted rejoins; a client fails over", async () => {
  const nodes = await seedCluster({ clusterName: "c1" });
  const [a, b, c] = nodes;
  // The subscriber starts on B and knows every server.
  const sub = await connect({
    servers: [b.url, a.url, c.url],
    noRandomize: true,
    reconnectTimeWait: 100,
    maxReconnectAttempts: -1,
  });
  const pub = await connect({ servers: a.url, reconnect: false });
  let restarted: Node | null = null;
  try {
    const got: string[] = [];
    sub.subscribe("live", {
      callback: (_e, m) => {
        got.push(m.string());
      },
    });
    await sub.flush();
    await waitForRemoteInterest(a, "live", 1);
    pub.publish("live", "before");
    await pub.flush();
    await waitFor(() => got.includes("before"), 5000, "first message");

    await b.stop();
    await waitForMesh([a, c]);
    let i = 0;
    await waitFor(
      () => {
        pub.publish("live", `after ${i++}`);
        return got.some((x) => x.startsWith("after"));
      },
      8000,
      "messages after failover",
    );
    ok(b.url.endsWith(`:${b.server.clientPort}`));

    // Restart it (new ports, new id): the mesh of three forms again and carries messages.
    restarted = await Node.start({ name: "srvB", clusterName: "c1", routes: [a.routeUrl] });
    await waitForMesh([a, c, restarted]);
    const nc = await connect({ servers: restarted.url, reconnect: false });
    await waitForRemoteInterest(restarted, "live", 1);
    nc.publish("live", "from restarted");
    await nc.flush();
    await waitFor(() => got.includes("from restarted"), 5000, "message via restarted server");
    await nc.close();
  } finally {
    await sub.close();
    await pub.close();
    await stopAll(restarted ? [...nodes, restarted] : nodes);
  }
});

Deno.test("cluster: route authorization (plain and bcrypt) refuses wrong credentials", async () => {
  const hash = bcrypt.hashSync("s3cret", 4);
  for (const password of ["s3cret", hash]) {
    const seed = await Node.start({
      name: "srvA",
      clusterName: "c1",
      cluster: { authorization: { user: "ruser", password, timeout: 2 } },
    });
    const port = seed.cluster.port;
    const good = await Node.start({
      name: "srvB",
      clusterName: "c1",
      routes: [`nats-route://ruser:s3cret@127.0.0.1:${port}`],
    });
    const bad = await Node.start({
      name: "srvC",
      clusterName: "c1",
      routes: [`nats-route://ruser:wrong@127.0.0.1:${port}`],
    });
    try {
      await waitFor(() => seed.cluster.remotes().includes(good.id), 5000, "good route");
      await waitFor(() => seed.log.find("authentication error").length > 0, 5000, "auth error log");
      ok(seed.log.find("Router connection closed: Authentication Failure").length > 0);
      ok(bad.log.find("Route Error 'Authorization Violation'").length > 0, bad.logText());
      ok(!seed.cluster.remotes().includes(bad.id));
    } finally {
      await stopAll([seed, good, bad]);
    }
  }
});

Deno.test("cluster: same route list everywhere (including itself) still forms one mesh", async () => {
  const a = await Node.start({ name: "srvA", clusterName: "c1" });
  const b = await Node.start({ name: "srvB", clusterName: "c1", routes: [a.routeUrl] });
  const routes = [a.routeUrl, b.routeUrl];
  const c = await Node.start({ name: "srvC", clusterName: "c1", routes });
  const nodes = [a, b, c];
  try {
    await waitForMesh(nodes);
    // C dialed B and also got B by gossip; duplicates are resolved to one route per
    // pair: the mesh must settle at two routes each and stay there for ten polls.
    let stable = 0;
    await waitFor(
      () => {
        stable = nodes.every((n) => n.cluster.routes().length === 2) ? stable + 1 : 0;
        return stable >= 10;
      },
      10_000,
      "one route per pair, stable",
    );
    await waitForMesh(nodes);
    for (const n of nodes) equal(n.cluster.routes().length, 2);
  } finally {
    await stopAll(nodes);
  }
  const self = await Node.start({ name: "solo", clusterName: "c1" });
  try {
    self.cluster.addRoute(self.routeUrl);
    await waitFor(() => self.log.find("Detected route to self").length > 0, 5000, "self detection");
    equal(self.cluster.numRoutes, 0);
  } finally {
    await self.stop();
  }
});

Deno.test("cluster: a fake peer sees nats-server's exact route bytes", async () => {
  const node = await Node.start({ name: "srvA", clusterName: "c1" });
  const raw = await RawClient.connect(node.server.clientPort);
  const peer = await RawClient.connect(node.cluster.port);
  try {
    await raw.send('CONNECT {"verbose":false,"headers":true}\r\nSUB local.x 5\r\n');
    await raw.roundTrip();
    const info = await peer.expect(/^INFO (\{.*\}) \r\n/);
    const json = JSON.parse(info[1]);
    equal(json.proto, 2);
    equal(json.cluster, "c1");
    equal(json.server_id, node.id);
    equal(json.headers, true);
    ok(typeof json.nonce === "string");
    equal(json.lnoc, true); // as nats-server: we take leaf origins (LS+ <origin>, LMSG)
    deepStrictEqual(json.connect_urls, [`127.0.0.1:${node.server.clientPort}`]);
    const fakeId = "NFAKEPEER0000000000000000000000000000000000000000000000";
    await peer.send(
      `CONNECT {"echo":true,"verbose":false,"pedantic":false,"tls_required":false,"headers":true,"name":"${fakeId}","cluster":"c1"}\r\n` +
        `INFO {"server_id":"${fakeId}","server_name":"fake","version":"2.9.10","proto":2,"host":"127.0.0.1","port":1,"headers":true,"cluster":"c1","connect_urls":["127.0.0.1:1"]}\r\n`,
    );
    await peer.expect(/RS\+ \$G local\.x\r\n/);
    await raw.send("SUB qq g1 6\r\n");
    await peer.expect(/RS\+ \$G qq g1 1\r\n/);
    // Remote interest: a plain subscriber and two queue groups.
    await peer.send("RS+ $G foo\r\nRS+ $G bar grp 3\r\nRS+ $G bar grp2 1\r\nPING\r\n");
    await peer.expect(/PONG\r\n/);
    await raw.send(
      "PUB foo 2\r\nhi\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nok\r\nPUB bar rep.1 3\r\nabc\r\nPUB bar 1\r\nz\r\n",
    );
    await peer.expect(
      /RMSG \$G foo 2\r\nhi\r\nHMSG \$G foo 12 14\r\nNATS\/1\.0\r\n\r\nok\r\nRMSG \$G bar \+ rep\.1 grp grp2 3\r\nabc\r\nRMSG \$G bar \| grp grp2 1\r\nz\r\n/,
    );
    // Routed messages reach local clients; without a queue list, not the queue subscriber.
    await raw.send("SUB qsub qg 7\r\nSUB from.route 8\r\n");
    await raw.roundTrip();
    await peer.send(
      "RMSG $G from.route reply.x 2\r\nhi\r\nRMSG $G qsub 2\r\nq3\r\nRMSG $G qsub | qg 2\r\nq4\r\n",
    );
    await raw.expect(/MSG from\.route 8 reply\.x 2\r\nhi\r\n/);
    await raw.expect(/MSG qsub 7 2\r\nq4\r\n/);
    ok(!raw.received.includes("q3"));
    // The new client URL reached client INFO connect_urls.
    const nc = await RawClient.connect(node.server.clientPort);
    await nc.expect(/"connect_urls":\["127\.0\.0\.1:\d+","127\.0\.0\.1:1"\]/);
    await nc.close();
    // Closing the client withdraws its interest.
    await raw.close();
    await peer.expect(/RS- \$G local\.x\r\n/);
    await peer.expect(/RS- \$G qq g1\r\n/);
    // -ERR from the peer is logged and closes the route.
    await peer.send("-ERR 'boom'\r\n");
    await peer.expectClosed();
    ok(node.log.find("Route Error 'boom'").length === 1, node.logText());
  } finally {
    await raw.close();
    await peer.close();
    await node.stop();
  }
});

Deno.test("cluster: clients on the route port and mismatched cluster names are refused", async () => {
  const node = await Node.start({ name: "srvA", clusterName: "c1" });
  try {
    const client = await RawClient.connect(node.cluster.port);
    await client.expect(/^INFO /);
    await client.send('CONNECT {"lang":"go","verbose":false}\r\n');
    await client.expect(/-ERR 'attempted to connect to route port'\r\n/);
    await client.expectClosed();
    await client.close();
    const other = await RawClient.connect(node.cluster.port);
    await other.expect(/^INFO /);
    await other.send('CONNECT {"name":"NXX","cluster":"zz"}\r\n');
    await other.expect(/-ERR 'Rejecting connection, cluster name "zz" does not match "c1"'\r\n/);
    await other.expectClosed();
    await other.close();
    ok(node.log.find("Router connection closed: Cluster Name Conflict").length === 1);
  } finally {
    await node.stop();
  }
});

Deno.test("cluster: route TLS (handshake first, both sides verify) carries messages", async () => {
  const certs = new URL("../certs/", import.meta.url).pathname;
  const tls = {
    ...defaultTlsOptions(),
    certFile: `${certs}route-cert.pem`,
    keyFile: `${certs}route-key.pem`,
    caFile: `${certs}ca.pem`,
    verify: true,
  };
  const a = await Node.start({ name: "srvA", clusterName: "c1", cluster: { tls } });
  const b = await Node.start({
    name: "srvB",
    clusterName: "c1",
    cluster: { tls },
    routes: [a.routeUrl],
  });
  const c = await Node.start({
    name: "srvC",
    clusterName: "c1",
    cluster: { tls },
    routes: [a.routeUrl],
  });
  const plain = await Node.start({ name: "plain", clusterName: "c1", routes: [a.routeUrl] });
  const nodes = [a, b, c];
  const ncs = await clients(nodes);
  try {
    await waitForMesh(nodes);
    const info = a.cluster.routes()[0];
    // TLS routes read through the transport whose pause really stops the TLS layer.
    equal(info.transport.constructor.name, "TlsTransport");
    const got = counter(ncs[2], "secure");
    await ncs[2].flush();
    await waitForRemoteInterest(b, "secure", 1);
    ncs[1].publish("secure", "over tls");
    await ncs[1].flush();
    await waitFor(() => got.got.length === 1, 5000, "message over TLS route");
    // A plain-text peer cannot join a TLS cluster.
    await waitFor(() => a.log.find(/TLS handshake/).length > 0, 5000, "handshake failure log");
    equal(plain.cluster.numRoutes, 0);
    equal(a.cluster.numRoutes, 2);
  } finally {
    await closeAll(ncs);
    await stopAll([...nodes, plain]);
  }
});

Deno.test("cluster: lame duck drops our client URLs at peers; reload removes and adds routes", async () => {
  const nodes = await seedCluster({ clusterName: "c1" });
  const [a, b, c] = nodes;
  try {
    const bUrl = `127.0.0.1:${b.server.clientPort}`;
    ok(a.server.connectUrls().includes(bUrl));
    b.cluster.lameDuck();
    await waitFor(() => !a.server.connectUrls().includes(bUrl), 5000, "B's URL withdrawn at A");
    await waitFor(() => !c.server.connectUrls().includes(bUrl), 5000, "B's URL withdrawn at C");
    equal(a.cluster.numRoutes, 2, "routes stay up in lame duck mode");

    // Reload on B without its seed route: the route to A goes, and is not redialed.
    const opts = b.server.options.cluster!;
    b.cluster.applyOptions({ ...opts, routes: [] });
    await waitFor(() => !b.cluster.remotes().includes(a.id), 5000, "route to A removed");
    ok(b.log.find("Router connection closed: Route Removed").length === 1, b.logText());
    // Added back: dialed again, the mesh is whole again.
    b.cluster.applyOptions({ ...opts, routes: [a.routeUrl] });
    await waitForMesh(nodes);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("cluster: a late duplicate route leaves the established route, and the messages on it, alone", async () => {
  const n1 = await Node.start({ name: "dupA", clusterName: "dup" });
  const n2 = await Node.start({ name: "dupB", clusterName: "dup" });
  // The late dialer has the smaller server id: the tie-break for crossing
  // dials would pick its connection, so only the age rule keeps the old route.
  const [low, high] = n1.id < n2.id ? [n1, n2] : [n2, n1];
  const sub = await connect({ servers: low.url, reconnect: false });
  const pub = await connect({ servers: high.url, reconnect: false });
  try {
    high.cluster.addRoute(low.routeUrl);
    await waitForMesh([low, high]);
    const original = high.cluster.routes()[0]!;
    // Past the window in which two dials count as crossing.
    await waitFor(() => performance.now() - original.registeredAt > 400, 5000, "route age");
    const seen: number[] = [];
    const s = sub.subscribe("dup.flow");
    (async () => {
      for await (const m of s) seen.push(Number(m.string()));
    })();
    await sub.flush();
    await waitForRemoteInterest(high, "dup.flow", 1);

    const total = 20_000;
    let next = 0;
    const burst = async (n: number) => {
      for (let i = 0; i < n; i++) pub.publish("dup.flow", String(next++));
      await pub.flush();
    };
    await burst(5_000);
    low.cluster.addRoute(high.routeUrl); // the late duplicate, while traffic flows
    while (next < total - 5_000) {
      await burst(1_000);
      if (high.log.find("Router connection closed: Duplicate Route").length > 0) break;
    }
    await waitFor(
      () => high.log.find("Router connection closed: Duplicate Route").length > 0,
      5000,
      "the duplicate closed",
    );
    await burst(total - next);
    await waitFor(() => seen.length >= total, 10_000, `all ${total} messages (got ${seen.length})`);
    deepStrictEqual(seen, Array.from({ length: total }, (_, i) => i), "lost or reordered");
    // Both sides kept the first connection.
    equal(high.cluster.routes().length, 1);
    ok(high.cluster.routes()[0] === original, "the established route was replaced");
    equal(low.cluster.numRoutes, 1);
  } finally {
    await sub.close();
    await pub.close();
    await stopAll([low, high]);
  }
});
