// deno-lint-ignore-file no-import-prefix -- the soak drives the real npm NATS client
/**
 * Soak: mixed load on a two-node dnatsd cluster for a while, then a verdict.
 *
 * Node X lives for the whole run; node Y is restarted every `--restart-every`
 * seconds on the same ports (alternately kill -9 and SIGTERM). The load, from
 * nats.js clients that reconnect to their own node only:
 * - pub/sub: a numbered publisher and a plain subscriber on each node;
 * - a queue group with two members on each node, fed by a publisher on each node;
 * - request/reply: a responder (queue group) and a requester on each node;
 * - churn: clients that connect, subscribe, get their own message and close;
 * - garbage: raw connections sending invalid protocol streams (seeded).
 * Every 10 s it prints both servers' RSS and the counters.
 *
 * Loss accounting. A restart window runs from 1 s before Y is stopped until Y
 * is back: routes up, all of Y's named clients reconnected, and a probe from
 * each node's publisher seen by each subscriber, plus 2 s (a crash opens such a
 * window for the crashed node too, but fails the soak anyway). A missing
 * message is explained only if it was published in a window and its publisher
 * or its subscriber is on the stopped node (a plain subscription), or, for the queue group,
 * request/reply and churn (which may involve Y whatever the client's node),
 * if it was published (started) in a window. Everything else missing is
 * unexplained loss; duplicates are never explained.
 *
 * Memory: the median RSS of X (never restarted) over the last third of the
 * samples must be at most 1.25 x the median over the first third + 24 MiB.
 *
 * Exit status 1 on any crash (a server exit the soak did not cause),
 * unexplained loss, duplicate, or memory growth past that bound.
 *
 * Usage: `deno task soak [--minutes 30] [--restart-every 180] [--seed 1]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { connect, type NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import {
  killNode,
  memoryOf,
  mib,
  monitor,
  type NodeProcess,
  restartNode,
  startNode,
} from "../tests/helpers/node_process.ts";
import { SeqLedger, SeqPublisher, subscribeSeq } from "../tests/helpers/seq_traffic.ts";
import { waitFor } from "../tests/helpers/server.ts";
// Seeded PRNG (mulberry32): the garbage streams repeat with the seed.
import { prng } from "../lib/router/_test_util.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    minutes: { type: "string", default: "30" },
    "restart-every": { type: "string", default: "180" },
    seed: { type: "string", default: "1" },
  },
});
const MINUTES = Number(values.minutes);
const RESTART_EVERY_S = Number(values["restart-every"]);
const SEED = Number(values.seed);
if (!(MINUTES > 0) || !(RESTART_EVERY_S > 0) || !Number.isInteger(SEED)) {
  console.error("usage: deno task soak [--minutes N] [--restart-every S] [--seed N]");
  Deno.exit(2);
}
const SAMPLE_MS = 10_000;
const WINDOW_BEFORE_MS = 1000;
const WINDOW_AFTER_MS = 2000;
const MEMORY_FACTOR = 1.25;
const MEMORY_SLACK_KIB = 24 * 1024;

const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(0).padStart(5)}s`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (line: string) => console.log(`[${elapsed()}] ${line}`);

const rand = prng(SEED);

// ------------------------------------------------------------------ windows

interface Window {
  /** The node stopped (or crashed) in this window. */
  node: "X" | "Y";
  start: number;
  end: number;
}
const windows: Window[] = [];
let openWindow: Window | null = null;

/** Ends the open restart window (after a failed restart: its loss stays explained). */
function closeWindow(): void {
  if (!openWindow) return;
  openWindow.end = Date.now() + WINDOW_AFTER_MS;
  windows.push(openWindow);
  openWindow = null;
}

/** True when `t` is in a restart window (of one of `nodes`, when given). */
function inWindow(t: number, nodes?: string[]): boolean {
  const all = openWindow ? [...windows, openWindow] : windows;
  return all.some((w) => t >= w.start && t <= w.end && (!nodes || nodes.includes(w.node)));
}
function overlapsWindow(from: number, to: number): boolean {
  if (openWindow && to >= openWindow.start) return true;
  return windows.some((w) => from <= w.end && to >= w.start);
}

// ------------------------------------------------------------------ servers

interface Tracked {
  label: "X" | "Y";
  node: NodeProcess;
  /** True while the soak itself is stopping this node. */
  expectExit: boolean;
  /** Peak RSS over all incarnations (KiB). */
  peakKiB: number;
}
const crashes: string[] = [];

