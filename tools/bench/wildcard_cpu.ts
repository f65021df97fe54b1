/**
 * Server CPU time of the wildcard workload (`deno task bench --only wildcard`),
 * phase by phase: the first burst of 10,000 wildcard SUBs a fresh server sees
 * (cold), a second burst of 10,000 on another connection (warm: other subjects,
 * same shapes), then the matching flow (1,000,000 messages over 100 subjects,
 * each matching 2 or 3 of the first connection's subscriptions) and the
 * non-matching flow (3,000,000 messages over 100 subjects matching none).
 * CPU is the sum over the server's threads of `/proc/<pid>/task/* /schedstat`
 * field 1, read around each phase, which ends at the PONG after it; for the
 * bursts the main thread's share is printed apart (`*MainCpuMs`). Deliveries
 * are read and counted (the matching flow waits for all of them). Prints one
 * JSON line. See docs/performance.md ("Wildcard workload, third round").
 *
 * Usage: `deno run -A tools/bench/wildcard_cpu.ts <dnatsd|nats-server|path/to/main.ts>
 * [matchCount=1000000] [missCount=3000000] [cached=0]`, where `cached` subjects
 * (none of which the bursts' patterns match) are published once before the
 * first burst, so the match cache holds them; `SERVER_V8_FLAGS` in the
 * environment is passed to the server as `DENO_V8_FLAGS`. `SERVER_TRACE=<file>`
 * writes the server's stdout there (where V8's `--trace-opt`/`--trace-deopt-verbose`
 * print), with a `=== <phase>` line before each phase; the server then runs
 * under `stdbuf -oL` where that exists, so the lines land in order.
 *
 * @module
 */
import { readTextUntil, threadSchedstat, totalCpuNs } from "./proc_probe.ts";
import { freePort } from "./servers.ts";

const [which = "dnatsd", matchArg, missArg, cachedArg] = Deno.args;
const matchCount = Number(matchArg ?? 1_000_000);
const missCount = Number(missArg ?? 3_000_000);
/** Subjects published once before the bursts, so the match cache holds them. */
const cachedCount = Number(cachedArg ?? 0);
const enc = new TextEncoder();

/** CPU time (ns) of the whole process, summed over its threads. */
function cpuNs(pid: number): number {
  return threadCpuNs(pid).all;
}

/**
 * CPU time (ns) of the whole process and of its main thread (for dnatsd the
 * JavaScript thread; the rest is V8's compiler and GC helper threads).
 */
function threadCpuNs(pid: number): { all: number; main: number } {
  const threads = threadSchedstat(pid);
  return { all: totalCpuNs(threads), main: threads.get(String(pid))?.[0] ?? 0 };
}

/** The bench's 10,000 wildcard subscriptions under `root`. */
function subsText(root: string): string {
  let subs = 'CONNECT {"verbose":false,"pedantic":false}\r\n';
  for (let i = 0; i < 5000; i++) subs += `SUB ${root}.${i}.* ${i}\r\n`;
  for (let i = 0; i < 4990; i++) subs += `SUB ${root}.*.${i} ${5000 + i}\r\n`;
  for (let i = 0; i < 10; i++) subs += `SUB ${root}.${i}.> ${9990 + i}\r\n`;
  return subs + "PING\r\n";
}

