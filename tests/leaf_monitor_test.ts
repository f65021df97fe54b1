/**
 * /leafz and the leaf parts of /varz next to nats-server's: a dnatsd hub and
 * a nats-server hub, each with the same nats-server leaf, must show the same
 * fields and the same values where they do not depend on the server
 * (account, address, the leaf's interest count and subjects). /metrics and
 * /varz count the link. Reported as ignored when nats-server is not installed.
 */
import { deepStrictEqual, equal, match } from "node:assert/strict";
import { missing } from "./helpers/requires.ts";
import { hubConf, leafConf, leafz, type Node, startNode, waitLeafCount } from "./leaf_helpers.ts";

async function varz(n: Node): Promise<Record<string, unknown>> {
  return await (await fetch(`http://127.0.0.1:${n.httpPort}/varz`)).json();
}

function shape(o: unknown): unknown {
  if (Array.isArray(o)) return o.map(shape);
  if (o !== null && typeof o === "object") {
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, shape((o as never)[k])]));
  }
  return typeof o;
}

Deno.test({
  name: "leaf monitoring: /leafz and /varz as nats-server shows them",
  ignore: missing("nats-server"),
  fn: async () => {
    const nodes: Node[] = [];
    try {
      const hubs: Node[] = [];
      for (const kind of ["dnatsd", "nats-server"] as const) {
        const hub = await startNode(kind, hubConf("authorization { timeout: 3 }"));
        nodes.push(hub);
        hubs.push(hub);
        nodes.push(await startNode("nats-server", leafConf(hub.leafPort)));
      }
      const [ours, theirs] = hubs;
      for (const h of hubs) await waitLeafCount(h, 1);
      // The leaf's interest has arrived once both show the same count.
      let a: Record<string, unknown> = {};
      let b: Record<string, unknown> = {};
      const deadline = Date.now() + 10_000;
      do {
        a = await leafz(ours, "?subs=1");
        b = await leafz(theirs, "?subs=1");
        const n = (x: Record<string, unknown>) =>
          ((x.leafs as { subscriptions: number }[] | null)?.[0]?.subscriptions) ?? 0;
        if (n(a) > 0 && n(a) === n(b)) break;
        await new Promise((r) => setTimeout(r, 50));
      } while (Date.now() < deadline);
      deepStrictEqual(shape(a), shape(b), "/leafz?subs=1 fields");
      equal(a.leafnodes, 1);
      const [la, lb] = [
        (a.leafs as Record<string, unknown>[])[0],
        (b.leafs as Record<string, unknown>[])[0],
      ];
      for (const k of ["account", "ip", "subscriptions"]) equal(la[k], lb[k], k);
      const norm = (l: Record<string, unknown>) =>
        (l.subscriptions_list as string[]).map((s) => s.replace(/^\$LDS\..*/, "$LDS.x")).sort();
      deepStrictEqual(norm(la), norm(lb), "subscriptions_list");
      match(String(la.rtt), /^\d+(\.\d+)?(ns|µs|ms|s)$/);
      // Without subs, and for an account with no leaf: as nats-server.
      deepStrictEqual(shape(await leafz(ours)), shape(await leafz(theirs)), "/leafz fields");
      deepStrictEqual(
        shape(await leafz(ours, "?acc=NOPE")),
        shape(await leafz(theirs, "?acc=NOPE")),
      );
      equal((await leafz(ours, "?acc=NOPE")).leafs, null);

      const [va, vb] = [await varz(ours), await varz(theirs)];
      equal(va.leafnodes, 1);
      equal(vb.leafnodes, 1);
      const leafA = va.leaf as Record<string, unknown>;
      const leafB = vb.leaf as Record<string, unknown>;
      deepStrictEqual(Object.keys(leafA).sort(), Object.keys(leafB).sort(), "varz.leaf fields");
      for (const k of ["host", "auth_timeout", "tls_timeout"]) equal(leafA[k], leafB[k], k);
      equal(leafA.port, ours.leafPort);

      // The leaf side's /varz lists its remote like nats-server's leaf does.
      const leafVarz = (await varz(nodes[1])).leaf;
      const ourLeaf = await startNode("dnatsd", leafConf(ours.leafPort));
      nodes.push(ourLeaf);
      await waitLeafCount(ourLeaf, 1);
      deepStrictEqual(
        JSON.stringify((await varz(ourLeaf)).leaf).replace(/:\d+"/g, ':P"'),
        JSON.stringify(leafVarz).replace(/:\d+"/g, ':P"'),
      );

      const metrics = await (await fetch(`http://127.0.0.1:${ours.httpPort}/metrics`)).text();
      match(metrics, /^dnatsd_leafnodes 2$/m);
      match(metrics, /^dnatsd_leaf_subscriptions\{account="\$G",remote="127\.0\.0\.1:\d+"\} \d+$/m);
    } finally {
      for (const n of nodes.reverse()) await n.proc.stop();
    }
  },
});
