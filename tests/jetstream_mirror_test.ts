// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * Mirrors and sources on one server, side by side with nats-server -js: a
 * mirror copies its origin (messages stored before it was created too, at the
 * origin's sequences, gaps kept), with a start sequence or a filter; sources
 * copy into a stream of their own with the `Nats-Stream-Source` header; a
 * mirror of a stream created later starts once it exists; `STREAM.INFO`
 * shows `mirror`/`sources` with their lag; nats-server's configuration errors;
 * after a restart (kill -9 for dnatsd) the mirror catches up. Times and the
 * `active` durations are masked.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { connect, headers, type NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { missing } from "./helpers/requires.ts";
import { ServerProcess } from "./helpers/server.ts";
import { normalise } from "./jetstream/helpers.ts";

type Step =
  | { req: string; body?: string }
  | { pub: string; body: string; id?: string }
  | { wait: string; lastSeq: number };

const enc = new TextEncoder();
const dec = new TextDecoder();

function mask(text: string): string {
  return normalise(text).replace(/"active":(\d+)/g, '"active":"A"');
}

async function run(nc: NatsConnection, steps: Step[], out: string[]): Promise<void> {
  for (const s of steps) {
    if ("req" in s) {
      const r = await nc.request(s.req, enc.encode(s.body ?? ""), { timeout: 2000 })
        .then((m) => mask(dec.decode(m.data)), (e) => `error: ${(e as Error).message}`);
      out.push(`REQ ${s.req} ${s.body ?? ""} -> ${r}`);
    } else if ("pub" in s) {
      const h = headers();
      if (s.id) h.set("Nats-Msg-Id", s.id);
      const r = await nc.request(s.pub, enc.encode(s.body), {
        timeout: 2000,
        ...(s.id ? { headers: h } : {}),
      }).then((m) => dec.decode(m.data), (e) => `error: ${(e as Error).message}`);
      out.push(`PUB ${s.pub} -> ${r}`);
    } else {
      // Polls the stream until it holds lastSeq (a mirror follows on its own time).
      const deadline = Date.now() + 8000;
      let last = -1;
      while (Date.now() < deadline) {
        const r = await nc.request(`$JS.API.STREAM.INFO.${s.wait}`, undefined, { timeout: 2000 });
        const info = JSON.parse(dec.decode(r.data));
        last = info.state?.last_seq ?? -1;
        const lag = info.mirror?.lag ?? info.sources?.[0]?.lag ?? 0;
        if (last >= s.lastSeq && lag === 0) break;
        await new Promise((res) => setTimeout(res, 25));
      }
      out.push(`WAIT ${s.wait} ${s.lastSeq}: ${last >= s.lastSeq ? "ok" : `stuck at ${last}`}`);
    }
  }
}

const create = (name: string, cfg: string): Step => ({
  req: `$JS.API.STREAM.CREATE.${name}`,
  body: `{"name":"${name}"${cfg ? "," + cfg : ""}}`,
});
const info = (name: string): Step => ({ req: `$JS.API.STREAM.INFO.${name}` });
const get = (name: string, seq: number): Step => ({
  req: `$JS.API.STREAM.MSG.GET.${name}`,
  body: `{"seq":${seq}}`,
});

const BEFORE: Step[] = [
  create("O", '"subjects":["o.>"]'),
  { pub: "o.a", body: "1", id: "m1" },
  { pub: "o.b", body: "2" },
  { pub: "o.a", body: "3" },
  { req: "$JS.API.STREAM.MSG.DELETE.O", body: '{"seq":2}' },
  create("M", '"mirror":{"name":"O"}'),
  { wait: "M", lastSeq: 3 },
  info("M"),
  get("M", 1),
  get("M", 3),
  { pub: "o.c", body: "4" },
  { wait: "M", lastSeq: 4 },
  info("M"),
  create("M2", '"storage":"memory","mirror":{"name":"O","opt_start_seq":3}'),
  { wait: "M2", lastSeq: 4 },
  info("M2"),
  create("MT", '"storage":"memory","mirror":{"name":"O","opt_start_time":"2001-02-03T04:05:06Z"}'),
  { wait: "MT", lastSeq: 4 },
  info("MT"),
  create("MF", '"mirror":{"name":"O","filter_subject":"o.a"}'),
  { wait: "MF", lastSeq: 3 },
  info("MF"),
  create("S", '"subjects":["s.>"],"sources":[{"name":"O","filter_subject":"o.a"}]'),
  { wait: "S", lastSeq: 2 },
  { pub: "s.x", body: "own" },
  { pub: "o.a", body: "x" },
  { wait: "S", lastSeq: 4 },
  info("S"),
  get("S", 1),
  get("S", 3),
  get("S", 4),
  // nats-server's cycle walk also refuses two paths to one stream.
  create("S2", '"sources":[{"name":"O"},{"name":"M2"}]'),
  // Configuration errors.
  create("E", '"subjects":["e"],"mirror":{"name":"O"}'),
  create("E", '"mirror":{"name":"O"},"sources":[{"name":"M"}]'),
  { req: "$JS.API.STREAM.UPDATE.O", body: '{"name":"O","subjects":["o.>"],"max_msg_size":100}' },
  create("E", '"mirror":{"name":"O"},"max_msg_size":10'),
  create("E", '"mirror":{"name":"O","filter_subject":"x.y"}'),
  create("E", '"sources":[{"name":"O","filter_subject":"x.y"}]'),
  { req: "$JS.API.STREAM.UPDATE.M", body: '{"name":"M","mirror":{"name":"M2"}}' },
  { req: "$JS.API.STREAM.UPDATE.M", body: '{"name":"M","mirror":{"name":"O"}}' },
  create("CA", '"subjects":["ca"],"sources":[{"name":"CB"}]'),
  create("CB", '"subjects":["cb"],"sources":[{"name":"CA"}]'),
  { pub: "M.x", body: "no stream" },
  // Consumers of a mirror filter on its origin's subjects.
  {
    req: "$JS.API.CONSUMER.DURABLE.CREATE.M.C",
    body: '{"stream_name":"M","config":{"durable_name":"C","filter_subject":"o.a"}}',
  },
  {
    req: "$JS.API.CONSUMER.DURABLE.CREATE.M.X",
    body: '{"stream_name":"M","config":{"durable_name":"X","filter_subject":"x.y"}}',
  },
  // A mirror of a stream that does not exist yet.
  create("ML", '"mirror":{"name":"LATER"}'),
  create("LATER", '"subjects":["later"]'),
  { pub: "later", body: "L1" },
  { wait: "ML", lastSeq: 1 },
  info("ML"),
  { req: "$JS.API.STREAM.LIST" },
];

const AFTER: Step[] = [
  { pub: "o.e", body: "6" },
  { pub: "o.a", body: "7" },
  { wait: "M", lastSeq: 7 },
  { wait: "S", lastSeq: 5 },
  info("M"),
  get("M", 6),
  info("S"),
  get("S", 5),
];

async function observe(reference: boolean): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "js-mirror-" });
  const out: string[] = [];
  try {
    for (const steps of [BEFORE, AFTER]) {
      const server = await ServerProcess.start({ reference, args: ["-js", "-sd", dir] });
      const nc = await connect({ servers: server.url });
      try {
        await run(nc, steps, out);
        out.push("--- restart");
      } finally {
        await nc.close();
        if (reference) await server.stop();
        else {
          server.child.kill("SIGKILL");
          await server.exited;
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return out;
}

Deno.test({
  name: "jetstream mirrors and sources: copies, info, errors and a restart as nats-server",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  fn: async () => {
    const ref = await observe(true);
    if (Deno.env.get("JS_TEST_DUMP")) console.log(JSON.stringify({ ref }, null, 1));
    const ours = await observe(false);
    if (Deno.env.get("JS_TEST_DUMP")) console.log(JSON.stringify({ ours }, null, 1));
    ok(!ref.some((l) => l.includes("stuck")), "nats-server caught up");
    for (let i = 0; i < ref.length; i++) deepStrictEqual(ours[i], ref[i], `line ${i}`);
    equal(ours.length, ref.length);
  },
});

Deno.test({
  name: "jetstream mirrors: a stream in another account or domain (external) is refused",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "js-mirror-ext-" });
    const server = await ServerProcess.start({ args: ["-js", "-sd", dir] });
    const nc = await connect({ servers: server.url });
    try {
      const out: string[] = [];
      await run(nc, [
        create("X", '"mirror":{"name":"O","external":{"api":"$JS.hub.API","deliver":""}}'),
        create("X", '"sources":[{"name":"O","external":{"api":"$JS.hub.API"}}]'),
      ], out);
      const refused = '{"type":"io.nats.jetstream.api.v1.stream_create_response","error":' +
        '{"code":500,"err_code":10052,"description":"a mirror or source in another account or ' +
        'domain (external) is not supported by dnatsd yet"}}';
      for (const line of out) equal(line.slice(line.indexOf("-> ") + 3), refused);
      equal(out.length, 2);
    } finally {
      await nc.close();
      await server.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

/** A direct get as text: the status or the data, and the headers nats-server adds. */
async function directGet(nc: NatsConnection, subject: string, body: string): Promise<string> {
  try {
    const m = await nc.request(subject, enc.encode(body), { timeout: 500 });
    const h = m.headers;
    const code = h?.code ? ` [${h.code} ${h.description}]` : "";
    const added = ["Nats-Stream", "Nats-Subject", "Nats-Sequence"]
      .map((k) => `${k}=${h?.get(k) ?? ""}`).join(",");
    return `${dec.decode(m.data)}${code} ${added}`;
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

async function mirrorDirect(reference: boolean): Promise<string[]> {
  const server = await ServerProcess.start({ reference, args: ["-js"] });
  const nc = await connect({ servers: server.url });
  const out: string[] = [];
  try {
    await run(nc, [
      create("O", '"subjects":["o.>"],"storage":"memory","allow_direct":true'),
      { pub: "o.a", body: "1" },
      { pub: "o.b", body: "2" },
      // mirror_direct comes from the origin's allow_direct, whatever is asked.
      create("M", '"storage":"memory","mirror":{"name":"O"}'),
      { wait: "M", lastSeq: 2 },
      // An origin without allow_direct: its mirror does not take its direct gets.
      create("P", '"subjects":["p.>"],"storage":"memory"'),
      { pub: "p.a", body: "1" },
      create("N", '"storage":"memory","mirror":{"name":"P"},"mirror_direct":true'),
      { wait: "N", lastSeq: 1 },
      // The origin leaves its own direct-get group: only the mirror answers.
      {
        req: "$JS.API.STREAM.UPDATE.O",
        body: '{"name":"O","subjects":["o.>"],"storage":"memory","allow_direct":false}',
      },
      info("M"),
    ], out);
    for (
      const [subject, body] of [
        ["$JS.API.DIRECT.GET.O", '{"seq":1}'],
        ["$JS.API.DIRECT.GET.O", '{"last_by_subj":"o.b"}'],
        ["$JS.API.DIRECT.GET.O.o.a", ""],
        ["$JS.API.DIRECT.GET.O", '{"seq":9}'],
        ["$JS.API.DIRECT.GET.O", ""],
        ["$JS.API.DIRECT.GET.P", '{"seq":1}'],
      ]
    ) out.push(`DIRECT ${subject} ${body} -> ${await directGet(nc, subject, body)}`);
    // Copied later: the mirror answers from its own store.
    await run(nc, [{ pub: "o.c", body: "3" }, { wait: "M", lastSeq: 3 }], out);
    out.push(`DIRECT o.c -> ${await directGet(nc, "$JS.API.DIRECT.GET.O.o.c", "")}`);
    // Deleted, the mirror answers no more.
    await run(nc, [{ req: "$JS.API.STREAM.DELETE.M" }], out);
    out.push(`DIRECT after delete -> ${await directGet(nc, "$JS.API.DIRECT.GET.O.o.c", "")}`);
  } finally {
    await nc.close();
    await server.stop();
  }
  return out;
}

Deno.test({
  name: "jetstream mirrors: mirror_direct answers the origin's direct gets as nats-server",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  fn: async () => {
    const ref = await mirrorDirect(true);
    const ours = await mirrorDirect(false);
    if (Deno.env.get("JS_TEST_DUMP")) console.log(JSON.stringify({ ref, ours }, null, 1));
    ok(ref.some((l) => l.includes("Nats-Stream=M,")), "nats-server's mirror answered");
    for (let i = 0; i < ref.length; i++) deepStrictEqual(ours[i], ref[i], `line ${i}`);
    equal(ours.length, ref.length);
  },
});
