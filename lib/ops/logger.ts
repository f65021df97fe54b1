/**
 * Logging with nats-server's line format: the {@link Logger} interface, the stderr
 * and file loggers (reopen, size rotation), {@link createLogger}, and
 * {@link MemoryLogger} for unit tests. Syslog lives in `syslog.ts`, CONNECT
 * redaction in `redact.ts`.
 *
 * Lines look like `[<pid>] 2026/11/23 10:00:00.123456 [INF] message` (local time,
 * microseconds), or `[<pid>] [INF] message` when `logtime` is off. Writes are
 * synchronous so that nothing is lost when the process exits right after logging.
 * {@link createLogger} picks the destination the way nats-server does: log file,
 * else remote syslog, else local syslog, else stderr.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { redactSecrets } from "./redact.ts";
import { openLocalSyslog, openRemoteSyslog, SyslogUnavailableError } from "./syslog.ts";

/** What every part of the server logs through. */
export interface Logger {
  /** Checked before building trace/debug arguments on hot paths. */
  readonly debugEnabled: boolean;
  readonly traceEnabled: boolean;
  notice(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  fatal(msg: string): void;
  debug(msg: string): void;
  trace(msg: string): void;
  /** Reopen the log file (SIGUSR1); a no-op for non-file loggers. */
  reopen(): void;
  close(): void;
}

/** The level labels of nats-server's log lines. */
export const LogLevel = {
  Notice: "INF",
  Warn: "WRN",
  Error: "ERR",
  Fatal: "FTL",
  Debug: "DBG",
  Trace: "TRC",
} as const;
/** One of `INF`, `WRN`, `ERR`, `FTL`, `DBG`, `TRC`. */
export type LogLevel = typeof LogLevel[keyof typeof LogLevel];

/** The logging part of Options, as {@link createLogger} needs it. */
export interface LoggerConfig {
  debug: boolean;
  trace: boolean;
  logtime: boolean;
  logFile?: string;
  syslog: boolean;
  /** `udp://host[:port]` (default port 514), `tcp://host[:port]` or `unix:///path`. */
  remoteSyslog?: string;
  /** Rotate the log file once it grows past this many bytes; 0 = never. */
  logSizeLimit: number;
  /** Keep at most this many rotated backups; 0 = keep all. */
  logMaxFiles: number;
  /** Defaults to `Deno.pid`. */
  pid?: number;
  /** Coloured level labels on stderr; defaults to "stderr is a terminal" as in nats-server. */
  colors?: boolean;
  /** Local syslog sockets to try, in order; defaults to the usual Unix paths. */
  syslogSocketPaths?: string[];
}

/** A wall-clock instant with sub-millisecond digits. */
export interface PreciseTime {
  /** Milliseconds since the epoch, an integer. */
  readonly epochMs: number;
  /** Nanoseconds within the current second, 0..999_999_999. */
  readonly nanosOfSecond: number;
}

// performance.now() has sub-millisecond digits but is monotonic: it does not follow
// the wall clock when NTP or an operator steps it. performance.timeOrigin is the wall
// time of its zero with sub-millisecond digits, so their sum is a precise wall clock.
// (Anchoring to Date.now() instead would drop up to a millisecond, and the corrections
// made the first lines of a run end in .xxx000.) When the sum and Date.now() disagree
// by more than a millisecond the system clock was stepped: re-anchor to it.
let clockOffsetMs = performance.timeOrigin;

/**
 * The current wall-clock time with microsecond (or better) digits.
 *
 * @returns Integer epoch milliseconds plus the nanoseconds within the second.
 */
export function preciseNow(): PreciseTime {
  const wallMs = Date.now();
  const mono = performance.now();
  let t = mono + clockOffsetMs;
  if (t < wallMs - 1 || t >= wallMs + 2) {
    clockOffsetMs = wallMs + 0.5 - mono;
    t = wallMs + 0.5;
  }
  // The two clocks may differ by a hair at a millisecond's edge: stay within Date.now()'s
  // millisecond. The fraction is taken apart from the epoch value because near 1.7e12 a double
  // has only ~0.25 us of resolution, so `wallMs + 0.999999` would round up to the next millisecond.
  const epochMs = wallMs;
  const fraction = Math.min(Math.max(t - wallMs, 0), 1);
  const msOfSecond = ((epochMs % 1000) + 1000) % 1000;
  const subMsNanos = Math.min(999_999, Math.floor(fraction * 1e6));
  return { epochMs, nanosOfSecond: msOfSecond * 1_000_000 + subMsNanos };
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}

// Lines logged within the same second share the date part: format it once.
let cachedSecond = NaN;
let cachedSecondText = "";

/**
 * Formats a time as nats-server's log lines show it, in local time.
 *
 * @param time From {@link preciseNow}.
 * @returns e.g. `2026/11/23 10:00:00.123456`
 */
export function formatLogTime(time: PreciseTime): string {
  const second = Math.floor(time.epochMs / 1000);
  if (second !== cachedSecond) {
    const d = new Date(second * 1000);
    cachedSecondText = `${d.getFullYear()}/${pad(d.getMonth() + 1, 2)}/${pad(d.getDate(), 2)} ` +
      `${pad(d.getHours(), 2)}:${pad(d.getMinutes(), 2)}:${pad(d.getSeconds(), 2)}`;
    cachedSecond = second;
  }
  return `${cachedSecondText}.${pad(Math.floor(time.nanosOfSecond / 1000), 6)}`;
}

// ANSI colours of nats-server's labels when stderr is a terminal.
const COLORED_LABELS: Record<LogLevel, string> = {
  INF: "[\x1b[32mINF\x1b[0m]",
  WRN: "[\x1b[0;93mWRN\x1b[0m]",
  ERR: "[\x1b[31mERR\x1b[0m]",
  FTL: "[\x1b[31mFTL\x1b[0m]",
  DBG: "[\x1b[36mDBG\x1b[0m]",
  TRC: "[\x1b[33mTRC\x1b[0m]",
};

/** Options of {@link formatLogLine}. */
export interface LogLineOptions {
  pid: number;
  logtime: boolean;
  /** ANSI-coloured label; default false. */
  colors?: boolean;
  /** Defaults to {@link preciseNow}(). */
  now?: PreciseTime;
}

/**
 * Formats one log line, without the newline.
 *
 * @param level The label.
 * @param msg The message.
 * @param opts pid, whether to include the time, colours.
 * @returns `[<pid>] 2026/11/23 10:00:00.123456 [INF] msg`, or `[<pid>] [INF] msg`
 * without time.
 *
 * @example
 * ```ts
 * import { formatLogLine, LogLevel } from "./logger.ts";
 * const line = formatLogLine(LogLevel.Warn, "careful", { pid: 42, logtime: false });
 * if (line !== "[42] [WRN] careful") throw new Error(line);
 * ```
 */
export function formatLogLine(level: LogLevel, msg: string, opts: LogLineOptions): string {
  const label = opts.colors ? COLORED_LABELS[level] : `[${level}]`;
  if (!opts.logtime) return `[${opts.pid}] ${label} ${msg}`;
  return `[${opts.pid}] ${formatLogTime(opts.now ?? preciseNow())} ${label} ${msg}`;
}

/** Traced CONNECT lines lose their credentials before any logger writes them. */
function traceText(msg: string): string {
  return msg.includes("CONNECT") ? redactSecrets(msg) : msg;
}

const encoder = new TextEncoder();

/** Writes all of `bytes`, however many calls the OS needs. */
function writeAllSync(target: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) {
    offset += target.writeSync(bytes.subarray(offset));
  }
}

