/**
 * Hostile peers on both ends of a leaf link. The leaf port of a dnatsd hub
 * keeps working through connections closed at once, silent peers (closed by
 * the authentication timeout) and garbage; a dnatsd leaf whose "hub" stays
 * silent or answers from another kind of port gives up on that connection
 * (nats-server's `attempted to connect to wrong port`) and dials again.
 */
import { equal, match } from "node:assert/strict";
import { waitFor } from "./helpers/server.ts";
import { missing } from "./helpers/requires.ts";
import {
  checkDirection,
  client,
  hubConf,
  leafConf,
  type Node,
  startNode,
  waitLeafCount,
} from "./leaf_helpers.ts";

Deno.test({
  name: "leaf fault: the leaf port survives resets, silence and garbage, then takes a real leaf",
  ignore: missing("nats-server"),
  fn: async () => {
    const nodes: Node[] = [];
    const open: Deno.Conn[] = [];
    try {
      const hub = await startNode("dnatsd", hubConf("authorization { timeout: 1 }"));
      nodes.push(hub);
      const port = hub.leafPort;
      for (let i = 0; i < 30; i++) {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      }
      const enc = new TextEncoder();
      for (let i = 0; i < 5; i++) open.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      for (let i = 0; i < 5; i++) {
        const c = await Deno.connect({ hostname: "127.0.0.1", port });
        open.push(c);
        const junk = crypto.getRandomValues(new Uint8Array(4096));
        await c.write(junk).catch(() => 0);
      }
      await c0Write(open[0], enc.encode("CONNECT {not json\r\n"));
      // The silent ones are cut by the authentication timeout (1 s).
      await hub.proc.waitForLog(/Authentication Timeout/, 10_000);
      const leaf = await startNode("nats-server", leafConf(port));
      nodes.push(leaf);
      await waitLeafCount(hub, 1);
      const [h, l] = [await client(hub), await client(leaf)];
      try {
        await checkDirection(l, h, "fault");
      } finally {
        await h.close();
        await l.close();
      }
    } finally {
      for (const c of open) {
        try {
          c.close();
        } catch { /* closed by the server */ }
      }
      for (const n of nodes.reverse()) await n.proc.stop();
    }
  },
});

async function c0Write(c: Deno.Conn, bytes: Uint8Array): Promise<void> {
  await c.write(bytes).catch(() => 0);
}

Deno.test("leaf fault: a silent hub and a wrong port make a dnatsd leaf dial again", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const accepted: Deno.Conn[] = [];
  const acceptLoop = (async () => {
    for await (const c of listener) {
      accepted.push(c);
      // Every other connection answers like a client port: INFO without client_id/leafnode_urls.
      if (accepted.length % 2 === 0) {
        await c.write(new TextEncoder().encode('INFO {"server_id":"X","proto":1} \r\n'))
          .catch(() => 0);
      }
    }
  })().catch(() => {});
  const leaf = await startNode("dnatsd", leafConf(port));
  try {
    await waitFor(() => accepted.length >= 3, 15_000, "three dial attempts");
    await leaf.proc.waitForLog(/attempted to connect to wrong port/, 10_000);
    match(leaf.proc.logs.text, /Leafnode connection closed: Incorrect Port/);
    const v = await (await fetch(`http://127.0.0.1:${leaf.httpPort}/varz`)).json();
    equal(v.leafnodes, 0);
  } finally {
    await leaf.proc.stop();
    listener.close();
    for (const c of accepted) {
      try {
        c.close();
      } catch { /* closed by the leaf */ }
    }
    await acceptLoop;
  }
});
