/**
 * A publisher flooding sequence-numbered messages and a healthy subscriber
 * that reads at a steady, limited rate: the flow-control workload. A server
 * with flow control slows the publisher to the reader's pace and loses
 * nothing; one without cuts the reader as a slow consumer.
 *
 * Run on its own (one JSON line on stdout) so the load sits outside the test
 * or benchmark process:
 *
 *     deno run -A tools/bench/slow_reader.ts --pub-port 4222 --sub-port 4222 \
 *       --count 200000 --size 1024 --read-mbps 60
 *
 * `--observer` adds a second subscriber on another subject, fed by a second,
 * modest publisher on the publisher's server: an innocent bystander that must
 * lose nothing either.
 *
 * @module
 */
import { MsgScanner, SEQ_DIGITS } from "./msg_scanner.ts";
import { bytes, closeQuietly, flush, rawConnect, writeAll } from "./raw.ts";

/** What one run measured. */
export interface SlowReaderResult {
  sent: number;
  received: number;
  /** Sequence numbers never delivered. */
  lost: number;
  /** Sequence numbers delivered more than once. */
  duplicates: number;
  /** The subscriber's connection was closed by the server (`-ERR` or EOF). */
  subscriberCut: boolean;
  errors: string[];
  seconds: number;
  /** Messages per second the subscriber received. */
  rate: number;
  observer?: { sent: number; received: number; lost: number };
}

export interface SlowReaderSpec {
  pubPort: number;
  subPort: number;
  count: number;
  size: number;
  /** Subscriber read rate, MB/s (0: as fast as possible). */
  readMbps: number;
  observer?: boolean;
  /** Give up this long after the publisher finished (ms). */
  settleMs?: number;
}

/** Payload of `size` bytes starting with the zero-padded sequence number. */
function pubBatch(subject: string, size: number, first: number, n: number): Uint8Array {
  const head = bytes(`PUB ${subject} ${size}\r\n`);
  const one = head.length + size + 2;
  const out = new Uint8Array(one * n);
  out.fill(0x78); // 'x'
  for (let k = 0; k < n; k++) {
    const at = k * one;
    out.set(head, at);
    const seq = String(first + k).padStart(SEQ_DIGITS, "0");
    for (let d = 0; d < SEQ_DIGITS; d++) out[at + head.length + d] = seq.charCodeAt(d);
    out[at + one - 2] = 13;
    out[at + one - 1] = 10;
  }
  return out;
}

async function publish(
  port: number,
  subject: string,
  spec: { count: number; size: number; perBatch: number; pauseMs: number },
): Promise<number> {
  const client = await rawConnect(port, {});
  let sent = 0;
  try {
    while (sent < spec.count) {
      const n = Math.min(spec.perBatch, spec.count - sent);
      await writeAll(client.conn, pubBatch(subject, spec.size, sent, n));
      sent += n;
      if (spec.pauseMs > 0) await new Promise((r) => setTimeout(r, spec.pauseMs));
    }
    await flush(client, 120_000);
  } finally {
    closeQuietly(client.conn);
  }
  return sent;
}

interface Reader {
  scanner: MsgScanner;
  seqCounts: Uint8Array;
  closed: boolean;
  done: Promise<void>;
  stop(): void;
}

/** Payload of the probes that wait for interest to cross a route (never a counted size). */
const PROBE = "PUB probe 1\r\np\r\n";

async function subscribe(
  port: number,
  subject: string,
  spec: { count: number; size: number; readMbps: number },
): Promise<Reader> {
  const { count, readMbps } = spec;
  const seqCounts = new Uint8Array(count);
  const scanner = new MsgScanner({ seqCounts, payloadSize: spec.size });
  const client = await rawConnect(port, {
    extra: `SUB ${subject} 1\r\nSUB probe 2\r\n`,
    scanner,
  });
  const reader: Reader = {
    scanner,
    seqCounts,
    closed: false,
    done: Promise.resolve(),
    stop: () => closeQuietly(client.conn),
  };
  // A steady reader: small reads, paced so the average stays at readMbps.
  const buf = new Uint8Array(64 * 1024);
  const bytesPerMs = readMbps * 1e6 / 1000;
  reader.done = (async () => {
    const start = performance.now();
    let total = 0;
    try {
      while (scanner.count < count) {
        const n = await client.conn.read(buf);
        if (n === null) break;
        scanner.feed(buf, n);
        total += n;
        if (bytesPerMs > 0) {
          const ahead = total / bytesPerMs - (performance.now() - start);
          if (ahead > 2) await new Promise((r) => setTimeout(r, ahead));
        }
      }
    } catch {
      // reset by the server: counted as cut below
    }
    reader.closed = scanner.count < count;
  })();
  return reader;
}