/** Options shared by the line-oriented loggers. */
export interface LineLoggerOptions {
  debug: boolean;
  trace: boolean;
  logtime: boolean;
  /** Defaults to `Deno.pid`. */
  pid?: number;
}

/** Shared level handling of the loggers that write formatted text lines. */
abstract class LineLogger implements Logger {
  readonly debugEnabled: boolean;
  readonly traceEnabled: boolean;
  protected readonly lineOptions: LogLineOptions;

  constructor(opts: LineLoggerOptions, colors: boolean) {
    this.debugEnabled = opts.debug;
    this.traceEnabled = opts.trace;
    this.lineOptions = { pid: opts.pid ?? Deno.pid, logtime: opts.logtime, colors };
  }

  /** Writes one formatted line (without newline) to the destination. */
  protected abstract writeLine(line: string): void;

  protected log(level: LogLevel, msg: string): void {
    this.writeLine(formatLogLine(level, msg, this.lineOptions));
  }

  notice(msg: string): void {
    this.log(LogLevel.Notice, msg);
  }
  warn(msg: string): void {
    this.log(LogLevel.Warn, msg);
  }
  error(msg: string): void {
    this.log(LogLevel.Error, msg);
  }
  /** Logs at FTL level. Unlike nats-server it does not exit: the caller decides. */
  fatal(msg: string): void {
    this.log(LogLevel.Fatal, msg);
  }
  debug(msg: string): void {
    if (!this.debugEnabled) return;
    this.log(LogLevel.Debug, msg);
  }
  trace(msg: string): void {
    if (!this.traceEnabled) return;
    this.log(LogLevel.Trace, traceText(msg));
  }
  reopen(): void {}
  close(): void {}
}

