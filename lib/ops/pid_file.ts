/**
 * The PID file (`-P`, `pid_file`): the decimal process id, no newline, created
 * with mode 0660 less the umask, as nats-server writes it, and left in place
 * when the server exits, as nats-server leaves it. `-sl cmd=<file>`
 * reads it back to find the process to signal.
 *
 * @module
 */

/** Permission bits a new PID file is created with (the umask still applies). */
export const PID_FILE_MODE = 0o660;

/**
 * Writes `pid` in decimal, without a newline, replacing any previous content.
 * The mode applies when the file is created, like nats-server's `os.WriteFile`.
 *
 * @param path Where to write, e.g. the `pid_file` option.
 * @param pid The process id; defaults to this process.
 * @throws {Deno.errors.NotFound} when the directory does not exist, or another
 * file-system error.
 */
export function writePidFile(path: string, pid: number = Deno.pid): void {
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    throw new RangeError(`invalid pid: ${pid}`);
  }
  // open() applies the umask to the mode, as Go's os.WriteFile does (0660 under
  // the usual 022 is 0640); Deno.writeTextFile's `mode` would chmod past it.
  const file = Deno.openSync(path, {
    write: true,
    create: true,
    truncate: true,
    mode: PID_FILE_MODE,
  });
  try {
    const bytes = new TextEncoder().encode(String(pid));
    let off = 0;
    while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
  } finally {
    file.close();
  }
}

/**
 * Deletes a PID file; a file that is already gone is not an error.
 *
 * @param path The PID file.
 * @throws file-system errors other than NotFound.
 */
export function removePidFile(path: string): void {
  try {
    Deno.removeSync(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/**
 * Reads a PID file. The content must be bare decimal digits naming a positive
 * pid (no sign, blanks or newline), because a wrong number here means signalling
 * the wrong process; `0` is refused for the same reason (it means "my process
 * group" to kill(2)).
 *
 * @param path The PID file.
 * @returns The pid.
 * @throws {SyntaxError} `invalid pid: <content>` when the content is not a pid.
 * @throws {Deno.errors.NotFound} when the file does not exist.
 *
 * @example
 * ```ts
 * import { readPidFile, removePidFile, writePidFile } from "./pid_file.ts";
 * const path = Deno.makeTempFileSync();
 * writePidFile(path, 4321);
 * if (readPidFile(path) !== 4321) throw new Error("round trip failed");
 * removePidFile(path);
 * ```
 */
export function readPidFile(path: string): number {
  const content = Deno.readTextFileSync(path);
  const pid = /^[0-9]{1,10}$/.test(content) ? Number(content) : NaN;
  if (!(pid > 0 && pid <= 0x7fffffff)) {
    throw new SyntaxError(`invalid pid: ${JSON.stringify(content)}`);
  }
  return pid;
}
