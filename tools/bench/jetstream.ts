// deno-lint-ignore-file no-import-prefix -- pinned npm: specifier keeps `deno run <URL>` working without deno.json (docs/architecture.md)
/**
 * JetStream rows: publish with acknowledgement (file and memory stream), pull
 * consume with explicit acks, key-value put and get, and the file store's
 * bytes on disk per message. The measured traffic goes over one raw socket
 * with a fixed number of requests in flight; the npm client only sets up and
 * checks (stream create, info, consumer info), outside the timed part.
 * Key-value is done with the protocol, as the KV clients do it: a put is a
 * publish to `$KV.<bucket>.<key>` on a stream configured as they configure
 * it, a get is `$JS.API.DIRECT.GET.<stream>.<subject>` when the server
 * answers it, else `$JS.API.STREAM.MSG.GET` with `last_by_subj`.
 *
 * @module
 */
import { connect, type NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { MsgScanner } from "./msg_scanner.ts";
import { bytes, closeQuietly, type RawClient, rawConnect, readWithin, writeAll } from "./raw.ts";
import type { Measured } from "./report.ts";
import { launch, type RunningServer, type ServerSpec } from "./servers.ts";
import { type BenchContext, n, naFrom, scaled, type Workload } from "./workload.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
/** Requests in flight on the load connection. */
const IN_FLIGHT = 64;
const PAYLOAD = 128;
const KV_KEYS = 1000;

/** The time bound of one measured flow. */
function flowMs(ctx: BenchContext): number {
  return ctx.smoke ? 3000 : ctx.quick ? 5000 : 10_000;
}

/**
 * Sends `total` requests (`make(i)` gives the PUB line and payload, reply
 * `_JSB.<i>`), keeping `IN_FLIGHT` unanswered; counts the replies. Stops
 * issuing after `maxMs`. Returns the replies and the seconds taken.
 */
async function pipelined(
  c: RawClient,
  total: number,
  make: (i: number) => string,
  maxMs: number,
): Promise<{ done: number; seconds: number }> {
  const start = performance.now();
  const base = c.scanner.count;
  let sent = 0;
  const top = () => {
    let text = "";
    while (sent < total && sent - (c.scanner.count - base) < IN_FLIGHT) text += make(sent++);
    return text;
  };
  await writeAll(c.conn, bytes(top()));
  while (c.scanner.count - base < sent) {
    const left = start + maxMs + 10_000 - performance.now();
    if (left <= 0) throw new Error(`${sent - (c.scanner.count - base)} replies missing`);
    const got = await readWithin(c.conn, c.buf, left);
    if (got === null) throw new Error("connection closed by the server");
    c.scanner.feed(c.buf, got);
    if (c.scanner.errors.length > 0) throw new Error(`server said: ${c.scanner.errors[0]}`);
    if (performance.now() - start < maxMs) {
      const more = top();
      if (more !== "") await writeAll(c.conn, bytes(more));
    }
  }
  return { done: c.scanner.count - base, seconds: (performance.now() - start) / 1000 };
}

function pub(subject: string, reply: string, payload: string): string {
  return `PUB ${subject} ${reply} ${payload.length}\r\n${payload}\r\n`;
}

const BODY = "x".repeat(PAYLOAD);

/** The parts of API replies the bench reads. */
interface ApiReply {
  error?: { description: string };
  state: { messages: number };
  ack_floor: { stream_seq: number };
}

async function jsRequest(nc: NatsConnection, subject: string, body: unknown): Promise<ApiReply> {
  const r = await nc.request(subject, enc.encode(body === "" ? "" : JSON.stringify(body)), {
    timeout: 10_000,
  });
  const j = JSON.parse(dec.decode(r.data)) as ApiReply;
  if (j.error) throw new Error(`${subject}: ${j.error.description}`);
  return j;
}

/** Bytes of every file under `dir`. */
function duBytes(dir: string): number {
  let total = 0;
  for (const e of Deno.readDirSync(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) total += duBytes(p);
    else if (e.isFile) total += Deno.statSync(p).size;
  }
  return total;
}

/** A JetStream server with its own store directory, the setup client and a load connection. */
async function withJetStream<T>(
  spec: ServerSpec,
  fn: (s: RunningServer, nc: NatsConnection, c: RawClient, storeDir: string) => Promise<T>,
): Promise<T> {
  const storeDir = await Deno.makeTempDir({ prefix: "bench-js-" });
  const conf = await Deno.makeTempFile({ suffix: ".conf" });
  let server: RunningServer | undefined;
  let nc: NatsConnection | undefined;
  let c: RawClient | undefined;
  try {
    await Deno.writeTextFile(conf, `jetstream { store_dir: "${storeDir}" }\n`);
    server = await launch(spec, { config: conf });
    nc = await connect({ servers: `127.0.0.1:${server.port}` });
    c = await rawConnect(server.port, { extra: "SUB _JSB.* 1\r\n", bufSize: 64 * 1024 });
    return await fn(server, nc, c, storeDir);
  } finally {
    if (c) closeQuietly(c.conn);
    await nc?.close().catch(() => {});
    await server?.stop();
    await Deno.remove(storeDir, { recursive: true }).catch(() => {});
    await Deno.remove(conf).catch(() => {});
  }
}

function rate(r: { done: number; seconds: number }, what: string): Measured {
  return {
    value: r.done / r.seconds,
    note: `${n(r.done)} ${what} in ${r.seconds.toFixed(2)} s, ${IN_FLIGHT} in flight`,
  };
}

/** Publishes with acks to a new stream; checks the stream holds them all. */
async function publishFlow(
  nc: NatsConnection,
  c: RawClient,
  name: string,
  storage: "file" | "memory",
  total: number,
  maxMs: number,
): Promise<{ done: number; seconds: number }> {
  await jsRequest(nc, `$JS.API.STREAM.CREATE.${name}`, {
    name,
    subjects: [`${name}.in`],
    storage,
  });
  const r = await pipelined(c, total, (i) => pub(`${name}.in`, `_JSB.${i}`, BODY), maxMs);
  const info = await jsRequest(nc, `$JS.API.STREAM.INFO.${name}`, "");
  if (info.state.messages !== r.done) {
    throw new Error(`${r.done} acks but ${info.state.messages} messages stored`);
  }
  return r;
}

/** JetStream publish, consume and key-value rows, and on-disk bytes per message. */
export const jetStream: Workload = {
  name: "jetstream",
  figures: [
    { id: "jsPubFile", label: "JetStream publish+ack, file stream 128 B (msgs/s)", format: "rate" },
    {
      id: "jsPubMem",
      label: "JetStream publish+ack, memory stream 128 B (msgs/s)",
      format: "rate",
    },
    { id: "jsPull", label: "JetStream pull consume + explicit ack 128 B (msgs/s)", format: "rate" },
    { id: "kvPut", label: "KV put 128 B (msgs/s)", format: "rate" },
    { id: "kvGet", label: "KV get (msgs/s)", format: "rate" },
    { id: "jsDisk", label: "file store bytes on disk per 128 B message", format: "count" },
  ],
  peak: { label: "peak RSS: JetStream" },
  run: async (spec, ctx) => {
    const out = new Map<string, Measured>();
    const total = scaled(ctx, 50_000, 10_000, 300);
    const maxMs = flowMs(ctx);
    const attempt = async (ids: string[], fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (e) {
        for (const id of ids) if (!out.has(id)) out.set(id, naFrom(e));
      }
    };
    await attempt(
      ["jsPubFile", "jsDisk"],
      () =>
        withJetStream(spec, async (server, nc, c, storeDir) => {
          const r = await publishFlow(nc, c, "BF", "file", total, maxMs);
          out.set("jsPubFile", rate(r, "acked"));
          // Stopped cleanly first: nats-server writes its buffered blocks on the way out.
          await nc.close();
          closeQuietly(c.conn);
          await server.stop();
          const disk = duBytes(storeDir);
          out.set("jsDisk", {
            value: disk / r.done,
            note: `${n(disk)} bytes under the store for ${n(r.done)} messages`,
          });
        }),
    );
    await attempt(["jsPubMem"], () =>
      withJetStream(spec, async (_s, nc, c) => {
        out.set("jsPubMem", rate(await publishFlow(nc, c, "BM", "memory", total, maxMs), "acked"));
      }));
    await attempt(
      ["jsPull"],
      () => withJetStream(spec, (s, nc, c) => pullFlow(s.port, nc, c, total, maxMs, out)),
    );
    await attempt(
      ["kvPut", "kvGet"],
      () => withJetStream(spec, (_s, nc, c) => kvFlow(nc, c, total, maxMs, out)),
    );
    return out;
  },
};

/**
 * Fills a file stream, then one durable pull consumer with explicit acks
 * takes every message: two pull requests of 256 outstanding, each delivery
 * acknowledged as it arrives. Timed until the consumer's ack floor reaches the
 * last message.
 */
async function pullFlow(
  port: number,
  nc: NatsConnection,
  c: RawClient,
  total: number,
  maxMs: number,
  out: Map<string, Measured>,
): Promise<void> {
  const filled = await publishFlow(nc, c, "BP", "file", total, maxMs);
  const count = filled.done;
  await jsRequest(nc, "$JS.API.CONSUMER.DURABLE.CREATE.BP.C", {
    stream_name: "BP",
    config: { durable_name: "C", ack_policy: "explicit", max_ack_pending: 20_000 },
  });
  const acks: string[] = [];
  const scanner = new MsgScanner({
    payloadSize: PAYLOAD, // A status message (no payload) is not a delivery.
    onMsgLine: (line) => {
      // MSG <subject> <sid> <reply> <size>
      const parts = dec.decode(line).split(" ");
      if (parts.length === 5 && parts[0] === "MSG") acks.push(`PUB ${parts[3]} 0\r\n\r\n`);
    },
  });
  const pc = await rawConnect(port, {
    extra: "SUB _JSP 1\r\n",
    scanner,
    bufSize: 64 * 1024,
  });
  try {
    const BATCH = 256;
    let requested = 0;
    let start = 0;
    // Pulls go out for `maxMs`; what they asked for is then delivered and acked.
    const request = () => {
      let text = "";
      if (performance.now() - start > maxMs) return text;
      while (requested < count && requested - scanner.count < 2 * BATCH) {
        const b = Math.min(BATCH, count - requested);
        const body = `{"batch":${b}}`;
        text += `PUB $JS.API.CONSUMER.MSG.NEXT.BP.C _JSP ${body.length}\r\n${body}\r\n`;
        requested += b;
      }
      return text;
    };
    start = performance.now();
    await writeAll(pc.conn, bytes(request()));
    while (scanner.count < requested) {
      const left = start + maxMs + 20_000 - performance.now();
      if (left <= 0) throw new Error(`${requested - scanner.count} deliveries missing`);
      const got = await readWithin(pc.conn, pc.buf, left);
      if (got === null) throw new Error("connection closed by the server");
      scanner.feed(pc.buf, got);
      if (scanner.errors.length > 0) throw new Error(`server said: ${scanner.errors[0]}`);
      const text = acks.splice(0).join("") + request();
      if (text !== "") await writeAll(pc.conn, bytes(text));
    }
    // Every ack is processed once the ack floor is the last message delivered.
    for (;;) {
      const info = await jsRequest(nc, "$JS.API.CONSUMER.INFO.BP.C", "");
      if (info.ack_floor.stream_seq >= requested) break;
      if (performance.now() - start > maxMs + 30_000) {
        throw new Error(`ack floor ${info.ack_floor.stream_seq} of ${requested}`);
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    const seconds = (performance.now() - start) / 1000;
    out.set("jsPull", {
      value: requested / seconds,
      note: `${n(requested)} delivered and acked in ${seconds.toFixed(2)} s, pulls of ${BATCH}`,
    });
  } finally {
    closeQuietly(pc.conn);
  }
}

/** A bucket's stream as the KV clients create it (2.9), direct get asked for. */
function kvConfig(direct: boolean): Record<string, unknown> {
  return {
    name: "KV_B",
    subjects: ["$KV.B.>"],
    max_msgs_per_subject: 1,
    discard: "new",
    allow_rollup_hdrs: true,
    deny_delete: true,
    storage: "file",
    num_replicas: 1,
    duplicate_window: 120_000_000_000,
    ...(direct ? { allow_direct: true } : {}),
  };
}

/** KV puts over 1,000 keys, then gets of those keys. */
async function kvFlow(
  nc: NatsConnection,
  c: RawClient,
  total: number,
  maxMs: number,
  out: Map<string, Measured>,
): Promise<void> {
  let direct = true;
  try {
    await jsRequest(nc, "$JS.API.STREAM.CREATE.KV_B", kvConfig(true));
  } catch {
    direct = false; // The server does not take allow_direct (yet): gets go through MSG.GET.
    await jsRequest(nc, "$JS.API.STREAM.CREATE.KV_B", kvConfig(false));
  }
  const put = await pipelined(
    c,
    total,
    (i) => pub(`$KV.B.k${i % KV_KEYS}`, `_JSB.${i}`, BODY),
    maxMs,
  );
  out.set("kvPut", rate(put, "puts acked"));
  const info = await jsRequest(nc, "$JS.API.STREAM.INFO.KV_B", "");
  const keys = Math.min(KV_KEYS, put.done);
  if (info.state.messages !== keys) {
    throw new Error(`${info.state.messages} keys, ${keys} expected`);
  }
  if (direct) {
    // Answered only when the server serves direct gets on this stream.
    const probe = await nc.request("$JS.API.DIRECT.GET.KV_B.$KV.B.k0", undefined, { timeout: 1000 })
      .then((m) => m.headers?.get("Nats-Sequence") !== undefined && m.data.length === PAYLOAD)
      .catch(() => false);
    direct = probe;
  }
  const get = await pipelined(
    c,
    total,
    direct ? (i) => `PUB $JS.API.DIRECT.GET.KV_B.$KV.B.k${i % keys} _JSB.${i} 0\r\n\r\n` : (i) => {
      const body = `{"last_by_subj":"$KV.B.k${i % keys}"}`;
      return `PUB $JS.API.STREAM.MSG.GET.KV_B _JSB.${i} ${body.length}\r\n${body}\r\n`;
    },
    maxMs,
  );
  const m = rate(get, "gets answered");
  out.set("kvGet", {
    ...m,
    note: `${"note" in m ? m.note : ""}, ${direct ? "DIRECT.GET" : "MSG.GET last_by_subj"}`,
  } as Measured);
}