/** Writes a line to stderr synchronously; a broken stderr must not crash the server. */
function writeStderrLine(line: string): void {
  try {
    writeAllSync(Deno.stderr, encoder.encode(line + "\n"));
  } catch {
    // Nowhere left to report to: stderr itself is gone (closed pipe).
  }
}

/** Logs to stderr, synchronously. */
export class StderrLogger extends LineLogger {
  /**
   * @param opts Levels, time, pid.
   * @param colors Coloured labels; defaults to "stderr is a terminal".
   */
  constructor(opts: LineLoggerOptions, colors?: boolean) {
    super(opts, colors ?? isStderrTerminal());
  }
  protected writeLine(line: string): void {
    writeStderrLine(line);
  }
}

function isStderrTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

/** Options of {@link FileLogger}. */
export interface FileLoggerOptions extends LineLoggerOptions {
  /** Rotate once the file grows past this many bytes; 0 = never. */
  sizeLimit?: number;
  /** Keep at most this many rotated backups; 0 = keep all. */
  maxFiles?: number;
}

/** Permission bits a new log file is created with (nats-server's; the umask applies). */
export const LOG_FILE_MODE = 0o660;

// `<base>.YYYY.MM.DD.hh.mm.ss.nnnnnnnnn`; nats-server trims trailing zeros of the
// nanoseconds, so accept 1-9 digits when looking for backups to purge.
const BACKUP_STAMP = /^(\d{4})\.(\d{2})\.(\d{2})\.(\d{2})\.(\d{2})\.(\d{2})\.(\d{1,9})$/;

/** The sortable key of a backup name's stamp, or undefined if it is not one. */
function backupSortKey(stamp: string): string | undefined {
  const m = BACKUP_STAMP.exec(stamp);
  if (m === null) return undefined;
  return m.slice(1, 7).join("") + (m[7] ?? "").padEnd(9, "0");
}

/**
 * The backup name for a rotation at `time`, in local time.
 *
 * @param path The log file.
 * @param time When it was rotated.
 * @returns `<path>.YYYY.MM.DD.hh.mm.ss.nnnnnnnnn`
 */
export function rotatedLogName(path: string, time: PreciseTime): string {
  const d = new Date(time.epochMs);
  return `${path}.${d.getFullYear()}.${pad(d.getMonth() + 1, 2)}.${pad(d.getDate(), 2)}.` +
    `${pad(d.getHours(), 2)}.${pad(d.getMinutes(), 2)}.${pad(d.getSeconds(), 2)}.` +
    pad(time.nanosOfSecond, 9);
}

/**
 * Logs to a file opened in append mode. `reopen()` (SIGUSR1) closes it and opens
 * the path again, so an external rotator can move the file away first. With a
 * size limit the logger rotates by itself: once a write takes the file past the
 * limit, the file is renamed to {@link rotatedLogName}, a new one is started with
 * `Rotated log, backup saved as "<backup>"`, and backups beyond `maxFiles` are
 * deleted, oldest first.
 *
 * If a write fails (disk full, file system gone), the line goes to stderr instead
 * and the failure is reported there once, until writing works again.
 */
export class FileLogger extends LineLogger {
  readonly path: string;
  readonly sizeLimit: number;
  readonly maxFiles: number;
  #file: Deno.FsFile | undefined;
  #size = 0;
  #rotateAt: number;
  #lastRotation: PreciseTime = { epochMs: 0, nanosOfSecond: 0 };
  #failing = false;

  /**
   * Opens (creating if needed) the log file.
   *
   * @param path The log file.
   * @param opts Levels, time, pid, size limit and backup count.
   * @throws file-system errors when the file cannot be opened.
   */
  constructor(path: string, opts: FileLoggerOptions) {
    super(opts, false);
    this.path = path;
    this.sizeLimit = Math.max(0, opts.sizeLimit ?? 0);
    this.maxFiles = Math.max(0, opts.maxFiles ?? 0);
    this.#file = this.#open();
    this.#size = this.#file.statSync().size;
    this.#rotateAt = this.sizeLimit;
  }