/**
 * With the subscribers on another server, their interest crosses a route
 * after the SUB: probe until every reader has seen a probe message.
 */
async function waitForInterest(port: number, readers: Reader[]): Promise<void> {
  const client = await rawConnect(port, {});
  try {
    const deadline = performance.now() + 10_000;
    while (readers.some((r) => r.scanner.other === 0)) {
      if (performance.now() > deadline) {
        throw new Error("subscriptions never reached the publisher");
      }
      await writeAll(client.conn, bytes(PROBE));
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    closeQuietly(client.conn);
  }
}

function tally(seqCounts: Uint8Array): { lost: number; duplicates: number } {
  let lost = 0;
  let duplicates = 0;
  for (let i = 0; i < seqCounts.length; i++) {
    if (seqCounts[i] === 0) lost++;
    else if (seqCounts[i]! > 1) duplicates++;
  }
  return { lost, duplicates };
}

/** Runs the workload once. */
export async function runSlowReader(spec: SlowReaderSpec): Promise<SlowReaderResult> {
  const main = await subscribe(spec.subPort, "flood", spec);
  const observerCount = spec.observer ? Math.max(1000, Math.floor(spec.count / 50)) : 0;
  const observer = spec.observer
    ? await subscribe(spec.subPort, "bystander", { count: observerCount, size: 64, readMbps: 0 })
    : null;
  await waitForInterest(spec.pubPort, observer ? [main, observer] : [main]);
  const start = performance.now();
  const flooding = publish(spec.pubPort, "flood", {
    count: spec.count,
    size: spec.size,
    perBatch: Math.max(1, Math.floor(256 * 1024 / (spec.size + 32))),
    pauseMs: 0,
  });
  const bystanding = observer
    ? publish(spec.pubPort, "bystander", {
      count: observerCount,
      size: 64,
      perBatch: 10,
      pauseMs: 1,
    })
    : Promise.resolve(0);
  const [sent, observerSent] = await Promise.all([flooding, bystanding]);
  const settle = spec.settleMs ?? 30_000;
  const deadline = performance.now() + settle;
  const readers = observer ? [main, observer] : [main];
  let finished = false;
  const allDone = Promise.all(readers.map((r) => r.done)).then(() => finished = true);
  while (!finished && performance.now() < deadline) {
    await Promise.race([allDone, new Promise((r) => setTimeout(r, 50))]);
  }
  for (const r of readers) r.stop();
  await Promise.all(readers.map((r) => r.done));
  const seconds = (performance.now() - start) / 1000;
  const { lost, duplicates } = tally(main.seqCounts);
  const result: SlowReaderResult = {
    sent,
    received: main.scanner.count,
    lost,
    duplicates,
    subscriberCut: main.closed && main.scanner.count < spec.count,
    errors: [...main.scanner.errors, ...(observer?.scanner.errors ?? [])],
    seconds,
    rate: main.scanner.count / seconds,
  };
  if (observer) {
    result.observer = {
      sent: observerSent,
      received: observer.scanner.count,
      lost: tally(observer.seqCounts).lost,
    };
  }
  return result;
}

function flag(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
}

if (import.meta.main) {
  const args = Deno.args;
  const port = flag(args, "port", 4222);
  const result = await runSlowReader({
    pubPort: flag(args, "pub-port", port),
    subPort: flag(args, "sub-port", port),
    count: flag(args, "count", 200_000),
    size: flag(args, "size", 1024),
    readMbps: flag(args, "read-mbps", 60),
    observer: args.includes("--observer"),
    settleMs: flag(args, "settle-ms", 30_000),
  });
  console.log(JSON.stringify(result));
}