function watch(t: Tracked): void {
  const node = t.node;
  node.proc.exited.then(async (status) => {
    if (t.expectExit || t.node !== node) return;
    crashes.push(`${t.label} exited (code ${status.code}, signal ${status.signal})`);
    say(`CRASH: node ${t.label} exited unexpectedly:\n${node.proc.logs.text.slice(-4000)}`);
    // Keep soaking: the crash is recorded; bring the node back.
    const w: Window = { node: t.label, start: Date.now() - WINDOW_BEFORE_MS, end: Infinity };
    windows.push(w);
    try {
      t.node = await restartNode(node);
      watch(t);
    } catch (e) {
      crashes.push(`${t.label} did not start again: ${(e as Error).message}`);
    }
    w.end = Date.now() + 5000;
  });
}

const x: Tracked = {
  label: "X",
  node: await startNode({ kind: "dnatsd", clusterName: "soak" }),
  expectExit: false,
  peakKiB: 0,
};
const y: Tracked = {
  label: "Y",
  node: await startNode({ kind: "dnatsd", clusterName: "soak", routes: [x.node.routeUrl] }),
  expectExit: false,
  peakKiB: 0,
};
watch(x);
watch(y);

/** The soak's own failure or Ctrl-C must not leave servers behind. */
function abandon(why: string, code: number): never {
  for (const t of [x, y]) {
    t.expectExit = true;
    try {
      t.node.proc.signal("SIGKILL");
    } catch { /* gone */ }
  }
  console.error(`soak aborted: ${why}`);
  Deno.exit(code);
}
globalThis.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  abandon(`unhandled rejection: ${e.reason?.stack ?? e.reason}`, 1);
});
globalThis.addEventListener("error", (e) => {
  e.preventDefault();
  abandon(`uncaught error: ${e.error?.stack ?? e.message}`, 1);
});
Deno.addSignalListener("SIGINT", () => abandon("interrupted", 130));

async function routesUp(): Promise<boolean> {
  const [a, b] = await Promise.all([
    monitor(x.node.httpPort, "/routez"),
    monitor(y.node.httpPort, "/routez"),
  ]);
  return a.num_routes === 1 && b.num_routes === 1;
}
await waitFor(routesUp, 15_000, "route X–Y");

// ------------------------------------------------------------------ clients

const named: { nc: NatsConnection; name: string; on: "X" | "Y" }[] = [];

async function client(on: Tracked, name: string): Promise<NatsConnection> {
  const nc = await connect({
    servers: on.node.url,
    name,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
    ignoreClusterUpdates: true,
    timeout: 5000,
  });
  named.push({ nc, name, on: on.label });
  return nc;
}

// pub/sub
const publishers = new Map<"X" | "Y", SeqPublisher>();
const subscribers = new Map<"X" | "Y", SeqLedger>();
for (const t of [x, y]) {
  const pub = new SeqPublisher(
    t.label,
    await client(t, `ps-pub-${t.label}`),
    `soak.ps.${t.label}`,
    {
      batch: 5,
      pauseMs: 20,
      timed: true,
    },
  );
  publishers.set(t.label, pub);
  const ledger = new SeqLedger(`ps-sub-${t.label}`);
  subscribeSeq(await client(t, `ps-sub-${t.label}`), "soak.ps", ledger);
  subscribers.set(t.label, ledger);
}

// queue group
const queueLedger = new SeqLedger("queue");
const queuePubs = new Map<"X" | "Y", SeqPublisher>();
for (const t of [x, y]) {
  for (const i of [1, 2]) {
    subscribeSeq(await client(t, `q-${t.label}${i}`), "soak.q", queueLedger, {
      queue: "workers",
      member: `q-${t.label}${i}`,
    });
  }
  queuePubs.set(
    t.label,
    new SeqPublisher(`q${t.label}`, await client(t, `q-pub-${t.label}`), `soak.q.q${t.label}`, {
      batch: 2,
      pauseMs: 20,
      timed: true,
    }),
  );
}

// request/reply
for (const t of [x, y]) {
  const nc = await client(t, `svc-${t.label}`);
  nc.subscribe("soak.svc", { queue: "svc", callback: (_e, m) => void m.respond(m.data) });
}
const requesters = [
  { on: x, nc: await client(x, "req-X") },
  { on: y, nc: await client(y, "req-Y") },
];
for (const { nc } of named) await nc.flush();

