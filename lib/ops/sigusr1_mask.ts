/**
 * Keeps SIGUSR1 (log reopen) away from the Deno runtime, which starts a V8
 * debugger on 127.0.0.1:9229 when a thread of the process handles SIGUSR1
 * (Deno >= 2.9.2, as Node.js; Deno has no flag, variable or permission to turn
 * it off, and a `Deno.addSignalListener("SIGUSR1")` listener runs alongside it).
 *
 * The process blocks SIGUSR1 in every one of its threads, so no thread ever
 * runs a SIGUSR1 handler, the runtime's included: a `kill -USR1` stays pending
 * for the process, and {@link watchSigusr1} takes it with `sigtimedwait(2)` and
 * reopens the log. Blocking in every thread needs one trick. A thread's signal
 * mask is inherited by the threads it creates and kept across `execve(2)`, but
 * the runtime's threads (V8 workers, tokio) run before any of our code. So
 * {@link maskSigusr1}, the first thing main.ts does, blocks SIGUSR1 in the main
 * thread and executes the same program again (`/proc/self/exe`, same argv,
 * environment and pid): in the new image every thread starts with SIGUSR1
 * blocked, and so does every thread created later.
 *
 * Linux only (glibc, through FFI); it needs the ffi and read permissions that
 * `-A` grants. Elsewhere, or without them, nothing is blocked and
 * lib/ops/signals.ts falls back to lib/ops/inspector_guard.ts.
 *
 * Kept free of imports: main.ts loads it before the rest of the server.
 *
 * @module
 */

/** SIGUSR1 on Linux (x86_64 and aarch64). */
const SIGUSR1 = 10;
/** `how` for `pthread_sigmask`. */
const SIG_BLOCK = 0;
const SIG_UNBLOCK = 1;
/** glibc's `sigset_t` is 1024 bits. */
const SIGSET_BYTES = 128;
/** Bit of SIGUSR1 in the hex masks of /proc/<pid>/task/<tid>/status. */
const SIGUSR1_BIT = 1n << BigInt(SIGUSR1 - 1);

const SYMBOLS = {
  pthread_sigmask: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  sigemptyset: { parameters: ["buffer"], result: "i32" },
  sigaddset: { parameters: ["buffer", "i32"], result: "i32" },
  sigismember: { parameters: ["buffer", "i32"], result: "i32" },
  sigtimedwait: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
  execv: { parameters: ["buffer", "buffer"], result: "i32" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let libc: Libc | null | undefined;
/** Why SIGUSR1 could not be blocked (for the warning), if it could not. */
let failure: string | undefined;

/** libc through FFI, or null (with {@link failure} set) when unavailable. */
function openLibc(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (Deno.build.os !== "linux") {
    failure = `not supported on ${Deno.build.os}`;
    return null;
  }
  const denied = [
    Deno.permissions.querySync({ name: "ffi" }).state === "granted" ? "" : "--allow-ffi",
    Deno.permissions.querySync({ name: "read", path: "/proc/self" }).state === "granted"
      ? ""
      : "--allow-read=/proc/self",
  ].filter((flag) => flag !== "");
  if (denied.length > 0) {
    failure = `needs ${denied.join(" and ")} or -A`;
    return null;
  }
  try {
    libc = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  } catch (e) {
    failure = `cannot load libc.so.6: ${(e as Error).message}`;
  }
  return libc;
}

function sigusr1Set(c: Libc): Uint8Array<ArrayBuffer> {
  const set = new Uint8Array(SIGSET_BYTES);
  c.sigemptyset(set);
  c.sigaddset(set, SIGUSR1);
  return set;
}

function mainThreadBlocks(c: Libc): boolean {
  const current = new Uint8Array(SIGSET_BYTES);
  c.pthread_sigmask(SIG_BLOCK, null, current);
  return c.sigismember(current, SIGUSR1) === 1;
}

/** argv of this process, NUL-terminated strings as /proc/self/cmdline holds them. */
function ownArgv(): Uint8Array<ArrayBuffer>[] {
  const raw = Deno.readFileSync("/proc/self/cmdline");
  const args: Uint8Array<ArrayBuffer>[] = [];
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0) continue;
    args.push(raw.slice(start, i + 1));
    start = i + 1;
  }
  return args;
}

/**
 * Blocks SIGUSR1 in every thread, re-executing this process if needed (see the
 * module comment). Call it first, before anything that has side effects: when
 * it re-executes, nothing after the call runs in this image. Returns when
 * SIGUSR1 is blocked everywhere already, or when it cannot be (then
 * {@link watchSigusr1} returns null and says why).
 */
