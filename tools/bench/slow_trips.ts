/**
 * Lines up a bystander run's slow round trips with a scheduler trace: for
 * each round trip over 5 ms (slowest first), how long each thread of interest
 * waited runnable for a CPU inside it, and how much CPU each used in it.
 * docs/performance.md, "The bystander's max", has the recipe and findings.
 *
 * Inputs: `perf sched timehist` output of a `perf sched record -k
 * CLOCK_MONOTONIC -a` taken during the run; the JSON lines the bench wrote
 * with `DNATSD_BENCH_SLOW=<file>` (start in ms since the epoch, length in
 * µs); and the offset of the wall clock over CLOCK_MONOTONIC in seconds when
 * the trace was taken (`python3 -c "import time;
 * print(time.time()-time.clock_gettime(time.CLOCK_MONOTONIC))"`).
 *
 * Usage: `deno run -A tools/bench/slow_trips.ts <timehist.txt> <slow.jsonl>
 * <offset-seconds> <bench pid> <server pid> [count] [line of slow.jsonl]
 * [over-ms=5]` (a line of `all` takes every line; the request/reply rows
 * write their round trips at or over their p99, so a lower `over-ms` there).
 *
 * The bench's main thread is the requester; its Workers are named
 * `worker-<n>` in creation order (the responder, then the flooder, per run).
 *
 * @module
 */

/** One switch of `perf sched timehist`: the thread ran [end - run, end] after waiting `delay`. */
export interface Switch {
  end: number;
  name: string;
  tid: string;
  pid: string;
  delay: number;
  run: number;
}

/** Parses `perf sched timehist` lines (times in s; delay and run given in ms). */
export function parseTimehist(text: string): Switch[] {
  const out: Switch[] = [];
  const line = /^\s*([\d.]+)\s+\[\d+\]\s+(.*?)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$/;
  for (const l of text.split("\n")) {
    const m = line.exec(l);
    if (m === null) continue;
    const ids = /\[(\d+)(?:\/(\d+))?\]$/.exec(m[2]!);
    if (ids === null) continue;
    out.push({
      end: Number(m[1]),
      name: m[2]!,
      tid: ids[1]!,
      pid: ids[2] ?? ids[1]!,
      delay: Number(m[4]) / 1000,
      run: Number(m[5]) / 1000,
    });
  }
  return out;
}

/** The role of a thread, from the bench's and the server's pids. */
export function role(s: Switch, bench: string, server: string): string {
  if (s.tid === bench) return "requester";
  if (s.pid === bench) {
    const w = /^worker-(\d+)/.exec(s.name);
    if (w !== null) return Number(w[1]) % 2 === 1 ? "responder" : "flooder";
    return "bench other";
  }
  if (s.tid === server) return "server main";
  if (s.pid === server) return "server other";
  return "other processes";
}

function overlap(a: number, b: number, from: number, to: number): number {
  return Math.max(0, Math.min(b, to) - Math.max(a, from));
}

/** Per slow round trip [start s, length s]: waits and CPU per role inside it, in s. */
export function attribute(
  switches: Switch[],
  trips: [number, number][],
  bench: string,
  server: string,
): { length: number; waits: Map<string, number>; cpu: Map<string, number> }[] {
  return trips.map(([start, length]) => {
    const waits = new Map<string, number>();
    const cpu = new Map<string, number>();
    for (const s of switches) {
      const r = role(s, bench, server);
      const runFrom = s.end - s.run;
      const w = overlap(runFrom - s.delay, runFrom, start, start + length);
      if (w > 0) waits.set(r, (waits.get(r) ?? 0) + w);
      const c = overlap(runFrom, s.end, start, start + length);
      if (c > 0) cpu.set(r, (cpu.get(r) ?? 0) + c);
    }
    return { length, waits, cpu };
  });
}

function top(m: Map<string, number>, k: number): string {
  return [...m].sort((a, b) => b[1] - a[1]).slice(0, k)
    .map(([r, v]) => `${r} ${(v * 1000).toFixed(2)}`).join(", ");
}

if (import.meta.main) {
  const [th, slowFile, offsetText, bench, server, countText, lineText, overText] = Deno.args;
  if (th === undefined || slowFile === undefined || offsetText === undefined) {
    console.error(
      "usage: slow_trips.ts <timehist.txt> <slow.jsonl> <offset-seconds> <bench pid> " +
        "<server pid> [count] [line|all] [over-ms]",
    );
    Deno.exit(2);
  }
  const offset = Number((await Deno.readTextFile(offsetText).catch(() => offsetText)).trim());
  const lines = (await Deno.readTextFile(slowFile)).trim().split("\n");
  const picked = lineText === undefined || lineText === "all" ? lines : [lines[Number(lineText)]!];
  const over = Number(overText ?? 5) / 1000;
  const trips: [number, number][] = picked.flatMap((l) =>
    (JSON.parse(l).slow as [number, number][]).map(([at, us]) =>
      [at / 1000 - offset, us / 1e6] as [number, number]
    )
  ).filter(([, len]) => len > over).sort((a, b) => b[1] - a[1])
    .slice(0, Number(countText ?? 20));
  const switches = parseTimehist(await Deno.readTextFile(th));
  for (const t of attribute(switches, trips, bench!, server!)) {
    console.log(
      `${(t.length * 1000).toFixed(2)} ms | waiting for a CPU: ${top(t.waits, 4)} | CPU: ${
        top(t.cpu, 5)
      }`,
    );
  }
}