// Interest everywhere before numbered traffic starts: probes until every subscriber has one.
let probeSeq = 0;
async function probesSeen(timeoutMs: number): Promise<void> {
  const from = probeSeq;
  await waitFor(
    async () => {
      probeSeq++;
      for (const [label, pub] of publishers) {
        pub.nc.publish(`soak.ps.probe-${label}`, new TextEncoder().encode(String(probeSeq)));
        await pub.nc.flush();
      }
      await sleep(50);
      return [...subscribers.values()].every((l) =>
        ["X", "Y"].every((p) => l.highest(`probe-${p}`) > from)
      );
    },
    timeoutMs,
    "probes from every node at every subscriber",
  );
}
await probesSeen(15_000);

for (const p of [...publishers.values(), ...queuePubs.values()]) p.start();

// ------------------------------------------------------------------ side loads

const stats = {
  requests: 0,
  replies: 0,
  reqExcused: 0,
  reqLost: 0,
  reqLostSamples: [] as string[],
  churn: 0,
  churnExcused: 0,
  churnFailed: 0,
  churnSamples: [] as string[],
  garbage: 0,
  garbageClosed: 0,
  restarts: 0,
};
let running = true;

async function requestLoop(on: Tracked, nc: NatsConnection): Promise<void> {
  let n = 0;
  while (running) {
    const body = `${on.label}-${++n}`;
    const start = Date.now();
    stats.requests++;
    try {
      const r = await nc.request("soak.svc", body, { timeout: 2000 });
      if (r.string() !== body) throw new Error(`wrong reply ${r.string()}`);
      stats.replies++;
    } catch (e) {
      if (overlapsWindow(start, Date.now())) stats.reqExcused++;
      else {
        stats.reqLost++;
        if (stats.reqLostSamples.length < 10) {
          stats.reqLostSamples.push(`${body} at ${start - t0} ms: ${(e as Error).message}`);
        }
      }
    }
    await sleep(50);
  }
}

async function churnLoop(id: number): Promise<void> {
  let n = 0;
  while (running) {
    const on = (n++ + id) % 2 === 0 ? x : y;
    const start = Date.now();
    stats.churn++;
    let nc: NatsConnection | undefined;
    try {
      nc = await connect({ servers: on.node.url, reconnect: false, timeout: 2000 });
      const subject = `soak.churn.${id}.${n}`;
      const got = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("own message not back in 2 s")), 2000);
        nc!.subscribe(subject, {
          max: 1,
          callback: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
      nc.publish(subject, "churn");
      await got;
    } catch (e) {
      if (overlapsWindow(start, Date.now())) stats.churnExcused++;
      else {
        stats.churnFailed++;
        if (stats.churnSamples.length < 10) {
          stats.churnSamples.push(`${on.label} at ${start - t0} ms: ${(e as Error).message}`);
        }
      }
    } finally {
      await nc?.close().catch(() => {});
    }
    await sleep(100);
  }
}

const GARBAGE: (() => string | Uint8Array)[] = [
  () => Uint8Array.from({ length: 1 + Math.floor(rand() * 512) }, () => Math.floor(rand() * 256)),
  () => "PUB a.b -1\r\n",
  () => "PUB a.b 99999999999999999999999\r\nxx\r\n",
  () => "SUB\r\n",
  () => 'CONNECT {"verbose":tru\r\n',
  () => "HPUB x 10 5\r\n12345\r\n",
  () => new Uint8Array([0xff, 0xfe, 0x50, 0x49, 0x4e, 0x47, 0x0d, 0x0a]),
  () => "A".repeat(10_000) + "\r\n",
  () => "CONNECT {}\r\nPUB x 3\r\nabcdefgh\r\n",
  () => "CONNECT {}\r\nSUB a 1\r\nUNSUB x\r\nPING\r\nPONG\r\nMSG a 1 2\r\nhi\r\n",
  () => "CONNECT {}\r\nHPUB h 20 10\r\nNATS/1.0\r\n\r\nxyz\r\n",
];

