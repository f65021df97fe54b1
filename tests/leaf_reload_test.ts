/**
 * A config reload does not touch leaf nodes: a changed `leafnodes` block is
 * refused with `config reload not supported for LeafNode`, the old settings
 * stay and the leaf link stays up.
 */
import { equal, match } from "node:assert/strict";
import { hubConf, leafConf, type Node, startNode, waitLeafCount } from "./leaf_helpers.ts";

Deno.test("leaf reload: a changed leafnodes block is refused, the link stays", async () => {
  const nodes: Node[] = [];
  try {
    const hub = await startNode("dnatsd", hubConf());
    nodes.push(hub);
    const leaf = await startNode("dnatsd", leafConf(hub.leafPort));
    nodes.push(leaf);
    await waitLeafCount(hub, 1);
    const file = leaf.proc.configFile!;
    await Deno.writeTextFile(
      file,
      (await Deno.readTextFile(file)).replace("reconnect: 1", "reconnect: 5"),
    );
    leaf.proc.signal("SIGHUP");
    await leaf.proc.waitForLog(/config reload not supported for LeafNode/, 10_000);
    match(
      leaf.proc.logs.text,
      /config reload not supported for LeafNode: old=.*"reconnectMs":1000/,
    );
    const v = await (await fetch(`http://127.0.0.1:${leaf.httpPort}/varz`)).json();
    equal(v.leafnodes, 1);
  } finally {
    for (const n of nodes.reverse()) await n.proc.stop();
  }
});
