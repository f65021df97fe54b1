// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * A push-consumer script runner for side-by-side tests: API requests,
 * publishes, subscriptions on deliver subjects (plain or in a queue group),
 * waits for a number of deliveries, quiet periods that must bring nothing,
 * and acks of earlier deliveries. Each observation is a line of text with what
 * differs by nature masked (times, ack-reply timestamps, ephemeral names,
 * the random end of flow-control replies).
 *
 * @module
 */
import type { Msg, NatsConnection, Subscription } from "npm:@nats-io/transport-node@3.4.0";
import { normalise } from "./helpers.ts";

export type PushStep =
  | { req: string; body?: string }
  | { pub: string; body: string; headers?: Record<string, string> }
  | { sub: string; queue?: string }
  | { unsub: string }
  | { wait: number; timeoutMs?: number }
  | { quiet: number }
  | { ack: number; body?: string };

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Runs the steps; returns one line per observation. */
export async function runPush(nc: NatsConnection, steps: PushStep[]): Promise<string[]> {
  const out: string[] = [];
  const subs = new Map<string, Subscription>();
  const got: string[] = [];
  const delivered: Msg[] = [];
  const names = new Map<string, string>();
  const mask = (text: string): string => {
    let t = normalise(text)
      .replace(/(\$JS\.ACK(?:\.[^.\s]+){5})\.\d+/g, "$1.TS")
      .replace(/(\$JS\.FC\.[^.\s]+\.[^.\s]+)\.[0-9A-Za-z]{4}\b/g, "$1.FCID");
    for (const [name, alias] of names) t = t.replaceAll(name, alias);
    return t;
  };
  const describe = (tag: string, m: Msg): string => {
    let text = `${tag} ${m.subject} ${m.reply ?? ""}`;
    if (m.headers) {
      const pairs = [...m.headers.keys()].map((k) => `${k}=${m.headers!.get(k)}`).join(",");
      text += ` [${m.headers.code} ${m.headers.description}${pairs ? " " + pairs : ""}]`;
    }
    return mask(`${text} ${dec.decode(m.data)}`);
  };
  // Deliveries of different consumers interleave at random on either server:
  // each subscription's lines keep their order, grouped by subscription.
  const flushGot = () => {
    const lines = got.splice(0);
    const tag = (l: string) => l.slice(0, l.indexOf(" "));
    const tags = [...new Set(lines.map(tag))].sort();
    for (const t of tags) for (const l of lines) if (tag(l) === t) out.push(`  ${l}`);
  };
  for (const step of steps) {
    if ("req" in step) {
      try {
        const r = await nc.request(step.req, enc.encode(step.body ?? ""), { timeout: 2000 });
        const text = dec.decode(r.data);
        // An ephemeral consumer's name is random: give it a stable alias.
        const created =
          /"type":"[^"]*consumer_create_response","stream_name":"[^"]*","name":"([^"]+)"/
            .exec(text);
        if (created && !names.has(created[1]) && !step.body?.includes(created[1])) {
          names.set(created[1], `EPH${names.size + 1}`);
        }
        out.push(`REQ ${step.req} -> ${mask(text)}`);
      } catch (e) {
        out.push(`REQ ${step.req} -> ${(e as Error).message}`);
      }
    } else if ("pub" in step) {
      const r = await nc.request(step.pub, enc.encode(step.body), { timeout: 2000 });
      out.push(`PUB ${step.pub} -> ${dec.decode(r.data)}`);
    } else if ("sub" in step) {
      const tag = step.queue
        ? `${step.sub}/${step.queue}#${subs.size}`
        : `${step.sub}#${subs.size}`;
      const sub = nc.subscribe(step.sub, {
        queue: step.queue,
        callback: (_e, m) => {
          got.push(describe(tag, m));
          if (!m.headers?.code) delivered.push(m);
        },
      });
      subs.set(tag, sub);
      await nc.flush();
      out.push(`SUB ${tag}`);
    } else if ("unsub" in step) {
      for (const [tag, sub] of subs) {
        if (tag.startsWith(`${step.unsub}#`) || tag.startsWith(`${step.unsub}/`)) {
          sub.unsubscribe();
          subs.delete(tag);
        }
      }
      await nc.flush();
      out.push(`UNSUB ${step.unsub}`);
    } else if ("wait" in step) {
      const deadline = Date.now() + (step.timeoutMs ?? 3000);
      while (got.length < step.wait && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      out.push(`WAIT ${step.wait} (got ${got.length})`);
      flushGot();
    } else if ("quiet" in step) {
      await new Promise((r) => setTimeout(r, step.quiet));
      out.push(`QUIET (got ${got.length})`);
      flushGot();
    } else {
      const m = delivered[step.ack];
      if (!m) {
        out.push(`ACK#${step.ack}: no such delivery`);
        continue;
      }
      const r = await nc.request(m.reply!, enc.encode(step.body ?? ""), { timeout: 2000 });
      const status = r.headers ? ` [${r.headers.code} ${r.headers.description}]` : "";
      out.push(`ACK#${step.ack} ${step.body ?? ""} -> [${dec.decode(r.data)}]${status}`);
    }
  }
  for (const sub of subs.values()) sub.unsubscribe();
  return out;
}
