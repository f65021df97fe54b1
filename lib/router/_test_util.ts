/**
 * Shared by the router's tests and benchmark.
 *
 * @module
 */

/**
 * A small seeded PRNG (mulberry32): random workloads that are the same on
 * every run, so a failure reproduces and benchmark runs compare.
 *
 * @param seed Any 32-bit integer.
 * @returns Numbers in [0, 1).
 */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Runs `probe` (module source that compiles `fn` with V8's natives syntax,
 * prints "NOT OPTIMIZED" if that failed and "DONE" at its end) in a child
 * process with `--trace-deopt`, and returns its output and the trace's
 * bailout lines for `fn`. Throws when the probe did not finish or did not get
 * `fn` compiled, so an empty bailout list always means a compiled function
 * that was not thrown away.
 */
export async function deoptProbe(
  probe: string,
  fn: string,
): Promise<{ stdout: string; bailouts: string[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--allow-natives-syntax,--trace-deopt", probe],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  if (!stdout.includes("DONE")) throw new Error(new TextDecoder().decode(out.stderr));
  if (stdout.includes("NOT OPTIMIZED")) throw new Error(`the probe did not get ${fn} compiled`);
  const bailouts = stdout.split("\n").filter((line) =>
    line.includes("bailout") && line.includes(fn)
  );
  return { stdout, bailouts };
}