  #open(): Deno.FsFile {
    return Deno.openSync(this.path, { append: true, create: true, mode: LOG_FILE_MODE });
  }

  /** Bytes in the current file as far as this logger knows. */
  get size(): number {
    return this.#size;
  }

  protected writeLine(line: string): void {
    this.#append(line);
    if (this.sizeLimit > 0 && this.#size > this.#rotateAt) this.#rotate();
  }

  #append(line: string): void {
    const bytes = encoder.encode(line + "\n");
    const file = this.#file;
    if (file === undefined) {
      // Closed: keep the line rather than lose it (e.g. logged during shutdown).
      writeStderrLine(line);
      return;
    }
    try {
      writeAllSync(file, bytes);
      this.#size += bytes.length;
      this.#failing = false;
    } catch (err) {
      if (!this.#failing) {
        this.#failing = true;
        writeStderrLine(formatLogLine(
          LogLevel.Error,
          `Unable to write log file "${this.path}": ${err}`,
          this.lineOptions,
        ));
      }
      writeStderrLine(line);
    }
  }

  /** A backup stamp strictly later than the previous one, so names never collide. */
  #rotationTime(): PreciseTime {
    const now = preciseNow();
    const last = this.#lastRotation;
    if (
      now.epochMs > last.epochMs ||
      (now.epochMs === last.epochMs && now.nanosOfSecond > last.nanosOfSecond)
    ) {
      return now;
    }
    // Same or earlier (clock stepped back): one nanosecond after the last one.
    const nanos = last.nanosOfSecond + 1;
    return nanos < 1e9
      ? { epochMs: last.epochMs, nanosOfSecond: nanos }
      : { epochMs: Math.floor(last.epochMs / 1000) * 1000 + 1000, nanosOfSecond: 0 };
  }

  #rotate(): void {
    const file = this.#file;
    if (file === undefined) return;
    const time = this.#rotationTime();
    const backup = rotatedLogName(this.path, time);
    try {
      Deno.renameSync(this.path, backup);
    } catch (err) {
      // Keep logging to the current file; try again after another limit's worth.
      this.#rotateAt = this.#size + this.sizeLimit;
      this.#append(formatLogLine(
        LogLevel.Error,
        `Unable to rotate log file "${this.path}": ${err}`,
        this.lineOptions,
      ));
      return;
    }
    this.#lastRotation = time;
    let next: Deno.FsFile;
    try {
      next = this.#open();
    } catch (err) {
      // The old descriptor still points at the renamed file: keep writing there.
      this.#rotateAt = this.#size + this.sizeLimit;
      this.#append(formatLogLine(
        LogLevel.Error,
        `Unable to create log file "${this.path}" after rotation: ${err}`,
        this.lineOptions,
      ));
      return;
    }
    file.close();
    this.#file = next;
    this.#size = 0;
    this.#rotateAt = this.sizeLimit;
    this.#append(formatLogLine(
      LogLevel.Notice,
      `Rotated log, backup saved as ${JSON.stringify(backup)}`,
      this.lineOptions,
    ));
    if (this.maxFiles > 0) this.#purgeBackups();
  }

  #purgeBackups(): void {
    const dir = dirname(this.path);
    const prefix = basename(this.path) + ".";
    const backups: { name: string; key: string }[] = [];
    try {
      for (const entry of Deno.readDirSync(dir)) {
        if (!entry.isFile || !entry.name.startsWith(prefix)) continue;
        const key = backupSortKey(entry.name.slice(prefix.length));
        if (key !== undefined) backups.push({ name: entry.name, key });
      }
    } catch (err) {
      this.#append(formatLogLine(
        LogLevel.Error,
        `Unable to read directory "${dir}" for log purge: ${err}`,
        this.lineOptions,
      ));
      return;
    }
    backups.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const { name } of backups.slice(0, Math.max(0, backups.length - this.maxFiles))) {
      try {
        Deno.removeSync(join(dir, name));
      } catch (err) {
        this.#append(formatLogLine(
          LogLevel.Error,
          `Unable to remove log backup "${name}": ${err}`,
          this.lineOptions,
        ));
      }
    }
  }

  /**
   * Opens the path again (after an external rotator moved the file). The new file
   * is opened before the old one is closed, so on failure logging continues into
   * the old file.
   *
   * @throws file-system errors when the path cannot be opened.
   */
  override reopen(): void {
    const next = this.#open();
    this.#file?.close();
    this.#file = next;
    this.#size = next.statSync().size;
    this.#rotateAt = this.sizeLimit;
  }

  /** Closes the file; later lines go to stderr. */
  override close(): void {
    this.#file?.close();
    this.#file = undefined;
  }
}

