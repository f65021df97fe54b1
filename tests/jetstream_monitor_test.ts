// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * JetStream in monitoring: /varz `jetstream` and /jsz give nats-server's
 * fields and figures for the same configuration and the same traffic
 * (store directories differ by nature and are compared by suffix).
 */
import { deepStrictEqual as assertEquals, equal } from "node:assert/strict";
import { connect } from "npm:@nats-io/transport-node@3.4.0";
import { missing } from "./helpers/requires.ts";
import { ServerProcess } from "./helpers/server.ts";

async function observe(reference: boolean): Promise<{ varz: unknown; jsz: unknown; log: string }> {
  const dir = await Deno.makeTempDir({ prefix: "js-mon-" });
  const server = await ServerProcess.start({
    reference,
    args: ["-m", "-1"],
    config: `jetstream {
      store_dir: "${dir}"
      max_memory_store: 1073741824
      max_file_store: "2G"
      domain: hub
    }`,
  });
  try {
    const port = Number(/Starting http monitor on [^:]+:(\d+)/.exec(server.logs.text)![1]);
    const nc = await connect({ servers: server.url });
    const enc = new TextEncoder();
    await nc.request(
      "$JS.API.STREAM.CREATE.S",
      enc.encode('{"name":"S","storage":"memory","subjects":["s.>"]}'),
    );
    for (let i = 0; i < 3; i++) await nc.request("s.x", enc.encode("hello"));
    await nc.request("$JS.API.STREAM.INFO.NOPE");
    await nc.close();
    const get = async (path: string) => {
      const r = await fetch(`http://127.0.0.1:${port}${path}`);
      return await r.json();
    };
    const varz = (await get("/varz")).jetstream;
    const jsz = await get("/jsz");
    for (const o of [varz.config, jsz.config]) {
      equal(o.store_dir, `${dir}/jetstream`);
      o.store_dir = "<dir>/jetstream";
    }
    delete jsz.server_id;
    delete jsz.now;
    return { varz, jsz, log: server.logs.text };
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name: "jetstream monitoring: /varz jetstream and /jsz as nats-server",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  fn: async () => {
    const ref = await observe(true);
    const ours = await observe(false);
    assertEquals(ours.varz, ref.varz);
    assertEquals(ours.jsz, ref.jsz);
    // The start-up banner's figures, as nats-server prints them.
    for (
      const line of ["Max Memory:      1.00 GB", "Max Storage:     2.00 GB", "Domain:          hub"]
    ) {
      equal(ref.log.includes(line), true, line);
      equal(ours.log.includes(line), true, line);
    }
  },
});

Deno.test({
  name: "jetstream monitoring: /varz jetstream is {} and /jsz disabled without -js",
  fn: async () => {
    const server = await ServerProcess.start({ args: ["-m", "-1"] });
    try {
      const port = Number(/Starting http monitor on [^:]+:(\d+)/.exec(server.logs.text)![1]);
      const varz = await (await fetch(`http://127.0.0.1:${port}/varz`)).json();
      assertEquals(varz.jetstream, {});
      const jsz = await (await fetch(`http://127.0.0.1:${port}/jsz`)).json();
      equal(jsz.disabled, true);
    } finally {
      await server.stop();
    }
  },
});
