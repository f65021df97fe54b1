/**
 * The nats.go and C scenario runners (tests/clients/go, tests/clients/c):
 * built once per source hash into a temp directory, then run with a scenario
 * name and a URL. A runner prints JSON lines; a `step` line waits for the test
 * to act on the server and answer with one line on stdin; the last line is
 * the result.
 *
 * @module
 */
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

async function build(kind: ClientKind): Promise<string> {
  const source = await Deno.readFile(SOURCES[kind]);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", source));
  const hash = Array.from(digest.slice(0, 8), (x) => x.toString(16).padStart(2, "0")).join("");
  const dir = `${Deno.env.get("TMPDIR") ?? "/tmp"}/dnatsd-client-runners`;
  await Deno.mkdir(dir, { recursive: true });
  const bin = `${dir}/${kind}-${hash}`;
  try {
    if ((await Deno.stat(bin)).isFile) return bin;
  } catch { /* not built yet */ }
  // Build beside the final name, then rename: parallel test files may race here.
  const tmp = `${bin}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}`;
  const cmd = kind === "go"
    ? new Deno.Command("go", {
      args: ["build", "-o", tmp, SOURCES.go],
      cwd: dir,
      env: {
        GOPATH: "/usr/share/gocode",
        GO111MODULE: "off",
        GOFLAGS: "",
        GOCACHE: Deno.env.get("GOCACHE") ?? `${dir}/gocache`,
      },
      stdout: "piped",
      stderr: "piped",
    })
    : new Deno.Command("cc", {
      args: ["-O1", "-Wall", "-o", tmp, SOURCES.c, "-lnats"],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    });
  const out = await cmd.output();
  if (!out.success) {
    throw new Error(`building the ${kind} runner failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  await Deno.rename(tmp, bin);
  return bin;
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
