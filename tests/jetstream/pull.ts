// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * A pull-consumer script runner for side-by-side tests: requests, pulls
 * (collecting what arrives on the pull's inbox until a count or a status
 * message), acks of earlier deliveries, and API requests, recorded as text
 * with the parts that differ by nature masked (times, ack-reply timestamps,
 * ephemeral names).
 *
 * @module
 */
import type { Msg, NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { normalise } from "./helpers.ts";

export type PullStep =
  | { req: string; body?: string }
  | { pub: string; body: string }
  | { pull: string; body?: string; until: number; timeoutMs?: number }
  | { ack: number; body?: string; sync?: boolean };

const enc = new TextEncoder();
const dec = new TextDecoder();

function describe(m: Msg): string {
  let text = `${m.subject} ${(m.reply ?? "").replace(/^(\$JS\.ACK(?:\.[^.]+){5})\.\d+/, "$1.TS")}`;
  if (m.headers) {
    const pairs = [...m.headers.keys()].map((k) => `${k}=${m.headers!.get(k)}`).join(",");
    text += ` [${m.headers.code} ${m.headers.description}${pairs ? " " + pairs : ""}]`;
  }
  return `${text} ${dec.decode(m.data)}`;
}

/** Runs the steps; returns one line per observation. */
export async function runPulls(nc: NatsConnection, steps: PullStep[]): Promise<string[]> {
  const out: string[] = [];
  const delivered: Msg[] = [];
  let inboxN = 0;
  for (const step of steps) {
    if ("req" in step) {
      try {
        const r = await nc.request(step.req, enc.encode(step.body ?? ""), { timeout: 2000 });
        out.push(`REQ ${step.req} -> ${normalise(dec.decode(r.data))}`);
      } catch (e) {
        out.push(`REQ ${step.req} -> ${(e as Error).message}`);
      }
    } else if ("pub" in step) {
      const r = await nc.request(step.pub, enc.encode(step.body), { timeout: 2000 });
      out.push(`PUB ${step.pub} -> ${dec.decode(r.data)}`);
    } else if ("pull" in step) {
      const inbox = `_INBOX.pull${inboxN++}`;
      const sub = nc.subscribe(inbox);
      const got: Msg[] = [];
      const done = (async () => {
        for await (const m of sub) {
          got.push(m);
          if (m.headers?.code || got.length >= step.until) break;
        }
      })();
      nc.publish(step.pull, enc.encode(step.body ?? ""), { reply: inbox });
      const timeout = new Promise((r) => setTimeout(r, step.timeoutMs ?? 3000));
      await Promise.race([done, timeout]);
      sub.unsubscribe();
      out.push(`PULL ${step.body ?? ""}`);
      for (const m of got) {
        out.push(`  ${describe(m)}`);
        if (!m.headers?.code) delivered.push(m);
      }
    } else {
      const m = delivered[step.ack];
      if (!m) {
        out.push(`ACK#${step.ack}: no such delivery`);
        continue;
      }
      if (step.sync) {
        const r = await nc.request(m.reply!, enc.encode(step.body ?? ""), { timeout: 2000 });
        out.push(`ACK#${step.ack} ${step.body ?? ""} -> [${dec.decode(r.data)}]`);
      } else {
        nc.publish(m.reply!, enc.encode(step.body ?? ""));
        await nc.flush();
        out.push(`ACK#${step.ack} ${step.body ?? ""}`);
      }
    }
  }
  return out;
}