async function connect(port: number): Promise<Deno.TcpConn> {
  for (let i = 0; i < 200; i++) {
    const c = await Deno.connect({ hostname: "127.0.0.1", port }).catch(() => null);
    if (c !== null) return c;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("server did not start");
}

const port = freePort();
const main = which === "dnatsd" ? new URL("../../main.ts", import.meta.url).pathname : which;
const [cmd, args] = which === "nats-server"
  ? ["nats-server", [] as string[]]
  : [Deno.execPath(), ["run", "-A", "--no-check", main]];
// SERVER_TRACE: the server's stdout (V8's traces) to this file, phases marked.
const tracePath = Deno.env.get("SERVER_TRACE");
const trace = tracePath === undefined ? null : await Deno.open(tracePath, {
  write: true,
  create: true,
  truncate: true,
});
const lineBuffered = trace !== null && (() => {
  try {
    return Deno.statSync("/usr/bin/stdbuf").isFile;
  } catch {
    return false;
  }
})();
const child = new Deno.Command(lineBuffered ? "/usr/bin/stdbuf" : cmd, {
  args: [...(lineBuffered ? ["-oL", cmd] : []), ...args, "-a", "127.0.0.1", "-p", String(port)],
  stdout: trace === null ? "null" : "piped",
  stderr: "null",
  // SERVER_V8_FLAGS: V8 flags for the server only (DENO_V8_FLAGS would reach this harness too).
  env: Deno.env.get("SERVER_V8_FLAGS") ? { DENO_V8_FLAGS: Deno.env.get("SERVER_V8_FLAGS")! } : {},
}).spawn();
const traceWriter = trace?.writable.getWriter();
const traceCopy = trace === null ? Promise.resolve() : (async () => {
  for await (const chunk of child.stdout) await traceWriter!.write(chunk);
})();
/** A `=== <phase>` line in the trace file (after the server's lines so far). */
const mark = async (phase: string) => {
  if (traceWriter === undefined) return;
  await new Promise((r) => setTimeout(r, 100)); // let the server's last lines arrive
  await traceWriter.write(enc.encode(`=== ${phase}\n`));
};
try {
  const sub = await connect(port);
  // Let the server settle after start-up before the first measurement.
  await new Promise((r) => setTimeout(r, 300));

  const burst = async (conn: Deno.Conn, root: string) => {
    const bytes = enc.encode(subsText(root)); // made before the clock starts
    const c0 = threadCpuNs(child.pid);
    const t0 = performance.now();
    await conn.write(bytes);
    await readTextUntil(conn, "PONG\r\n");
    const c1 = threadCpuNs(child.pid);
    return {
      cpu: (c1.all - c0.all) / 1e6,
      mainCpu: (c1.main - c0.main) / 1e6,
      wall: performance.now() - t0,
    };
  };
  if (cachedCount > 0) {
    // One message to each of `cachedCount` subjects none of the bursts' patterns
    // match (the non-matching flow's shape), from a connection of their own.
    const early = await connect(port);
    let text = 'CONNECT {"verbose":false,"pedantic":false}\r\n';
    for (let k = 0; k < cachedCount; k++) {
      text += `PUB bench.${30_000 + k}.${30_000 + k} 1\r\nx\r\n`;
    }
    await early.write(enc.encode(text + "PING\r\n"));
    await readTextUntil(early, "PONG\r\n");
    early.close();
  }
  await mark("cold burst");
  const cold = await burst(sub, "bench");
  await mark("warm burst");
  const other = await connect(port);
  const warm = await burst(other, "warm");
  await mark("flows");

  const pub = await connect(port);
  await pub.write(enc.encode('CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n'));
  await readTextUntil(pub, "PONG\r\n");
  let delivered = 0;
  const MSG = [0x4d, 0x53, 0x47];
  let seen = 0;
  const drain = (async () => {
    const buf = new Uint8Array(256 * 1024);
    for (;;) {
      const n = await sub.read(buf).catch(() => null);
      if (n === null) return;
      // Counts "MSG" (frame starts; subjects and payloads never hold it), also
      // when it is cut across two reads.
      for (let i = 0; i < n; i++) {
        const c = buf[i];
        if (c === MSG[seen]) {
          if (++seen === 3) {
            delivered++;
            seen = 0;
          }
        } else {
          seen = c === MSG[0] ? 1 : 0;
        }
      }
    }
  })();

  const flow = async (subjects: string[], count: number, expected: (sent: number) => number) => {
    const cycle = subjects.map((s) => `PUB ${s} 128\r\n${"x".repeat(128)}\r\n`).join("");
    const reps = Math.ceil(128 * 1024 / cycle.length);
    const batch = enc.encode(cycle.repeat(reps));
    const perBatch = reps * subjects.length;
    const d0 = delivered;
    const c0 = cpuNs(child.pid);
    const t0 = performance.now();
    let sent = 0;
    while (sent < count) {
      let off = 0;
      while (off < batch.length) off += await pub.write(batch.subarray(off));
      sent += perBatch;
    }
    await pub.write(enc.encode("PING\r\n"));
    await readTextUntil(pub, "PONG\r\n");
    const want = expected(sent);
    const deadline = performance.now() + 60_000;
    while (delivered - d0 < want && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 2));
    }
    const wall = performance.now() - t0;
    const cpu = cpuNs(child.pid) - c0;
    return {
      sent,
      delivered: delivered - d0,
      expected: want,
      nsPerMsg: Math.round(cpu / sent),
      msgsPerS: Math.round(sent / (wall / 1000)),
    };
  };

  const match = await flow(
    Array.from({ length: 100 }, (_, k) => `bench.${k}.${k}`),
    matchCount,
    (sent) => {
      let total = Math.floor(sent / 100) * 210;
      for (let k = 0; k < sent % 100; k++) total += k < 10 ? 3 : 2;
      return total;
    },
  );
  const miss = await flow(
    Array.from({ length: 100 }, (_, k) => `bench.${20_000 + k}.${20_000 + k}`),
    missCount,
    () => 0,
  );
  const r = (x: number) => Math.round(x * 10) / 10;
  console.log(JSON.stringify({
    server: which,
    coldCpuMs: r(cold.cpu),
    coldMainCpuMs: r(cold.mainCpu),
    coldWallMs: r(cold.wall),
    warmCpuMs: r(warm.cpu),
    warmMainCpuMs: r(warm.mainCpu),
    warmWallMs: r(warm.wall),
    match,
    miss,
    load: Deno.loadavg()[0],
  }));
  pub.close();
  other.close();
  sub.close();
  await drain;
} finally {
  child.kill("SIGKILL");
  await child.status;
  await traceCopy.catch(() => {});
  await traceWriter?.close();
}
