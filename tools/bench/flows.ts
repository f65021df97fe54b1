/**
 * One publish/deliver run: subscriber Workers subscribe, a publisher Worker
 * sends N preformatted messages (bounded in time), then the coordinator polls
 * the subscribers until every expected delivery arrived, progress stalls, or a
 * deadline passes. Rates use the publisher's start and the last delivery.
 *
 * @module
 */
import { LoadWorker, terminateAll } from "./load_pool.ts";
import {
  bytes,
  closeQuietly,
  type Creds,
  flush,
  rawConnect,
  type TlsClient,
  writeAll,
} from "./raw.ts";
import type { PubDone, SubDone, SubSpec } from "./tasks.ts";

/** What to run. */
export interface FlowSpec {
  pubPort: number;
  /** Port of the subscribers' server (differs from `pubPort` in the two-node run). */
  subPort: number;
  creds?: Creds;
  /** Every client of the flow connects with TLS. */
  tls?: TlsClient;
  pubSubjects: string[];
  /** `MSG`: the publisher writes ready-made deliveries (the relay ceiling); default `PUB`. */
  pubVerb?: "PUB" | "MSG";
  payloadSize: number;
  count: number;
  maxMs: number;
  /** One entry per subscriber Worker: its subscriptions. */
  subscribers: SubSpec[][];
  /** Total deliveries expected across all subscribers once `sent` messages went out. */
  expectedDeliveries: (sent: number) => number;
  /** Check that each sequence number arrived exactly once across all subscribers. */
  exactlyOnce?: boolean;
  /** Runs after the subscribers are ready, before publishing (cluster probe). */
  beforePublish?: () => Promise<void>;
  /**
   * Before publishing, send 1-byte messages on this subject to `pubPort` until
   * a subscriber receives one: across a route, interest (queue groups too)
   * has reached the publisher's server. Subscribers count probes apart.
   */
  probeSubject?: string;
  /**
   * Called just before the publisher is told to go (every Worker connected
   * and ready), for meters that must cover the flow and not the set-up.
   */
  onGo?: () => void;
  /** Called once the deliveries drained, before any Worker is stopped (see `onGo`). */
  onDrained?: () => void;
}

/** Exactly-once verdict over sequences `[0, sent)`. */
export interface ExactlyOnce {
  ok: boolean;
  missing: number;
  duplicated: number;
}

/** What came out of it. */
export interface FlowResult {
  sent: number;
  /** Publisher start to PONG after the last PUB. */
  pubSeconds: number;
  pubRate: number;
  expected: number;
  delivered: number;
  /** Publisher start to the last delivery. */
  seconds: number;
  deliveryRate: number;
  subscribeMs: number[];
  exactlyOnce?: ExactlyOnce;
  /** Subscribers the server disconnected (slow consumer) and their errors. */
  problems: string[];
  /**
   * Why the wait for deliveries ended: all arrived, every subscriber was
   * closed, none made progress for {@link STALL_MS} (a shortfall may then be
   * late rather than lost), or the overall deadline passed.
   */
  drainEnd: DrainEnd;
}

/** See {@link FlowResult.drainEnd}. */
export type DrainEnd = "complete" | "closed" | "stalled" | "deadline";

/** Poll interval while waiting for deliveries to drain. */
const POLL_MS = 10;
/** Give up when no subscriber made progress for this long. */
const STALL_MS = 2000;

/**
 * Runs one flow; every Worker is terminated before it returns or throws.
 *
 * @throws {Error} when a Worker fails or does not report in time.
 */
export async function runFlow(spec: FlowSpec): Promise<FlowResult> {
  const workers: LoadWorker[] = [];
  try {
    const subs = spec.subscribers.map((list, i) => {
      const w = new LoadWorker(`subscriber ${i + 1}`, {
        role: "sub",
        port: spec.subPort,
        subs: list,
        payloadSize: spec.payloadSize,
        ...(spec.exactlyOnce === true ? { seqCapacity: spec.count } : {}),
        ...clientOpts(spec),
      });
      workers.push(w);
      return w;
    });
    const ready = await Promise.all(subs.map((w) => w.next("ready", 120_000)));
    if (spec.beforePublish !== undefined) await spec.beforePublish();
    if (spec.probeSubject !== undefined) await probeUntilSeen(spec, subs, spec.probeSubject);
    const pub = new LoadWorker("publisher", {
      role: "pub",
      port: spec.pubPort,
      subjects: spec.pubSubjects,
      payloadSize: spec.payloadSize,
      count: spec.count,
      maxMs: spec.maxMs,
      seq: spec.exactlyOnce === true,
      ...(spec.pubVerb === undefined ? {} : { verb: spec.pubVerb }),
      ...clientOpts(spec),
    });
    workers.push(pub);
    await pub.next("ready", 30_000);
    spec.onGo?.();
    pub.send({ type: "go" });
    const pubDone = await pub.next("done", spec.maxMs + 120_000) as PubDone;
    const expected = spec.expectedDeliveries(pubDone.sent);
    const drainEnd = await drain(subs, expected);
    spec.onDrained?.();
    for (const w of subs) w.send({ type: "stop" });
    const dones = await Promise.all(subs.map((w) => w.next("done", 30_000))) as SubDone[];
    return summarize(spec, pubDone, dones, expected, ready.map((r) => r.subscribeMs), drainEnd);
  } finally {
    terminateAll(workers);
  }
}

