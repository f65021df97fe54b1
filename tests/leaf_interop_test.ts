/**
 * Leaf nodes between dnatsd and Debian's nats-server 2.9, both directions:
 * nats-server as a leaf of a dnatsd hub, and dnatsd as a leaf of a
 * nats-server hub (and dnatsd with dnatsd). Pub/sub, request/reply, headers
 * and queue groups cross the link exactly once; interest follows
 * unsubscribe. Reported as ignored when nats-server is not installed.
 */
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
