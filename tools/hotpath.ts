/**
 * The CPU cost of dnatsd's publish path without sockets: one publisher and N
 * subscribers (`ClientConnection`s on transports whose writes complete at
 * once), fed 256 KiB chunks of `PUB bench.ps 128`. Each chunk's parse,
 * delivery and flush is timed on its own and the third shortest of 500 is
 * printed as ns per delivery: the shortest are the chunks no other process
 * interrupted, so the figure holds on a busy machine where the bench's
 * ratios swing by half (docs/performance.md, "Measuring a change").
 *
 * Usage: `deno run -A tools/hotpath.ts [subscribers=1|wildcard|miss] [root]
 * [--shuffled]`, where `root` is another checkout to measure (to alternate two
 * versions of the code); `wildcard` and `miss` are the wildcard workload (see
 * {@link Shape}), printed per message. The bench publishes their 100 subjects
 * in a fixed cycle; `--shuffled` publishes them in a seeded random order
 * instead, so that nothing that predicts the next subject can help.
 *
 * @module
 */
import type { ClientConnection } from "../lib/client/connection.ts";
import type { Transport } from "../lib/conn/transport.ts";
import type { Account } from "../lib/server/account.ts";
import type { ServerCore } from "../lib/server/core.ts";

const CHUNK_BYTES = 256 * 1024;
const WARM_UP = 100;
const TIMED = 500;

/** Writes complete at once; only the byte count is kept. */
export class InstantTransport implements Transport {
  readonly remoteAddress = "127.0.0.1";
  readonly remotePort = 1;
  onData: (chunk: Uint8Array) => void = () => {};
  written = 0;
  start(onData: (chunk: Uint8Array) => void): void {
    this.onData = onData;
  }
  write(data: Uint8Array): Promise<void> {
    this.written += data.length;
    return Promise.resolve();
  }
  pause(): void {}
  resume(): void {}
  close(): void {}
}

/**
 * What is published: `pubsub` is `bench.ps` to N connections with one
 * subscription each; `wildcard` and `miss` are the wildcard workload of
 * `deno task bench --only wildcard` (one connection holding its 10,000
 * wildcard subscriptions; 100 subjects that match 2 or 3 of them, or 100
 * that match none), figures per message for those two.
 */
export type Shape = "pubsub" | "wildcard" | "miss" | "burst";

/** The wildcard workload's 10,000 SUBs (see tools/bench/throughput.ts), under `root`. */
export function wildcardSubs(root = "bench"): string {
  let subs = "";
  for (let i = 0; i < 5000; i++) subs += `SUB ${root}.${i}.* ${i + 1}\r\n`;
  for (let i = 0; i < 4990; i++) subs += `SUB ${root}.*.${i} ${5001 + i}\r\n`;
  for (let i = 0; i < 10; i++) subs += `SUB ${root}.${i}.> ${9991 + i}\r\n`;
  return subs;
}

/**
 * `burst`: `rounds` new connections, each sending the wildcard workload's
 * 10,000 SUBs (under its own first token) in one chunk; CPU ns of the
 * JavaScript thread per SUB of the third shortest burst (or of the only one),
 * the first printed apart by the caller through {@link firstBurstNs}.
 */
async function burst(
  enc: TextEncoder,
  connect: (cid: number, extra: string) => InstantTransport,
  rounds: number,
): Promise<number> {
  const times: number[] = [];
  for (let k = 0; k < rounds; k++) {
    const chunk = enc.encode(wildcardSubs(`r${k}`));
    const t = connect(k + 2, "");
    const t0 = threadCpuNs();
    t.onData(chunk);
    times.push((threadCpuNs() - t0) / 10_000);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  firstBurstNs = times[0]!;
  times.sort((a, b) => a - b);
  return times[Math.min(2, times.length - 1)]!;
}

/**
 * CPU time of this (the JavaScript) thread in ns, from Linux's schedstat: a
 * burst is short enough that being preempted would dominate a wall-clock
 * figure on a busy machine. Wall time where the file does not exist.
 */
function threadCpuNs(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/thread-self/schedstat").split(" ")[0]);
  } catch {
    return performance.now() * 1e6;
  }
}

/**
 * The checkout at `root` (loaded from there, so another checkout can be
 * measured) as an in-process server of one account: `connect` makes a
 * ClientConnection on an {@link InstantTransport}, sends CONNECT and `extra`.
 */
export async function inProcessServer(root: URL): Promise<{
  connect: (
    cid: number,
    extra: string,
  ) => { transport: InstantTransport; client: ClientConnection };
}> {
  const at = (path: string) => new URL(path, root).href;
  const { defaultOptions } = await import(at("lib/config/options.ts"));
  const { FlushQueue } = await import(at("lib/conn/flush_queue.ts"));
  const { MemoryLogger } = await import(at("lib/ops/logger.ts"));
  const { Account: AccountClass } = await import(at("lib/server/account.ts"));
  const { zeroStats } = await import(at("lib/server/core.ts"));
  const { ClientConnection: Client } = await import(at("lib/client/connection.ts"));
  const account: Account = new AccountClass("$G", { cache: true });
  const writes = new FlushQueue();
  const server: ServerCore = {
    options: defaultOptions(),
    log: new MemoryLogger(),
    stats: zeroStats(),
    authRequired: false,
    authActive: false,
    authTimeoutMs: 2000,
    authenticate: () => ({ ok: true, account: "$G", permissions: null }),
    anonymousLogin: () => null,
    authViolationLine: () => "",
    accountFor: (name: string) => name === "$G" ? account : null,
    maxSubscriptionsFor: () => 0,
    interestChanged: () => {},
    pongSent: () => {},
    queueFlush: (c) => writes.add(c),
    flushPending: () => writes.flush(),
    slowConsumer: () => {
      throw new Error("slow consumer: the transport should never hold bytes back");
    },
    clientClosed: () => {},
    redact: (text: string) => text,
  };
  const enc = new TextEncoder();
  const connect = (cid: number, extra: string) => {
    const transport = new InstantTransport();
    const client: ClientConnection = new Client(server, transport, cid, account);
    client.begin(enc.encode("INFO {} \r\n"));
    transport.onData(enc.encode(`CONNECT {"verbose":false,"pedantic":false}\r\n${extra}`));
    return { transport, client };
  };
  return { connect };
}