/**
 * Builds the logger nats-server would build for these options: a log file if one
 * is set, else remote syslog, else local syslog, else stderr. When local syslog is
 * asked for but no syslog socket exists (containers, macOS without syslogd,
 * Windows), it logs to stderr after one warning saying why.
 *
 * @param config The logging options.
 * @returns The logger; close it when replacing it (reload) or at exit.
 * @throws file-system errors opening the log file; `TypeError` for a malformed or
 * unsupported `remoteSyslog` URL.
 *
 * @example
 * ```ts
 * import { createLogger } from "./logger.ts";
 * const log = createLogger({
 *   debug: false, trace: false, logtime: true, syslog: false, logSizeLimit: 0, logMaxFiles: 0,
 * });
 * log.debug("skipped: debug is off");
 * log.close();
 * ```
 */
export function createLogger(config: LoggerConfig): Logger {
  const pid = config.pid ?? Deno.pid;
  const levels = { debug: config.debug, trace: config.trace, logtime: config.logtime, pid };
  if (config.logFile !== undefined && config.logFile !== "") {
    return new FileLogger(config.logFile, {
      ...levels,
      sizeLimit: config.logSizeLimit,
      maxFiles: config.logMaxFiles,
    });
  }
  const stderr = new StderrLogger(levels, config.colors);
  const syslogOptions = {
    debug: config.debug,
    trace: config.trace,
    pid,
    onTransportError: (msg: string) => stderr.warn(msg),
  };
  if (config.remoteSyslog !== undefined && config.remoteSyslog !== "") {
    return openRemoteSyslog(config.remoteSyslog, syslogOptions);
  }
  if (config.syslog) {
    try {
      return openLocalSyslog({
        ...syslogOptions,
        ...(config.syslogSocketPaths ? { socketPaths: config.syslogSocketPaths } : {}),
      });
    } catch (err) {
      if (!(err instanceof SyslogUnavailableError)) throw err;
      stderr.warn(`${err.message}: logging to stderr instead`);
      return stderr;
    }
  }
  return stderr;
}

/** Options of {@link MemoryLogger}. */
export interface MemoryLoggerOptions {
  debug?: boolean;
  trace?: boolean;
}

/**
 * Records lines like `[INF] message` in memory, for unit tests of other modules.
 * Debug and trace lines are recorded only while enabled, and traced CONNECT lines
 * are redacted, as the real loggers do.
 *
 * @example
 * ```ts
 * import { MemoryLogger } from "./logger.ts";
 * const log = new MemoryLogger();
 * log.warn("low disk");
 * log.debug("ignored");
 * if (log.lines.join() !== "[WRN] low disk") throw new Error(log.lines.join());
 * ```
 */
export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  debugEnabled: boolean;
  traceEnabled: boolean;
  /** How many times reopen() was called. */
  reopenCount = 0;
  closed = false;

  constructor(opts: MemoryLoggerOptions = {}) {
    this.debugEnabled = opts.debug ?? false;
    this.traceEnabled = opts.trace ?? false;
  }

  notice(msg: string): void {
    this.lines.push(`[INF] ${msg}`);
  }
  warn(msg: string): void {
    this.lines.push(`[WRN] ${msg}`);
  }
  error(msg: string): void {
    this.lines.push(`[ERR] ${msg}`);
  }
  fatal(msg: string): void {
    this.lines.push(`[FTL] ${msg}`);
  }
  debug(msg: string): void {
    if (this.debugEnabled) this.lines.push(`[DBG] ${msg}`);
  }
  trace(msg: string): void {
    if (this.traceEnabled) this.lines.push(`[TRC] ${traceText(msg)}`);
  }
  reopen(): void {
    this.reopenCount++;
  }
  close(): void {
    this.closed = true;
  }

  /** The recorded lines containing `pattern` (a substring) or matching it (a RegExp). */
  find(pattern: string | RegExp): string[] {
    return this.lines.filter((line) =>
      typeof pattern === "string" ? line.includes(pattern) : pattern.test(line)
    );
  }

  /** Forgets the recorded lines. */
  clear(): void {
    this.lines.length = 0;
  }
}