function clientOpts(spec: FlowSpec): { creds?: Creds; tls?: TlsClient } {
  return {
    ...(spec.creds === undefined ? {} : { creds: spec.creds }),
    ...(spec.tls === undefined ? {} : { tls: spec.tls }),
  };
}

/** How long interest may take to reach the publisher's server. */
const PROBE_MS = 10_000;

async function probeUntilSeen(spec: FlowSpec, subs: LoadWorker[], subject: string): Promise<void> {
  const client = await rawConnect(spec.pubPort, clientOpts(spec));
  try {
    const msg = bytes(`PUB ${subject} 1\r\np\r\n`);
    const deadline = performance.now() + PROBE_MS;
    while (true) {
      await writeAll(client.conn, msg);
      await flush(client);
      for (const w of subs) w.send({ type: "poll" });
      const counts = await Promise.all(subs.map((w) => w.next("count", 10_000)));
      if (counts.some((c) => c.other > 0)) return;
      if (performance.now() > deadline) {
        throw new Error(`interest in ${subject} did not reach the publisher within ${PROBE_MS} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    closeQuietly(client.conn);
  }
}

/** Polls subscriber counts until `expected` is reached, progress stalls, or 60 s pass. */
async function drain(subs: LoadWorker[], expected: number): Promise<DrainEnd> {
  if (subs.length === 0) return "complete";
  const deadline = performance.now() + 60_000;
  let last = -1;
  let lastChange = performance.now();
  while (performance.now() < deadline) {
    for (const w of subs) w.send({ type: "poll" });
    const counts = await Promise.all(subs.map((w) => w.next("count", 10_000)));
    const total = counts.reduce((sum, c) => sum + c.count, 0);
    if (total >= expected) return "complete";
    if (counts.every((c) => c.closed)) return "closed";
    if (total !== last) {
      last = total;
      lastChange = performance.now();
    } else if (performance.now() - lastChange > STALL_MS) {
      return "stalled";
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return "deadline";
}

function summarize(
  spec: FlowSpec,
  pub: PubDone,
  subs: SubDone[],
  expected: number,
  subscribeMs: number[],
  drainEnd: DrainEnd,
): FlowResult {
  const delivered = subs.reduce((sum, s) => sum + s.count, 0);
  const lastAbs = subs.reduce((max, s) => Math.max(max, s.lastAbs), 0);
  const pubSeconds = (pub.endAbs - pub.startAbs) / 1000;
  const seconds = subs.length === 0 ? pubSeconds : (lastAbs - pub.startAbs) / 1000;
  const problems: string[] = [];
  subs.forEach((s, i) => {
    if (s.closedByServer) problems.push(`subscriber ${i + 1} disconnected by the server`);
    for (const e of s.errors.slice(0, 3)) problems.push(`subscriber ${i + 1}: ${e}`);
  });
  const result: FlowResult = {
    sent: pub.sent,
    pubSeconds,
    pubRate: pub.sent / pubSeconds,
    expected,
    delivered,
    seconds,
    deliveryRate: seconds > 0 ? delivered / seconds : 0,
    subscribeMs,
    problems,
    drainEnd,
  };
  if (spec.exactlyOnce === true) result.exactlyOnce = checkExactlyOnce(subs, pub.sent);
  return result;
}

function checkExactlyOnce(subs: SubDone[], sent: number): ExactlyOnce {
  const total = new Uint16Array(sent);
  for (const s of subs) {
    const counts = s.seqCounts;
    if (counts === undefined) continue;
    for (let i = 0; i < counts.length; i++) {
      const c = counts[i]!;
      if (c === 0) continue;
      // A sequence the publisher never sent counts as a duplicate delivery.
      if (i >= sent) return { ok: false, missing: 0, duplicated: c };
      total[i]! += c;
    }
  }
  let missing = 0;
  let duplicated = 0;
  for (let i = 0; i < sent; i++) {
    const t = total[i]!;
    if (t === 0) missing++;
    else if (t > 1) duplicated += t - 1;
  }
  return { ok: missing === 0 && duplicated === 0, missing, duplicated };
}
