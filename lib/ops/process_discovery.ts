/**
 * Finds running dnatsd servers for `-sl <cmd>` without a PID, as nats-server
 * does with `pgrep nats-server`. dnatsd has no process name of its own when it
 * runs under `deno`, so a process counts as dnatsd when its command line is
 * - a compiled binary named `dnatsd*`, or the same executable as this one when
 *   this one is a compiled binary (a renamed release); or
 * - `deno run ... <dir>/main.ts` where `<dir>/lib/ops/signal_command.ts` exists
 *   (our checkout, not any other Deno program's main.ts), or a `main.ts` URL.
 * Processes that are themselves sending a command (`-sl`, `--signal`) are left out.
 *
 * @module
 */
import { isAbsolute, join, resolve } from "node:path";

/** One process: its pid and argv. */
export interface ProcessEntry {
  pid: number;
  argv: string[];
  /** Working directory, to resolve a relative `main.ts`; unknown when unreadable. */
  cwd?: string;
}

/** Facts about this process that matching depends on. */
export interface MatchContext {
  /** Basename of this process's executable when it is a compiled dnatsd (else undefined). */
  ownCompiledName?: string;
  /** Checks that a file exists (injectable for tests). */
  exists?: (path: string) => boolean;
}

const SIGNAL_FLAGS = /^--?(sl|signal)(=|$)/;

function baseName(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}

function fileExists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * Whether a command line is a dnatsd server.
 *
 * @param entry The process.
 * @param ctx Own executable name and a file check.
 * @returns true for a dnatsd server process.
 *
 * @example
 * ```ts
 * import { isDnatsdProcess } from "./process_discovery.ts";
 * const yes = isDnatsdProcess({ pid: 9, argv: ["/usr/local/bin/dnatsd", "-c", "x.conf"] }, {});
 * if (!yes) throw new Error("compiled binary not recognised");
 * ```
 */
export function isDnatsdProcess(entry: ProcessEntry, ctx: MatchContext): boolean {
  const argv = entry.argv;
  if (argv.length === 0 || argv.some((a) => SIGNAL_FLAGS.test(a))) return false;
  const exe = baseName(argv[0]).replace(/\.exe$/i, "");
  if (exe.startsWith("dnatsd")) return true;
  if (ctx.ownCompiledName !== undefined && exe === ctx.ownCompiledName) return true;
  if (exe !== "deno") return false;
  const run = argv.indexOf("run");
  if (run < 0) return false;
  const exists = ctx.exists ?? fileExists;
  for (const arg of argv.slice(run + 1)) {
    if (arg.startsWith("-")) continue;
    if (/^https?:\/\/.+\/main\.ts$/.test(arg)) return true;
    if (!arg.endsWith("main.ts")) continue;
    const path = arg.startsWith("file://") ? new URL(arg).pathname : arg;
    const abs = isAbsolute(path) ? path : entry.cwd ? resolve(entry.cwd, path) : undefined;
    if (abs === undefined) continue;
    if (exists(join(abs, "..", "lib", "ops", "signal_command.ts"))) return true;
  }
  return false;
}

/** Lists processes from /proc (Linux). */
function procEntries(): ProcessEntry[] {
  const out: ProcessEntry[] = [];
  for (const dir of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(dir.name)) continue;
    const pid = Number(dir.name);
    try {
      const raw = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
      const argv = raw.split("\0");
      if (argv.at(-1) === "") argv.pop();
      let cwd: string | undefined;
      try {
        cwd = Deno.readLinkSync(`/proc/${pid}/cwd`);
      } catch {
        cwd = undefined; // another user's process: cwd hidden, cmdline still readable
      }
      out.push(cwd === undefined ? { pid, argv } : { pid, argv, cwd });
    } catch {
      // The process ended while we looked; skip it.
    }
  }
  return out;
}

/** Lists processes with `ps` (macOS and other Unix without /proc). Arguments split on blanks. */
async function psEntries(): Promise<ProcessEntry[]> {
  const res = await new Deno.Command("ps", { args: ["-axww", "-o", "pid=,args="] }).output();
  if (!res.success) throw new Error("ps failed");
  const out: ProcessEntry[] = [];
  for (const line of new TextDecoder().decode(res.stdout).split("\n")) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (m) out.push({ pid: Number(m[1]), argv: m[2].split(/\s+/) });
  }
  return out;
}

/**
 * PIDs of the running dnatsd servers, this process excluded, in ascending order.
 *
 * @throws {Error} `unable to resolve pid, try providing one` when processes cannot be listed.
 */
export async function findDnatsdProcesses(): Promise<number[]> {
  let entries: ProcessEntry[];
  try {
    entries = fileExists("/proc/self/cmdline") ? procEntries() : await psEntries();
  } catch {
    throw new Error("unable to resolve pid, try providing one");
  }
  const ownExe = baseName(Deno.execPath()).replace(/\.exe$/i, "");
  const ctx: MatchContext = ownExe === "deno" ? {} : { ownCompiledName: ownExe };
  return entries
    .filter((e) => e.pid !== Deno.pid && isDnatsdProcess(e, ctx))
    .map((e) => e.pid)
    .sort((a, b) => a - b);
}