async function garbageLoop(): Promise<void> {
  while (running) {
    const on = rand() < 0.5 ? x : y;
    stats.garbage++;
    let conn: Deno.Conn | undefined;
    try {
      conn = await Deno.connect({ hostname: "127.0.0.1", port: on.node.clientPort });
      const pick = GARBAGE[Math.floor(rand() * GARBAGE.length)]();
      const bytes = typeof pick === "string" ? new TextEncoder().encode(pick) : pick;
      // Random split points, as a network would cut it.
      let off = 0;
      while (off < bytes.length) {
        const n = 1 + Math.floor(rand() * (bytes.length - off));
        await conn.write(bytes.subarray(off, off + n));
        off += n;
      }
      const buf = new Uint8Array(4096);
      const closed = await Promise.race([
        (async () => {
          while ((await conn!.read(buf)) !== null) { /* drain until the server closes */ }
          return true;
        })().catch(() => true),
        sleep(300).then(() => false),
      ]);
      if (closed) stats.garbageClosed++;
    } catch { /* the node may be down, or reset us */ }
    try {
      conn?.close();
    } catch { /* closed */ }
    await sleep(250);
  }
}

const loops = [
  ...requesters.map((r) => requestLoop(r.on, r.nc)),
  churnLoop(0),
  churnLoop(1),
  garbageLoop(),
];

// ------------------------------------------------------------------ restarts

async function restartY(n: number): Promise<void> {
  const how = n % 2 === 1 ? "kill -9" : "SIGTERM";
  const w: Window = { node: "Y", start: Date.now() - WINDOW_BEFORE_MS, end: Infinity };
  openWindow = w;
  say(`restart #${n} of Y (${how})`);
  y.expectExit = true;
  sampleMemory(y);
  if (how === "kill -9") await killNode(y.node);
  else await y.node.proc.stop();
  y.node = await restartNode(y.node);
  y.expectExit = false;
  watch(y);
  stats.restarts++;
  await waitFor(routesUp, 30_000, "route X–Y after restart");
  const mine = named.filter((c) => c.on === "Y").map((c) => c.name);
  await waitFor(
    async () => {
      const connz = await monitor<{ connections: { name?: string }[] }>(
        y.node.httpPort,
        "/connz?limit=1000",
      );
      const names = new Set(connz.connections.map((c) => c.name));
      return mine.every((name) => names.has(name));
    },
    30_000,
    "Y's clients reconnected",
  );
  await probesSeen(30_000);
  closeWindow();
  say(`Y back after ${((w.end - w.start) / 1000).toFixed(1)} s (window incl. margins)`);
}

// ------------------------------------------------------------------ sampling

const samplesX: number[] = [];

function sampleMemory(t: Tracked): number {
  try {
    const m = memoryOf(t.node.proc.pid);
    t.peakKiB = Math.max(t.peakKiB, m.peakKiB);
    return m.rssKiB;
  } catch {
    return 0;
  }
}

function received(): number {
  let n = 0;
  for (const l of [...subscribers.values(), queueLedger]) {
    for (const [p, s] of l.got) if (!p.startsWith("probe-")) n += s.size;
  }
  return n;
}

function statusLine(): string {
  const rx = sampleMemory(x);
  const ry = sampleMemory(y);
  if (rx > 0) samplesX.push(rx);
  const published = [...publishers.values(), ...queuePubs.values()].reduce((n, p) => n + p.seq, 0);
  return `rss X ${mib(rx)} Y ${mib(ry)} | published ${published} received ${received()} | ` +
    `req ${stats.replies}/${stats.requests} | churn ${stats.churn} | garbage ${stats.garbage} ` +
    `(${stats.garbageClosed} closed by server) | restarts ${stats.restarts} | crashes ${crashes.length}`;
}

say(
  `soak: ${MINUTES} min, restart Y every ${RESTART_EVERY_S} s, seed ${SEED}; ` +
    `X pid ${x.node.proc.pid} (${x.node.url}), Y pid ${y.node.proc.pid} (${y.node.url})`,
);
say(statusLine());
const end = t0 + MINUTES * 60_000;
let nextSample = Date.now() + SAMPLE_MS;
let nextRestart = Date.now() + RESTART_EVERY_S * 1000;
let restartNo = 0;
while (Date.now() < end) {
  const now = Date.now();
  if (now >= nextRestart && end - now > 20_000) {
    try {
      await restartY(++restartNo);
    } catch (e) {
      crashes.push(`restart #${restartNo} did not recover: ${(e as Error).message}`);
      say(`RESTART FAILED: ${(e as Error).message}`);
      closeWindow();
    }
    nextRestart = Date.now() + RESTART_EVERY_S * 1000;
  }
  if (Date.now() >= nextSample) {
    say(statusLine());
    nextSample += SAMPLE_MS;
  }
  await sleep(200);
}

// ------------------------------------------------------------------ verdict

running = false;
for (const p of [...publishers.values(), ...queuePubs.values()]) await p.stop();
await Promise.all(loops);

