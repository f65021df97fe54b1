/**
 * What the stand-alone bench probes (utilisation.ts, wildcard_cpu.ts,
 * tls_budget.ts) read of a process and its sockets: per-thread CPU from
 * `/proc/<pid>/task/<tid>/schedstat`, and a plain-text wait for a reply line.
 *
 * @module
 */

/** CPU time and run-queue wait (ns, schedstat fields 1 and 2) per thread id. */
export function threadSchedstat(pid: number | "self"): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const f = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/schedstat`).split(" ");
      out.set(t.name, [Number(f[0]), Number(f[1])]);
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** The CPU time (ns) summed over the threads of a {@link threadSchedstat} snapshot. */
export function totalCpuNs(threads: Map<string, [number, number]>): number {
  let sum = 0;
  for (const [cpu] of threads.values()) sum += cpu;
  return sum;
}

/** Reads until `needle` appears in the text read from `conn` (throws if it closes first). */
export async function readTextUntil(conn: Deno.Conn, needle: string): Promise<void> {
  const buf = new Uint8Array(65536);
  const dec = new TextDecoder();
  let text = "";
  while (!text.includes(needle)) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("connection closed");
    text = (text + dec.decode(buf.subarray(0, n))).slice(-4096);
  }
}
