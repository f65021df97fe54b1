/**
 * Pull consumers side by side with nats-server -js: consumer create (the
 * three subject forms) and its errors, info/names/list/delete, pulls with
 * batch, no_wait, expires and max_bytes and the 404/408/409 status messages,
 * acks (explicit, all, none), -NAK, +WPI, +TERM, +NXT, redelivery after
 * ack_wait, max_deliver, and the deliver policies. Every observation (message
 * subjects, ack reply subjects, headers, bodies, JSON answers) must be the
 * same text once times are masked.
 */
import { missing } from "./helpers/requires.ts";
import { sameTranscript } from "./jetstream/helpers.ts";
import { type PullStep, runPulls } from "./jetstream/pull.ts";

function sideBySide(steps: PullStep[]): Promise<void> {
  return sameTranscript((nc) => runPulls(nc, steps));
}

const STREAM: PullStep[] = [
  { req: "$JS.API.STREAM.CREATE.S", body: '{"name":"S","subjects":["s.>"],"storage":"memory"}' },
  { pub: "s.a", body: "1" },
  { pub: "s.b", body: "2" },
  { pub: "s.a", body: "3" },
];
const NEXT = "$JS.API.CONSUMER.MSG.NEXT.S.";
// Acks are sent as requests (nats-server answers each once it is processed;
// its acks run on a queue of their own, so a plain publish could race the next pull).
const durable = (name: string, config: string) => ({
  req: `$JS.API.CONSUMER.DURABLE.CREATE.S.${name}`,
  body: `{"stream_name":"S","config":{"durable_name":"${name}",${config}}}`,
});

Deno.test({
  name: "jetstream consumers: create forms, errors, info, names, list, delete",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  fn: () =>
    sideBySide([
      ...STREAM,
      durable("D", '"ack_policy":"explicit"'),
      durable("D", '"ack_policy":"explicit"'),
      durable("D", '"ack_policy":"none"'),
      durable("D", '"ack_policy":"explicit","deliver_policy":"new"'),
      durable("D", '"ack_policy":"explicit","ack_wait":5000000000,"max_deliver":3'),
      {
        req: "$JS.API.CONSUMER.DURABLE.CREATE.S.E",
        body: '{"stream_name":"S","config":{"durable_name":"X"}}',
      },
      { req: "$JS.API.CONSUMER.DURABLE.CREATE.S.E", body: '{"stream_name":"S","config":{}}' },
      {
        req: "$JS.API.CONSUMER.CREATE.S.N.s.b",
        body: '{"stream_name":"S","config":{"name":"N","ack_policy":"all","filter_subject":"s.b"}}',
      },
      {
        req: "$JS.API.CONSUMER.CREATE.S.N2.s.b",
        body: '{"stream_name":"S","config":{"ack_policy":"all","filter_subject":"s.a"}}',
      },
      {
        req: "$JS.API.CONSUMER.CREATE.S.W",
        body: '{"stream_name":"S","config":{"durable_name":"V","ack_policy":"all"}}',
      },
      {
        req: "$JS.API.CONSUMER.CREATE.S",
        body: '{"stream_name":"S","config":{"durable_name":"Y","ack_policy":"explicit"}}',
      },
      {
        req: "$JS.API.CONSUMER.CREATE.S",
        body:
          '{"stream_name":"S","config":{"ack_policy":"explicit","deliver_policy":"by_start_sequence"}}',
      },
      {
        req: "$JS.API.CONSUMER.CREATE.S",
        body: '{"stream_name":"S","config":{"ack_policy":"explicit","opt_start_seq":2}}',
      },
      {
        req: "$JS.API.CONSUMER.CREATE.S",
        body: '{"stream_name":"S","config":{"ack_policy":"explicit","filter_subject":"x.y"}}',
      },
      {
        req: "$JS.API.CONSUMER.CREATE.S",
        body: '{"stream_name":"S","config":{"ack_policy":"bogus"}}',
      },
      { req: "$JS.API.CONSUMER.CREATE.S", body: '{"stream_name":"T","config":{}}' },
      { req: "$JS.API.CONSUMER.CREATE.S", body: "nope" },
      { req: "$JS.API.CONSUMER.CREATE.NOPE", body: '{"stream_name":"NOPE","config":{}}' },
      durable("L", '"ack_policy":"explicit","deliver_policy":"last","filter_subject":"s.a"'),
      durable("P", '"ack_policy":"explicit","deliver_policy":"last_per_subject"'),
      durable(
        "P",
        '"ack_policy":"explicit","deliver_policy":"last_per_subject","filter_subject":"s.*"',
      ),
      durable(
        "Q",
        '"ack_policy":"explicit","deliver_policy":"by_start_sequence","opt_start_seq":2',
      ),
      durable("R", '"ack_policy":"none","deliver_policy":"new"'),
      { req: "$JS.API.CONSUMER.INFO.S.D" },
      { req: "$JS.API.CONSUMER.INFO.S.NOPE" },
      { req: "$JS.API.CONSUMER.INFO.NOPE.D" },
      { req: "$JS.API.CONSUMER.NAMES.S" },
      { req: "$JS.API.CONSUMER.LIST.S" },
      { req: "$JS.API.CONSUMER.NAMES.NOPE" },
      { req: "$JS.API.STREAM.INFO.S" },
      { req: "$JS.API.CONSUMER.DELETE.S.R" },
      { req: "$JS.API.CONSUMER.DELETE.S.R" },
      { req: "$JS.API.INFO" },
    ]),
});

