/**
 * Test helpers: run dnatsd (or Debian's nats-server) as a real process on a
 * free port and talk to it. Ports are never fixed: the server binds port -1
 * and the helper reads the port from its "Listening for client connections"
 * log line, racing an early exit.
 *
 * @module
 */
const ROOT = new URL("../../", import.meta.url);
export const MAIN_TS = new URL("main.ts", ROOT).pathname;
export const REPO_ROOT = ROOT.pathname;
export const NATS_SERVER_BIN = "/usr/sbin/nats-server";

/** True when Debian's nats-server is installed (interop tests skip otherwise). */
export function hasNatsServer(): boolean {
  try {
    return Deno.statSync(NATS_SERVER_BIN).isFile;
  } catch {
    return false;
  }
}

export interface ServerProcessOptions {
  /** Extra command-line arguments. */
  args?: string[];
  /** Config file text; written to a temp file and passed with -c. */
  config?: string;
  /** Use Debian's nats-server instead of dnatsd. */
  reference?: boolean;
  env?: Record<string, string>;
  /** Do not add `-a 127.0.0.1 -p -1` (the test passes its own). */
  noDefaultListen?: boolean;
  /** Milliseconds to wait for readiness. */
  timeoutMs?: number;
  /** Runs the server under `ulimit -n <fdLimit>` (file-descriptor exhaustion tests). */
  fdLimit?: number;
  /**
   * A command that execs the server with its arguments appended, e.g.
   * `["sh", "-c", 'ulimit -n 20000 && exec "$0" "$@"']` (the pid stays the server's).
   */
  wrapper?: string[];
}

export class ServerProcess {
  readonly child: Deno.ChildProcess;
  readonly port: number;
  readonly host: string;
  readonly configFile?: string;
  /** Everything the server wrote to stderr so far. */
  readonly logs: { text: string };
  #exited: Promise<Deno.CommandStatus>;

  private constructor(
    child: Deno.ChildProcess,
    host: string,
    port: number,
    logs: { text: string },
    exited: Promise<Deno.CommandStatus>,
    configFile?: string,
  ) {
    this.child = child;
    this.host = host;
    this.port = port;
    this.logs = logs;
    this.#exited = exited;
    this.configFile = configFile;
  }

  get url(): string {
    return `nats://${this.host}:${this.port}`;
  }

  get pid(): number {
    return this.child.pid;
  }

