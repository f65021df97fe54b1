/**
 * Idle connections: the server's RSS growth per connected, handshaken client
 * that does nothing afterwards.
 *
 * @module
 */
import { closeQuietly, type RawClient, rawConnect } from "./raw.ts";
import { atMost, type Measured, ratioAtMost } from "./report.ts";
import type { RunningServer } from "./servers.ts";
import { type BenchContext, n, scaled, withServer, type Workload } from "./workload.ts";

const WANTED = 5000;
/** The peak-RSS scenario of idle connections is read when this many are open. */
const PEAK_AT = 3000;
/** Handshakes in flight at once: fast, without a SYN flood against the backlog. */
const CONCURRENCY = 100;
/** File descriptors the bench keeps for itself beyond the connections. */
const FD_RESERVE = 200;

/** How many connections this process can open. */
export function idleConnectionCount(ctx: BenchContext): number {
  const want = scaled(ctx, WANTED, 500, 150);
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

/**
 * Idle process RSS (settled, right after start, no client), the RSS delta per
 * idle connection (5,000), and the peak RSS once 3,000 are open (VmHWM: it
 * includes the cost of accepting them).
 */
export const idleConns: Workload = {
  name: "idle",
  figures: [
    {
      id: "idle.rss",
      label: "idle process RSS",
      format: "mib",
      target: atMost(30 * 1024, "MiB", 30),
    },
    {
      id: "idle",
      label: "RSS per idle connection (5,000)",
      format: "kib",
      target: ratioAtMost(1),
    },
    {
      id: "idle.peak3k",
      label: "peak RSS: 3,000 idle connections",
      format: "mib",
      target: ratioAtMost(2),
    },
  ],
  run: (spec, ctx) =>
    withServer(spec, {}, async (server) => {
      const out = new Map<string, Measured>();
      const fresh = await settledRss(server);
      out.set("idle.rss", { value: fresh, note: `${(fresh / 1024).toFixed(1)} MiB after start` });
      const count = idleConnectionCount(ctx);
      if (count < 100) {
        const na = { na: `fd limit ${ctx.fdLimit} too low` };
        out.set("idle", na);
        out.set("idle.peak3k", na);
        return out;
      }
      const clients: RawClient[] = [];
      try {
        // Warm-up: the first connections load code paths and pools that are not per connection.
        await openClients(server.port, 50, clients);
        for (const c of clients.splice(0)) closeQuietly(c.conn);
        const before = await settledRss(server);
        const first = Math.min(count, Math.round(PEAK_AT * count / WANTED));
        await openClients(server.port, first, clients);
        await settledRss(server);
        const peak = await server.peakRssKiB();
        out.set(
          "idle.peak3k",
          peak === undefined ? { na: "no VmHWM" } : {
            value: peak,
            note: `VmHWM with ${n(first)} idle conns open`,
          },
        );
        await openClients(server.port, count - first, clients);
        const after = await settledRss(server);
        const per = (after - before) / count;
        out.set("idle", {
          value: per,
          note: `${n(count)} conns: RSS ${(before / 1024).toFixed(1)} -> ${
            (after / 1024).toFixed(1)
          } MiB`,
        });
        return out;
      } finally {
        for (const c of clients) closeQuietly(c.conn);
      }
    }),
};
