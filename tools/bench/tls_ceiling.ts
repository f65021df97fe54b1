/**
 * The cost of TLS itself, without a NATS server: the bench's TLS publisher
 * (128 B PUBs, as in `tlspub`) feeds a sink that accepts TLS, reads and
 * discards, and answers the final PING (tools/bench/sinks/). On dnatsd's side
 * the sinks run in Deno: `node:tls` with dnatsd's shared read buffer,
 * `node:tls` with 'data' events, and `Deno.listenTls`; on nats-server's side
 * one sink in Go with crypto/tls (built with the system's `go`), whose figures
 * fill all three rows. Per sink: bytes/s, CPU per byte, peak RSS.
 *
 * The sinks handshake first (INFO over TLS), because `Deno.listenTls` cannot
 * send plain text before its handshake; the client is the bench's publisher
 * Worker in that mode (`TlsClient.first`).
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { runFlow } from "./flows.ts";
import type { Measured } from "./report.ts";
import { freePort, RunningServer, type ServerSpec } from "./servers.ts";
import { tlsSetup } from "./tls.ts";
import { maxPublishMs, n, naFrom, scaled, type Workload } from "./workload.ts";

const SINKS = new URL("./sinks/", import.meta.url);
const CERTS = new URL("../../certs/", import.meta.url);
const SIZE = 128;
const SUBJECT = "bench.tls.pub";
/** Bytes of one PUB on the wire. */
const PUB_BYTES = `PUB ${SUBJECT} ${SIZE}\r\n`.length + SIZE + 2;

/** The Deno sinks, each a row; the Go sink fills every row on nats-server's side. */
const DENO_SINKS = [
  { key: "node", label: "node:tls, shared read buffer", file: "node_tls_sink.ts", mode: "onread" },
  { key: "nodedata", label: "node:tls, 'data' events", file: "node_tls_sink.ts", mode: "data" },
  { key: "deno", label: "Deno.listenTls", file: "deno_tls_sink.ts", mode: "" },
] as const;

/**
 * Sinks that run dnatsd's client parser on every byte, in one thread or with
 * TLS in a Worker (the plaintext handed over through a SharedArrayBuffer ring
 * or transferred ArrayBuffers): each also splits its CPU between the main
 * (parsing) thread and the rest. The Go sink (no parser) fills nats-server's
 * column.
 */
const PARSE_SINKS = [
  {
    key: "parse1",
    label: "node:tls + parser, one thread",
    file: "node_tls_sink.ts",
    mode: "parse",
  },
  {
    key: "parsering",
    label: "node:tls in a Worker + parser, SAB ring",
    file: "worker_tls_sink.ts",
    mode: "ring",
  },
  {
    key: "parsepost",
    label: "node:tls in a Worker + parser, postMessage",
    file: "worker_tls_sink.ts",
    mode: "post",
  },
] as const;

/** `node:tls` in a Worker, nothing handed over: its main thread idles, so only the Worker's row. */
const WORKER_ALONE = {
  key: "worker",
  label: "node:tls in a Worker alone",
  file: "worker_tls_sink.ts",
  mode: "none",
} as const;

/** The echo measure: every byte decrypted, written back and encrypted. */
const ECHOES = [
  { key: "echonode", label: "node:tls", file: "node_tls_sink.ts" },
  { key: "echodeno", label: "Deno.listenTls", file: "deno_tls_sink.ts" },
] as const;

/** The echo with TLS in a Worker: the main thread relays the plaintext between two rings. */
const WORKER_ECHO = {
  key: "echoworker",
  label: "node:tls in a Worker, relayed by the main thread",
  file: "worker_tls_sink.ts",
} as const;

/** Go programs built in this run, by source name (tls_sink, tls_pair_relay). */
const goBuilt = new Map<string, Promise<string>>();
let goSinkDir: string | undefined;

/**
 * Builds a Go program of tools/bench/sinks/ (`tls_sink` by default) once per
 * bench run (GOPATH mode, as tests/clients/go); returns the binary's path.
 */
