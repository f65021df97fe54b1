/**
 * Flow control: a healthy subscriber (or route) slower than its publisher
 * slows the publisher down and loses nothing; a consumer that stops reading
 * is still cut, and its publisher is never frozen. Each scenario runs on
 * dnatsd and, as the oracle, on Debian's nats-server with the same input.
 *
 * The load runs in a separate process (tools/bench/slow_reader.ts) so this
 * test runner's event loop is not part of the measurement.
 *
 * @module
 */
import { equal as assertEquals, ok as assert } from "node:assert/strict";
import { ServerProcess, waitFor } from "./helpers/server.ts";
import { RawClient } from "./helpers/raw.ts";
import { missing } from "./helpers/requires.ts";
import type { SlowReaderResult } from "../tools/bench/slow_reader.ts";

const SLOW_READER = new URL("../tools/bench/slow_reader.ts", import.meta.url).pathname;

async function slowReader(
  args: Record<string, number>,
  observer = false,
): Promise<SlowReaderResult> {
  const argv = ["run", "-A", "--no-check", SLOW_READER];
  for (const [k, v] of Object.entries(args)) argv.push(`--${k}`, String(v));
  if (observer) argv.push("--observer");
  const out = await new Deno.Command(Deno.execPath(), { args: argv, stderr: "inherit" }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert(out.success, `slow reader failed: ${text}`);
  return JSON.parse(text.split("\n").at(-1)!) as SlowReaderResult;
}

const CLUSTER_CONF = `cluster { name: flow, listen: "127.0.0.1:-1" }\n`;

/** A node of a two-node cluster; the second one routes to the first. */
async function clusterNode(reference: boolean, seedRoutePort?: number): Promise<ServerProcess> {
  const routes = seedRoutePort === undefined
    ? ""
    : `cluster { name: flow, listen: "127.0.0.1:-1", routes: ["nats-route://127.0.0.1:${seedRoutePort}"] }\n`;
  return await ServerProcess.start({ reference, config: routes || CLUSTER_CONF });
}

async function routePort(server: ServerProcess): Promise<number> {
  const re = /Listening for route connections on \S+:(\d+)/;
  await server.waitForLog(re, 10_000);
  const m = re.exec(server.logs.text);
  if (m === null) throw new Error(`no route listener in:\n${server.logs.text}`);
  return Number(m[1]);
}

async function twoNodes(
  kinds: [boolean, boolean],
): Promise<[ServerProcess, ServerProcess]> {
  const a = await clusterNode(kinds[0]);
  const b = await clusterNode(kinds[1], await routePort(a));
  await waitFor(
    () =>
      /Route connection created/.test(a.logs.text) && /Route connection created/.test(b.logs.text),
    10_000,
    "route between the two nodes",
  );
  return [a, b];
}

function name(reference: boolean): string {
  return reference ? "nats-server" : "dnatsd";
}

const FLOOD = { count: 150_000, size: 1024 };

function assertNothingLost(r: SlowReaderResult, what: string, count = FLOOD.count): void {
  const summary = `${what}: ${JSON.stringify(r)}`;
  assertEquals(r.subscriberCut, false, summary);
  assertEquals(r.lost, 0, summary);
  assertEquals(r.duplicates, 0, summary);
  assertEquals(r.received, count, summary);
  if (r.observer) assertEquals(r.observer.lost, 0, summary);
}

for (const reference of [false, true]) {
  for (const mbps of [60, 150]) {
    Deno.test({
      name: `flow control (${
        name(reference)
      }): a 1 KB flood to a subscriber reading ${mbps} MB/s loses nothing`,
      ignore: reference && missing("nats-server"),
      async fn() {
        const server = await ServerProcess.start({ reference });
        try {
          // Enough messages that the publisher outruns even the faster reader by max_pending.
          const count = mbps * 5000;
          const r = await slowReader(
            { port: server.port, ...FLOOD, count, "read-mbps": mbps },
            true,
          );
          console.log(`${name(reference)} ${mbps} MB/s reader: ${Math.round(r.rate)} msgs/s`);
          assertNothingLost(r, name(reference), count);
          assert(!/Slow Consumer/.test(server.logs.text), server.logs.text);
        } finally {
          await server.stop();
        }
      },
    });
  }
}

// Publisher on the first node, subscriber on the second: the route must never be cut.
// nats-server -> nats-server is left out: on this machine nats-server itself cut
// the reader on the receiving node in some runs (96,732 of 150,000 lost in one).
for (const kinds of [[false, false], [true, false], [false, true]] as const) {
  const label = `${name(kinds[0])} -> ${name(kinds[1])}`;
  Deno.test({
    name: `flow control (${label}): a 1 KB flood across a route to a slower reader loses nothing`,
    ignore: (kinds[0] || kinds[1]) && missing("nats-server"),
    async fn() {
      const [a, b] = await twoNodes([kinds[0], kinds[1]]);
      try {
        const r = await slowReader(
          { "pub-port": a.port, "sub-port": b.port, ...FLOOD, "read-mbps": 60 },
          true,
        );
        console.log(`${label} route, 60 MB/s reader: ${Math.round(r.rate)} msgs/s`);
        // dnatsd publishing node: the route is never cut, whoever receives.
        if (!kinds[0]) assert(!/Slow Consumer/.test(a.logs.text), `slow consumer:\n${a.logs.text}`);
        const receiverCutItsOwnReader = kinds[1] && r.subscriberCut &&
          /cid:\d+ - (?:"[^"]*" - )?Slow Consumer Detected/.test(b.logs.text);
        if (receiverCutItsOwnReader) {
          // nats-server's receiving node does not slow a route for its readers;
          // that is its behaviour, not a loss on dnatsd's side of the route.
          console.log(`nats-server cut its own reader: ${JSON.stringify(r)}`);
          return;
        }
        assertNothingLost(r, label);
        assert(!/Slow Consumer/.test(b.logs.text), `slow consumer:\n${b.logs.text}`);
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    },
  });
}

for (const reference of [false, true]) {
  Deno.test({
    name: `flow control (${
      name(reference)
    }): a consumer that stops reading is cut and its publisher goes on`,
    ignore: reference && missing("nats-server"),
    async fn() {
      // A small max_pending keeps the run short; the stall schedule scales with it.
      const server = await ServerProcess.start({
        reference,
        config: "max_pending: 2MB\n",
        args: ["-D"],
      });
      const stuck = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      const pub = await RawClient.connect(server.port);
      try {
        // The stuck subscriber never reads after subscribing.
        await stuck.write(new TextEncoder().encode('CONNECT {"verbose":false}\r\nSUB s 1\r\n'));
        await pub.send('CONNECT {"verbose":false}\r\nPING\r\n');
        await pub.expect(/PONG\r\n/);
        const payload = "x".repeat(1024);
        const batch = `PUB s 1024\r\n${payload}\r\n`.repeat(256);
        const start = performance.now();
        let pongs = 1;
        // Publish until the server cuts the stuck reader; each round ends with a
        // PING whose PONG shows the publisher is still served.
        await waitFor(
          async () => {
            await pub.send(batch);
            await pub.send("PING\r\n");
            pongs++;
            await waitFor(
              () => (pub.received.match(/PONG\r\n/g)?.length ?? 0) >= pongs,
              5000,
              "PONG while the consumer is stuck",
            );
            return /Slow Consumer Detected/.test(server.logs.text);
          },
          30_000,
          "the stuck consumer to be cut",
        );
        const seconds = (performance.now() - start) / 1000;
        console.log(`${name(reference)}: stuck consumer cut after ${seconds.toFixed(1)} s`);
        assert(!pub.closed, "the publisher must stay connected");
        await server.waitForLog(/Timed out of fast producer stall \(\d+m?s\)/, 5000);
      } finally {
        try {
          stuck.close();
        } catch { /* closed by the server */ }
        pub.conn.close();
        await server.stop();
      }
    },
  });
}

Deno.test("flow control: a stuck reader behind a route is cut; the route and a bystander lose nothing", async () => {
  const [a, b] = await twoNodes([false, false]);
  const stuck = await Deno.connect({ hostname: "127.0.0.1", port: b.port });
  try {
    await stuck.write(new TextEncoder().encode('CONNECT {"verbose":false}\r\nSUB flood 1\r\n'));
    // The flood reaches the stuck reader and a steady one; the bystander subject is separate.
    const r = await slowReader(
      { "pub-port": a.port, "sub-port": b.port, ...FLOOD, "read-mbps": 150 },
      true,
    );
    console.log(`route with a stuck reader on the far side: ${JSON.stringify(r)}`);
    assertNothingLost(r, "steady reader and bystander");
    await b.waitForLog(/cid:\d+ - Slow Consumer Detected/, 30_000);
    assert(!/rid:\d+ - Slow Consumer/.test(a.logs.text + b.logs.text), "a route was cut");
    assert(!/Router connection closed/.test(a.logs.text + b.logs.text), "a route closed");
  } finally {
    try {
      stuck.close();
    } catch { /* closed by the server */ }
    await Promise.all([a.stop(), b.stop()]);
  }
});
