// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * JetStream subjects across a leaf link, side by side with nats-server 2.9:
 * on a link bound to an account other than the system account, `$JS.API.>`,
 * `$KV.>` and `$OBJ.>` cross in neither direction (messages or interest),
 * whether or not JetStream is on, while other subjects do; with JetStream on
 * both sides and no domain a leaf's client gets its own server's JetStream
 * only. The notice each side logs is nats-server's.
 */
import type { NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { deepStrictEqual, ok } from "node:assert/strict";
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

const enc = new TextEncoder();
const dec = new TextDecoder();
const SUBJECTS = ["$JS.API.X.1", "$KV.b.k", "$OBJ.b.o", "plain.1"];

/** The deny notices of a server's log, without time, pid and address. */
function denyLines(n: Node): string[] {
  return n.proc.logs.text.split("\n").filter((l) => l.includes("deny ["))
    .map((l) => l.replace(/^.*? - lid:\d+ - /, ""));
}

/** What each side's subscribers got of the other side's (and their own) publishes. */
async function traffic(hub: NatsConnection, leaf: NatsConnection): Promise<string[]> {
  const got: string[] = [];
  for (const [name, nc] of [["hub", hub], ["leaf", leaf]] as const) {
    for (const s of ["$JS.API.X.>", "$KV.b.>", "$OBJ.b.>", "plain.>"]) {
      nc.subscribe(s, {
        callback: (_e, m) => {
          got.push(`${name} got ${m.subject} ${dec.decode(m.data)}`);
        },
      });
    }
    await nc.flush();
  }
  // Interest crosses a link in order: past these barriers every subscription above has.
  await waitInterest(hub, leaf);
  await waitInterest(leaf, hub);
  for (const [name, nc] of [["hub", hub], ["leaf", leaf]] as const) {
    for (const s of SUBJECTS) nc.publish(s, enc.encode(`from ${name}`));
    await nc.flush();
  }
  // Messages cross in order too: past these, whatever was going to cross has.
  await waitInterest(hub, leaf);
  await waitInterest(leaf, hub);
  return got.sort();
}

async function scenario(kind: Kind, js: boolean): Promise<string[]> {
  const dirs: string[] = [];
  const jsConf = async () => {
    if (!js) return "";
    const d = await Deno.makeTempDir({ prefix: "leaf-js-" });
    dirs.push(d);
    return `jetstream { store_dir: "${d}" }\n`;
  };
  const hub = await startNode(kind, (await jsConf()) + hubConf());
  const leaf = await startNode(kind, leafConf(hub.leafPort, "", await jsConf()));
  const out: string[] = [];
  let hc: NatsConnection | null = null;
  let lc: NatsConnection | null = null;
  try {
    await waitLeafCount(hub, 1);
    hc = await client(hub);
    lc = await client(leaf);
    out.push(...await traffic(hc, lc));
    if (js) {
      for (const [nc, name] of [[hc, "HUB"], [lc, "LEAF"]] as const) {
        await nc.request(`$JS.API.STREAM.CREATE.${name}`, enc.encode(`{"name":"${name}"}`));
      }
      // Only the leaf's own JetStream answers its client.
      const names = await lc.request("$JS.API.STREAM.NAMES", undefined, { timeout: 2000 });
      out.push(`leaf names: ${JSON.parse(dec.decode(names.data)).streams}`);
      const hubNames = await hc.request("$JS.API.STREAM.NAMES", undefined, { timeout: 2000 });
      out.push(`hub names: ${JSON.parse(dec.decode(hubNames.data)).streams}`);
    }
    out.push(...denyLines(hub).map((l) => `hub log: ${l}`));
    out.push(...denyLines(leaf).map((l) => `leaf log: ${l}`));
  } finally {
    await hc?.close();
    await lc?.close();
    await leaf.proc.stop();
    await hub.proc.stop();
    for (const d of dirs) await Deno.remove(d, { recursive: true }).catch(() => {});
  }
  return out;
}

for (const js of [false, true]) {
  Deno.test({
    name: `leaf jetstream: $JS.API, $KV and $OBJ do not cross a link (JetStream ${
      js ? "on" : "off"
    })`,
    ignore: missing("nats-server"),
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const ref = await scenario("nats-server", js);
      const ours = await scenario("dnatsd", js);
      if (Deno.env.get("JS_TEST_DUMP")) console.log(JSON.stringify({ ref, ours }, null, 1));
      ok(ref.includes("hub got plain.1 from leaf"), "plain subjects cross");
      ok(!ref.includes("hub got $JS.API.X.1 from leaf"), "nats-server denies $JS.API");
      deepStrictEqual(ours, ref);
    },
  });
}