export function buildGoSink(name = "tls_sink"): Promise<string> {
  let built = goBuilt.get(name);
  if (built === undefined) {
    built = (async () => {
      goSinkDir ??= await Deno.makeTempDir({ prefix: "dnatsd-bench-sink-" });
      const out = `${goSinkDir}/${name}`;
      const r = await new Deno.Command("go", {
        args: ["build", "-o", out, fileURLToPath(new URL(`${name}.go`, SINKS))],
        env: { GO111MODULE: "off" },
        cwd: goSinkDir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!r.success) throw new Error(`go build: ${new TextDecoder().decode(r.stderr).trim()}`);
      return out;
    })();
    goBuilt.set(name, built);
  }
  return built;
}

/** Removes the Go programs built for this run, if any. */
export async function cleanupGoSink(): Promise<void> {
  if (goSinkDir !== undefined) await Deno.remove(goSinkDir, { recursive: true }).catch(() => {});
  goSinkDir = undefined;
  goBuilt.clear();
}

/** Starts one sink process and waits for its "listening" line. */
export async function startSink(
  spec: ServerSpec,
  cmd: string[],
  mode: string,
): Promise<RunningServer> {
  const port = freePort();
  const cert = fileURLToPath(new URL("server-cert.pem", CERTS));
  const key = fileURLToPath(new URL("server-key.pem", CERTS));
  const args = [...cmd.slice(1), String(port), cert, key, mode].filter((a) => a !== "");
  const child = new Deno.Command(cmd[0]!, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .spawn();
  const sink = new RunningServer({ kind: spec.kind, cmd }, port, child);
  const deadline = performance.now() + 30_000;
  while (!sink.tail.includes("listening on")) {
    if (sink.exited || performance.now() > deadline) {
      await sink.stop();
      throw new Error(`TLS sink did not start: ${sink.tail.trim().split("\n").at(-1)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return sink;
}

type SinkFigures = {
  rate: Measured;
  cpu: Measured;
  peak: Measured;
  /** Main-thread and other-thread CPU per byte, from the sink's `threads` lines. */
  main?: Measured;
  other?: Measured;
};

/**
 * CPU (s) of the main thread, of all other threads and of the busiest other
 * thread between the first and the last `threads` line a sink printed
 * (sinks/thread_cpu.ts: at the client's first and last PING; in the Worker
 * echo, at the first byte and as the bytes relayed pass each power of two).
 */
export function threadSplit(
  tail: string,
): { main: number; others: number; busiest: number } | undefined {
  const lines = tail.split("\n").filter((l) => l.startsWith("threads "));
  if (lines.length < 2) return undefined;
  type Line = { main: number; others: Record<string, number> };
  const a = JSON.parse(lines[0]!.slice(8)) as Line;
  const b = JSON.parse(lines.at(-1)!.slice(8)) as Line;
  let others = 0;
  let busiest = 0;
  for (const [tid, ns] of Object.entries(b.others)) {
    const d = ns - (a.others[tid] ?? 0);
    others += d;
    busiest = Math.max(busiest, d);
  }
  return { main: (b.main - a.main) / 1e9, others: others / 1e9, busiest: busiest / 1e9 };
}

/** What one load run against a sink moved. */
interface Moved {
  bytes: number;
  seconds: number;
  note: string;
}

/**
 * Starts a sink, runs `load` against its port, and turns what it moved into
 * bytes/s, the sink's CPU per byte, and its peak RSS.
 */
async function measureSink(
  spec: ServerSpec,
  cmd: string[],
  mode: string,
  load: (port: number) => Promise<Moved>,
): Promise<SinkFigures> {
  const sink = await startSink(spec, cmd, mode);
  try {
    const ticks0 = sink.cpuTicks() ?? NaN;
    const moved = await load(sink.port);
    const ticks = (sink.cpuTicks() ?? NaN) - ticks0;
    const split = threadSplit(sink.tail);
    await sink.stop();
    const cpuSeconds = ticks / 100;
    const threads = split === undefined
      ? ""
      : `; main thread ${split.main.toFixed(2)} s, other threads ${split.others.toFixed(2)} s ` +
        `(busiest ${split.busiest.toFixed(2)} s)`;
    const note = `${moved.note} (${(moved.bytes / 1e6).toFixed(0)} MB) in ` +
      `${moved.seconds.toFixed(2)} s, sink CPU ${cpuSeconds.toFixed(2)} s ` +
      `(${(100 * cpuSeconds / moved.seconds).toFixed(0)}% of a core)${threads}`;
    const peak = await sink.peakRssKiB();
    const figures: SinkFigures = {
      rate: { value: moved.bytes / moved.seconds, note },
      cpu: { value: cpuSeconds * 1e9 / moved.bytes, note },
      peak: peak === undefined ? { na: "no VmHWM" } : { value: peak, note: "VmHWM of the sink" },
    };
    if (split !== undefined) {
      figures.main = { value: split.main * 1e9 / moved.bytes, note };
      figures.other = { value: split.others * 1e9 / moved.bytes, note };
    }
    return figures;
  } finally {
    await sink.stop();
  }
}

/** The bench's TLS publisher (128 B PUBs) until the PONG after the last one. */
function publish(count: number, maxMs: number): (port: number) => Promise<Moved> {
  return async (port) => {
    const setup = await tlsSetup();
    const r = await runFlow({
      pubPort: port,
      subPort: port,
      tls: { ...setup.tls, first: true },
      pubSubjects: [SUBJECT],
      payloadSize: SIZE,
      count,
      maxMs,
      subscribers: [],
      expectedDeliveries: () => 0,
    });
    return { bytes: r.sent * PUB_BYTES, seconds: r.pubSeconds, note: `${n(r.sent)} PUBs` };
  };
}

/** Writes `bytes` to a sink in echo mode and reads them all back, from a Worker. */
function echo(bytes: number): (port: number) => Promise<Moved> {
  return async (port) => {
    const setup = await tlsSetup();
    const worker = new Worker(new URL("echo_worker.ts", SINKS).href, { type: "module" });
    try {
      const done = await new Promise<{ seconds: number; cpuPct: number }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("echo: no answer within 120 s")), 120_000);
        worker.onmessage = (e) => {
          clearTimeout(timer);
          if (e.data.type === "done") resolve(e.data);
          else reject(new Error(`echo: ${e.data.message}`));
        };
        worker.onerror = (e) => {
          e.preventDefault();
          clearTimeout(timer);
          reject(new Error(`echo: ${e.message}`));
        };
        worker.postMessage({ port, ca: setup.tls.ca, bytes });
      });
      return {
        bytes,
        seconds: done.seconds,
        note: `echoed, client thread ${done.cpuPct.toFixed(0)}% of a core`,
      };
    } finally {
      worker.terminate();
    }
  };
}

/** Rows of one sink measure: bytes/s, CPU per byte, peak RSS. */
function rows(key: string, label: string) {
  return [
    { id: `ceil.${key}.rate`, label: `${label} vs Go (bytes/s)`, format: "mbs" },
    { id: `ceil.${key}.cpu`, label: `${label} vs Go (CPU/byte)`, format: "nspb" },
    { id: `ceil.${key}.peak`, label: `${label} vs Go (peak RSS)`, format: "mib" },
  ] as const;
}

/** The parse sinks' rows: the three of {@link rows} and the split by thread. */
function parseRows(key: string, label: string) {
  return [
    ...rows(key, label),
    { id: `ceil.${key}.main`, label: `${label}: main thread (CPU/byte)`, format: "nspb" },
    { id: `ceil.${key}.other`, label: `${label}: other threads (CPU/byte)`, format: "nspb" },
  ] as const;
}

/** `tlsceiling`: TLS sinks in Deno (dnatsd's column) and in Go (nats-server's column). */
export const tlsCeiling: Workload = {
  name: "tlsceiling",
  figures: [
    ...DENO_SINKS.flatMap((s) => rows(s.key, `TLS sink ${s.label}`)),
    ...PARSE_SINKS.flatMap((s) => parseRows(s.key, `TLS sink ${s.label}`)),
    ...parseRows(WORKER_ALONE.key, `TLS sink ${WORKER_ALONE.label}`).filter((r) =>
      !r.id.endsWith(".main")
    ),
    ...ECHOES.flatMap((s) => rows(s.key, `TLS echo ${s.label}`)),
    ...parseRows(WORKER_ECHO.key, `TLS echo ${WORKER_ECHO.label}`),
  ],
  peak: false,
  run: async (spec, ctx) => {
    const pub = publish(scaled(ctx, 3_000_000, 200_000, 20_000), maxPublishMs(ctx));
    const echoed = echo(scaled(ctx, 256, 32, 4) * 1024 * 1024);
    const out = new Map<string, Measured>();
    const put = (key: string, m: SinkFigures) => {
      out.set(`ceil.${key}.rate`, m.rate);
      out.set(`ceil.${key}.cpu`, m.cpu);
      out.set(`ceil.${key}.peak`, m.peak);
      if (m.main !== undefined) out.set(`ceil.${key}.main`, m.main);
      if (m.other !== undefined) out.set(`ceil.${key}.other`, m.other);
    };
    if (spec.kind === "dnatsd") {
      const deno = (file: string) => [
        Deno.execPath(),
        "run",
        "-A",
        "--no-check",
        fileURLToPath(new URL(file, SINKS)),
      ];
      for (const s of DENO_SINKS) put(s.key, await measureSink(spec, deno(s.file), s.mode, pub));
      for (const s of PARSE_SINKS) {
        put(s.key, await measureSink(spec, deno(s.file), s.mode, pub));
      }
      const alone = await measureSink(spec, deno(WORKER_ALONE.file), WORKER_ALONE.mode, pub);
      delete alone.main;
      put(WORKER_ALONE.key, alone);
      for (const s of ECHOES) put(s.key, await measureSink(spec, deno(s.file), "echo", echoed));
      put(WORKER_ECHO.key, await measureSink(spec, deno(WORKER_ECHO.file), "echo", echoed));
      return out;
    }
    let go: string[] | Measured;
    try {
      go = [await buildGoSink()];
    } catch (e) {
      go = naFrom(e);
    }
    const viaGo = async (mode: string, load: (port: number) => Promise<Moved>) => {
      if (!Array.isArray(go)) return { rate: go, cpu: go, peak: go };
      try {
        return await measureSink(spec, go, mode, load);
      } catch (e) {
        const na = naFrom(e);
        return { rate: na, cpu: na, peak: na };
      }
    };
    const sinkFigures = await viaGo("", pub);
    for (const s of DENO_SINKS) put(s.key, sinkFigures);
    const noSplit: Measured = { na: "the Go sink does not split its threads" };
    for (const s of PARSE_SINKS) put(s.key, { ...sinkFigures, main: noSplit, other: noSplit });
    put(WORKER_ALONE.key, { ...sinkFigures, other: noSplit });
    const echoFigures = await viaGo("echo", echoed);
    for (const s of ECHOES) put(s.key, echoFigures);
    put(WORKER_ECHO.key, { ...echoFigures, main: noSplit, other: noSplit });
    return out;
  },
};
