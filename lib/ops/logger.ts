/**
 * Logging with nats-server's line format. This file starts as the interface
 * plus a stderr implementation; file, syslog and rotation build on it.
 *
 * @module
 */

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