  /** Starts a server and resolves once it listens for clients. */
  static async start(opts: ServerProcessOptions = {}): Promise<ServerProcess> {
    const args = [...(opts.noDefaultListen ? [] : ["-a", "127.0.0.1", "-p", "-1"])];
    let configFile: string | undefined;
    if (opts.config !== undefined) {
      configFile = await Deno.makeTempFile({ suffix: ".conf" });
      await Deno.writeTextFile(configFile, opts.config);
      args.push("-c", configFile);
    }
    args.push(...(opts.args ?? []));
    let [bin, binArgs] = opts.reference
      ? [NATS_SERVER_BIN, args]
      : [Deno.execPath(), ["run", "-A", "--no-check", MAIN_TS, ...args]];
    if (opts.fdLimit !== undefined) {
      // sh sets the limit, then exec keeps the server's PID the child's.
      binArgs = ["-c", `ulimit -n ${opts.fdLimit} && exec "$0" "$@"`, bin, ...binArgs];
      bin = "/bin/sh";
    }
    if (opts.wrapper) {
      [bin, binArgs] = [opts.wrapper[0], [...opts.wrapper.slice(1), bin, ...binArgs]];
    }
    const cmd = new Deno.Command(bin, {
      args: binArgs,
      stderr: "piped",
      stdout: "piped",
      env: opts.env,
    });
    const child = cmd.spawn();
    const logs = { text: "" };
    const { matched: ready, drained } = collectUntil(
      child.stderr,
      logs,
      /Listening for client connections on (\S+)/,
    );
    child.stdout.pipeTo(new WritableStream()).catch(() => {});
    // The exit status can arrive before the last log lines are read: a test
    // that checks what the server logged on its way out must see all of it.
    const exited = child.status.then(async (status) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([drained, new Promise((r) => timer = setTimeout(r, 2000))]);
      clearTimeout(timer);
      return status;
    });
    const timeout = opts.timeoutMs ?? 10_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const result = await Promise.race([
      ready,
      exited.then((s) => ({ exit: s.code })),
      new Promise<{ timeout: true }>((r) =>
        timer = setTimeout(() => r({ timeout: true }), timeout)
      ),
    ]);
    clearTimeout(timer);
    if (!("match" in result)) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await exited;
      throw new Error(`server did not start (${JSON.stringify(result)}):\n${logs.text}`);
    }
    const hostPort = result.match[1];
    const idx = hostPort.lastIndexOf(":");
    const port = Number(hostPort.slice(idx + 1));
    // Readiness is the later "Server is ready" line; wait for it briefly.
    await waitFor(() => /Server is ready/.test(logs.text), 5000, "Server is ready");
    return new ServerProcess(child, "127.0.0.1", port, logs, exited, configFile);
  }

  signal(sig: Deno.Signal): void {
    this.child.kill(sig);
  }

  /** Resolves with the exit status. */
  get exited(): Promise<Deno.CommandStatus> {
    return this.#exited;
  }

  /** Stops the server (SIGTERM, then SIGKILL after a grace period). */
  async stop(): Promise<Deno.CommandStatus> {
    try {
      this.child.kill("SIGTERM");
    } catch { /* already exited */ }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise<void>((r) => {
      timer = setTimeout(() => {
        try {
          this.child.kill("SIGKILL");
        } catch { /* exited meanwhile */ }
        r();
      }, 5000);
    });
    const status = await Promise.race([this.#exited, killed.then(() => this.#exited)]);
    clearTimeout(timer);
    if (this.configFile) await Deno.remove(this.configFile).catch(() => {});
    return status;
  }

  /** Waits until the server log matches `re`. */
  async waitForLog(re: RegExp, timeoutMs = 5000): Promise<void> {
    await waitFor(() => re.test(this.logs.text), timeoutMs, `log ${re}`);
  }
}

/**
 * Appends everything `stream` carries to `logs.text`. `matched` resolves at
 * the first match of `re`; `drained` when the stream ends.
 */
function collectUntil(
  stream: ReadableStream<Uint8Array>,
  logs: { text: string },
  re: RegExp,
): { matched: Promise<{ match: RegExpExecArray }>; drained: Promise<void> } {
  const decoder = new TextDecoder();
  let resolveMatch!: (m: { match: RegExpExecArray }) => void;
  const matched = new Promise<{ match: RegExpExecArray }>((r) => resolveMatch = r);
  const drained = (async () => {
    for await (const chunk of stream) {
      logs.text += decoder.decode(chunk, { stream: true });
      const m = re.exec(logs.text);
      if (m) resolveMatch({ match: m });
    }
  })().catch(() => {});
  return { matched, drained };
}

/**
 * Runs a server expected to exit by itself (a bad config, a busy port) and
 * collects its output; one that keeps running is killed after `timeoutMs`.
 */
export async function runToExit(
  opts: { reference: boolean; args: string[]; timeoutMs?: number },
): Promise<{ code: number; stdout: string; stderr: string }> {
  const cmd = opts.reference
    ? new Deno.Command(NATS_SERVER_BIN, { args: opts.args, stdout: "piped", stderr: "piped" })
    : new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", MAIN_TS, ...opts.args],
      stdout: "piped",
      stderr: "piped",
    });
  const child = cmd.spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited meanwhile */ }
  }, opts.timeoutMs ?? 10_000);
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Polls `check` until true or the deadline passes (then throws with `what`). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (e) {
      lastError = e;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}` +
      (lastError ? `: ${lastError}` : ""),
  );
}
