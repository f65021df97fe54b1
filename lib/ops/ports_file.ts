/**
 * The ports file (`--ports_file_dir`, `ports_file_dir`): once the listeners are up
 * the server writes `<dir>/<exe>_<pid>.ports` holding the URLs it really listens
 * on, so tests and tools can use port -1 and still find the server. Same name and
 * JSON as nats-server; deleted on shutdown.
 *
 * @module
 */
import { basename, join } from "node:path";

/** Listener URLs by kind, e.g. `{ nats: ["nats://127.0.0.1:4222"] }`. */
export interface PortsInfo {
  nats?: string[];
  monitoring?: string[];
  cluster?: string[];
  profile?: string[];
  websocket?: string[];
}

/** Options of {@link writePortsFile}. */
export interface WritePortsFileOptions {
  /** Defaults to this process. */
  pid?: number;
  /** Defaults to {@link processBaseName}(). */
  exeBase?: string;
}

// The key order nats-server's JSON has; kinds outside this list are not written.
const PORT_KINDS = ["nats", "monitoring", "cluster", "profile", "websocket"] as const;

/**
 * The name this process goes by in file names and syslog tags: the executable's
 * base name when running as a `deno compile` binary, `dnatsd` when running under
 * the `deno` executable (nats-server uses the base name of argv[0]).
 *
 * @param execPath Defaults to `Deno.execPath()`.
 * @returns e.g. `dnatsd`, or `my-nats` for a binary compiled under that name.
 */
export function processBaseName(execPath?: string): string {
  let path = execPath;
  if (path === undefined) {
    try {
      path = Deno.execPath();
    } catch {
      // Without read permission the path is unknowable; the default name is right
      // for every case but a renamed compiled binary.
      return "dnatsd";
    }
  }
  const base = path.split(/[\\/]/).pop() ?? "";
  const stem = base.replace(/\.exe$/i, "");
  return stem === "" || stem === "deno" ? "dnatsd" : base;
}

/**
 * The ports file path nats-server would use.
 *
 * @param dir The `ports_file_dir`.
 * @param exeBase From {@link processBaseName}.
 * @param pid The server's process id.
 * @returns `<dir>/<exeBase>_<pid>.ports`
 */
export function portsFilePath(dir: string, exeBase: string, pid: number): string {
  return join(dir, `${exeBase}_${pid}.ports`);
}

/**
 * The ports file content: nats-server's JSON with the same key order, empty or
 * missing lists left out, no trailing newline.
 *
 * @param info Listener URLs by kind.
 * @returns e.g. `{"nats":["nats://127.0.0.1:4222"],"monitoring":["http://127.0.0.1:8222"]}`
 */
export function formatPortsJson(info: PortsInfo): string {
  const out: PortsInfo = {};
  for (const kind of PORT_KINDS) {
    const urls = info[kind];
    if (urls !== undefined && urls.length > 0) out[kind] = [...urls];
  }
  return JSON.stringify(out);
}

/**
 * Writes the ports file atomically (a temporary file in the same directory, then a
 * rename), so a reader polling for it never sees half a JSON document.
 *
 * @param dir The `ports_file_dir`; must exist.
 * @param info Listener URLs by kind.
 * @param opts pid and executable name, for tests and embedders.
 * @returns The path written.
 * @throws file-system errors (missing directory, permissions).
 *
 * @example
 * ```ts
 * import { removePortsFile, writePortsFile } from "./ports_file.ts";
 * const dir = Deno.makeTempDirSync();
 * const path = writePortsFile(dir, { nats: ["nats://127.0.0.1:4222"] }, { pid: 7 });
 * if (!path.endsWith("_7.ports")) throw new Error(path);
 * removePortsFile(path);
 * Deno.removeSync(dir);
 * ```
 */
export function writePortsFile(
  dir: string,
  info: PortsInfo,
  opts: WritePortsFileOptions = {},
): string {
  const path = portsFilePath(dir, opts.exeBase ?? processBaseName(), opts.pid ?? Deno.pid);
  const temp = join(dir, `.${basename(path)}.${crypto.randomUUID()}.tmp`);
  try {
    Deno.writeTextFileSync(temp, formatPortsJson(info));
    Deno.renameSync(temp, path);
  } catch (err) {
    try {
      Deno.removeSync(temp);
    } catch {
      // The temporary file may never have been created; the original error is
      // the one worth reporting.
    }
    throw err;
  }
  return path;
}

/**
 * Deletes a ports file; one that is already gone is not an error.
 *
 * @param path From {@link writePortsFile} or {@link portsFilePath}.
 * @throws file-system errors other than NotFound.
 */
export function removePortsFile(path: string): void {
  try {
    Deno.removeSync(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}
