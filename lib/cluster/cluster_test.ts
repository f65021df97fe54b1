import { equal, ok } from "node:assert/strict";
import { defaultOptions, type Options } from "../config/options.ts";
import { MemoryLogger } from "../ops/logger.ts";
import { Server } from "../server.ts";
import type { Cluster } from "./cluster.ts";

/** An in-process server with a cluster port; `routes` are dialed at start. */
async function node(name: string, routes: string[] = []): Promise<Server> {
  const o: Options = { ...defaultOptions(), host: "127.0.0.1", port: -1, serverName: name };
  o.cluster = {
    host: "127.0.0.1",
    port: -1,
    routes,
    name: "unit",
    noAdvertise: false,
    connectRetries: 0,
  };
  const server = new Server(o, new MemoryLogger());
  await server.start();
  return server;
}

function cluster(s: Server): Cluster {
  // The concrete class behind ClusterHandle: the test looks at its routes.
  return s.cluster as Cluster;
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 8000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("Cluster: a seed and two nodes form a full mesh by gossip and learn each other's client URLs", async () => {
  const seed = await node("seed");
  const url = `nats-route://127.0.0.1:${seed.cluster!.port}`;
  const a = await node("a", [url]);
  const b = await node("b", [url]);
  const all = [seed, a, b];
  try {
    await until(() => all.every((s) => cluster(s).numRoutes === 2), "a full mesh");
    for (const s of all) {
      const peers = new Set(cluster(s).remotes());
      for (const other of all) if (other !== s) ok(peers.has(other.serverId));
      // connect_urls: our own URL first, then the two peers'.
      equal(s.connectUrls().length, 3);
    }
  } finally {
    await Promise.all(all.map((s) => s.shutdown()));
  }
});

Deno.test("Cluster: the same route dialed twice ends as one route per pair", async () => {
  const a = await node("a");
  const url = `nats-route://127.0.0.1:${a.cluster!.port}`;
  const b = await node("b", [url, url.replace("127.0.0.1", "localhost")]);
  try {
    await until(() => cluster(a).numRoutes === 1 && cluster(b).numRoutes === 1, "one route");
    // Stable: a second connection, if one was made, was resolved as a duplicate.
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 10));
      equal(cluster(a).routes().length, 1);
      equal(cluster(b).routes().length, 1);
    }
  } finally {
    await Promise.all([a.shutdown(), b.shutdown()]);
  }
});
