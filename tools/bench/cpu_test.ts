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

Deno.test("CpuMeter counts a busy server process and the bench's own busy thread", async () => {
  // A shell spinning on a builtin stands for a server under load (killed below).
  const child = new Deno.Command("sh", {
    args: ["-c", "while :; do :; done"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const source = {
      pid: child.pid,
      cpuTicks: () => {
        try {
          return statTicks(Deno.readTextFileSync(`/proc/${child.pid}/stat`));
        } catch {
          return undefined;
        }
      },
    };
    const meter = new CpuMeter(() => [source]);
    // Busy this thread for ~1.2 s in slices, so the interval timer still fires.
    const until = performance.now() + 1200;
    while (performance.now() < until) {
      const slice = performance.now() + 50;
      while (performance.now() < slice) { /* spin */ }
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    const r = meter.stop([{ label: "publisher", pct: 42 }, { label: "subscriber 1", pct: 7 }]);
    // Generous bounds: the machine is shared.
    assert.ok(r.genAvg > 30, cpuLine(r));
    assert.ok(r.genThreadPeak > 30, cpuLine(r));
    assert.ok(r.serverAvg > 20, cpuLine(r));
    assert.equal(r.workerPeak, 42);
    assert.equal(r.workerPeakLabel, "publisher");
    assert.match(cpuLine(r), /busiest load Worker 42% while active \(publisher\)/);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already ended
    }
    await child.status;
  }
});