Deno.test({
  name: "jetstream consumers: pulls, status messages, acks and redelivery",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  fn: () =>
    sideBySide([
      ...STREAM,
      durable("D", '"ack_policy":"explicit","ack_wait":300000000,"max_deliver":3'),
      { pull: NEXT + "D", body: '{"batch":2,"no_wait":true}', until: 2 },
      { pull: NEXT + "D", body: '{"batch":5,"no_wait":true}', until: 5 },
      { ack: 0, sync: true },
      { ack: 1, body: "+TERM", sync: true },
      { ack: 2, body: "-NAK", sync: true },
      { pull: NEXT + "D", body: '{"batch":1,"no_wait":true}', until: 1 },
      { ack: 3, body: "+WPI", sync: true },
      { ack: 3, body: "+ACK", sync: true },
      { pull: NEXT + "D", body: '{"batch":1,"no_wait":true}', until: 1 },
      { req: "$JS.API.CONSUMER.INFO.S.D" },
      { pub: "s.c", body: "4" },
      { pull: NEXT + "D", body: "", until: 1 },
      // Not acked: redelivered after ack_wait (twice more, then max_deliver).
      { pull: NEXT + "D", body: '{"batch":1,"expires":2000000000}', until: 1 },
      { pull: NEXT + "D", body: '{"batch":1,"expires":2000000000}', until: 1 },
      { pull: NEXT + "D", body: '{"batch":1,"expires":1000000000}', until: 1 },
      { req: "$JS.API.CONSUMER.INFO.S.D" },
      { ack: 6, body: "+NXT" },
      { req: "$JS.API.CONSUMER.INFO.S.D" },
      // max_bytes, and the limits of a pull request.
      durable("B", '"ack_policy":"none","max_batch":2,"max_bytes":100'),
      { pull: NEXT + "B", body: '{"batch":3}', until: 1 },
      { pull: NEXT + "B", body: '{"batch":1,"max_bytes":200}', until: 1 },
      { pull: NEXT + "B", body: '{"batch":2,"max_bytes":10}', until: 1 },
      { pull: NEXT + "B", body: '{"batch":2,"max_bytes":60,"expires":500000000}', until: 3 },
      { pull: NEXT + "B", body: '{"batch":2,"no_wait":true}', until: 3 },
      { req: "$JS.API.CONSUMER.INFO.S.B" },
      // Ack all.
      durable("A", '"ack_policy":"all"'),
      { pull: NEXT + "A", body: '{"batch":3,"no_wait":true}', until: 3 },
      { ack: 11, sync: true },
      { req: "$JS.API.CONSUMER.INFO.S.A" },
      { ack: 10, sync: true },
      { req: "$JS.API.CONSUMER.INFO.S.A" },
      { ack: 12, sync: true },
      { req: "$JS.API.CONSUMER.INFO.S.A" },
    ]),
});
