// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS clients directly
/**
 * Push consumers through the official JetStream client (npm
 * @nats-io/jetstream 3.4.0) against nats-server -js and dnatsd -js, the same
 * script on both: ordered push consumers as the key-value and object stores
 * create them (deliver all, last per subject, new, headers only; ack none,
 * flow control, idle heartbeats, a name and a deliver subject of their own),
 * and a durable push consumer bound with getPushConsumer and acked. The
 * transcripts must be the same.
 */
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JsMsg,
  StorageType,
} from "npm:@nats-io/jetstream@3.4.0";
import type { NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { missing } from "./helpers/requires.ts";
import { sameTranscript } from "./jetstream/helpers.ts";

const dec = new TextDecoder();
/**
 * How long a consumer may take before the script gives up on it: a safety net
 * only (a passing run takes a fraction of it), generous because the test
 * machine may be loaded.
 */
const DEADLINE_MS = 15_000;

function describe(m: JsMsg): string {
  const size = m.headers?.get("Nats-Msg-Size") ?? "";
  return `${m.subject} seq=${m.seq} dseq=${m.info.deliverySequence} pending=${m.info.pending} ` +
    `data=${dec.decode(m.data)}${size ? ` size=${size}` : ""}`;
}

/**
 * Consumes an ordered push consumer until `n` messages came (or the deadline
 * passed, which the transcript then says). `during` runs once `after`
 * messages came (0: as soon as the consumer is subscribed); what it publishes
 * is delivered too.
 */
async function take(
  js: ReturnType<typeof jetstream>,
  stream: string,
  opts: Record<string, unknown> | undefined,
  n: number,
  during?: { after: number; run: () => Promise<void> },
): Promise<string[]> {
  const oc = await js.consumers.getPushConsumer(stream, opts);
  const info = await oc.info(true);
  const out = [`num_pending=${info.num_pending} ${configOf(info.config)}`];
  const iter = await oc.consume();
  let late = false;
  const deadline = setTimeout(() => {
    late = true;
    iter.stop();
  }, DEADLINE_MS);
  let got = 0;
  if (during?.after === 0) await during.run();
  for await (const m of iter) {
    out.push(describe(m));
    if (++got >= n) break;
    // Once the stored messages came, so their pending counts do not depend on
    // whether the publish reached the stream before the consumer saw its
    // subscriber (it may on either server).
    if (got === during?.after) await during.run();
  }
  clearTimeout(deadline);
  if (late) out.push(`deadline: ${got} of ${n}`);
  return out;
}

/** The parts of a consumer configuration the clients depend on (names are random). */
function configOf(c: Record<string, unknown>): string {
  const keep = [
    "deliver_policy",
    "ack_policy",
    "max_deliver",
    "filter_subject",
    "replay_policy",
    "idle_heartbeat",
    "flow_control",
    "headers_only",
    "inactive_threshold",
    "num_replicas",
    "mem_storage",
  ];
  return keep.filter((k) => k in c).map((k) => `${k}=${c[k]}`).join(",");
}

async function script(nc: NatsConnection): Promise<string[]> {
  const out: string[] = [];
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await jsm.streams.add({ name: "K", subjects: ["k.>"], storage: StorageType.Memory });
  for (const [s, v] of [["k.a", "1"], ["k.b", "2"], ["k.a", "3"]]) await js.publish(s, v);

  out.push("-- ordered, deliver all, a publish while consuming");
  out.push(
    ...await take(js, "K", undefined, 4, {
      after: 3,
      run: async () => {
        await js.publish("k.c", "4");
      },
    }),
  );
  out.push("-- ordered, last per subject (a key-value watch)");
  out.push(
    ...await take(js, "K", {
      deliver_policy: DeliverPolicy.LastPerSubject,
      filter_subjects: "k.>",
      headers_only: false,
      mem_storage: true,
    }, 3),
  );
  out.push("-- ordered, headers only (key-value keys)");
  out.push(
    ...await take(js, "K", {
      deliver_policy: DeliverPolicy.LastPerSubject,
      filter_subjects: "k.*",
      headers_only: true,
    }, 3),
  );
  out.push("-- ordered, new only");
  out.push(
    ...await take(js, "K", { deliver_policy: DeliverPolicy.New }, 1, {
      after: 0,
      run: async () => {
        await js.publish("k.d", "5");
      },
    }),
  );
  out.push("-- ordered, a filter on one subject (an object's chunks)");
  out.push(...await take(js, "K", { filter_subjects: "k.a" }, 2));

  out.push("-- a durable push consumer, bound and acked");
  await jsm.consumers.add("K", {
    durable_name: "P",
    deliver_subject: "deliver.P",
    ack_policy: AckPolicy.Explicit,
    filter_subject: "k.a",
  });
  const pc = await js.consumers.getPushConsumer("K", "P");
  const iter = await pc.consume();
  // A deadline that stopped the iterator would unsubscribe it before the info
  // below (push_bound then false): it is reported as such, not as a difference.
  let late = false;
  const timer = setTimeout(() => {
    late = true;
    iter.stop();
  }, DEADLINE_MS);
  let n = 0;
  let ci;
  for await (const m of iter) {
    out.push(describe(m));
    await m.ackAck();
    // Asked while still subscribed: bound.
    if (++n >= 2) {
      ci = await jsm.consumers.info("K", "P");
      break;
    }
  }
  clearTimeout(timer);
  if (late) return [...out, `P: deadline after ${n} deliveries`];
  if (!ci) return [...out, "P: not all delivered"];
  out.push(
    `P delivered=${ci.delivered.consumer_seq}/${ci.delivered.stream_seq} ` +
      `ack_floor=${ci.ack_floor.consumer_seq}/${ci.ack_floor.stream_seq} ` +
      `pending=${ci.num_pending} ack_pending=${ci.num_ack_pending} bound=${ci.push_bound}`,
  );
  return out;
}

Deno.test({
  name: "jetstream push client: ordered and durable push consumers as with nats-server",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await sameTranscript(script);
  },
});