/** Five passes over `subjects`, each subject picked by a seeded generator (same order every run). */
export function shuffledOrder(subjects: string[]): string[] {
  let seed = 12345;
  const order: string[] = [];
  for (let k = 0; k < subjects.length * 5; k++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    order.push(subjects[Math.floor(seed / 2 ** 32 * subjects.length)]!);
  }
  return order;
}

/** ns per SUB of the first burst of the last `burst` measurement (cold code). */
export let firstBurstNs = 0;

/** ns per delivery (per message for `wildcard`/`miss`): the third shortest chunk of {@link TIMED}. */
export async function measure(
  root: URL,
  subscribers: number,
  shape: Shape = "pubsub",
  shuffled = false,
): Promise<number> {
  const enc = new TextEncoder();
  const { connect: open } = await inProcessServer(root);
  const connect = (cid: number, extra: string) => open(cid, extra).transport;
  if (shape === "burst") return burst(enc, connect, subscribers);
  const wild = shape !== "pubsub";
  if (wild) subscribers = 1;
  const subs = Array.from(
    { length: subscribers },
    (_, i) => connect(i + 2, wild ? wildcardSubs() : "SUB bench.ps 1\r\n"),
  );
  const pub = connect(1, "");
  const turn = () => new Promise((resolve) => setTimeout(resolve, 0));
  await turn();
  const subjects = shape === "pubsub"
    ? ["bench.ps"]
    : Array.from({ length: 100 }, (_, k) =>
      shape === "miss" ? `bench.2000${k}.2000${k}` : `bench.${k}.${k}`);
  const order = shuffled ? shuffledOrder(subjects) : subjects;
  const one = enc.encode(order.map((s) => `PUB ${s} 128\r\n${"x".repeat(128)}\r\n`).join(""));
  const perChunk = Math.floor(CHUNK_BYTES / one.length);
  const chunk = new Uint8Array(perChunk * one.length);
  for (let i = 0; i < perChunk; i++) chunk.set(one, i * one.length);
  const msgsPerChunk = perChunk * order.length;
  const times: number[] = [];
  for (let k = 0; k < WARM_UP + TIMED; k++) {
    const t0 = performance.now();
    pub.onData(chunk);
    const ms = performance.now() - t0;
    if (k >= WARM_UP) times.push(ms * 1e6 / (msgsPerChunk * (wild ? 1 : subscribers)));
    await turn(); // the writes complete, the buffers go back to the pool
  }
  // Deliveries per chunk: 2 per subject, 3 for the ten with a `bench.<k>.>` as
  // well (2.1 on average in the fixed cycle, at least 2 in any order).
  const perMsg = shape === "miss" ? 0 : shape === "wildcard" ? (shuffled ? 2 : 2.1) : subscribers;
  const expected = (WARM_UP + TIMED) * msgsPerChunk * perMsg;
  const delivered = subs.reduce((sum, t) => sum + t.written, 0);
  if (delivered < expected * (128 + 2) || (shape === "miss" && delivered > 1000)) {
    throw new Error(`${delivered} bytes delivered for ${expected} messages`);
  }
  times.sort((a, b) => a - b);
  return times[2]!;
}

if (import.meta.main) {
  const first = Deno.args[0] ?? "1";
  const shape: Shape = first === "wildcard" || first === "miss" || first === "burst"
    ? first
    : "pubsub";
  const subscribers = shape === "pubsub" ? Number(first) : shape === "burst" ? 20 : 1;
  const shuffled = Deno.args.includes("--shuffled");
  const rootArg = Deno.args.slice(1).find((a) => a !== "--shuffled");
  const root = rootArg === undefined
    ? new URL("../", import.meta.url)
    : new URL(`file://${rootArg.replace(/\/?$/, "/")}`);
  const ns = await measure(root, subscribers, shape, shuffled);
  const what = shape === "pubsub"
    ? `1:${subscribers} 128 B: ${ns.toFixed(1)} ns per delivery`
    : shape === "burst"
    ? `burst of 10,000 wildcard SUBs: ${ns.toFixed(1)} ns per SUB (first burst ${
      firstBurstNs.toFixed(1)
    })`
    : `${shape}${shuffled ? " (shuffled)" : ""} 128 B: ${ns.toFixed(1)} ns per message`;
  console.log(`${what} (${root.pathname})`);
  Deno.exit(0); // the connections' keep-alive timers would keep the process up
}