export function maskSigusr1(): void {
  const c = openLibc();
  if (c === null) return;
  // Blocked in the main thread: this is the new image (or the parent blocked it
  // for us). Never re-execute twice; watchSigusr1 checks the other threads.
  if (mainThreadBlocks(c)) {
    restoreName();
    return;
  }
  const argv = ownArgv();
  if (argv.length === 0) {
    failure = "cannot read /proc/self/cmdline";
    return;
  }
  const pointers = new BigUint64Array(argv.length + 1);
  argv.forEach((arg, i) =>
    pointers[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(arg)))
  );
  const set = sigusr1Set(c);
  c.pthread_sigmask(SIG_BLOCK, set, null);
  saveName();
  // Returns only on failure; a SIGUSR1 that came meanwhile stays pending and is
  // delivered normally once unblocked.
  c.execv(new TextEncoder().encode("/proc/self/exe\0"), new Uint8Array(pointers.buffer));
  c.pthread_sigmask(SIG_UNBLOCK, set, null);
  restoreName();
  failure = "execv(/proc/self/exe) failed";
}

/**
 * Carries the process name across the re-execution. Executing /proc/self/exe
 * names the process "exe", and operators find servers by name (`killall -USR1
 * dnatsd` in a logrotate postrotate, `pidof`, `top`): the new image puts back
 * the name the process was started with.
 */
const NAME_VAR = "DNATSD_SIGUSR1_REEXEC_NAME";

function saveName(): void {
  try {
    Deno.env.set(NAME_VAR, Deno.readTextFileSync("/proc/self/comm").trim());
  } catch { /* no env or read permission: the name becomes "exe" */ }
}

function restoreName(): void {
  try {
    const name = Deno.env.get(NAME_VAR);
    if (name === undefined) return;
    Deno.env.delete(NAME_VAR); // not for the server's child processes
    if (
      Deno.permissions.querySync({ name: "write", path: "/proc/self/comm" }).state !== "granted"
    ) {
      return;
    }
    Deno.writeTextFileSync("/proc/self/comm", name);
  } catch { /* the name stays "exe" */ }
}

/**
 * True when every thread of this process blocks SIGUSR1 (read from
 * /proc/self/task; false where that cannot be read).
 */
export function sigusr1BlockedEverywhere(): boolean {
  try {
    let threads = 0;
    for (const entry of Deno.readDirSync("/proc/self/task")) {
      let status: string;
      try {
        status = Deno.readTextFileSync(`/proc/self/task/${entry.name}/status`);
      } catch {
        continue; // the thread ended meanwhile
      }
      const blocked = /^SigBlk:\s*([0-9a-f]+)$/m.exec(status);
      if (blocked === null || (BigInt(`0x${blocked[1]}`) & SIGUSR1_BIT) === 0n) return false;
      threads++;
    }
    return threads > 0;
  } catch {
    return false;
  }
}

/** What {@link watchSigusr1} returns. */
export interface Sigusr1Watch {
  /** Stops taking SIGUSR1 (it stays blocked: later ones are never delivered). */
  stop(): void;
}

/**
 * Takes pending SIGUSR1s and calls `onSignal` once per check that found one
 * (signals sent between two checks count once, as the kernel merges them).
 *
 * @param onSignal What a SIGUSR1 does (reopen the log).
 * @param everyMs How often to look (the reopen latency).
 * @returns The watch, or null when SIGUSR1 is not blocked in every thread; then
 *   {@link sigusr1MaskFailure} says why and the caller must trap SIGUSR1 itself.
 */
export function watchSigusr1(onSignal: () => void, everyMs = 100): Sigusr1Watch | null {
  const c = openLibc();
  if (c === null) return null;
  if (!sigusr1BlockedEverywhere()) {
    failure ??= "some thread does not block it";
    return null;
  }
  const set = sigusr1Set(c);
  const zero = new Uint8Array(16); // struct timespec {0, 0}: poll, never wait
  const timer = setInterval(() => {
    if (c.sigtimedwait(set, null, zero) === SIGUSR1) onSignal();
  }, everyMs);
  Deno.unrefTimer(timer);
  return { stop: () => clearInterval(timer) };
}

/** Why SIGUSR1 is not blocked (after {@link maskSigusr1} or {@link watchSigusr1} gave up). */
export function sigusr1MaskFailure(): string | undefined {
  return failure;
}
