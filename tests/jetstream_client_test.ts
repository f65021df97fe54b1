// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS clients directly
/**
 * The official JetStream client (npm @nats-io/jetstream 3.x) against
 * nats-server -js and dnatsd -js, running the same script: stream and
 * consumer management, publish with acks (duplicates, expectations),
 * fetch and consume with acks, NAK redelivery, and what it reports on errors.
 * The transcripts must be the same.
 */
import { AckPolicy, jetstream, jetstreamManager, StorageType } from "npm:@nats-io/jetstream@3.4.0";
import { missing } from "./helpers/requires.ts";
import { sameTranscript } from "./jetstream/helpers.ts";
import type { NatsConnection } from "npm:@nats-io/transport-node@3.4.0";

const dec = new TextDecoder();

async function script(nc: NatsConnection): Promise<string[]> {
  const out: string[] = [];
  const note = (s: string) => out.push(s);
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const si = await jsm.streams.add({
    name: "ORDERS",
    subjects: ["orders.>"],
    storage: StorageType.Memory,
    max_msgs_per_subject: 10,
  });
  note(`stream ${si.config.name} ${si.config.subjects} ${si.state.messages}`);
  for (let i = 1; i <= 5; i++) {
    const ack = await js.publish(`orders.${i % 2 ? "new" : "paid"}`, `order ${i}`, {
      msgID: `id-${i}`,
    });
    note(`ack ${ack.stream} ${ack.seq} ${ack.duplicate}`);
  }
  const dup = await js.publish("orders.new", "again", { msgID: "id-1" });
  note(`dup ${dup.seq} ${dup.duplicate}`);
  try {
    await js.publish("orders.new", "x", { expect: { lastSequence: 2 } });
  } catch (e) {
    note(`expect: ${(e as Error).message}`);
  }
  try {
    await jsm.streams.add({ name: "OTHER", subjects: ["orders.new"], storage: StorageType.Memory });
  } catch (e) {
    note(`overlap: ${(e as Error).message}`);
  }
  const names: string[] = [];
  for await (const n of jsm.streams.names()) names.push(n);
  note(`names ${names}`);
  const msg = await jsm.streams.getMessage("ORDERS", { last_by_subj: "orders.paid" });
  note(`get ${msg?.seq} ${msg?.subject} ${msg ? dec.decode(msg.data) : ""}`);
  await jsm.consumers.add("ORDERS", {
    durable_name: "worker",
    ack_policy: AckPolicy.Explicit,
    filter_subject: "orders.new",
    ack_wait: 400_000_000,
  });
  const c = await js.consumers.get("ORDERS", "worker");
  const batch = await c.fetch({ max_messages: 2, expires: 1000 });
  for await (const m of batch) {
    note(`fetch ${m.seq} ${m.subject} ${m.string()} redelivered=${m.redelivered}`);
    if (m.seq === 1) m.ack();
    else m.nak();
  }
  // The NAKed message comes back with the new one; nats-server handles acks
  // on a queue of their own, so which of the two comes first is not fixed there.
  const got: string[] = [];
  for await (const m of await c.fetch({ max_messages: 2, expires: 2000 })) {
    got.push(`${m.seq}:${m.string()}:dc${m.info.deliveryCount}`);
    await m.ackAck();
  }
  note(`after nak ${got.sort()}`);
  const rest: number[] = [];
  for await (const m of await c.fetch({ max_messages: 5, expires: 1000 })) rest.push(m.seq);
  note(`rest [${rest}]`);
  const info = await c.info();
  note(
    `info delivered=${info.delivered.stream_seq}/${info.delivered.consumer_seq} floor=${info.ack_floor.stream_seq} pending=${info.num_pending} ack_pending=${info.num_ack_pending}`,
  );
  const none = await c.next({ expires: 1000 });
  note(`none ${none}`);
  const purged = await jsm.streams.purge("ORDERS", { filter: "orders.paid" });
  note(`purged ${purged.purged}`);
  const after = await jsm.streams.info("ORDERS");
  note(
    `state ${after.state.messages} ${after.state.first_seq} ${after.state.last_seq} consumers=${after.state.consumer_count}`,
  );
  await jsm.consumers.delete("ORDERS", "worker");
  try {
    await js.consumers.get("ORDERS", "worker");
  } catch (e) {
    note(`gone: ${(e as Error).message}`);
  }
  note(`deleted ${await jsm.streams.delete("ORDERS")}`);
  const account = await jsm.getAccountInfo();
  note(`account streams=${account.streams} consumers=${account.consumers}`);
  return out;
}

Deno.test({
  name: "jetstream: the official client gives the same results as with nats-server",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await sameTranscript(script);
  },
});
