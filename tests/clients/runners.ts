/**
 * The nats.go and C scenario runners (tests/clients/go, tests/clients/c):
 * built once per source hash into a temp directory, then run with a scenario
 * name and a URL. A runner prints JSON lines; a `step` line waits for the test
 * to act on the server and answer with one line on stdin; the last line is
 * the result.
 *
 * @module
 */
import { BUILD_DIR, buildGoProgram, cachedBuild } from "./build.ts";

export type ClientKind = "go" | "c";

const HERE = new URL("./", import.meta.url).pathname;
export const CERTS = new URL("../../certs", import.meta.url).pathname;
const SOURCES: Record<ClientKind, string> = {
  go: HERE + "go/scenario.go",
  c: HERE + "c/scenario.c",
};

const built = new Map<ClientKind, Promise<string>>();

/** Path of the built runner for `kind` (built on first use, cached by source hash). */
export function runnerBinary(kind: ClientKind): Promise<string> {
  let p = built.get(kind);
  if (p === undefined) {
    p = build(kind);
    built.set(kind, p);
  }
  return p;
}

function build(kind: ClientKind): Promise<string> {
  if (kind === "go") return buildGoProgram("go", SOURCES.go);
  return cachedBuild("c", SOURCES.c, (out) =>
    new Deno.Command("cc", {
      args: ["-O1", "-Wall", "-o", out, SOURCES.c, "-lnats"],
      cwd: BUILD_DIR,
      stdout: "piped",
      stderr: "piped",
    }));
}

/** A runner's result line: fields to compare, plus `measured` (timings). */
export type Result = Record<string, unknown> & { measured?: Record<string, number> };

/** Called at each `step`; the runner goes on once it resolves. */
export type StepHandler = (name: string, data: Record<string, unknown>) => Promise<void> | void;

/**
 * Runs `scenario` of the `kind` runner against `url`. Every step line is
 * handed to `onStep`; the result line is returned. The runner is killed after
 * `timeoutMs`.
 */
export async function runScenario(
  kind: ClientKind,
  scenario: string,
  url: string,
  onStep: StepHandler = () => {},
  extraArgs: string[] = [],
  timeoutMs = 60_000,
): Promise<Result> {
  const bin = await runnerBinary(kind);
  const child = new Deno.Command(bin, {
    args: [scenario, url, ...extraArgs],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, timeoutMs);
  const writer = child.stdin.getWriter();
  let stderr = "";
  const errDone = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  const lines: Record<string, unknown>[] = [];
  let pending = "";
  try {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      let nl;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (line === "") continue;
        const obj = JSON.parse(line) as Record<string, unknown>;
        lines.push(obj);
        if (typeof obj.step === "string") {
          await onStep(obj.step, obj);
          await writer.write(new TextEncoder().encode("go\n"));
        }
      }
    }
  } finally {
    clearTimeout(timer);
    await writer.close().catch(() => {});
    await errDone.catch(() => {});
  }
  const status = await child.status;
  const last = lines.at(-1);
  if (!status.success || last === undefined || "step" in last || "fatal" in last) {
    throw new Error(
      `${kind} ${scenario} failed (exit ${status.code}): ${JSON.stringify(lines)}\n${stderr}`,
    );
  }
  return last as Result;
}

/** The result without the fields that may differ between servers. */
export function comparable(r: Result): Record<string, unknown> {
  const { measured: _m, client: _c, ...rest } = r;
  return rest;
}
