/// <reference lib="deno.worker" />
/**
 * Worker entry of the load generator: runs one publisher, subscriber or
 * responder (see `tasks.ts`) on a raw socket and reports to the main thread.
 *
 * @module
 */
import { MsgScanner, SEQ_DIGITS } from "./msg_scanner.ts";
import { bytes, closeQuietly, flush, type RawClient, rawConnect, writeAll } from "./raw.ts";
import {
  absNow,
  type PubTask,
  type ResponderTask,
  type SubTask,
  type WorkerCommand,
  type WorkerReport,
  type WorkerTask,
} from "./tasks.ts";

/** Target size of one publisher write: big writes keep syscalls off the profile. */
const BATCH_BYTES = 128 * 1024;
/** Read buffer of subscribers, as large as the server's writes can usefully be. */
const READ_BYTES = 256 * 1024;

/**
 * CPU time of this Worker's thread in ms (utime + stime of
 * /proc/thread-self/stat, 10 ms ticks), or NaN without /proc. Read
 * synchronously, so it is this thread's file.
 */
function threadCpuMs(): number {
  try {
    const stat = Deno.readTextFileSync("/proc/thread-self/stat");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/** Share of one core used while active, in %: `cpuMs` over `wallMs`. */
function busyPct(cpuMs: number, wallMs: number): number {
  return wallMs > 0 ? (cpuMs / wallMs) * 100 : NaN;
}

function post(report: WorkerReport, transfer: Transferable[] = []): void {
  self.postMessage(report, transfer);
}

/** Resolvers waiting for a command of a given type. */
const waiting = new Map<WorkerCommand["type"], () => void>();
let onCommand: (cmd: WorkerCommand) => void = (cmd) => {
  waiting.get(cmd.type)?.();
};

function nextCommand(type: WorkerCommand["type"]): Promise<void> {
  return new Promise((resolve) => waiting.set(type, resolve));
}

/** Preformatted messages: `ends[i]` is the end offset of message i, `seqAt[i]` its payload start. */
interface Batch {
  buf: Uint8Array;
  ends: Uint32Array;
  seqAt: Uint32Array;
}

function buildBatch(task: PubTask): Batch {
  const heads = task.subjects.map((s) =>
    bytes(
      task.verb === "MSG"
        ? `MSG ${s} 1 ${task.payloadSize}\r\n`
        : `PUB ${s} ${task.payloadSize}\r\n`,
    )
  );
  const cycleBytes = heads.reduce((sum, h) => sum + h.length + task.payloadSize + 2, 0);
  const cycles = Math.max(1, Math.floor(BATCH_BYTES / cycleBytes));
  const count = cycles * heads.length;
  const buf = new Uint8Array(cycles * cycleBytes);
  const ends = new Uint32Array(count);
  const seqAt = new Uint32Array(count);
  buf.fill(120); // 'x' payload filler
  let off = 0;
  for (let i = 0; i < count; i++) {
    const head = heads[i % heads.length]!;
    buf.set(head, off);
    off += head.length;
    seqAt[i] = off;
    off += task.payloadSize;
    buf[off++] = 13;
    buf[off++] = 10;
    ends[i] = off;
  }
  return { buf, ends, seqAt };
}

function writeSeqs(batch: Batch, first: number, n: number): void {
  const { buf, seqAt } = batch;
  for (let i = 0; i < n; i++) {
    let v = first + i;
    const at = seqAt[i]!;
    for (let k = SEQ_DIGITS - 1; k >= 0; k--) {
      buf[at + k] = 48 + (v % 10);
      v = Math.floor(v / 10);
    }
  }
}

async function runPub(task: PubTask): Promise<void> {
  if (task.seq && task.payloadSize < SEQ_DIGITS) throw new RangeError("payload too small for seq");
  const batch = buildBatch(task);
  const client = await rawConnect(task.port, { ...optCreds(task) });
  const go = nextCommand("go");
  post({ type: "ready", subscribeMs: 0 });
  await go;
  const perBatch = batch.ends.length;
  const startAbs = absNow();
  const cpu0 = threadCpuMs();
  const stopAt = performance.now() + task.maxMs;
  let sent = 0;
  while (sent < task.count) {
    const n = Math.min(perBatch, task.count - sent);
    if (task.seq) writeSeqs(batch, sent, n);
    await writeAll(
      client.conn,
      n === perBatch ? batch.buf : batch.buf.subarray(0, batch.ends[n - 1]),
    );
    sent += n;
    if (performance.now() > stopAt) break;
  }
  const writtenAbs = absNow();
  await flush(client, 120_000);
  const endAbs = absNow();
  closeQuietly(client.conn);
  const cpuPct = busyPct(threadCpuMs() - cpu0, endAbs - startAbs);
  post({ type: "done", sent, startAbs, writtenAbs, endAbs, cpuPct });
}

async function runSub(task: SubTask): Promise<void> {
  const seqCounts = task.seqCapacity === undefined ? undefined : new Uint8Array(task.seqCapacity);
  const scanner = new MsgScanner({
    payloadSize: task.payloadSize,
    ...(seqCounts === undefined ? {} : { seqCounts }),
  });
  const subs = task.subs
    .map((s, i) => `SUB ${s.subject}${s.queue === undefined ? "" : " " + s.queue} ${i + 1}\r\n`)
    .join("");
  const t0 = performance.now();
  const client = await rawConnect(task.port, {
    ...optCreds(task),
    extra: subs,
    scanner,
    bufSize: READ_BYTES,
    timeoutMs: 60_000,
  });
  const subscribeMs = performance.now() - t0;
  let stopped = false;
  let closedByServer = false;
  let firstAbs = 0;
  let lastAbs = 0;
  let cpuAtFirst = NaN;
  const stop = nextCommand("stop").then(() => {
    stopped = true;
    closeQuietly(client.conn);
  });
  onCommand = (cmd) => {
    if (cmd.type === "poll") {
      post({
        type: "count",
        count: scanner.count,
        other: scanner.other,
        closed: closedByServer,
      });
    } else waiting.get(cmd.type)?.();
  };
  post({ type: "ready", subscribeMs });
  const { conn, buf } = client;
  const pong = bytes("PONG\r\n");
  while (!stopped) {
    let n: number | null;
    try {
      n = await conn.read(buf);
    } catch (e) {
      if (stopped) break;
      throw e;
    }
    if (n === null) {
      closedByServer = true;
      break;
    }
    const before = scanner.count;
    scanner.feed(buf, n);
    if (scanner.count !== before) {
      lastAbs = absNow();
      if (firstAbs === 0) {
        firstAbs = lastAbs;
        cpuAtFirst = threadCpuMs();
      }
    }
    if (scanner.pings > 0) {
      scanner.pings = 0;
      await writeAll(conn, pong);
    }
  }
  await stop;
  // From the first delivery to the stop: after the last one the thread only waits.
  const cpuPct = busyPct(threadCpuMs() - cpuAtFirst, lastAbs - firstAbs);
  const done: WorkerReport = {
    cpuPct,
    type: "done",
    count: scanner.count,
    other: scanner.other,
    firstAbs,
    lastAbs,
    closedByServer,
    errors: scanner.errors,
    ...(seqCounts === undefined ? {} : { seqCounts }),
  };
  post(done, seqCounts === undefined ? [] : [seqCounts.buffer]);
}

async function runResponder(task: ResponderTask): Promise<void> {
  const decoder = new TextDecoder();
  const replies: string[] = [];
  let answered = 0;
  const scanner = new MsgScanner({
    onMsgLine: (line) => {
      // MSG <subject> <sid> <reply> <size>; requests without a reply are ignored.
      const parts = decoder.decode(line).split(" ");
      if (parts.length === 5) {
        replies.push(
          task.verb === "MSG"
            ? `MSG ${parts[3]} 1 16\r\n0123456789abcdef\r\n`
            : `PUB ${parts[3]} 16\r\n0123456789abcdef\r\n`,
        );
        answered++;
      }
    },
  });
  const client: RawClient = await rawConnect(task.port, {
    ...optCreds(task),
    extra: `SUB ${task.subject} 1\r\n`,
    scanner,
    bufSize: 64 * 1024,
  });
  let stopped = false;
  const stop = nextCommand("stop").then(() => {
    stopped = true;
    closeQuietly(client.conn);
  });
  post({ type: "ready", subscribeMs: 0 });
  while (!stopped) {
    let n: number | null;
    try {
      n = await client.conn.read(client.buf);
    } catch (e) {
      if (stopped) break;
      throw e;
    }
    if (n === null) break;
    scanner.feed(client.buf, n);
    if (scanner.pings > 0) {
      replies.push("PONG\r\n".repeat(scanner.pings));
      scanner.pings = 0;
    }
    if (replies.length > 0) {
      const out = bytes(replies.join(""));
      replies.length = 0;
      await writeAll(client.conn, out);
    }
  }
  await stop;
  post({ type: "done", answered });
}

function optCreds(task: WorkerTask): { creds?: WorkerTask["creds"]; tls?: WorkerTask["tls"] } {
  return {
    ...(task.creds === undefined ? {} : { creds: task.creds }),
    ...(task.tls === undefined ? {} : { tls: task.tls }),
  };
}

let started = false;
self.onmessage = (e: MessageEvent<WorkerTask | WorkerCommand>) => {
  const msg = e.data;
  if (!("role" in msg)) {
    onCommand(msg);
    return;
  }
  if (started) return;
  started = true;
  const run = msg.role === "pub"
    ? runPub(msg)
    : msg.role === "sub"
    ? runSub(msg)
    : runResponder(msg);
  run.catch((err) =>
    post({ type: "error", message: err instanceof Error ? err.message : String(err) })
  );
};
