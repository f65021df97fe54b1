/**
 * Push consumers side by side with nats-server -js: the same script of
 * requests, publishes, subscriptions on deliver subjects and acks runs against
 * both, and every observation (deliveries with their ack replies and headers,
 * status messages, JSON answers) must be the same text once times, ack-reply
 * timestamps and ephemeral names are masked.
 */
import { deepStrictEqual } from "node:assert/strict";
import { missing } from "./helpers/requires.ts";
import { client, sameTranscript, startJs } from "./jetstream/helpers.ts";
import { type PushStep, runPush } from "./jetstream/push.ts";

function sideBySide(steps: PushStep[]): Promise<void> {
  return sameTranscript((nc) => runPush(nc, steps));
}

const STREAM: PushStep[] = [
  { req: "$JS.API.STREAM.CREATE.S", body: '{"name":"S","subjects":["s.>"],"storage":"memory"}' },
  { pub: "s.a", body: "1" },
  { pub: "s.b", body: "2" },
  { pub: "s.a", body: "3" },
];
const durable = (name: string, config: string) => ({
  req: `$JS.API.CONSUMER.DURABLE.CREATE.S.${name}`,
  body: `{"stream_name":"S","config":{"durable_name":"${name}",${config}}}`,
});
const ephemeral = (config: string) => ({
  req: "$JS.API.CONSUMER.CREATE.S",
  body: `{"stream_name":"S","config":{${config}}}`,
});
const info = (name: string) => ({ req: `$JS.API.CONSUMER.INFO.S.${name}` });

Deno.test({
  name: "jetstream push: configuration errors and defaults as nats-server",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  fn: () =>
    sideBySide([
      ...STREAM,
      ...[
        '"deliver_subject":"d.x","sample_freq":"-5"',
        '"deliver_subject":"d.x","sample_freq":"abc%"',
        '"deliver_subject":"d.*"',
        '"deliver_subject":"d..x"',
        '"deliver_subject":"s.x"',
        '"deliver_subject":"d.x","max_waiting":5',
        '"deliver_subject":"d.x","max_ack_pending":5',
        '"deliver_subject":"d.x","idle_heartbeat":5000000',
        '"deliver_subject":"d.x","flow_control":true',
        '"deliver_subject":"d.x","backoff":[1000000000],"ack_policy":"explicit"',
        '"deliver_subject":"d.x","backoff":[1000000000],"ack_policy":"explicit","max_deliver":1',
        '"rate_limit_bps":1000',
        '"idle_heartbeat":1000000000',
        '"flow_control":true',
        '"max_batch":-1',
        '"max_expires":10',
        '"deliver_subject":"d.x","num_replicas":3',
        '"deliver_subject":"d.x","num_replicas":-1',
        '"deliver_subject":"d.x","idle_heartbeat":"5s"',
        '"deliver_subject":"d.x","flow_control":1',
        '"deliver_subject":"d.x","backoff":["1s"]',
        '"deliver_subject":"d.x","filter_subject":"*.*"',
        '"deliver_subject":"d.x","deliver_policy":"all","opt_start_time":"2020-01-01T00:00:00Z"',
        '"deliver_subject":"d.x","deliver_policy":"new","opt_start_seq":2',
        '"deliver_subject":"d.x","deliver_policy":"by_start_time"',
        '"deliver_subject":"d.x","deliver_policy":"by_start_time","opt_start_time":"2026-12-03 13:00:00Z"',
        `"deliver_subject":"d.x","description":"${"x".repeat(4097)}"`,
        '"durable_name":"A","name":"B","deliver_subject":"d.x"',
        '"deliver_subject":"d.x","rate_limit_bps":-1',
        '"deliver_subject":"d.x","opt_start_seq":-1',
        '"deliver_subject":"d.x","sample_freq":" 5"',
        '"deliver_subject":"z.x"',
        '"direct":true',
        '"deliver_subject":"d.x","filter_subject":"z.>.a"',
      ].map(ephemeral),
      // Go's JSON decoding comes first: a bad type is invalid JSON, even for a stream that
      // does not exist; then replicas, then the stream.
      {
        req: "$JS.API.CONSUMER.CREATE.NOPE",
        body: '{"stream_name":"NOPE","config":{"deliver_subject":"d.t","flow_control":"yes"}}',
      },
      {
        req: "$JS.API.CONSUMER.CREATE.NOPE",
        body: '{"stream_name":"NOPE","config":{"deliver_subject":"d.t","num_replicas":3}}',
      },
      // Start times come back as Go writes them.
      ...[
        '"2026-12-03T13:00:00.000Z"',
        '"2026-12-03T13:00:00.120+02:00"',
        '"2026-12-03T13:00:00.123456789Z"',
      ].map((t) =>
        ephemeral(`"deliver_subject":"d.t","deliver_policy":"by_start_time","opt_start_time":${t}`)
      ),
      // Accepted, and reported with nats-server's defaults and key order.
      durable(
        "A",
        '"deliver_subject":"d.a","backoff":[1000000000,2000000000],"max_deliver":3,' +
          '"ack_policy":"explicit","replay_policy":"original","rate_limit_bps":1000000,' +
          '"headers_only":true,"idle_heartbeat":1000000000,"flow_control":true,' +
          '"deliver_group":"g","sample_freq":"50%","filter_subject":">","description":"x"',
      ),
      durable("B", '"deliver_subject":"d.b","max_batch":5,"max_expires":100,"max_bytes":4'),
      // Updates: the deliver subject of an unbound consumer may change, not its mode.
      durable("B", '"deliver_subject":"d.c","max_batch":5,"max_expires":100,"max_bytes":4'),
      durable(
        "B",
        '"deliver_subject":"d.c","max_batch":5,"max_expires":100,"max_bytes":4,' +
          '"idle_heartbeat":1000000000',
      ),
      durable("B", '"ack_policy":"none"'),
      durable("P", '"ack_policy":"explicit"'),
      durable("P", '"ack_policy":"explicit","deliver_subject":"d.p"'),
      { sub: "d.c" },
      durable("B", '"deliver_subject":"d.e","max_batch":5,"max_expires":100,"max_bytes":4'),
      info("B"),
      { req: "$JS.API.CONSUMER.MSG.NEXT.S.B", body: "1" },
    ]),
});

