/**
 * Push delivery without a network: a consumer over an in-memory stream with
 * a host that records what is published. The side-by-side tests with
 * nats-server are tests/jetstream_push*_test.ts.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { Consumer, type ConsumerHost } from "./consumer.ts";
import { normaliseConsumerConfig } from "./consumer_config.ts";
import { normaliseConfig, Stream } from "./stream.ts";

const enc = new TextEncoder();

/** dc.sseq.dseq.pending of an ack reply (the timestamp left out). */
function ackInfo(reply: string): string {
  const t = reply.split(".");
  return [t[4], t[5], t[6], t[8]].join(".");
}

function setup(n: number, config: Record<string, unknown>) {
  const stream = new Stream(
    normaliseConfig({ name: "S", subjects: ["s.>"], storage: "memory" }),
    "",
  );
  for (let i = 0; i < n; i++) stream.publish(`s.${i % 10}`, null, enc.encode(String(i)));
  const sent: string[] = [];
  const host: ConsumerHost = {
    publish(subject, reply, _hdr, data, deliverTo) {
      sent.push(
        `${deliverTo ?? subject} ${subject} ${ackInfo(reply)} ${new TextDecoder().decode(data)}`,
      );
      return 1;
    },
    hasInterest: () => true,
    exactInterest: () => true,
    watchInterest: () => () => {},
    checkInterest: () => {},
    maxPayload: 1024 * 1024,
    expired: () => {},
  };
  const cfg = normaliseConsumerConfig({ deliver_subject: "d", ...config }, stream, true);
  const c = new Consumer(stream, "C", cfg, host);
  return { stream, c, sent };
}

Deno.test("push: the pending count in ack replies follows appends, deliveries and deletes", () => {
  const { stream, c, sent } = setup(4, { durable_name: "C", filter_subject: "s.1" });
  // s.1 holds seq 2; the publishes below add 12 and 22.
  c.deliver();
  deepStrictEqual(sent, ["d s.1 1.2.1.0 1"]);
  for (let i = 4; i < 22; i++) stream.publish(`s.${i % 10}`, null, enc.encode(String(i)));
  equal(c.numPending(), 2); // seqs 12 and 22
  stream.removeMsg(12);
  equal(c.numPending(), 1);
  c.deliver();
  deepStrictEqual(sent.slice(1), ["d s.1 1.22.2.0 21"]);
  equal(c.numPending(), 0);
});

Deno.test("push: a backlog goes out in slices, in linear time", async () => {
  const n = 60_000;
  const { c, sent } = setup(n, { durable_name: "C", ack_policy: "none" });
  const started = performance.now();
  c.deliver();
  // The first slice only: the event loop runs between slices.
  ok(sent.length > 0 && sent.length < n, `first slice ${sent.length}`);
  const deadline = Date.now() + 10_000;
  while (sent.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const took = performance.now() - started;
  equal(sent.length, n);
  // Counting the pending messages anew for each one was quadratic: over 10 s here.
  ok(took < 5000, `took ${took.toFixed(0)} ms`);
  equal(sent[n - 1], `d s.9 1.${n}.${n}.0 ${n - 1}`);
  c.close();
});
