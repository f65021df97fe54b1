/**
 * Idle connections: the server's RSS growth per connected, handshaken client
 * that does nothing afterwards.
 *
 * @module
 */
import { closeQuietly, type RawClient, rawConnect } from "./raw.ts";
import { atMost, type Measured } from "./report.ts";
import type { RunningServer } from "./servers.ts";
import { type BenchContext, n, withServer, type Workload } from "./workload.ts";

const WANTED = 5000;
/** Handshakes in flight at once: fast, without a SYN flood against the backlog. */
const CONCURRENCY = 100;
/** File descriptors the bench keeps for itself beyond the connections. */
const FD_RESERVE = 200;

/** How many connections this process can open. */
export function idleConnectionCount(ctx: BenchContext): number {
  const want = ctx.quick ? 500 : WANTED;
  return Math.max(0, Math.min(want, ctx.fdLimit - FD_RESERVE));
}

/** Opens `count` clients, each with CONNECT + PING answered by PONG. */
async function openClients(port: number, count: number, into: RawClient[]): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) {
      next++;
      into.push(await rawConnect(port, { bufSize: 1024, timeoutMs: 30_000 }));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
}

/**
 * RSS once it stops moving: reads every 200 ms until two readings agree within
 * 1% (the server may still be allocating for the last connections), at most 4 s.
 */
async function settledRss(server: RunningServer): Promise<number> {
  const deadline = performance.now() + 4000;
  let prev = await server.rssKiB();
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const cur = await server.rssKiB();
    if (Math.abs(cur - prev) <= prev * 0.01) return cur;
    prev = cur;
  }
  return prev;
}

/** RSS delta per idle connection. */
export const idleConns: Workload = {
  name: "idle",
  figures: [{
    id: "idle",
    label: "idle conn RSS delta per conn",
    format: "kib",
    target: atMost(40, "KiB"),
  }],
  run: (spec, ctx) =>
    withServer(spec, {}, async (server) => {
      const count = idleConnectionCount(ctx);
      if (count < 100) {
        return new Map<string, Measured>([["idle", { na: `fd limit ${ctx.fdLimit} too low` }]]);
      }
      const clients: RawClient[] = [];
      try {
        // Warm-up: the first connections load code paths and pools that are not per connection.
        await openClients(server.port, 50, clients);
        for (const c of clients.splice(0)) closeQuietly(c.conn);
        const before = await settledRss(server);
        await openClients(server.port, count, clients);
        const after = await settledRss(server);
        const per = (after - before) / count;
        return new Map<string, Measured>([["idle", {
          value: per,
          note: `${n(count)} conns: RSS ${(before / 1024).toFixed(1)} -> ${
            (after / 1024).toFixed(1)
          } MiB`,
        }]]);
      } finally {
        for (const c of clients) closeQuietly(c.conn);
      }
    }),
};
