// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * The file store: state that survives kill -9 (side by side with nats-server
 * on the same scripts), every acknowledged publish present exactly once after
 * kill -9 under a publish load, and recovery from a torn last write.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { connect, type NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { missing } from "./helpers/requires.ts";
import { runToExit, ServerProcess } from "./helpers/server.ts";
import { runScript, script } from "./jetstream/helpers.ts";

const enc = new TextEncoder();

async function start(reference: boolean, dir: string): Promise<ServerProcess> {
  return await ServerProcess.start({ reference, args: ["-js", "-sd", dir] });
}

async function kill9(s: ServerProcess): Promise<void> {
  s.child.kill("SIGKILL");
  await s.exited;
}

const BEFORE = script(`
$JS.API.STREAM.CREATE.F {"name":"F","subjects":["f.>"],"max_msgs_per_subject":3}
f.a one HDR {"Nats-Msg-Id":"a1"}
f.b two
f.a three
f.a four
f.a five
$JS.API.STREAM.MSG.DELETE.F {"seq":2}
$JS.API.STREAM.MSG.DELETE.F {"seq":2}
$JS.API.STREAM.MSG.DELETE.F {"seq":1}
$JS.API.STREAM.CREATE.G {"name":"G","subjects":["g"]}
g x
$JS.API.STREAM.PURGE.G
$JS.API.STREAM.INFO.F
$JS.API.STREAM.INFO.G
`);
const AFTER = script(`
$JS.API.STREAM.NAMES
$JS.API.STREAM.INFO.F
$JS.API.STREAM.INFO.G
f.a one HDR {"Nats-Msg-Id":"a1"}
f.a six HDR {"Nats-Msg-Id":"a6"}
f.a six HDR {"Nats-Msg-Id":"a6"}
g y
$JS.API.STREAM.MSG.GET.F {"seq":3}
$JS.API.STREAM.MSG.GET.F {"last_by_subj":"f.a"}
$JS.API.STREAM.MSG.DELETE.F {"seq":1}
$JS.API.STREAM.MSG.DELETE.F {"seq":99}
$JS.API.STREAM.INFO.F
$JS.API.STREAM.INFO.G
$JS.API.STREAM.DELETE.G
$JS.API.INFO
`);

Deno.test({
  name: "jetstream file store: state after kill -9 and restart as nats-server",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  fn: async () => {
    const transcripts: string[][] = [];
    for (const reference of [true, false]) {
      const dir = await Deno.makeTempDir({ prefix: "js-fs-" });
      const lines: string[] = [];
      try {
        for (const steps of [BEFORE, AFTER]) {
          const s = await start(reference, dir);
          const nc = await connect({ servers: s.url });
          for (const a of await runScript(nc, steps)) lines.push(`${a.step} -> ${a.reply}`);
          await nc.close();
          await kill9(s);
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
      transcripts.push(lines);
    }
    const [ref, ours] = transcripts;
    for (let i = 0; i < ref.length; i++) deepStrictEqual(ours[i], ref[i], `line ${i}`);
    equal(ours.length, ref.length);
  },
});

/** Reads every message of stream `name` with MSG.GET: seq -> payload. */
async function readAll(nc: NatsConnection, name: string): Promise<Map<number, string>> {
  const info = JSON.parse(
    new TextDecoder().decode((await nc.request(`$JS.API.STREAM.INFO.${name}`)).data),
  );
  const out = new Map<number, string>();
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const r = JSON.parse(new TextDecoder().decode(
      (await nc.request(`$JS.API.STREAM.MSG.GET.${name}`, enc.encode(`{"seq":${seq}}`))).data,
    ));
    if (r.message) out.set(seq, atob(r.message.data));
  }
  equal(out.size, info.state.messages);
  return out;
}

Deno.test({
  name: "jetstream file store: every acknowledged publish survives kill -9 under load, once",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "js-kill-" });
    try {
      let s = await start(false, dir);
      let nc = await connect({ servers: s.url, reconnect: false });
      await nc.request("$JS.API.STREAM.CREATE.L", enc.encode('{"name":"L","subjects":["load"]}'));
      const acked = new Map<number, string>();
      let sent = 0;
      let stop = false;
      // Eight publishers with a request in flight each; the server is killed while they run.
      const publisher = async () => {
        while (!stop) {
          const body = `m-${sent++}`;
          try {
            const r = await nc.request("load", enc.encode(body), { timeout: 2000 });
            const ack = JSON.parse(new TextDecoder().decode(r.data));
            acked.set(ack.seq, body);
          } catch {
            return; // The server went away: this one was never acknowledged.
          }
        }
      };
      const running = Array.from({ length: 8 }, publisher);
      const deadline = Date.now() + 10_000;
      while (acked.size < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      ok(acked.size >= 300, `only ${acked.size} acks before the deadline`);
      await kill9(s);
      stop = true;
      await Promise.all(running);
      await nc.close().catch(() => {});
      s = await start(false, dir);
      nc = await connect({ servers: s.url });
      const stored = await readAll(nc, "L");
      for (const [seq, body] of acked) equal(stored.get(seq), body, `acked seq ${seq}`);
      // Exactly once: no payload stored twice, and the sequences have no gaps.
      equal(new Set(stored.values()).size, stored.size);
      const seqs = [...stored.keys()];
      equal(seqs[seqs.length - 1] - seqs[0] + 1, seqs.length);
      // The stream goes on after the last stored sequence.
      const next = JSON.parse(
        new TextDecoder().decode((await nc.request("load", enc.encode("after"))).data),
      );
      equal(next.seq, seqs[seqs.length - 1] + 1);
      await nc.close();
      await s.stop();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "jetstream file store: a torn last write is cut on start-up, the rest recovered",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "js-torn-" });
    try {
      let s = await start(false, dir);
      let nc = await connect({ servers: s.url });
      await nc.request("$JS.API.STREAM.CREATE.T", enc.encode('{"name":"T","subjects":["t"]}'));
      for (const body of ["a", "b", "c"]) await nc.request("t", enc.encode(body));
      await nc.close();
      await kill9(s);
      const log = `${dir}/jetstream/$G/streams/T/msgs.1.log`;
      const whole = Deno.readFileSync(log);
      // Append the first 20 bytes of the last record again: a write cut short.
      const lastStart = whole.length - (9 + 26 + 1 + 1); // frame + fixed fields + "t" + "c"
      Deno.writeFileSync(log, whole.subarray(lastStart, lastStart + 20), { append: true });
      s = await start(false, dir);
      ok(/cut 20 bytes of a torn last write/.test(s.logs.text), s.logs.text);
      nc = await connect({ servers: s.url });
      deepStrictEqual([...(await readAll(nc, "T")).values()], ["a", "b", "c"]);
      const ack = new TextDecoder().decode((await nc.request("t", enc.encode("d"))).data);
      equal(ack, '{"stream":"T", "seq":4}');
      await nc.close();
      await kill9(s);
      equal(Deno.statSync(log).size, whole.length + (9 + 26 + 1 + 1));
      s = await start(false, dir);
      nc = await connect({ servers: s.url });
      deepStrictEqual([...(await readAll(nc, "T")).values()], ["a", "b", "c", "d"]);
      await nc.close();
      await s.stop();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "jetstream file store: a durable consumer resumes from its ack floor after kill -9",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    // Not side by side: nats-server 2.9.10 writes consumer state behind the acks, and after
    // kill -9 it was seen to come back with its ack floor at 0 and redeliver m1 and m2.
    const transcripts: string[][] = [];
    for (const reference of [false]) {
      const dir = await Deno.makeTempDir({ prefix: "js-cons-" });
      const lines: string[] = [];
      const dec = new TextDecoder();
      const info = async (nc: NatsConnection) => {
        const i = JSON.parse(dec.decode((await nc.request("$JS.API.CONSUMER.INFO.K.W")).data));
        return `delivered=${i.delivered.stream_seq}/${i.delivered.consumer_seq} floor=${i.ack_floor.stream_seq}/${i.ack_floor.consumer_seq} ack_pending=${i.num_ack_pending} pending=${i.num_pending}`;
      };
      const pull = async (nc: NatsConnection, body: string, count: number) => {
        const inbox = `_INBOX.k${lines.length}`;
        const sub = nc.subscribe(inbox, { max: count });
        nc.publish("$JS.API.CONSUMER.MSG.NEXT.K.W", enc.encode(body), { reply: inbox });
        const got = [];
        for await (const m of sub) got.push(m);
        return got;
      };
      try {
        let s = await start(reference, dir);
        let nc = await connect({ servers: s.url });
        await nc.request("$JS.API.STREAM.CREATE.K", enc.encode('{"name":"K","subjects":["k"]}'));
        for (let i = 1; i <= 5; i++) await nc.request("k", enc.encode(`m${i}`));
        await nc.request(
          "$JS.API.CONSUMER.DURABLE.CREATE.K.W",
          enc.encode(
            '{"stream_name":"K","config":{"durable_name":"W","ack_policy":"explicit","ack_wait":1000000000}}',
          ),
        );
        const first = await pull(nc, '{"batch":3,"no_wait":true}', 3);
        lines.push(`first ${first.map((m) => dec.decode(m.data))}`);
        for (const m of first.slice(0, 2)) await nc.request(m.reply!, enc.encode("+ACK"));
        lines.push(`before ${await info(nc)}`);
        await nc.close();
        await kill9(s);
        s = await start(reference, dir);
        nc = await connect({ servers: s.url });
        lines.push(`after ${await info(nc)}`);
        // The unacknowledged m3 comes back (after ack_wait), with m4 and m5.
        const rest = await pull(nc, '{"batch":3,"expires":5000000000}', 3);
        lines.push(`rest ${rest.map((m) => dec.decode(m.data)).sort()}`);
        await nc.close();
        await s.stop();
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
      transcripts.push(lines);
    }
    deepStrictEqual(transcripts[0], [
      "first m1,m2,m3",
      "before delivered=3/3 floor=2/2 ack_pending=1 pending=2",
      "after delivered=3/3 floor=2/2 ack_pending=1 pending=2",
      "rest m3,m4,m5",
    ]);
  },
});

Deno.test({
  name:
    "jetstream file store: a store directory that cannot be made stops the start as nats-server",
  ignore: missing("nats-server"),
  fn: async () => {
    const results = [];
    for (const reference of [true, false]) {
      // Nothing can be created under /proc, whoever runs the test.
      const r = await runToExit({
        reference,
        args: ["-js", "-sd", "/proc/no-such-store", "-a", "127.0.0.1", "-p", "-1"],
      });
      const fatal = r.stderr.split("\n").filter((l) => l.includes("[FTL]"))
        .map((l) => l.replace(/^\[\d+\] \S+ \S+ /, ""));
      results.push({ code: r.code, fatal });
    }
    deepStrictEqual(results[1], results[0]);
    equal(results[0].fatal.length, 1);
  },
});
