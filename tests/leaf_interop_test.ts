// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * Leaf nodes between dnatsd and Debian's nats-server 2.9, both directions:
 * nats-server as a leaf of a dnatsd hub, and dnatsd as a leaf of a
 * nats-server hub (and dnatsd with dnatsd). Pub/sub, request/reply, headers
 * and queue groups cross the link exactly once; interest follows
 * unsubscribe. Reported as ignored when nats-server is not installed.
 */
import { connect } from "npm:@nats-io/transport-node@3.4.0";
import { deepStrictEqual } from "node:assert/strict";
import { missing } from "./helpers/requires.ts";
import { waitFor } from "./helpers/server.ts";
import {
  checkDirection,
  checkQueue,
  checkUnsubscribe,
  client,
  hubConf,
  type Kind,
  leafConf,
  startNode,
  waitInterest,
  waitLeafCount,
} from "./leaf_helpers.ts";

const NO_NATS_SERVER = missing("nats-server");

async function pair(hubKind: Kind, leafKind: Kind) {
  const hub = await startNode(hubKind, hubConf());
  const leaf = await startNode(leafKind, leafConf(hub.leafPort));
  const stop = async () => {
    await leaf.proc.stop();
    await hub.proc.stop();
  };
  try {
    await waitLeafCount(hub, 1);
    await waitLeafCount(leaf, 1);
    const h = await client(hub);
    const l = await client(leaf);
    try {
      await checkDirection(h, l, "h2l");
      await checkDirection(l, h, "l2h");
      await checkQueue(h, l, "q");
      await checkUnsubscribe(h, l, "u1");
      await checkUnsubscribe(l, h, "u2");
    } finally {
      await h.close();
      await l.close();
    }
  } finally {
    await stop();
  }
}

Deno.test({
  name: "leaf: nats-server as a leaf of a dnatsd hub",
  ignore: NO_NATS_SERVER,
  fn: () => pair("dnatsd", "nats-server"),
});

Deno.test({
  name: "leaf: dnatsd as a leaf of a nats-server hub",
  ignore: NO_NATS_SERVER,
  fn: () => pair("nats-server", "dnatsd"),
});

Deno.test({
  name: "leaf: dnatsd as a leaf of a dnatsd hub",
  fn: () => pair("dnatsd", "dnatsd"),
});

/** The leaf's deny_imports/deny_exports hold in both directions of the link. */
async function denies(hubKind: Kind, leafKind: Kind) {
  const hub = await startNode(hubKind, hubConf());
  const leaf = await startNode(
    leafKind,
    leafConf(hub.leafPort, ', deny_imports: ["secret.>"], deny_exports: "private.>"'),
  );
  try {
    await waitLeafCount(hub, 1);
    const h = await client(hub);
    const l = await client(leaf);
    try {
      const onLeaf: string[] = [];
      const onHub: string[] = [];
      const collect = (into: string[]) => (_e: unknown, m: { subject: string }) => {
        if (!m.subject.startsWith("barrier.")) into.push(m.subject);
      };
      l.subscribe(">", { callback: collect(onLeaf) });
      h.subscribe(">", { callback: collect(onHub) });
      await waitInterest(h, l);
      await waitInterest(l, h);
      h.publish("secret.x", "no");
      h.publish("public.x", "yes");
      l.publish("private.y", "no");
      l.publish("open.y", "yes");
      await h.flush();
      await l.flush();
      await waitFor(
        () => onLeaf.includes("public.x") && onHub.includes("open.y"),
        5000,
        "allowed subjects",
      );
      await waitInterest(h, l);
      await waitInterest(l, h);
      deepStrictEqual(onLeaf.filter((s) => s.endsWith(".x")), ["public.x"]);
      deepStrictEqual(onHub.filter((s) => s.endsWith(".y")), ["open.y"]);
    } finally {
      await h.close();
      await l.close();
    }
  } finally {
    await leaf.proc.stop();
    await hub.proc.stop();
  }
}

Deno.test({
  name: "leaf: deny_imports/deny_exports of a nats-server leaf of a dnatsd hub",
  ignore: NO_NATS_SERVER,
  fn: () => denies("dnatsd", "nats-server"),
});

Deno.test({
  name: "leaf: deny_imports/deny_exports of a dnatsd leaf of a nats-server hub",
  ignore: NO_NATS_SERVER,
  fn: () => denies("nats-server", "dnatsd"),
});

/**
 * Accounts: the hub binds the leaf to the account of its leaf user, the leaf
 * binds its end to its remote's `account`; other accounts see nothing.
 */
async function accountsBound(hubKind: Kind, leafKind: Kind) {
  const accounts = "accounts { A { users [ { user: a, password: a } ] }, " +
    "B { users [ { user: b, password: b } ] } }\n";
  const hub = await startNode(
    hubKind,
    accounts + hubConf("authorization { users [ { user: lu, password: lp, account: A } ] }"),
  );
  const leaf = await startNode(
    leafKind,
    accounts.replace(" A {", " LA {").replace("user: a, password: a", "user: la, password: la") +
      `leafnodes { reconnect: 1, remotes [ { url: "nats-leaf://lu:lp@127.0.0.1:${hub.leafPort}", account: LA } ] }\n`,
  );
  try {
    await waitLeafCount(hub, 1);
    const z = await (await fetch(`http://127.0.0.1:${hub.httpPort}/leafz`)).json();
    deepStrictEqual(z.leafs.map((x: { account: string }) => x.account), ["A"]);
    const as = (n: typeof hub, u: string) =>
      connect({ servers: n.proc.url, user: u, pass: u, reconnect: false });
    const ha = await as(hub, "a");
    const hb = await as(hub, "b");
    const la = await as(leaf, "la");
    try {
      const inA: string[] = [];
      const inB: string[] = [];
      ha.subscribe("acc.>", { callback: (_e, m) => void inA.push(m.string()) });
      hb.subscribe("acc.>", { callback: (_e, m) => void inB.push(m.string()) });
      await waitInterest(la, ha);
      la.publish("acc.x", "from-leaf");
      await la.flush();
      await waitFor(() => inA.includes("from-leaf"), 5000, "account A gets the leaf's message");
      await waitInterest(la, ha);
      deepStrictEqual(inB, []);
    } finally {
      await ha.close();
      await hb.close();
      await la.close();
    }
  } finally {
    await leaf.proc.stop();
    await hub.proc.stop();
  }
}

Deno.test({
  name: "leaf: accounts on both ends (nats-server leaf, dnatsd hub)",
  ignore: NO_NATS_SERVER,
  fn: () => accountsBound("dnatsd", "nats-server"),
});

Deno.test({
  name: "leaf: accounts on both ends (dnatsd leaf, nats-server hub)",
  ignore: NO_NATS_SERVER,
  fn: () => accountsBound("nats-server", "dnatsd"),
});
