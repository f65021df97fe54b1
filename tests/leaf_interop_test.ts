/**
 * Leaf nodes between dnatsd and Debian's nats-server 2.9, both directions:
 * nats-server as a leaf of a dnatsd hub, and dnatsd as a leaf of a
 * nats-server hub (and dnatsd with dnatsd). Pub/sub, request/reply, headers
 * and queue groups cross the link exactly once; interest follows
 * unsubscribe. Reported as ignored when nats-server is not installed.
 */
import { missing } from "./helpers/requires.ts";
import {
  checkDirection,
  checkQueue,
  checkUnsubscribe,
  client,
  hubConf,
  type Kind,
  leafConf,
  startNode,
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
