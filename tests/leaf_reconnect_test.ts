// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * Leaf links come back after either side restarts, in both directions with
 * Debian's nats-server: the dialing side redials (reconnect interval 1 s) and
 * the interest of subscriptions made before the restart crosses again.
 * Reported as ignored when nats-server is not installed.
 */
import { deepStrictEqual } from "node:assert/strict";
import { waitFor } from "./helpers/server.ts";
import { missing } from "./helpers/requires.ts";
import {
  client,
  hubConf,
  type Kind,
  leafConf,
  type Node,
  startNode,
  waitInterest,
  waitLeafCount,
} from "./leaf_helpers.ts";
import type { NatsConnection } from "npm:@nats-io/transport-node@3.4.0";

const NO_NATS_SERVER = missing("nats-server");

/** `from` publishes; `got` (filled by a subscription made earlier) must get exactly these. */
async function deliver(
  from: NatsConnection,
  to: NatsConnection,
  got: string[],
  tag: string,
) {
  await waitInterest(from, to, 20_000);
  got.length = 0;
  for (let i = 0; i < 10; i++) from.publish(`r.${tag}`, `${tag}${i}`);
  await from.flush();
  await waitFor(() => got.length >= 10, 5000, `${tag}: 10 messages`);
  await waitInterest(from, to);
  deepStrictEqual(got, Array.from({ length: 10 }, (_, i) => `${tag}${i}`));
}

function collector(nc: NatsConnection): string[] {
  const got: string[] = [];
  nc.subscribe("r.>", {
    callback: (_e, m) => {
      got.push(m.string());
    },
  });
  return got;
}

async function restarts(hubKind: Kind, leafKind: Kind) {
  let hub = await startNode(hubKind, hubConf());
  const leafPort = hub.leafPort;
  let leaf: Node = await startNode(leafKind, leafConf(leafPort));
  const nodes = () => [hub, leaf];
  const conns: NatsConnection[] = [];
  try {
    await waitLeafCount(hub, 1);
    const lc = await client(leaf);
    conns.push(lc);
    const sub = collector(lc);
    let hc = await client(hub);
    conns.push(hc);
    await deliver(hc, lc, sub, "before");

    // The hub restarts on the same leaf port: the leaf redials and resends its interest.
    await hc.close();
    await hub.proc.stop();
    hub = await startNode(hubKind, hubConf().replace("127.0.0.1:-1", `127.0.0.1:${leafPort}`));
    await waitLeafCount(hub, 1, 20_000);
    hc = await client(hub);
    conns.push(hc);
    await deliver(hc, lc, sub, "hubrestart");

    // The leaf restarts: the hub takes the new connection and sends its interest again.
    const hsub = collector(hc);
    await lc.close();
    await leaf.proc.stop();
    leaf = await startNode(leafKind, leafConf(leafPort));
    await waitLeafCount(hub, 1, 20_000);
    const lc2 = await client(leaf);
    conns.push(lc2);
    await deliver(lc2, hc, hsub, "leafrestart");
  } finally {
    for (const c of conns) await c.close().catch(() => {});
    for (const n of nodes()) await n.proc.stop();
  }
}

Deno.test({
  name: "leaf reconnect: nats-server leaf of a dnatsd hub, each side restarted",
  ignore: NO_NATS_SERVER,
  fn: () => restarts("dnatsd", "nats-server"),
});

Deno.test({
  name: "leaf reconnect: dnatsd leaf of a nats-server hub, each side restarted",
  ignore: NO_NATS_SERVER,
  fn: () => restarts("nats-server", "dnatsd"),
});
