/**
 * Client INFO `connect_urls` as nats-server 2.9 sends it: absent on a lone
 * cluster node, own URL then the peers' once a peer is known, and absent on a
 * node with `no_advertise` (which its peers do not list either).
 *
 * @module
 */
import { deepStrictEqual } from "node:assert/strict";
import { ServerProcess, waitFor } from "./helpers/server.ts";
import { RawClient } from "./helpers/raw.ts";
import { missing } from "./helpers/requires.ts";

async function routePort(s: ServerProcess): Promise<number> {
  const re = /Listening for route connections on \S+:(\d+)/;
  await s.waitForLog(re, 10_000);
  return Number(re.exec(s.logs.text)![1]);
}

/** The connect_urls of a fresh client's INFO, as ports ("self" for the server's own). */
async function connectUrls(s: ServerProcess, names: Map<number, string>): Promise<string[] | null> {
  const c = await RawClient.connect(s.port);
  try {
    const m = await c.expect(/^INFO (\{.*\}) \r\n/);
    const urls = JSON.parse(m[1]).connect_urls as string[] | undefined;
    if (urls === undefined) return null;
    return urls.map((u) => names.get(Number(u.split(":").at(-1))) ?? u);
  } finally {
    c.conn.close();
  }
}

async function scenario(reference: boolean): Promise<Record<string, (string[] | null)[]>> {
  const cluster = (extra = "") => `cluster { name: c, listen: "127.0.0.1:-1"${extra} }\n`;
  const a = await ServerProcess.start({ reference, config: cluster() });
  const seen: Record<string, (string[] | null)[]> = {};
  const started = [a];
  try {
    const names = new Map([[a.port, "A"]]);
    seen.alone = [await connectUrls(a, names)];
    const route = `, routes: ["nats-route://127.0.0.1:${await routePort(a)}"]`;
    const b = await ServerProcess.start({ reference, config: cluster(route) });
    started.push(b);
    const c = await ServerProcess.start({
      reference,
      config: cluster(`${route}, no_advertise: true`),
    });
    started.push(c);
    names.set(b.port, "B").set(c.port, "C");
    // B's URL reaches A through the route; C never advertises itself.
    await waitFor(
      async () => (await connectUrls(a, names))?.includes("B") ?? false,
      10_000,
      "B on A",
    );
    await waitFor(
      async () =>
        (await connectUrls(c, names)) !== null || /Route connection created/.test(c.logs.text),
      10_000,
      "C's route",
    );
    seen.meshed = [
      await connectUrls(a, names),
      await connectUrls(b, names),
      await connectUrls(c, names),
    ];
  } finally {
    await Promise.all(started.map((s) => s.stop()));
  }
  return seen;
}

Deno.test({
  name:
    "client INFO connect_urls: absent alone and with no_advertise, own URL first otherwise (as nats-server)",
  ignore: missing("nats-server"),
  async fn() {
    const theirs = await scenario(true);
    const ours = await scenario(false);
    deepStrictEqual(ours, theirs);
    deepStrictEqual(ours, { alone: [null], meshed: [["A", "B"], ["B", "A"], null] });
  },
});
