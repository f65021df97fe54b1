/**
 * Per-thread CPU of a sink process, printed on stdout as one line
 * `threads {"main":<ns>,"others":{"<tid>":<ns>,...}}` (schedstat: nanoseconds on the
 * CPU so far; `main` is the process's first thread, the JavaScript main
 * thread). The `tlsceiling` workload subtracts the line printed at the
 * client's first PING from the one printed at its last, to split a sink's CPU
 * over the flow between its main thread and the rest (a TLS Worker, V8's
 * helper threads).
 *
 * @module
 */

/** Prints the `threads` line. */
export function printThreadCpu(): void {
  const others: Record<string, number> = {};
  let main = 0;
  for (const t of Deno.readDirSync("/proc/self/task")) {
    try {
      const ns = Number(Deno.readTextFileSync(`/proc/self/task/${t.name}/schedstat`).split(" ")[0]);
      if (Number(t.name) === Deno.pid) main = ns;
      else others[t.name] = ns;
    } catch {
      // the thread ended
    }
  }
  console.log(`threads ${JSON.stringify({ main, others })}`);
}