Deno.test({
  name: "jetstream push: delivery follows interest in the deliver subject, acks and redelivery",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  fn: () =>
    sideBySide([
      ...STREAM,
      durable("D", '"deliver_subject":"d.D","ack_policy":"explicit"'),
      info("D"),
      // No subscriber yet: nothing is sent.
      { quiet: 150 },
      { sub: "d.D" },
      { wait: 3 },
      info("D"),
      { ack: 0 },
      { ack: 1, body: "-NAK" },
      { wait: 1 },
      { ack: 2, body: "+TERM" },
      { ack: 3, body: "+WPI" },
      { ack: 3 },
      info("D"),
      // Interest goes: new messages wait for it to come back.
      { unsub: "d.D" },
      { pub: "s.c", body: "4" },
      { quiet: 150 },
      info("D"),
      // A wildcard subscription receives what is sent but does not make the consumer active.
      { sub: "d.*" },
      { pub: "s.c", body: "5" },
      { quiet: 150 },
      { sub: "d.D" },
      { wait: 4 },
      { ack: 4 },
      { ack: 6 },
      info("D"),
    ]),
});

Deno.test({
  name: "jetstream push: deliver_group, ack policies, deliver policies, max_ack_pending",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  fn: () =>
    sideBySide([
      ...STREAM,
      // With a deliver group only a queue subscription in that group counts as interest.
      { sub: "d.G" },
      durable("G", '"deliver_subject":"d.G","deliver_group":"q","ack_policy":"none"'),
      { quiet: 150 },
      info("G"),
      { sub: "d.G", queue: "q" },
      { wait: 6 },
      info("G"),
      { unsub: "d.G" },
      // ack all: one ack covers what came before.
      { sub: "d.all" },
      durable("ALL", '"deliver_subject":"d.all","ack_policy":"all"'),
      { wait: 3 },
      { ack: 7 },
      info("ALL"),
      // max_ack_pending: two out until one is acked.
      { sub: "d.map" },
      durable("MAP", '"deliver_subject":"d.map","ack_policy":"explicit","max_ack_pending":2'),
      { wait: 2 },
      { quiet: 100 },
      { ack: 9 },
      { wait: 1 },
      info("MAP"),
      // Deliver policies.
      { sub: "d.last" },
      durable("LAST", '"deliver_subject":"d.last","deliver_policy":"last"'),
      { wait: 1 },
      { sub: "d.new" },
      durable("NEW", '"deliver_subject":"d.new","deliver_policy":"new"'),
      { quiet: 50 },
      { pub: "s.b", body: "4" },
      // d.new gets 4, d.last too (it goes on after the last one), and d.all
      // (still subscribed): three deliveries, whichever comes last.
      { wait: 3 },
      { sub: "d.seq" },
      durable(
        "SEQ",
        '"deliver_subject":"d.seq","deliver_policy":"by_start_sequence","opt_start_seq":3',
      ),
      { wait: 2 },
      { sub: "d.lps" },
      durable(
        "LPS",
        '"deliver_subject":"d.lps","deliver_policy":"last_per_subject","filter_subject":"s.*"',
      ),
      { wait: 2 },
      info("LPS"),
    ]),
});

