/**
 * A local control channel for `-sl reload|reopen|ldm|quit|term` where Unix
 * signals do not exist (Windows has no SIGHUP, SIGUSR1 or SIGUSR2).
 *
 * Design, so that it cannot be reached from the network nor used by other users:
 * - the server listens on 127.0.0.1 (never a wildcard address) on a random port;
 * - every command must carry a random 256-bit token, compared in constant time;
 * - port and token are written to a file only the owner can read: created fresh
 *   with mode 0600 (on Windows it sits in the user's own %TEMP%, whose ACL
 *   admits only that user and administrators), named `dnatsd_<pid>.ctl` in the
 *   temp directory and, when a PID file is set, also `<pid file>.ctl` beside it;
 * - one short line per connection, at most 512 bytes, 2 s to send it.
 *
 * Wire format: the client sends `<token hex> <command>\n`, the server answers
 * `+OK\n` or `-ERR <reason>\n` and closes. On by default on Windows; elsewhere
 * only with `DNATSD_CONTROL_CHANNEL=1` (which tests use, on both ends).
 *
 * @module
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { constantTimeEqual } from "../auth/constant_time.ts";
import type { Logger } from "./logger.ts";
import type { ServerControl } from "./signals.ts";
import { acceptLoop } from "../server/accept_loop.ts";

/** Commands the channel accepts (`stop` is a hard kill, done by the sender itself). */
export const CONTROL_COMMANDS = ["reload", "reopen", "ldm", "quit", "term"] as const;
/** One of {@link CONTROL_COMMANDS}. */
export type ControlCommand = typeof CONTROL_COMMANDS[number];

/** The environment variable that turns the channel on (or off with `0`). */
export const CONTROL_CHANNEL_ENV = "DNATSD_CONTROL_CHANNEL";

const MAX_LINE = 512;
const IO_TIMEOUT_MS = 2000;
const FILE_MODE = 0o600;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What the control file holds. */
export interface ControlFile {
  pid: number;
  port: number;
  token: string;
}

/**
 * Whether `-sl` and the server use the channel: Windows by default, elsewhere
 * only when `DNATSD_CONTROL_CHANNEL=1`; `DNATSD_CONTROL_CHANNEL=0` turns it off.
 */
export function controlChannelEnabled(): boolean {
  let v: string | undefined;
  try {
    v = Deno.env.get(CONTROL_CHANNEL_ENV);
  } catch {
    v = undefined; // no env permission: platform default
  }
  if (v === "1" || v === "true") return true;
  if (v === "0" || v === "false") return false;
  return Deno.build.os === "windows";
}

/** `<temp dir>/dnatsd_<pid>.ctl`, where `-sl cmd=<pid>` and discovery look. */
export function tempControlFile(pid: number): string {
  return join(tmpdir(), `dnatsd_${pid}.ctl`);
}

/** The control file beside a PID file. */
export function pidControlFile(pidFile: string): string {
  return `${pidFile}.ctl`;
}

/** A running control channel. */
export interface ControlChannel {
  readonly port: number;
  /** The control files written. */
  readonly files: readonly string[];
  /** Stops listening and deletes the control files. */
  close(): void;
}

/**
 * Starts the channel and writes its control file(s).
 *
 * @param control The actions to run.
 * @param opts The PID file (for the second control file) and the logger.
 * @returns The channel.
 * @throws file-system or network errors when it cannot be set up.
 */
export function startControlChannel(
  control: ServerControl,
  opts: { log: Logger; pidFile?: string | undefined },
): ControlChannel {
  const token = randomToken();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0, transport: "tcp" });
  const port = (listener.addr as Deno.NetAddr).port;
  const body = JSON.stringify({ pid: Deno.pid, port, token } satisfies ControlFile);
  const files: string[] = [];
  try {
    for (
      const path of [
        tempControlFile(Deno.pid),
        ...(opts.pidFile ? [pidControlFile(opts.pidFile)] : []),
      ]
    ) {
      writePrivateFile(path, body);
      files.push(path);
    }
  } catch (e) {
    listener.close();
    for (const f of files) removeQuietly(f);
    throw e;
  }
  let closed = false;
  const loop = acceptLoop(listener, {
    name: "Control channel",
    log: () => opts.log,
    accepted: (conn) => {
      serveOne(conn, token, control, opts.log).catch((e) =>
        opts.log.debug(`Control channel: ${(e as Error).message}`)
      );
    },
  });
  opts.log.debug(`Control channel listening on 127.0.0.1:${port}`);
  return {
    port,
    files,
    close() {
      if (closed) return;
      closed = true;
      loop.close();
      for (const f of files) removeQuietly(f);
    },
  };
}

