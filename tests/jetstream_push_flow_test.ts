/**
 * Push consumers' idle heartbeats and flow control, byte for byte beside
 * nats-server -js: a raw socket subscribes to the deliver subject and every
 * frame it receives (MSG/HMSG line, headers) is compared once the random end
 * of flow-control replies and the ack-reply timestamps are masked.
 */
import { deepStrictEqual, ok } from "node:assert/strict";
import { missing } from "./helpers/requires.ts";
import { RawClient } from "./helpers/raw.ts";
import { waitFor } from "./helpers/server.ts";
import { client, type JsServer, startJs } from "./jetstream/helpers.ts";

const enc = new TextEncoder();

interface Frame {
  line: string;
  hdr: string;
  size: number;
  reply: string;
}

/** Splits what the raw client received into MSG/HMSG frames (other lines are dropped). */
function frames(text: string): Frame[] {
  const out: Frame[] = [];
  let p = 0;
  while (p < text.length) {
    const eol = text.indexOf("\r\n", p);
    if (eol < 0) break;
    const line = text.slice(p, eol);
    const parts = line.split(" ");
    p = eol + 2;
    if (parts[0] !== "MSG" && parts[0] !== "HMSG") continue;
    const total = Number(parts[parts.length - 1]);
    const hsize = parts[0] === "HMSG" ? Number(parts[parts.length - 2]) : 0;
    const reply = parts.length === (parts[0] === "HMSG" ? 6 : 5) ? parts[3] : "";
    if (p + total + 2 > text.length) break;
    out.push({ line, hdr: text.slice(p, p + hsize), size: total - hsize, reply });
    p += total + 2;
  }
  return out;
}

// nats-server writes an empty reply field (two spaces) in the MSG line of
// what JetStream sends without a reply; dnatsd writes none (clients read both
// the same): the line is compared with single spaces, the headers exactly.
function describe(f: Frame): string {
  const line = f.line.replace(/ +/g, " ")
    .replace(/(\$JS\.ACK(?:\.[^.\s]+){5})\.\d+/, "$1.TS")
    .replace(/(\$JS\.FC\.[^.\s]+\.[^.\s]+)\.[0-9A-Za-z]{4}\b/, "$1.FCID");
  const hdr = f.hdr.replace(/(\$JS\.FC\.[^.\s]+\.[^.\s]+)\.[0-9A-Za-z]{4}\b/, "$1.FCID");
  return `${line} ${JSON.stringify(hdr)} +${f.size}`;
}

/** The frames of subscription 1 (the deliver subject). */
function onSid1(r: RawClient): Frame[] {
  return frames(r.received).filter((f) => f.line.split(" ")[2] === "1");
}

async function raw(s: JsServer): Promise<RawClient> {
  const r = await RawClient.connect(s.server.port);
  await r.send('CONNECT {"verbose":false,"headers":true,"no_responders":true}\r\n');
  await r.roundTrip();
  return r;
}

async function request(r: RawClient, subject: string, body: string): Promise<void> {
  await r.send(`PUB ${subject} _INBOX.api ${enc.encode(body).length}\r\n${body}\r\n`);
}

Deno.test({
  name: "jetstream push flow: idle heartbeats carry the last sequences, byte for byte",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  async fn() {
    const transcripts: string[][] = [];
    for (const reference of [true, false]) {
      const s = await startJs(reference);
      const nc = await client(s);
      const r = await raw(s);
      try {
        await nc.request(
          "$JS.API.STREAM.CREATE.S",
          enc.encode('{"name":"S","subjects":["s.>"],"storage":"memory"}'),
        );
        for (const body of ["1", "2", "3"]) await nc.request("s.a", enc.encode(body));
        await r.send("SUB d.hb 1\r\nSUB _INBOX.api 2\r\n");
        await r.roundTrip();
        // Every heartbeat is sent after the consumer exists, and each at least
        // idle_heartbeat (200 ms) after the one before, so by any moment at
        // most 1 + (time since the create request) / 200 ms of them can have
        // come, however late this loaded process reads them. (Timing the gap
        // between two arrivals instead fails when a stall of this process
        // delays reading the first one.)
        const hbMs = 200;
        const beforeCreate = Date.now();
        await request(
          r,
          "$JS.API.CONSUMER.DURABLE.CREATE.S.H",
          '{"stream_name":"S","config":{"durable_name":"H","deliver_subject":"d.hb",' +
            '"idle_heartbeat":200000000,"ack_policy":"explicit","headers_only":true}}',
        );
        const heartbeats = () => onSid1(r).filter((f) => f.hdr.includes("Idle Heartbeat")).length;
        let tooSoon = "";
        const spaced = () => {
          const n = heartbeats();
          const ms = Date.now() - beforeCreate;
          if (n > 1 + Math.floor(ms / hbMs) && !tooSoon) tooSoon = `${n} after ${ms} ms`;
          return n;
        };
        // Three messages (headers only: Nats-Msg-Size), then two heartbeats.
        await waitFor(() => onSid1(r).length >= 4 && spaced() >= 1, 3000, "heartbeat");
        await waitFor(() => spaced() >= 2, 3000, "heartbeat 2");
        ok(tooSoon === "", `heartbeats are spaced by idle_heartbeat (${tooSoon})`);
        await r.send("UNSUB 1\r\n");
        await r.roundTrip();
        // The three messages and the first two heartbeats.
        transcripts.push(onSid1(r).slice(0, 5).map(describe));
      } finally {
        await r.close();
        await nc.close();
        await s.stop();
      }
    }
    deepStrictEqual(transcripts[1], transcripts[0]);
  },
});