/** Missing sequences of `pub` at `ledger`, split into explained and unexplained. */
function account(ledger: SeqLedger, pub: SeqPublisher, explain: (t: number) => boolean) {
  const times = pub.times!;
  let explained = 0;
  const unexplained: number[] = [];
  for (const seq of ledger.missing(pub.name, 0, pub.seq)) {
    if (explain(times[seq] ?? 0)) explained++;
    else unexplained.push(seq);
  }
  return { explained, unexplained };
}

function allAccounts() {
  const rows: { what: string; published: number; explained: number; unexplained: number[] }[] = [];
  for (const [subOn, ledger] of subscribers) {
    for (const [pubOn, pub] of publishers) {
      rows.push({
        what: `pub/sub ${pubOn}->${subOn}`,
        published: pub.seq,
        ...account(ledger, pub, (t) => inWindow(t, [pubOn, subOn])),
      });
    }
  }
  for (const [pubOn, pub] of queuePubs) {
    rows.push({
      what: `queue from ${pubOn}`,
      published: pub.seq,
      ...account(queueLedger, pub, (t) => inWindow(t)),
    });
  }
  return rows;
}

// Let what is in flight arrive: until nothing unexplained is missing, or 15 s.
const drainEnd = Date.now() + 15_000;
while (Date.now() < drainEnd && allAccounts().some((r) => r.unexplained.length > 0)) {
  await sleep(200);
}
const rows = allAccounts();
const dups = [...subscribers.values(), queueLedger].reduce((n, l) => n + l.dups, 0);
const dupSamples = [...subscribers.values(), queueLedger].flatMap((l) => l.dupSamples);
const unexplained = rows.reduce((n, r) => n + r.unexplained.length, 0) + stats.reqLost +
  stats.churnFailed;

say(statusLine());
for (const { nc } of named) await nc.close().catch(() => {});
for (const t of [x, y]) {
  t.expectExit = true;
  await t.node.proc.stop();
}

const third = Math.max(1, Math.floor(samplesX.length / 3));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const firstThird = median(samplesX.slice(0, third));
const lastThird = median(samplesX.slice(-third));
const memoryBound = firstThird * MEMORY_FACTOR + MEMORY_SLACK_KIB;
const memoryFlat = lastThird <= memoryBound;

console.log("\n==== soak summary ====");
console.log(`duration: ${((Date.now() - t0) / 60_000).toFixed(1)} min, seed ${SEED}`);
console.log(
  `restarts of Y: ${stats.restarts}; restart windows: ${
    windows.map((w) => `${((w.start - t0) / 1000).toFixed(0)}-${((w.end - t0) / 1000).toFixed(0)}s`)
      .join(", ") || "none"
  }`,
);
console.log(`crashes: ${crashes.length}${crashes.length ? `: ${crashes.join("; ")}` : ""}`);
for (const r of rows) {
  console.log(
    `${r.what}: published ${r.published}, missing explained (restart window) ${r.explained}, unexplained ${r.unexplained.length}` +
      (r.unexplained.length ? ` (first ${r.unexplained.slice(0, 8).join(",")})` : ""),
  );
}
console.log(
  `request/reply: ${stats.requests} requests, ${stats.replies} replies, ` +
    `${stats.reqExcused} lost in restart windows, ${stats.reqLost} unexplained` +
    (stats.reqLostSamples.length ? ` (${stats.reqLostSamples.join("; ")})` : ""),
);
console.log(
  `churn: ${stats.churn} connect/sub/pub/close cycles, ${stats.churnExcused} failed in windows, ` +
    `${stats.churnFailed} unexplained` +
    (stats.churnSamples.length ? ` (${stats.churnSamples.join("; ")})` : ""),
);
console.log(`garbage connections: ${stats.garbage} (${stats.garbageClosed} closed by the server)`);
console.log(`duplicates: ${dups}${dups ? ` (${dupSamples.join(" ")})` : ""}`);
console.log(
  `memory X: first third median ${mib(firstThird)}, last third median ${mib(lastThird)}, ` +
    `bound ${mib(memoryBound)} -> ${memoryFlat ? "flat" : "GROWING"}; peak X ${mib(x.peakKiB)}, ` +
    `peak Y ${mib(y.peakKiB)} (${samplesX.length} samples)`,
);
const ok = crashes.length === 0 && unexplained === 0 && dups === 0 && memoryFlat;
console.log(`verdict: ${ok ? "PASS" : "FAIL"}`);
Deno.exit(ok ? 0 : 1);
