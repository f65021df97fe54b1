/**
 * CPU use of the load generator (this process, per thread) and of the
 * servers under test, sampled from /proc while a workload runs. It is how the
 * bench shows that the generator is not the bottleneck: a figure limited by
 * the generator would show one of its threads near 100% of a core.
 *
 * @module
 */

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_S = 100;
/** Sampling period; peaks are the busiest window of about this length. */
const SAMPLE_MS = 500;

/** CPU over one run, in % of one core (200% is both cores of a 2-core machine). */
export interface CpuReport {
  seconds: number;
  /** The whole bench process (main thread and load Workers), average over the run. */
  genAvg: number;
  /** The whole bench process in its busiest window. */
  genPeak: number;
  /** The busiest single thread of the bench process in its busiest window. */
  genThreadPeak: number;
  /** The servers under test (summed), average and busiest window. */
  serverAvg: number;
  serverPeak: number;
  /**
   * The busiest load Worker's own thread while it was active (a publisher
   * from its first write to the PONG after its last, a subscriber from its
   * first delivery to its last), as it measured itself; NaN without one.
   */
  workerPeak: number;
  workerPeakLabel: string;
}

/** A server process whose CPU time can be read, also after it stopped. */
export interface CpuSource {
  pid: number;
  cpuTicks(): number | undefined;
}

/** utime + stime of a /proc/.../stat line, in ticks (fields 14 and 15). */
export function statTicks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

function readTicks(path: string): number | undefined {
  try {
    return statTicks(Deno.readTextFileSync(path));
  } catch {
    return undefined; // the thread or process ended
  }
}

function threadTicks(): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const t of Deno.readDirSync("/proc/self/task")) {
      const v = readTicks(`/proc/self/task/${t.name}/stat`);
      if (v !== undefined) out.set(t.name, v);
    }
  } catch {
    // no /proc: nothing to sample
  }
  return out;
}

function pct(ticks: number, ms: number): number {
  return ms <= 0 ? 0 : (ticks / TICKS_PER_S) * 100_000 / ms;
}

/**
 * Samples CPU until {@link CpuMeter.stop}; `servers()` lists the server
 * processes started since the meter began (also those already stopped).
 */
export class CpuMeter {
  readonly #servers: () => CpuSource[];
  readonly #t0 = performance.now();
  readonly #self0: number;
  #last: { at: number; self: number; threads: Map<string, number>; servers: Map<number, number> };
  #serverTotal = 0;
  #genPeak = 0;
  #threadPeak = 0;
  #serverPeak = 0;
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(servers: () => CpuSource[]) {
    this.#servers = servers;
    this.#self0 = readTicks("/proc/self/stat") ?? 0;
    this.#last = {
      at: this.#t0,
      self: this.#self0,
      threads: threadTicks(),
      servers: this.#serverTicks(),
    };
    this.#timer = setInterval(() => this.#sample(), SAMPLE_MS);
  }

  #serverTicks(): Map<number, number> {
    const out = new Map<number, number>();
    for (const s of this.#servers()) {
      const v = s.cpuTicks();
      if (v !== undefined) out.set(s.pid, v);
    }
    return out;
  }

  #sample(): void {
    const at = performance.now();
    const self = readTicks("/proc/self/stat") ?? this.#last.self;
    const threads = threadTicks();
    const servers = this.#serverTicks();
    const ms = at - this.#last.at;
    let busiest = 0;
    for (const [tid, v] of threads) {
      busiest = Math.max(busiest, v - (this.#last.threads.get(tid) ?? 0));
    }
    let serverDelta = 0;
    // A server started in this window counts from zero; a stopped one keeps its last reading.
    for (const [pid, v] of servers) serverDelta += v - (this.#last.servers.get(pid) ?? 0);
    this.#serverTotal += serverDelta;
    // Windows much shorter than the period (the last one) give jumpy peaks.
    if (ms >= SAMPLE_MS * 0.8) {
      this.#genPeak = Math.max(this.#genPeak, pct(self - this.#last.self, ms));
      this.#threadPeak = Math.max(this.#threadPeak, pct(busiest, ms));
      this.#serverPeak = Math.max(this.#serverPeak, pct(serverDelta, ms));
    }
    this.#last = { at, self, threads, servers };
  }

  /** Takes a last sample and stops; `workers` are the load Workers' own figures. */
  stop(workers: { label: string; pct: number }[] = []): CpuReport {
    clearInterval(this.#timer);
    this.#sample();
    const ms = this.#last.at - this.#t0;
    return {
      seconds: ms / 1000,
      genAvg: pct(this.#last.self - this.#self0, ms),
      genPeak: this.#genPeak,
      genThreadPeak: this.#threadPeak,
      serverAvg: pct(this.#serverTotal, ms),
      serverPeak: this.#serverPeak,
      ...busiestWorker(workers),
    };
  }
}

function busiestWorker(
  workers: { label: string; pct: number }[],
): { workerPeak: number; workerPeakLabel: string } {
  let best = { workerPeak: NaN, workerPeakLabel: "" };
  for (const w of workers) {
    if (!(w.pct <= best.workerPeak)) best = { workerPeak: w.pct, workerPeakLabel: w.label };
  }
  return best;
}

/** `12%`, or `-` for NaN. */
export function pctText(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(0)}%` : "-";
}

/** One line for the progress output. */
export function cpuLine(r: CpuReport): string {
  const p = pctText;
  const worker = Number.isFinite(r.workerPeak)
    ? `busiest load Worker ${p(r.workerPeak)} while active (${r.workerPeakLabel}); `
    : "";
  return `CPU: ${worker}generator avg ${p(r.genAvg)}, peak ${p(r.genPeak)}, busiest thread ` +
    `peak ${p(r.genThreadPeak)}; server avg ${p(r.serverAvg)}, peak ${p(r.serverPeak)} ` +
    `(% of one core, peaks over ${SAMPLE_MS} ms windows, ${r.seconds.toFixed(1)} s)`;
}