Deno.test({
  name: "jetstream push: ack wait, max deliver, NAK delay and backoff redeliver as nats-server",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  fn: () =>
    sideBySide([
      ...STREAM,
      { sub: "d.W" },
      durable(
        "W",
        '"deliver_subject":"d.W","ack_policy":"explicit","ack_wait":300000000,"max_deliver":2,' +
          '"filter_subject":"s.b"',
      ),
      { wait: 1 },
      // Redelivered once after ack_wait, then never again (max_deliver 2).
      { wait: 1, timeoutMs: 2000 },
      { quiet: 500 },
      info("W"),
      { sub: "d.N" },
      durable("N", '"deliver_subject":"d.N","ack_policy":"explicit","filter_subject":"s.b"'),
      { wait: 1 },
      { ack: 2, body: '-NAK {"delay":300000000}' },
      { quiet: 100 },
      { wait: 1, timeoutMs: 2000 },
      { ack: 3, body: "-NAK 200ms" },
      { wait: 1, timeoutMs: 2000 },
      { ack: 4 },
      info("N"),
      // Backoff: 200 ms before the first redelivery, 800 ms before the next.
      { sub: "d.BO" },
      durable(
        "BO",
        '"deliver_subject":"d.BO","ack_policy":"explicit","filter_subject":"s.b",' +
          '"backoff":[200000000,800000000],"max_deliver":3',
      ),
      { wait: 1 },
      { quiet: 100 },
      { wait: 1, timeoutMs: 2000 },
      { quiet: 400 },
      { wait: 1, timeoutMs: 2000 },
      { quiet: 600 },
      info("BO"),
    ]),
});

Deno.test({
  name: "jetstream push: a new deliver subject gets what waits for an ack, +NXT is refused",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  fn: () =>
    sideBySide([
      ...STREAM,
      { sub: "d.u1" },
      durable("U", '"deliver_subject":"d.u1","ack_policy":"explicit"'),
      { wait: 3 },
      { ack: 0 },
      { unsub: "d.u1" },
      durable("U", '"deliver_subject":"d.u2","ack_policy":"explicit"'),
      { sub: "d.u2" },
      { wait: 2 },
      { ack: 3, body: "+NXT" },
      { ack: 4 },
      info("U"),
      { req: "$JS.API.CONSUMER.DELETE.S.U" },
      { pub: "s.a", body: "4" },
      { quiet: 100 },
      // +WPI: the ack wait of 800 ms starts again, so no redelivery 900 ms after the first.
      { sub: "d.wpi" },
      durable(
        "WPI",
        '"deliver_subject":"d.wpi","ack_policy":"explicit","ack_wait":800000000,' +
          '"filter_subject":"s.b"',
      ),
      { wait: 1 },
      { quiet: 300 },
      { ack: 5, body: "+WPI" },
      { quiet: 600 },
      { wait: 1, timeoutMs: 2000 },
      info("WPI"),
    ]),
});

Deno.test({
  name: "jetstream push: an ephemeral consumer without interest goes after inactive_threshold",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  fn: () =>
    sideBySide([
      ...STREAM,
      {
        req: "$JS.API.CONSUMER.CREATE.S.E1",
        body:
          '{"stream_name":"S","config":{"name":"E1","deliver_subject":"d.e1","inactive_threshold":300000000}}',
      },
      { sub: "d.e2" },
      {
        req: "$JS.API.CONSUMER.CREATE.S.E2",
        body:
          '{"stream_name":"S","config":{"name":"E2","deliver_subject":"d.e2","inactive_threshold":300000000}}',
      },
      { wait: 3 },
      { quiet: 600 },
      info("E1"),
      info("E2"),
      { unsub: "d.e2" },
      { quiet: 600 },
      info("E2"),
      { req: "$JS.API.CONSUMER.NAMES.S" },
    ]),
});

Deno.test({
  name: "jetstream push: a durable push consumer of a file stream comes back after a restart",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  async fn() {
    const results: string[][] = [];
    const before: PushStep[] = [
      { req: "$JS.API.STREAM.CREATE.F", body: '{"name":"F","subjects":["f.>"]}' },
      { pub: "f.a", body: "1" },
      { pub: "f.a", body: "2" },
      { pub: "f.a", body: "3" },
      { sub: "d.F" },
      {
        req: "$JS.API.CONSUMER.DURABLE.CREATE.F.F",
        body: '{"stream_name":"F","config":{"durable_name":"F","deliver_subject":"d.F",' +
          '"ack_policy":"explicit","ack_wait":1000000000}}',
      },
      { wait: 3 },
      { ack: 0 },
      { ack: 1 },
      { req: "$JS.API.CONSUMER.INFO.F.F" },
    ];
    const after: PushStep[] = [
      { req: "$JS.API.CONSUMER.INFO.F.F" },
      { pub: "f.a", body: "4" },
      { sub: "d.F" },
      // 4 at once, the unacknowledged 3 again after ack_wait.
      { wait: 1 },
      { ack: 0 },
      { wait: 1 },
      { ack: 1 },
      { req: "$JS.API.CONSUMER.INFO.F.F" },
    ];
    for (const reference of [true, false]) {
      const dir = await Deno.makeTempDir({ prefix: "js-push-" });
      try {
        let s = await startJs(reference, [], dir);
        let nc = await client(s);
        const lines = await runPush(nc, before);
        await nc.close();
        await s.server.stop();
        s = await startJs(reference, [], dir);
        nc = await client(s);
        lines.push(...await runPush(nc, after));
        await nc.close();
        await s.stop();
        results.push(lines);
      } finally {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    }
    if (Deno.env.get("JS_TEST_DUMP")) console.log(JSON.stringify(results, null, 1));
    deepStrictEqual(results[1], results[0]);
  },
});
