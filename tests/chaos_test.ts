// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * Chaos in a three-node cluster (spawned processes, full mesh), with numbered
 * traffic from publishers on every node to plain subscribers and a queue group
 * with a member on every node:
 *
 * - kill -9 one node under traffic and restart it on the same ports: clients
 *   (nats.js, reconnecting to their own server only) and routes come back, the
 *   restarted node's subscriber receives again, nothing is delivered twice, and
 *   subscribers on the surviving nodes lose nothing from publishers there;
 * - cut one route (a TCP proxy between two nodes) and restore it: while cut,
 *   routes being one hop, A's messages do not reach B; once restored the route
 *   comes back through the proxy, interest is re-announced and A→B flows again
 *   with nothing duplicated.
 *
 * Both scenarios also run on three Debian nats-server nodes with the same
 * checks, and the cut scenario's observations must match nats-server's.
 * The rate is modest (a few hundred messages a second per publisher, flushed)
 * so no loss can come from a route being cut as a slow consumer.
 */
import { connect, type NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { deepStrictEqual, equal } from "node:assert/strict";
import { missing } from "./helpers/requires.ts";
import {
  killNode,
  type Kind,
  monitor,
  type NodeProcess,
  restartNode,
  startNode,
} from "./helpers/node_process.ts";
import { waitFor } from "./helpers/server.ts";
import { describeGaps, SeqLedger, SeqPublisher, subscribeSeq } from "./helpers/seq_traffic.ts";
import { TcpProxy } from "./helpers/tcp_proxy.ts";

const PREFIX = "chaos";

interface Routez {
  num_routes: number;
  routes: { remote_id: string }[];
}

async function serverId(node: NodeProcess): Promise<string> {
  return (await monitor(node.httpPort, "/varz")).server_id as string;
}

/** Every node has exactly one route to every other node (ids read fresh: restarts change them). */
async function waitForMesh(nodes: NodeProcess[], timeoutMs = 20_000): Promise<void> {
  let last = "";
  await waitFor(
    async () => {
      const ids = await Promise.all(nodes.map(serverId));
      const all = await Promise.all(nodes.map((n) => monitor<Routez>(n.httpPort, "/routez")));
      last = all.map((r) => r.num_routes).join(",");
      return all.every((r, i) => {
        const remotes = new Set(r.routes.map((x) => x.remote_id));
        return r.num_routes === nodes.length - 1 &&
          ids.every((id, j) => j === i || remotes.has(id));
      });
    },
    timeoutMs,
    "full mesh",
  ).catch((e) => {
    throw new Error(`${(e as Error).message} (routes per node ${last})`);
  });
}

async function numRoutes(node: NodeProcess): Promise<number> {
  return (await monitor<Routez>(node.httpPort, "/routez")).num_routes;
}

/** A client that reconnects forever to its own server only. */
async function clientOf(node: NodeProcess, name: string): Promise<NatsConnection> {
  return await connect({
    servers: node.url,
    name,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
    ignoreClusterUpdates: true,
    noRandomize: true,
    timeout: 5000,
  });
}

interface Site {
  label: string;
  pub: SeqPublisher;
  sub: SeqLedger;
  conns: NatsConnection[];
}

/**
 * On each node: a publisher on `chaos.<label>`, a plain subscriber on
 * `chaos.*` and a member of queue group `workers` (all members share `queue`).
 */
async function populate(
  nodes: NodeProcess[],
  labels: string[],
  queue: SeqLedger,
): Promise<Site[]> {
  const sites: Site[] = [];
  for (let i = 0; i < nodes.length; i++) {
    const label = labels[i];
    const pubNc = await clientOf(nodes[i], `pub-${label}`);
    const subNc = await clientOf(nodes[i], `sub-${label}`);
    const qNc = await clientOf(nodes[i], `q-${label}`);
    const sub = new SeqLedger(`sub-${label}`);
    subscribeSeq(subNc, PREFIX, sub);
    subscribeSeq(qNc, PREFIX, queue, { queue: "workers", member: `q-${label}` });
    await subNc.flush();
    await qNc.flush();
    sites.push({
      label,
      pub: new SeqPublisher(label, pubNc, `${PREFIX}.${label}`),
      sub,
      conns: [pubNc, subNc, qNc],
    });
  }
  return sites;
}

/** Publishes probes from every site until every listed subscriber has one from every site. */
async function waitForInterest(sites: Site[], receivers: Site[], timeoutMs = 15_000) {
  const probe = new Map(sites.map((s) => [s, 0]));
  await waitFor(
    async () => {
      for (const s of sites) {
        const n = probe.get(s)! + 1;
        probe.set(s, n);
        s.pub.nc.publish(`${PREFIX}.probe-${s.label}`, String(n));
        await s.pub.nc.flush();
      }
      await new Promise((r) => setTimeout(r, 50));
      return receivers.every((r) => sites.every((s) => r.sub.highest(`probe-${s.label}`) > 0));
    },
    timeoutMs,
    "interest on every node for every subscriber",
  );
}

/** Waits until `ledger` has from `publisher` a sequence above `after`. */
async function waitForBeyond(ledger: SeqLedger, publisher: string, after: number, ms: number) {
  await waitFor(
    () => ledger.highest(publisher) > after,
    ms,
    `${ledger.name} <- ${publisher} > ${after}`,
  );
}

async function closeAll(
  sites: Site[],
  nodes: NodeProcess[],
  extra: () => Promise<void> = async () => {},
) {
  for (const s of sites) await s.pub.stop().catch(() => {});
  for (const s of sites) for (const nc of s.conns) await nc.close().catch(() => {});
  await extra();
  for (const n of nodes) await n.proc.stop();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Everything in `(after, upTo]` of `publisher` reached `ledger`, waiting up to `ms`. */
async function expectComplete(
  ledger: SeqLedger,
  publisher: string,
  range: [number, number],
  ms = 10_000,
): Promise<void> {
  await waitFor(
    () => ledger.missing(publisher, range[0], range[1]).length === 0,
    ms,
    `${ledger.name} <- ${publisher}`,
  ).catch(() => {
    throw new Error(
      `${ledger.name} missing from ${publisher} in (${range[0]}, ${range[1]}]: ` +
        describeGaps(ledger.missing(publisher, range[0], range[1])),
    );
  });
}

async function killAndRestart(kind: Kind): Promise<string> {
  const a = await startNode({ kind });
  const b = await startNode({ kind, routes: [a.routeUrl] });
  let c = await startNode({ kind, routes: [a.routeUrl, b.routeUrl] });
  const nodes = [a, b, c];
  const queue = new SeqLedger("workers");
  let sites: Site[] = [];
  try {
    await waitForMesh(nodes);
    sites = await populate(nodes, ["A", "B", "C"], queue);
    const [sa, sb, sc] = sites;
    await waitForInterest(sites, sites);
    for (const s of sites) s.pub.start();
    await sleep(2000);

    // kill -9 C under traffic.
    await killNode(c);
    await waitFor(
      async () => (await numRoutes(a)) === 1 && (await numRoutes(b)) === 1,
      10_000,
      "A and B drop their routes to C",
    );
    // From here on A and B know C is gone: queue messages of A and B go to A's or B's member.
    const down = { A: sa.pub.seq, B: sb.pub.seq };
    await sleep(1500);
    const up = { A: sa.pub.seq, B: sb.pub.seq };
    c = await restartNode(c);
    nodes[2] = c;
    await waitForMesh(nodes);
    // C's clients reconnected and re-subscribed; C's interest reached A and B.
    const mark = { A: sa.pub.seq, B: sb.pub.seq, C: sc.pub.seq };
    await waitForBeyond(sc.sub, "A", mark.A, 15_000);
    await waitForBeyond(sc.sub, "B", mark.B, 15_000);
    await waitForBeyond(sa.sub, "C", mark.C, 15_000);
    await waitForBeyond(sb.sub, "C", mark.C, 15_000);

    // A tail with everybody up again.
    const tail = { A: sa.pub.seq, B: sb.pub.seq, C: sc.pub.seq };
    await sleep(2000);
    for (const s of sites) await s.pub.stop();
    const last = { A: sa.pub.seq, B: sb.pub.seq, C: sc.pub.seq };

    // No duplicates anywhere: per subscriber, and across the queue group.
    for (const s of sites) {
      equal(s.sub.dups, 0, `${s.sub.name} duplicates: ${s.sub.dupSamples.join(" ")}`);
    }
    equal(queue.dups, 0, `queue duplicates: ${queue.dupSamples.join(" ")}`);
    // Surviving subscribers lose nothing from surviving publishers, over the whole run.
    for (const s of [sa, sb]) {
      for (const p of ["A", "B"] as const) await expectComplete(s.sub, p, [0, last[p]]);
    }
    // While C was down, the queue group got every survivor's message exactly once.
    for (const p of ["A", "B"] as const) await expectComplete(queue, p, [down[p], up[p]]);
    // After recovery every subscriber, C's included, gets everything; so does the queue.
    for (const s of sites) {
      for (const p of ["A", "B", "C"] as const) await expectComplete(s.sub, p, [tail[p], last[p]]);
    }
    for (const p of ["A", "B", "C"] as const) await expectComplete(queue, p, [tail[p], last[p]]);
    const lostC = sites.map((s) => `${s.label}:${s.sub.missing("C", 0, tail.C).length}`).join(" ");
    return `published A=${last.A} B=${last.B} C=${last.C}; C's messages missing before ` +
      `recovery per subscriber ${lostC}; queue got ${
        [...queue.got.values()].reduce((n, s) => n + s.size, 0)
      }`;
  } catch (e) {
    throw new Error(
      `${(e as Error).message}\n` +
        nodes.map((n) => n.proc.logs.text.slice(-2500)).join("\n----\n"),
    );
  } finally {
    await closeAll(sites, nodes);
  }
}

for (const kind of ["dnatsd", "nats-server"] as const) {
  Deno.test({
    name: `chaos (${kind}): kill -9 a node under traffic and restart it on the same ports`,
    ignore: kind === "nats-server" && missing("nats-server"),
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      console.log(`${kind}: ${await killAndRestart(kind)}`);
    },
  });
}

/** What the route-cut scenario observed, compared between servers. */
interface CutObservation {
  /** Routes on A and B while the proxy is cut (A–B goes nowhere else). */
  routesDuringCut: [number, number];
  /** A's messages published during the cut that reached B's subscriber. */
  aToBDuringCut: number;
  /** A→C and C→B kept flowing during the cut. */
  othersFlowed: boolean;
  /** The A–B route came back through the proxy. */
  restoredViaProxy: boolean;
  /** Duplicates anywhere. */
  dups: number;
  /** Tail messages missing anywhere after the restore. */
  tailMissing: number;
}

async function cutAndRestore(kind: Kind): Promise<CutObservation> {
  // B first; A reaches B only through the proxy; C dials both directly.
  const b = await startNode({ kind });
  const proxy = TcpProxy.start(b.routePort);
  const a = await startNode({ kind, routes: [`nats-route://127.0.0.1:${proxy.port}`] });
  const nodes = [a, b];
  const queue = new SeqLedger("workers");
  let sites: Site[] = [];
  try {
    await waitFor(async () => (await numRoutes(a)) === 1, 10_000, "A–B route via the proxy");
    const c = await startNode({ kind, routes: [a.routeUrl, b.routeUrl] });
    nodes.push(c);
    await waitForMesh(nodes);
    equal(proxy.open, 1, "A–B runs through the proxy");
    sites = await populate(nodes, ["A", "B", "C"], queue);
    const [sa, sb, sc] = sites;
    await waitForInterest(sites, sites);
    for (const s of sites) s.pub.start();
    await sleep(1500);

    proxy.cut();
    await waitFor(
      async () => (await numRoutes(a)) === 1 && (await numRoutes(b)) === 1,
      10_000,
      "A and B lose their route",
    );
    const cutMark = { A: sa.pub.seq, C: sc.pub.seq };
    await sleep(2000);
    const routesDuringCut: [number, number] = [await numRoutes(a), await numRoutes(b)];
    const restoreMark = { A: sa.pub.seq, C: sc.pub.seq };
    const aToBDuringCut = [...sb.sub.got.get("A") ?? []]
      .filter((s) => s > cutMark.A && s <= restoreMark.A).length;
    // A→C and C→B do not depend on the cut route (given time for what is in flight).
    const flowed = await Promise.all([
      expectComplete(sc.sub, "A", [cutMark.A, restoreMark.A], 5000).then(
        () => "",
        (e) => e.message,
      ),
      expectComplete(sb.sub, "C", [cutMark.C, restoreMark.C], 5000).then(
        () => "",
        (e) => e.message,
      ),
    ]);
    const othersFlowed = flowed.every((m) => m === "");
    if (!othersFlowed) console.log(`${kind}: during the cut: ${flowed.join("; ")}`);

    proxy.restore();
    await waitForMesh(nodes);
    const restoredViaProxy = proxy.open === 1;
    // Interest re-announced both ways over the restored route.
    const mark = { A: sa.pub.seq, B: sb.pub.seq };
    await waitForBeyond(sb.sub, "A", mark.A, 15_000);
    await waitForBeyond(sa.sub, "B", mark.B, 15_000);

    const tail = { A: sa.pub.seq, B: sb.pub.seq, C: sc.pub.seq };
    await sleep(1500);
    for (const s of sites) await s.pub.stop();
    const last = { A: sa.pub.seq, B: sb.pub.seq, C: sc.pub.seq };
    let tailMissing = 0;
    for (const ledger of [...sites.map((s) => s.sub), queue]) {
      for (const p of ["A", "B", "C"] as const) {
        await expectComplete(ledger, p, [tail[p], last[p]]).catch(() => {});
        tailMissing += ledger.missing(p, tail[p], last[p]).length;
      }
    }
    const dups = sites.reduce((n, s) => n + s.sub.dups, queue.dups);
    return { routesDuringCut, aToBDuringCut, othersFlowed, restoredViaProxy, dups, tailMissing };
  } catch (e) {
    throw new Error(
      `${(e as Error).message}\n` +
        nodes.map((n) => n.proc.logs.text.slice(-2500)).join("\n----\n"),
    );
  } finally {
    await closeAll(sites, nodes, () => proxy.close());
  }
}

Deno.test({
  name: "chaos: a route cut and restored through a proxy, dnatsd as nats-server",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const ref = await cutAndRestore("nats-server");
    console.log(`nats-server: ${JSON.stringify(ref)}`);
    const got = await cutAndRestore("dnatsd");
    console.log(`dnatsd:      ${JSON.stringify(got)}`);
    deepStrictEqual(got, {
      routesDuringCut: [1, 1],
      aToBDuringCut: 0,
      othersFlowed: true,
      restoredViaProxy: true,
      dups: 0,
      tailMissing: 0,
    });
    deepStrictEqual(got, ref, "dnatsd observes what nats-server does");
  },
});

Deno.test({
  name: "chaos: a route cut and restored through a proxy (dnatsd alone)",
  ignore: !missing("nats-server"),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const got = await cutAndRestore("dnatsd");
    deepStrictEqual(got, {
      routesDuringCut: [1, 1],
      aToBDuringCut: 0,
      othersFlowed: true,
      restoredViaProxy: true,
      dups: 0,
      tailMissing: 0,
    });
  },
});
