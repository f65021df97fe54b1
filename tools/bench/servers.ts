/**
 * Starting and stopping the servers under test (dnatsd and the reference
 * nats-server) on free loopback ports, reading their RSS, and cleaning up
 * whatever is still running when the bench ends or is interrupted.
 *
 * @module
 */
import { closeQuietly, readWithin } from "./raw.ts";

/** Which implementation a process is. */
export type ServerKind = "nats-server" | "dnatsd";

/** How to start one implementation: the command before `-a/-p` and friends. */
export interface ServerSpec {
  kind: ServerKind;
  cmd: string[];
}

/** Extra start-up settings of one server process. */
export interface LaunchOptions {
  /** Config file passed with `-c`. */
  config?: string;
  /** Cluster listener port and the route ports to dial (`--cluster`, `--routes`). */
  cluster?: { port: number; routes: number[] };
  /** HTTP monitoring port (`-m`), for /varz and /routez counters. */
  monitor?: number;
  readyTimeoutMs?: number;
}

/** Keeps this many characters of a server's output for error messages. */
const TAIL_CHARS = 4000;

/** Processes still running, killed by {@link stopAll} (also on Ctrl-C). */
const live = new Set<RunningServer>();

/** Every server started by this process, in order (the runner reads peaks from it). */
export const launched: RunningServer[] = [];

/** Reads one `Vm...:  <n> kB` line of /proc/<pid>/status. */
async function statusKiB(pid: number, field: "VmRSS" | "VmHWM"): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(status);
  if (m === null) throw new Error(`no ${field} for pid ${pid}`);
  return Number(m[1]);
}

/** A started server process listening on 127.0.0.1:`port`. */
export class RunningServer {
  readonly spec: ServerSpec;
  readonly port: number;
  readonly #child: Deno.ChildProcess;
  #tail = "";
  #exited = false;
  #peakKiB: number | undefined;
  #cpuTicks: number | undefined;
  readonly #status: Promise<Deno.CommandStatus>;

  constructor(spec: ServerSpec, port: number, child: Deno.ChildProcess) {
    this.spec = spec;
    this.port = port;
    this.#child = child;
    this.#status = child.status.then((s) => {
      this.#exited = true;
      return s;
    });
    // Drain both pipes: a server blocked on a full stderr pipe would stall the bench.
    this.#drain(child.stdout);
    this.#drain(child.stderr);
    live.add(this);
    launched.push(this);
  }

  /** Process id, for /proc. */
  get pid(): number {
    return this.#child.pid;
  }

  /** True once the process has ended. */
  get exited(): boolean {
    return this.#exited;
  }

  /** The end of what the server printed. */
  get tail(): string {
    return this.#tail;
  }

  async #drain(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      this.#tail = (this.#tail + decoder.decode(chunk, { stream: true })).slice(-TAIL_CHARS);
    }
  }

  /** Resident set size in KiB (VmRSS from /proc/<pid>/status). */
  rssKiB(): Promise<number> {
    return statusKiB(this.pid, "VmRSS");
  }

  /**
   * CPU time used so far (utime + stime, clock ticks of /proc/<pid>/stat):
   * read live while the process runs, and the last reading taken by
   * {@link stop} after.
   */
  cpuTicks(): number | undefined {
    if (this.#exited) return this.#cpuTicks;
    try {
      const stat = Deno.readTextFileSync(`/proc/${this.pid}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      this.#cpuTicks = Number(fields[11]) + Number(fields[12]);
    } catch {
      // Exited between the check and the read: keep the last reading.
    }
    return this.#cpuTicks;
  }

  /**
   * Peak resident set size in KiB (VmHWM from /proc/<pid>/status): read live
   * while the process runs, and the last reading taken by {@link stop} after.
   */
  async peakRssKiB(): Promise<number | undefined> {
    if (this.#exited) return this.#peakKiB;
    try {
      this.#peakKiB = await statusKiB(this.pid, "VmHWM");
    } catch {
      // Exited between the check and the read: keep the last reading.
    }
    return this.#peakKiB;
  }

  /** Waits until the port answers with INFO, or fails if the process exits first. */
  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let lastError = "not tried";
    while (performance.now() < deadline) {
      if (this.#exited) {
        throw new Error(`${this.spec.kind} exited during start-up: ${lastLines(this.#tail)}`);
      }
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: this.port });
        try {
          const buf = new Uint8Array(4096);
          const n = await readWithin(conn, buf, Math.max(100, deadline - performance.now()));
          if (n !== null && buf[0] === 73 /* I */) return;
          lastError = "no INFO from the server";
        } finally {
          closeQuietly(conn);
        }
      } catch (e) {
        lastError = e instanceof Error ? e.message : String(e);
      }
      await this.#exitedWithin(50);
    }
    throw new Error(`${this.spec.kind} not ready after ${timeoutMs} ms (${lastError})`);
  }

  /** Resolves after `ms` or as soon as the process exits, whichever is first. */
  async #exitedWithin(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#status,
      new Promise<void>((resolve) => timer = setTimeout(resolve, ms)),
    ]);
    clearTimeout(timer);
  }

  /** SIGTERM, then SIGKILL if it is still running after 3 s. */
  async stop(): Promise<void> {
    live.delete(this);
    // The high-water mark and CPU time die with the process: take them first.
    this.cpuTicks();
    await this.peakRssKiB();
    if (!this.#exited) {
      signal(this.#child, "SIGTERM");
      await this.#exitedWithin(3000);
      if (!this.#exited) signal(this.#child, "SIGKILL");
    }
    await this.#status;
  }
}

function signal(child: Deno.ChildProcess, sig: Deno.Signal): void {
  try {
    child.kill(sig);
  } catch (e) {
    // Already gone between the check and the kill: nothing left to stop.
    if (!(e instanceof TypeError)) throw e;
  }
}

/** The most telling line of a failed start: the last `error` line, else the last line. */
function lastLines(text: string): string {
  // deno colours its error output; escape codes would garble the table.
  // deno-lint-ignore no-control-regex
  const lines = text.replace(/\x1b\[[0-9;]*m/g, "").trim().split("\n").map((l) => l.trim());
  const errors = lines.filter((l) => /error|fatal|\[FTL\]/i.test(l));
  return errors.at(-1) ?? lines.at(-1) ?? "(no output)";
}

/** A loopback port that was free a moment ago (the OS picks it). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Starts a server and waits until it answers on its client port.
 *
 * @throws {Error} when it exits or does not answer in time (the process is stopped).
 */
export async function launch(spec: ServerSpec, opts: LaunchOptions = {}): Promise<RunningServer> {
  const port = freePort();
  const args = [...spec.cmd.slice(1), "-a", "127.0.0.1", "-p", String(port)];
  if (opts.config !== undefined) args.push("-c", opts.config);
  if (opts.cluster !== undefined) {
    args.push("--cluster", `nats://127.0.0.1:${opts.cluster.port}`);
    args.push("--routes", opts.cluster.routes.map((p) => `nats://127.0.0.1:${p}`).join(","));
    args.push("--cluster_name", "bench");
  }
  if (opts.monitor !== undefined) args.push("-m", String(opts.monitor));
  const child = new Deno.Command(spec.cmd[0]!, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const server = new RunningServer(spec, port, child);
  try {
    await server.waitReady(opts.readyTimeoutMs ?? 30_000);
    return server;
  } catch (e) {
    await server.stop();
    throw e;
  }
}

/** Stops every server this process started and has not stopped yet. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((s) => s.stop()));
}
