/**
 * Process figures for /varz and /metrics: resident memory, CPU use and core
 * count. CPU is a percentage over the time since the previous sample, like
 * nats-server's periodic sampling, read from /proc/self/stat on Linux.
 *
 * @module
 */

/** Clock ticks per second of /proc/self/stat (USER_HZ is 100 on every Linux we target). */
const USER_HZ = 100;
/** Samples closer together than this reuse the previous figure (too noisy otherwise). */
const MIN_SAMPLE_MS = 500;

/** Resident set size in bytes. */
export function residentMemory(): number {
  try {
    return Deno.memoryUsage().rss;
  } catch {
    return 0;
  }
}

/** Logical CPUs visible to the process (`cores` and `gomaxprocs`). */
export function cpuCores(): number {
  return navigator.hardwareConcurrency ?? 1;
}

/** CPU seconds (user + system) of this process, or null where /proc is missing. */
function cpuSeconds(): number | null {
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    // Field 2 (comm) may hold spaces and parentheses: count from the last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
    return (utime + stime) / USER_HZ;
  } catch {
    return null;
  }
}

/** Computes CPU percentage from deltas between successive calls. */
export class CpuSampler {
  #lastWall = performance.now();
  #lastCpu = cpuSeconds();
  #percent = 0;

  /** Percent of one core used since the previous sample (may exceed 100 on several cores). */
  sample(): number {
    const wall = performance.now();
    if (wall - this.#lastWall < MIN_SAMPLE_MS) return this.#percent;
    const cpu = cpuSeconds();
    if (cpu !== null && this.#lastCpu !== null) {
      const used = cpu - this.#lastCpu;
      const pct = (used / ((wall - this.#lastWall) / 1000)) * 100;
      // One decimal, as the figure is only as precise as the 10 ms tick.
      this.#percent = Math.max(0, Math.round(pct * 10) / 10);
    }
    this.#lastWall = wall;
    this.#lastCpu = cpu;
    return this.#percent;
  }
}
