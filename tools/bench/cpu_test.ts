/**
 * The CPU figures that show the load generator is not the bottleneck.
 *
 * @module
 */
import assert from "node:assert/strict";
import { cpuLine, CpuMeter, statTicks } from "./cpu.ts";

Deno.test("statTicks() adds utime and stime, also when the command name has spaces and parens", () => {
  // Fields after "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt
  // cmajflt utime stime ...
  const stat = "1234 (V8 Default (x) 1) S 1 2 3 4 5 6 7 8 9 10 250 17 0 0 20 0 3";
  assert.equal(statTicks(stat), 267);
});

/** CPU seconds of a /proc stat file, or 0 once it is gone. */
function cpuSeconds(path: string): number {
  try {
    return statTicks(Deno.readTextFileSync(path)) / 100;
  } catch {
    return 0;
  }
}

Deno.test("CpuMeter counts the CPU time a server process and the bench itself used", async () => {
  // A shell spinning on a builtin stands for a server under load (killed below).
  const child = new Deno.Command("sh", {
    args: ["-c", "while :; do :; done"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const childStat = `/proc/${child.pid}/stat`;
  try {
    const source = {
      pid: child.pid,
      cpuTicks: () => {
        try {
          return statTicks(Deno.readTextFileSync(childStat));
        } catch {
          return undefined;
        }
      },
    };
    const child0 = cpuSeconds(childStat);
    const meter = new CpuMeter(() => [source]);
    // Spin until this process and the child each used 0.4 s of CPU (the machine is shared, so
    // wait for CPU time, not wall time), in slices so that the meter's timer still fires.
    const self0 = cpuSeconds("/proc/self/stat");
    const deadline = performance.now() + 30_000;
    while (
      (cpuSeconds("/proc/self/stat") - self0 < 0.4 || cpuSeconds(childStat) - child0 < 0.4) &&
      performance.now() < deadline
    ) {
      const slice = performance.now() + 50;
      while (performance.now() < slice) { /* spin */ }
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    const r = meter.stop([{ label: "publisher", pct: 42 }, { label: "subscriber 1", pct: 7 }]);
    const line = cpuLine(r);
    // CPU seconds seen by the meter: at least what was used (the tick reads may lag by a tick).
    assert.ok(r.genAvg * r.seconds / 100 >= 0.35, line);
    assert.ok(r.serverAvg * r.seconds / 100 >= 0.35, line);
    // At most what a 2-core machine can give the bench process, plus a tick.
    assert.ok(r.genAvg <= 100 * navigator.hardwareConcurrency + 10, line);
    assert.ok(r.genThreadPeak > 0 && r.genThreadPeak <= 110, line);
    assert.equal(r.workerPeak, 42);
    assert.equal(r.workerPeakLabel, "publisher");
    assert.match(line, /busiest load Worker 42% while active \(publisher\)/);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already ended
    }
    await child.status;
  }
});