async function serveOne(
  conn: Deno.Conn,
  token: string,
  control: ServerControl,
  log: Logger,
): Promise<void> {
  let reply = "-ERR invalid request\n";
  let after: (() => void) | null = null;
  try {
    const line = await readLine(conn);
    const space = line.indexOf(" ");
    const given = space < 0 ? "" : line.slice(0, space);
    const command = space < 0 ? line : line.slice(space + 1);
    if (!constantTimeEqual(token, given)) {
      log.warn("Control channel: request with a wrong token refused");
      reply = "-ERR not authorized\n";
    } else {
      switch (command as ControlCommand) {
        case "reload":
          await control.reload();
          reply = "+OK\n";
          break;
        case "reopen":
          control.reopen();
          reply = "+OK\n";
          break;
        case "ldm":
          after = () => control.lameDuck();
          reply = "+OK\n";
          break;
        case "quit":
          after = () => control.stop();
          reply = "+OK\n";
          break;
        case "term":
          after = () => control.stop(true);
          reply = "+OK\n";
          break;
        default:
          reply = `-ERR unknown command "${command.slice(0, 32)}"\n`;
      }
    }
  } finally {
    try {
      await conn.write(encoder.encode(reply));
    } catch { /* the sender went away; the command still runs */ }
    conn.close();
  }
  // Stop and lame duck run after the answer went out, so the sender sees +OK.
  after?.();
}

/**
 * Sends one command to the server described by a control file.
 *
 * @param file The control file path.
 * @param command What to do.
 * @throws {Error} When the file is missing or unreadable, the server does not
 *   answer, or it answers with an error.
 */
export async function sendControlCommand(file: string, command: ControlCommand): Promise<void> {
  let parsed: ControlFile;
  try {
    parsed = JSON.parse(await Deno.readTextFile(file));
  } catch (e) {
    throw new Error(`cannot read control file ${file}: ${(e as Error).message}`);
  }
  if (!Number.isInteger(parsed.port) || typeof parsed.token !== "string") {
    throw new Error(`invalid control file ${file}`);
  }
  const conn = await withTimeout(
    Deno.connect({ hostname: "127.0.0.1", port: parsed.port }),
    "connecting to the server",
  );
  try {
    await conn.write(encoder.encode(`${parsed.token} ${command}\n`));
    const answer = await readLine(conn);
    if (answer !== "+OK") throw new Error(answer.replace(/^-ERR /, "") || "no answer");
  } finally {
    conn.close();
  }
}

/** PIDs of servers that advertise a control file in the temp directory. */
export function discoverControlFiles(): { pid: number; file: string }[] {
  const found: { pid: number; file: string }[] = [];
  try {
    for (const entry of Deno.readDirSync(tmpdir())) {
      const m = /^dnatsd_(\d+)\.ctl$/.exec(entry.name);
      if (m && entry.isFile && Number(m[1]) !== Deno.pid) {
        found.push({ pid: Number(m[1]), file: join(tmpdir(), entry.name) });
      }
    }
  } catch {
    // An unreadable temp directory simply holds no servers we can reach.
  }
  return found.sort((a, b) => a.pid - b.pid);
}

async function readLine(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(MAX_LINE);
  let len = 0;
  const deadline = Date.now() + IO_TIMEOUT_MS;
  while (len < MAX_LINE) {
    const n = await withTimeout(conn.read(buf.subarray(len)), "reading", deadline - Date.now());
    if (n === null) break;
    len += n;
    const nl = buf.subarray(0, len).indexOf(0x0a);
    if (nl >= 0) return decoder.decode(buf.subarray(0, nl)).replace(/\r$/, "");
  }
  throw new Error(len >= MAX_LINE ? "line too long" : "connection closed before a full line");
}

async function withTimeout<T>(p: Promise<T>, what: string, ms = IO_TIMEOUT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timeout ${what}`)), Math.max(1, ms));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Creates `path` anew (never reusing a file someone else may have opened) with mode 0600. */
function writePrivateFile(path: string, body: string): void {
  removeQuietly(path);
  Deno.writeTextFileSync(path, body, { createNew: true, mode: FILE_MODE });
  if (Deno.build.os !== "windows") Deno.chmodSync(path, FILE_MODE); // the umask cannot widen 0600, but be explicit
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // Already gone (or never written): nothing to clean up.
  }
}
