/**
 * Loop detection: two servers that are each other's leaf (A dials B, B dials
 * A) see their own `$LDS.` subject come back, report
 * `Loop detected for leafnode account="$G"` and drop the link it came over, with
 * nats-server on the other side and between two dnatsd. Reported as ignored
 * when nats-server is not installed (the nats-server case).
 */
import { equal } from "node:assert/strict";
import { missing } from "./helpers/requires.ts";
import { waitFor } from "./helpers/server.ts";
import { type Kind, type Node, startNode } from "./leaf_helpers.ts";

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const LOOP = /Loop detected for leafnode account="\$G"\. Delaying attempt to reconnect for 30s/;

async function leafCount(n: Node): Promise<number> {
  return (await (await fetch(`http://127.0.0.1:${n.httpPort}/varz`)).json()).leafnodes;
}

/**
 * Starts the two servers on ports picked in advance (each must name the other's).
 * Another test in the parallel suite can take such a port before the server binds
 * it; that start is retried on new ports, and any other failure is thrown.
 */
async function startPair(other: Kind): Promise<[Node, Node]> {
  const conf = (own: number, peer: number) =>
    `leafnodes { listen: 127.0.0.1:${own}, remotes [ { url: "nats-leaf://127.0.0.1:${peer}" } ] }`;
  for (let attempt = 1;; attempt++) {
    const [pa, pb] = [freePort(), freePort()];
    const started: Node[] = [];
    try {
      started.push(await startNode("dnatsd", conf(pa, pb)));
      started.push(await startNode(other, conf(pb, pa)));
      return [started[0], started[1]];
    } catch (e) {
      for (const n of started) await n.proc.stop();
      if (attempt === 3 || !/address already in use/.test(String(e))) throw e;
    }
  }
}

async function loop(other: Kind) {
  const [a, b] = await startPair(other);
  try {
    // Whichever side sees its own subject first reports it; both end up told.
    await waitFor(() => LOOP.test(a.proc.logs.text) && LOOP.test(b.proc.logs.text), 15_000, "loop");
    // The link it came over is dropped (and redialed only after 30 s): the loop is broken.
    await waitFor(
      async () => (await leafCount(a)) <= 1 && (await leafCount(b)) <= 1,
      10_000,
      "loop broken",
    );
    equal((await leafCount(a)) <= 1, true);
  } finally {
    await b.proc.stop();
    await a.proc.stop();
  }
}

Deno.test({
  name: "leaf loop: dnatsd and nats-server as each other's leaf",
  ignore: missing("nats-server"),
  fn: () => loop("nats-server"),
});

Deno.test({
  name: "leaf loop: two dnatsd as each other's leaf",
  fn: () => loop("dnatsd"),
});