Deno.test({
  name: "jetstream push flow: flow control requests, the stall until answered, stalled heartbeats",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  async fn() {
    const transcripts: string[][] = [];
    const payload = enc.encode("x".repeat(128 * 1024));
    for (const reference of [true, false]) {
      const s = await startJs(reference);
      const nc = await client(s);
      const r = await raw(s);
      const out: string[] = [];
      const deliveries = () => frames(r.received).filter((f) => f.line.startsWith("MSG s.a"));
      try {
        await nc.request(
          "$JS.API.STREAM.CREATE.S",
          enc.encode('{"name":"S","subjects":["s.>"],"storage":"memory"}'),
        );
        for (let i = 0; i < 24; i++) await nc.request("s.a", payload);
        await r.send("SUB d.fc 1\r\nSUB _INBOX.api 2\r\n");
        await r.roundTrip();
        await request(
          r,
          "$JS.API.CONSUMER.DURABLE.CREATE.S.F",
          '{"stream_name":"S","config":{"durable_name":"F","deliver_subject":"d.fc",' +
            '"idle_heartbeat":300000000,"flow_control":true}}',
        );
        // Past half of the 2 MiB window a request goes out; past all of it delivery stops.
        await waitFor(
          () => frames(r.received).some((f) => f.hdr.includes("Nats-Consumer-Stalled")),
          5000,
          "a stalled heartbeat",
        );
        const fc = frames(r.received).find((f) => f.hdr.includes("FlowControl"))!;
        const before = onSid1(r);
        out.push(...before.map(describe));
        out.push(`stalled after ${deliveries().length}`);
        // Nothing more comes while the request is unanswered.
        await new Promise((res) => setTimeout(res, 200));
        out.push(`still ${deliveries().length}`);
        // The answer opens the window again: the rest comes.
        await r.send(`PUB ${fc.reply} 0\r\n\r\n`);
        await waitFor(() => deliveries().length >= 24, 5000, "the rest after the answer");
        await r.send("UNSUB 1\r\n");
        await r.roundTrip();
        const rest = onSid1(r).slice(before.length).filter((f) => !f.hdr.includes("Heartbeat"));
        out.push(...rest.map(describe));
      } finally {
        await r.close();
        await nc.close();
        await s.stop();
      }
      transcripts.push(out);
    }
    if (Deno.env.get("JS_TEST_DUMP")) console.log(JSON.stringify(transcripts, null, 1));
    deepStrictEqual(transcripts[1], transcripts[0]);
  },
});

/** Arrival times (ms) of `n` messages on a new push consumer with `config`. */
async function arrivals(
  s: JsServer,
  stream: string,
  config: string,
  n: number,
): Promise<number[]> {
  const nc = await client(s);
  try {
    const times: number[] = [];
    const sub = nc.subscribe("d.t", { max: n });
    const done = (async () => {
      for await (const _ of sub) times.push(performance.now());
    })();
    const body = `{"stream_name":"${stream}","config":{"deliver_subject":"d.t",${config}}}`;
    const r = JSON.parse(
      new TextDecoder().decode(
        (await nc.request(`$JS.API.CONSUMER.CREATE.${stream}`, enc.encode(body))).data,
      ),
    );
    ok(!r.error, JSON.stringify(r.error));
    await Promise.race([done, new Promise((res) => setTimeout(res, 5000))]);
    sub.unsubscribe();
    return times;
  } finally {
    await nc.close();
  }
}

Deno.test({
  name:
    "jetstream push flow: replay_policy original keeps the spacing, rate_limit_bps bounds the rate",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  async fn() {
    for (const reference of [true, false]) {
      const s = await startJs(reference);
      const nc = await client(s);
      try {
        await nc.request(
          "$JS.API.STREAM.CREATE.R",
          enc.encode('{"name":"R","subjects":["r"],"storage":"memory"}'),
        );
        // Published 250 ms apart (the spacing is the input of this case).
        for (let i = 0; i < 3; i++) {
          if (i > 0) await new Promise((res) => setTimeout(res, 250));
          await nc.request("r", enc.encode(`m${i}`));
        }
        const replay = await arrivals(s, "R", '"replay_policy":"original"', 3);
        const instant = await arrivals(s, "R", '"replay_policy":"instant"', 3);
        const who = reference ? "nats-server" : "dnatsd";
        deepStrictEqual([replay.length, instant.length], [3, 3], who);
        ok(replay[2] - replay[0] >= 400, `${who}: replayed over ${replay[2] - replay[0]} ms`);
        ok(instant[2] - instant[0] < 200, `${who}: instant over ${instant[2] - instant[0]} ms`);

        // The burst is the stream's max_msg_size: 20 messages of ~1 KB at 40 KB/s.
        await nc.request(
          "$JS.API.STREAM.CREATE.L",
          enc.encode('{"name":"L","subjects":["l"],"storage":"memory","max_msg_size":1024}'),
        );
        for (let i = 0; i < 20; i++) await nc.request("l", new Uint8Array(900));
        const limited = await arrivals(s, "L", '"rate_limit_bps":320000', 20);
        const free = await arrivals(s, "L", '"ack_policy":"none"', 20);
        deepStrictEqual([limited.length, free.length], [20, 20], who);
        const took = limited[19] - limited[0];
        ok(took >= 300 && took < 2000, `${who}: 20 KB at 40 KB/s took ${took} ms`);
        ok(free[19] - free[0] < 200, `${who}: unlimited took ${free[19] - free[0]} ms`);
      } finally {
        await nc.close();
        await s.stop();
      }
    }
  },
});
