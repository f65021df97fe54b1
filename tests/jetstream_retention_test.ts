/**
 * Interest and work-queue retention side by side with nats-server -js: which
 * publishes are kept, which acks remove messages (explicit, all, none, +TERM),
 * what a consumer delete drops, nats-server's errors for work-queue consumers,
 * and the state of file streams after kill -9 and a restart. Every
 * observation must be the same text once times are masked.
 */
import { deepStrictEqual } from "node:assert/strict";
import { missing } from "./helpers/requires.ts";
import { ServerProcess } from "./helpers/server.ts";
import { client } from "./jetstream/helpers.ts";
import { type PullStep, runPulls } from "./jetstream/pull.ts";

/**
 * Runs each phase against a fresh server on one store directory, stopping it
 * between phases, for nats-server then dnatsd; the transcripts must match.
 * nats-server is stopped cleanly (SIGTERM): 2.9.10 writes removals and
 * consumer state behind its acks and comes back from kill -9 without them.
 * dnatsd is killed (-9) and must come back with what nats-server keeps after a
 * clean stop.
 */
async function sideBySide(phases: PullStep[][]): Promise<void> {
  const results: string[][] = [];
  for (const reference of [true, false]) {
    const dir = await Deno.makeTempDir({ prefix: "js-ret-" });
    const lines: string[] = [];
    try {
      for (const steps of phases) {
        const server = await ServerProcess.start({ reference, args: ["-js", "-sd", dir] });
        const nc = await client({ server, storeDir: dir, stop: () => Promise.resolve() });
        try {
          lines.push(...await runPulls(nc, steps), "--- restart");
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
    results.push(lines);
  }
  const [ref, ours] = results;
  if (Deno.env.get("JS_TEST_DUMP")) console.log(JSON.stringify({ ref, ours }, null, 1));
  for (let i = 0; i < ref.length; i++) deepStrictEqual(ours[i], ref[i], `line ${i}`);
  deepStrictEqual(ours.length, ref.length);
}

const create = (name: string, config: string): PullStep => ({
  req: `$JS.API.STREAM.CREATE.${name}`,
  body: `{"name":"${name}",${config}}`,
});
const durable = (stream: string, name: string, config: string): PullStep => ({
  req: `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${name}`,
  body: `{"stream_name":"${stream}","config":{"durable_name":"${name}",${config}}}`,
});
const info = (stream: string): PullStep => ({ req: `$JS.API.STREAM.INFO.${stream}` });
const cinfo = (stream: string, c: string): PullStep => ({
  req: `$JS.API.CONSUMER.INFO.${stream}.${c}`,
});
const pull = (stream: string, c: string, batch: number, until = batch): PullStep => ({
  pull: `$JS.API.CONSUMER.MSG.NEXT.${stream}.${c}`,
  body: `{"batch":${batch},"no_wait":true}`,
  until,
});
// Acks as requests: nats-server answers once the ack is processed.
const ack = (n: number, body = ""): PullStep => ({ ack: n, body, sync: true });

Deno.test({
  name: "jetstream retention interest: kept while some consumer needs a message",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  fn: () =>
    sideBySide([[
      create("I", '"subjects":["i.>"],"retention":"interest","storage":"memory"'),
      // Nobody interested: the sequence is used, nothing is kept.
      { pub: "i.a", body: "0" },
      info("I"),
      durable("I", "C1", '"ack_policy":"explicit"'),
      durable("I", "C2", '"ack_policy":"all","filter_subject":"i.b"'),
      { pub: "i.a", body: "1" },
      { pub: "i.b", body: "2" },
      { pub: "i.a", body: "3" },
      info("I"),
      pull("I", "C1", 3),
      ack(0), // seq 2: only C1 wanted it
      ack(1), // seq 3: C2 still needs it
      info("I"),
      pull("I", "C2", 1),
      ack(3), // C2 acks seq 3 (ack all): gone
      info("I"),
      // Ack none: a delivery is the end of this consumer's interest.
      durable("I", "C3", '"ack_policy":"none"'),
      pull("I", "C3", 5, 1),
      info("I"),
      // C1 goes: seq 4 was only waiting for it.
      { req: "$JS.API.CONSUMER.DELETE.I.C1" },
      info("I"),
      { pub: "i.c", body: "5" },
      info("I"),
      { req: "$JS.API.CONSUMER.DELETE.I.C3" },
      info("I"),
      // Only a consumer filtered on i.b is left: i.c is not kept.
      { pub: "i.c", body: "6" },
      { pub: "i.b", body: "7" },
      info("I"),
      cinfo("I", "C2"),
      // Retention can not change.
      create("I", '"subjects":["i.>"],"retention":"limits","storage":"memory"'),
      {
        req: "$JS.API.STREAM.UPDATE.I",
        body: '{"name":"I","subjects":["i.>"],"retention":"limits","storage":"memory"}',
      },
    ]]),
});

Deno.test({
  name: "jetstream retention workqueue: consumer rules and removal on ack",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  fn: () =>
    sideBySide([[
      create("W", '"subjects":["w.>"],"retention":"workqueue","storage":"memory"'),
      { pub: "w.a.1", body: "1" },
      { pub: "w.b", body: "2" },
      { pub: "w.a.2", body: "3" },
      { pub: "w.c", body: "4" },
      durable("W", "E", '"ack_policy":"none"'),
      durable("W", "E", '"ack_policy":"all"'),
      // A push consumer is not held to the pull rule: the work-queue one answers.
      durable("W", "E", '"ack_policy":"none","deliver_subject":"wq.push"'),
      durable("W", "E", '"ack_policy":"explicit","deliver_policy":"new"'),
      durable("W", "E", '"ack_policy":"explicit","deliver_policy":"last"'),
      durable("W", "U", '"ack_policy":"explicit"'),
      durable("W", "U", '"ack_policy":"explicit"'),
      durable("W", "U2", '"ack_policy":"explicit"'),
      durable("W", "U2", '"ack_policy":"explicit","filter_subject":"w.b"'),
      { req: "$JS.API.CONSUMER.DELETE.W.U" },
      durable("W", "A", '"ack_policy":"explicit","filter_subject":"w.a.>"'),
      durable("W", "B", '"ack_policy":"explicit","filter_subject":"w.>"'),
      durable("W", "B", '"ack_policy":"explicit","filter_subject":"w.a.x"'),
      durable("W", "B", '"ack_policy":"explicit","filter_subject":"w.a.*"'),
      durable("W", "B", '"ack_policy":"explicit","filter_subject":"w.b"'),
      durable("W", "B", '"ack_policy":"explicit","filter_subject":"w.b","deliver_policy":"new"'),
      // Partly overlapping filters are let through by nats-server 2.9.10.
      durable("W", "Z", '"ack_policy":"explicit","filter_subject":"w.*.z"'),
      durable("W", "C", '"ack_policy":"explicit","filter_subject":"w.c"'),
      info("W"),
      pull("W", "A", 2),
      ack(0),
      info("W"),
      { ack: 1, body: "-NAK", sync: true },
      pull("W", "A", 1),
      ack(2, "+TERM"),
      pull("W", "C", 1),
      info("W"),
      { ack: 3, body: "+WPI", sync: true },
      info("W"),
      ack(3),
      info("W"),
      cinfo("W", "A"),
      // Deleting a consumer of a work queue leaves the messages.
      { pub: "w.c", body: "5" },
      { req: "$JS.API.CONSUMER.DELETE.W.C" },
      info("W"),
    ]]),
});

Deno.test({
  name: "jetstream retention: file streams keep removals and consumers across kill -9",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  fn: () =>
    sideBySide([
      [
        create("FI", '"subjects":["fi.>"],"retention":"interest"'),
        { pub: "fi.x", body: "skipped" },
        durable("FI", "D", '"ack_policy":"explicit"'),
        durable("FI", "E", '"ack_policy":"explicit","filter_subject":"fi.e"'),
        { pub: "fi.a", body: "1" },
        { pub: "fi.e", body: "2" },
        { pub: "fi.a", body: "3" },
        { pub: "fi.a", body: "4" },
        pull("FI", "D", 4),
        ack(0),
        ack(1),
        ack(3),
        info("FI"),
        create("FW", '"subjects":["fw.>"],"retention":"workqueue"'),
        durable("FW", "Q", '"ack_policy":"explicit"'),
        { pub: "fw.a", body: "1" },
        { pub: "fw.a", body: "2" },
        { pub: "fw.a", body: "3" },
        pull("FW", "Q", 3),
        ack(5),
        ack(6),
        info("FW"),
      ],
      [
        info("FI"),
        cinfo("FI", "D"),
        cinfo("FI", "E"),
        info("FW"),
        cinfo("FW", "Q"),
        { pub: "fi.z", body: "5" },
        { req: "$JS.API.CONSUMER.DELETE.FI.D" },
        info("FI"),
        durable("FW", "Q2", '"ack_policy":"explicit"'),
      ],
      [info("FI"), info("FW")],
    ]),
});
