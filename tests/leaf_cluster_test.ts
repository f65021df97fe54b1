// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * Routes and leaf links together, as in nats-server: every message reaches
 * every subscriber once and each queue group once, with no loop.
 *
 * - a dnatsd cluster (A, B) whose nodes are each the hub of a nats-server leaf;
 * - a dnatsd cluster (A, B) whose nodes are each a leaf of one nats-server hub
 *   (the hub must not send a message that came from A back to B: same cluster).
 *
 * Reported as ignored when nats-server is not installed.
 */
import type { NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { deepStrictEqual, equal } from "node:assert/strict";
import { missing } from "./helpers/requires.ts";
import { waitFor } from "./helpers/server.ts";
import {
  client,
  type Kind,
  type Node,
  startNode,
  waitInterest,
  waitLeafCount,
} from "./leaf_helpers.ts";

const NO_NATS_SERVER = missing("nats-server");

async function startClustered(
  extra: string,
  seed: number | null,
  kind: Kind = "dnatsd",
): Promise<Node & { routePort: number }> {
  const routes = seed === null ? "" : `routes: ["nats-route://127.0.0.1:${seed}"]`;
  const node = await startNode(
    kind,
    `cluster { name: X, listen: 127.0.0.1:-1, ${routes} }\n${extra}`,
  );
  const re = /Listening for route connections on [^\s]*:(\d+)/;
  await node.proc.waitForLog(re);
  if (/leafnodes\s*\{\s*listen/.test(extra)) {
    const leafRe = /Listening for leafnode connections on [^\s]*:(\d+)/;
    await node.proc.waitForLog(leafRe);
    node.leafPort = Number(leafRe.exec(node.proc.logs.text)![1]);
  }
  return { ...node, routePort: Number(re.exec(node.proc.logs.text)![1]) };
}

async function routes(n: Node): Promise<number> {
  return (await (await fetch(`http://127.0.0.1:${n.httpPort}/varz`)).json()).routes;
}

/** Every node publishes N messages; every node's subscriber must get each exactly once. */
async function exactlyOnce(conns: NatsConnection[], tag: string) {
  const N = 20;
  const got = conns.map(() => new Map<string, number>());
  const queue = new Map<string, number>();
  conns.forEach((nc, i) => {
    nc.subscribe(`${tag}.>`, {
      callback: (_e, m) => {
        got[i].set(m.string(), (got[i].get(m.string()) ?? 0) + 1);
      },
    });
    nc.subscribe(`${tag}.>`, {
      queue: "workers",
      callback: (_e, m) => {
        queue.set(m.string(), (queue.get(m.string()) ?? 0) + 1);
      },
    });
  });
  // Barriers between every ordered pair: all interest has crossed every link.
  for (const a of conns) for (const b of conns) if (a !== b) await waitInterest(a, b, 20_000);
  const expected: string[] = [];
  conns.forEach((nc, i) => {
    for (let k = 0; k < N; k++) {
      nc.publish(`${tag}.m`, `n${i}-${k}`);
      expected.push(`n${i}-${k}`);
    }
  });
  for (const nc of conns) await nc.flush();
  const total = expected.length;
  await waitFor(
    () => got.every((g) => g.size >= total) && queue.size >= total,
    10_000,
    `${tag}: every message everywhere`,
  );
  // Barriers again, so a duplicate or a looping copy would have arrived by now.
  for (const a of conns) for (const b of conns) if (a !== b) await waitInterest(a, b);
  for (let i = 0; i < conns.length; i++) {
    deepStrictEqual([...got[i].keys()].sort(), [...expected].sort(), `${tag}: node ${i} set`);
    for (const [m, c] of got[i]) equal(c, 1, `${tag}: node ${i} got ${m} ${c} times`);
  }
  deepStrictEqual([...queue.keys()].sort(), [...expected].sort(), `${tag}: queue set`);
  for (const [m, c] of queue) equal(c, 1, `${tag}: queue got ${m} ${c} times`);
}

Deno.test({
  name: "leaf cluster: a dnatsd cluster whose nodes each have a nats-server leaf",
  ignore: NO_NATS_SERVER,
  fn: async () => {
    const nodes: Node[] = [];
    const conns: NatsConnection[] = [];
    try {
      const a = await startClustered("leafnodes { listen: 127.0.0.1:-1 }", null);
      nodes.push(a);
      const b = await startClustered("leafnodes { listen: 127.0.0.1:-1 }", a.routePort);
      nodes.push(b);
      await waitFor(
        async () => (await routes(a)) === 1 && (await routes(b)) === 1,
        10_000,
        "route",
      );
      const leafKind: Kind = "nats-server";
      const la = await startNode(
        leafKind,
        `leafnodes { remotes [ { url: "nats-leaf://127.0.0.1:${a.leafPort}" } ] }`,
      );
      nodes.push(la);
      const lb = await startNode(
        leafKind,
        `leafnodes { remotes [ { url: "nats-leaf://127.0.0.1:${b.leafPort}" } ] }`,
      );
      nodes.push(lb);
      await waitLeafCount(a, 1);
      await waitLeafCount(b, 1);
      for (const n of [a, b, la, lb]) conns.push(await client(n));
      await exactlyOnce(conns, "hubs");
    } finally {
      for (const c of conns) await c.close().catch(() => {});
      for (const n of nodes.reverse()) await n.proc.stop();
    }
  },
});

Deno.test({
  name: "leaf cluster: a dnatsd cluster whose nodes are each a leaf of one nats-server hub",
  ignore: NO_NATS_SERVER,
  fn: async () => {
    const nodes: Node[] = [];
    const conns: NatsConnection[] = [];
    try {
      const hub = await startNode("nats-server", "leafnodes { listen: 127.0.0.1:-1 }");
      nodes.push(hub);
      const remote =
        `leafnodes { reconnect: 1, remotes [ { url: "nats-leaf://127.0.0.1:${hub.leafPort}" } ] }`;
      const a = await startClustered(remote, null);
      nodes.push(a);
      const b = await startClustered(remote, a.routePort);
      nodes.push(b);
      await waitFor(
        async () => (await routes(a)) === 1 && (await routes(b)) === 1,
        10_000,
        "route",
      );
      await waitLeafCount(hub, 2);
      for (const n of [hub, a, b]) conns.push(await client(n));
      await exactlyOnce(conns, "spokes");
    } finally {
      for (const c of conns) await c.close().catch(() => {});
      for (const n of nodes.reverse()) await n.proc.stop();
    }
  },
});

async function multiHomed(hubKind: Kind, otherKind: Kind = hubKind) {
  // L1 -> A and L2 -> B, with L1 and L2 routed together (cluster L): a message from L1
  // reaches L2 over L's own route, so A's route must tell B where it came from (LMSG with
  // the origin cluster) and B must not send it down to L2 again.
  const nodes: Node[] = [];
  const conns: NatsConnection[] = [];
  try {
    const a = await startClustered("leafnodes { listen: 127.0.0.1:-1 }", null, hubKind);
    nodes.push(a);
    const b = await startClustered("leafnodes { listen: 127.0.0.1:-1 }", a.routePort, otherKind);
    nodes.push(b);
    await waitFor(
      async () => (await routes(a)) === 1 && (await routes(b)) === 1,
      10_000,
      "route",
    );
    const l1 = await startNode(
      "nats-server",
      `cluster { name: L, listen: 127.0.0.1:-1 }\n` +
        `leafnodes { remotes [ { url: "nats-leaf://127.0.0.1:${a.leafPort}" } ] }`,
    );
    nodes.push(l1);
    const re = /Listening for route connections on [^\s]*:(\d+)/;
    await l1.proc.waitForLog(re);
    const l1Route = Number(re.exec(l1.proc.logs.text)![1]);
    const l2 = await startNode(
      "nats-server",
      `cluster { name: L, listen: 127.0.0.1:-1, routes: ["nats-route://127.0.0.1:${l1Route}"] }\n` +
        `leafnodes { remotes [ { url: "nats-leaf://127.0.0.1:${b.leafPort}" } ] }`,
    );
    nodes.push(l2);
    await waitFor(
      async () => (await routes(l1)) === 1 && (await routes(l2)) === 1,
      10_000,
      "L route",
    );
    await waitLeafCount(a, 1);
    await waitLeafCount(b, 1);
    for (const n of [a, b, l1, l2]) conns.push(await client(n));
    await exactlyOnce(conns, "multi");
  } finally {
    for (const c of conns) await c.close().catch(() => {});
    for (const n of nodes.reverse()) await n.proc.stop();
  }
}

Deno.test({
  name: "leaf cluster: a nats-server leaf cluster attached to both nodes of a dnatsd cluster",
  ignore: NO_NATS_SERVER,
  fn: () => multiHomed("dnatsd"),
});

Deno.test({
  name: "leaf cluster: the same with a nats-server cluster (reference)",
  ignore: NO_NATS_SERVER,
  fn: () => multiHomed("nats-server"),
});

Deno.test({
  name: "leaf cluster: the same with a mixed cluster (dnatsd A, nats-server B)",
  ignore: NO_NATS_SERVER,
  fn: () => multiHomed("dnatsd", "nats-server"),
});

/**
 * Fail-over: a leaf that knows only hub A learns B's leaf URL from A's INFO
 * (routes pass leaf URLs along) and dials B when A stops.
 */
async function failover(hubKind: Kind, leafKind: Kind) {
  const nodes: Node[] = [];
  try {
    const a = await startClustered("leafnodes { listen: 127.0.0.1:-1 }", null, hubKind);
    nodes.push(a);
    const b = await startClustered("leafnodes { listen: 127.0.0.1:-1 }", a.routePort, hubKind);
    nodes.push(b);
    await waitFor(async () => (await routes(a)) === 1 && (await routes(b)) === 1, 10_000, "route");
    const leaf = await startNode(
      leafKind,
      `leafnodes { reconnect: 1, remotes [ { url: "nats-leaf://127.0.0.1:${a.leafPort}" } ] }`,
    );
    nodes.push(leaf);
    await waitLeafCount(a, 1);
    await a.proc.stop();
    nodes.splice(nodes.indexOf(a), 1);
    await waitLeafCount(b, 1, 20_000);
    await waitLeafCount(leaf, 1);
  } finally {
    for (const n of nodes.reverse()) await n.proc.stop();
  }
}

Deno.test({
  name: "leaf cluster: a nats-server leaf fails over to the other node of a dnatsd cluster",
  ignore: NO_NATS_SERVER,
  fn: () => failover("dnatsd", "nats-server"),
});

Deno.test({
  name: "leaf cluster: a dnatsd leaf fails over to the other node of a nats-server cluster",
  ignore: NO_NATS_SERVER,
  fn: () => failover("nats-server", "dnatsd"),
});

Deno.test({
  name: "leaf cluster: a dnatsd leaf fails over to the other node of a dnatsd cluster",
  fn: () => failover("dnatsd", "dnatsd"),
});
