/**
 * Syslog loggers: local (`-s`, `syslog: true`) and remote (`-r udp://host:514`).
 *
 * Messages use the BSD syslog (RFC 3164) header Go's `log/syslog` writes, which is
 * what nats-server sends:
 * - local socket: `<PRI>Nov 23 10:00:00 dnatsd[1234]: message\n`
 * - network: `<PRI>2026-11-23T10:00:00+01:00 hostname dnatsd[1234]: message\n`
 *
 * ## How the local socket is reached (Deno 2.9.6, no unstable flags)
 *
 * `/dev/log` is a Unix *datagram* socket. What was tried:
 * - `Deno.listenDatagram({ transport: "unixpacket" })` works, but only with
 *   `--unstable-net`; without it `Deno.listenDatagram` is undefined.
 * - `node:dgram` only knows `udp4`/`udp6`; `node:net` only stream sockets, which
 *   `/dev/log` refuses (EPROTOTYPE).
 * - The `logger(1)` command works, but needs `--allow-run`, a child process that
 *   lives as long as the server, and an asynchronous pipe: lines written just
 *   before exit can be lost.
 * - FFI (`Deno.dlopen` of libc `socket`/`sendto`) is stable in Deno 2 and needs
 *   only `--allow-ffi` (part of `-A` and of compiled binaries built with it).
 *
 * FFI is used: each message is one synchronous `sendto(2)` with `MSG_DONTWAIT`, so
 * nothing is lost at exit, order is kept, and a stalled syslog daemon can never
 * block the event loop (a full queue drops the message and says so on stderr once).
 * When no socket exists or FFI is unavailable, {@link openLocalSyslog} throws
 * {@link SyslogUnavailableError} and `createLogger` falls back to stderr with one
 * warning.
 *
 * Remote syslog over UDP goes through `node:dgram`; over TCP through `node:net`
 * (newline-framed, as Go does); `unix:///path` through the local datagram sender.
 *
 * @module
 */
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { connect as connectTcp, isIPv6, type Socket as TcpSocket } from "node:net";
import type { Logger } from "./logger.ts";
import { redactSecrets } from "./redact.ts";
import { processBaseName } from "./ports_file.ts";

/** Syslog severities (RFC 5424 §6.2.1). */
export const SyslogSeverity = {
  Emergency: 0,
  Alert: 1,
  Critical: 2,
  Error: 3,
  Warning: 4,
  Notice: 5,
  Informational: 6,
  Debug: 7,
} as const;
/** A syslog severity number. */
export type SyslogSeverity = typeof SyslogSeverity[keyof typeof SyslogSeverity];

/** The syslog facilities dnatsd may use. */
export const SyslogFacility = { Kernel: 0, User: 1, Daemon: 3 } as const;
/** A syslog facility number. */
export type SyslogFacility = typeof SyslogFacility[keyof typeof SyslogFacility];

/** Carries finished syslog messages to a receiver. */
export interface SyslogTransport {
  /** Sends one message; never throws, never blocks. */
  send(message: Uint8Array): void;
  close(): void;
}

/** Header style: local sockets omit the hostname and use a short timestamp. */
export type SyslogHeaderStyle = "local" | "network";

/** Options of {@link SyslogLogger} and the open functions. */
export interface SyslogLoggerOptions {
  debug: boolean;
  trace: boolean;
  /** Defaults to `Deno.pid`. */
  pid?: number;
  /** Defaults to {@link processBaseName}(), i.e. `dnatsd`. */
  tag?: string;
  /** Defaults to daemon, like nats-server's local syslog. */
  facility?: SyslogFacility;
  /** For network headers; defaults to `Deno.hostname()`. */
  hostname?: string;
  /**
   * Told about delivery problems (at most once until delivery works again);
   * defaults to a line on stderr. `createLogger` passes a stderr logger's warn.
   */
  onTransportError?: (message: string) => void;
}

/** No local syslog socket can be used; the message says why. */
export class SyslogUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SyslogUnavailableError";
  }
}

function pad2(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * A syslog timestamp in local time.
 *
 * @param date The instant.
 * @param style `local`: `Nov  3 10:00:00` (day padded with a space, RFC 3164);
 * `network`: RFC 3339 with the zone offset, `2026-11-03T10:00:00+01:00` or `...Z`.
 * @returns The timestamp.
 */
export function formatSyslogTimestamp(date: Date, style: SyslogHeaderStyle): string {
  const clock = `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}`;
  if (style === "local") {
    return `${MONTHS[date.getMonth()]} ${String(date.getDate()).padStart(2, " ")} ${clock}`;
  }
  const offset = -date.getTimezoneOffset();
  const sign = offset < 0 ? "-" : "+";
  const zone = offset === 0
    ? "Z"
    : `${sign}${pad2(Math.floor(Math.abs(offset) / 60))}:${pad2(Math.abs(offset) % 60)}`;
  const day = `${date.getFullYear()}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())}`;
  return `${day}T${clock}${zone}`;
}

/** What goes into one syslog message besides the text. */
export interface SyslogHeader {
  facility: SyslogFacility;
  severity: SyslogSeverity;
  style: SyslogHeaderStyle;
  tag: string;
  pid: number;
  /** Used by the network style only. */
  hostname: string;
  /** Defaults to now. */
  date?: Date;
}

/**
 * Formats one syslog message the way Go's `log/syslog` (and so nats-server) does.
 *
 * @param header Priority, style, tag, pid, hostname, time.
 * @param msg The text; a newline is added unless it ends with one.
 * @returns e.g. `<29>Nov 23 10:00:00 dnatsd[42]: hello\n`
 *
 * @example
 * ```ts
 * import { formatSyslogMessage } from "./syslog.ts";
 * const text = formatSyslogMessage({
 *   facility: 3, severity: 5, style: "network", tag: "dnatsd", pid: 42, hostname: "h",
 *   date: new Date(0),
 * }, "hi");
 * if (!/^<29>\S+ h dnatsd\[42\]: hi\n$/.test(text)) throw new Error(text);
 * ```
 */
export function formatSyslogMessage(header: SyslogHeader, msg: string): string {
  const priority = header.facility * 8 + header.severity;
  const stamp = formatSyslogTimestamp(header.date ?? new Date(), header.style);
  const host = header.style === "network" ? ` ${header.hostname}` : "";
  const newline = msg.endsWith("\n") ? "" : "\n";
  return `<${priority}>${stamp}${host} ${header.tag}[${header.pid}]: ${msg}${newline}`;
}

const encoder = new TextEncoder();

function defaultTransportError(message: string): void {
  console.error(`[${Deno.pid}] [WRN] ${message}`);
}

function hostnameOrLocalhost(): string {
  try {
    return Deno.hostname();
  } catch {
    // Without --allow-sys the name is unknown; receivers accept any token here.
    return "localhost";
  }
}

/**
 * A {@link Logger} that sends each line to syslog. Severities: notice -> NOTICE,
 * warn -> WARNING, error -> ERR, fatal -> CRIT, debug -> DEBUG, trace -> DEBUG.
 * The level label is not repeated in the text: the priority carries it.
 */
export class SyslogLogger implements Logger {
  readonly debugEnabled: boolean;
  readonly traceEnabled: boolean;
  readonly #transport: SyslogTransport;
  readonly #header: SyslogHeader;

  /**
   * @param transport Where messages go.
   * @param style Header style matching the transport (`local` for a Unix socket).
   * @param opts Levels, tag, pid, facility, hostname.
   */
  constructor(transport: SyslogTransport, style: SyslogHeaderStyle, opts: SyslogLoggerOptions) {
    this.debugEnabled = opts.debug;
    this.traceEnabled = opts.trace;
    this.#transport = transport;
    this.#header = {
      facility: opts.facility ?? SyslogFacility.Daemon,
      severity: SyslogSeverity.Notice,
      style,
      tag: opts.tag ?? processBaseName(),
      pid: opts.pid ?? Deno.pid,
      hostname: style === "network" ? (opts.hostname ?? hostnameOrLocalhost()) : "",
    };
  }

  #send(severity: SyslogSeverity, msg: string): void {
    this.#header.severity = severity;
    this.#transport.send(encoder.encode(formatSyslogMessage(this.#header, msg)));
  }

  notice(msg: string): void {
    this.#send(SyslogSeverity.Notice, msg);
  }
  warn(msg: string): void {
    this.#send(SyslogSeverity.Warning, msg);
  }
  error(msg: string): void {
    this.#send(SyslogSeverity.Error, msg);
  }
  /** Logs at CRIT. Unlike nats-server it does not exit: the caller decides. */
  fatal(msg: string): void {
    this.#send(SyslogSeverity.Critical, msg);
  }
  debug(msg: string): void {
    if (!this.debugEnabled) return;
    this.#send(SyslogSeverity.Debug, msg);
  }
  trace(msg: string): void {
    if (!this.traceEnabled) return;
    this.#send(SyslogSeverity.Debug, msg.includes("CONNECT") ? redactSecrets(msg) : msg);
  }
  /** Syslog has no file to reopen. */
  reopen(): void {}
  close(): void {
    this.#transport.close();
  }
}

/** Reports the first failure of a run of failures, and recovery after drops. */
class FailureReporter {
  #failing = false;
  #dropped = 0;
  readonly #report: (message: string) => void;

  constructor(report: (message: string) => void) {
    this.#report = report;
  }

  failed(what: string): void {
    this.#dropped++;
    if (this.#failing) return;
    this.#failing = true;
    this.#report(`${what}; syslog messages are dropped until it recovers`);
  }

  succeeded(): void {
    if (!this.#failing) return;
    this.#report(`Syslog delivery recovered after ${this.#dropped} dropped messages`);
    this.#failing = false;
    this.#dropped = 0;
  }
}

// ---------------------------------------------------------------------------
// Local Unix datagram sockets through libc (see the module comment for why).

/** The usual local syslog sockets, tried in order (Linux, macOS, BSD). */
export const DEFAULT_SYSLOG_SOCKETS: readonly string[] = [
  "/dev/log",
  "/var/run/syslog",
  "/var/run/log",
];

interface UnixPlatform {
  libraries: string[];
  errnoSymbol: "__errno_location" | "__error";
  /** Added to SOCK_DGRAM so the descriptor does not leak into child processes. */
  sockCloexec: number;
  msgDontWait: number;
  eagain: number;
  /** sockaddr_un: BSDs start with a length byte, Linux with a 16-bit family. */
  bsdSockaddr: boolean;
  maxPath: number;
}

function unixPlatform(): UnixPlatform | undefined {
  switch (Deno.build.os) {
    case "linux":
      return {
        libraries: ["libc.so.6", `libc.musl-${Deno.build.arch}.so.1`, "libc.so"],
        errnoSymbol: "__errno_location",
        sockCloexec: 0x80000,
        msgDontWait: 0x40,
        eagain: 11,
        bsdSockaddr: false,
        maxPath: 107,
      };
    case "darwin":
      return {
        libraries: ["libSystem.B.dylib", "/usr/lib/libSystem.B.dylib"],
        errnoSymbol: "__error",
        sockCloexec: 0,
        msgDontWait: 0x80,
        eagain: 35,
        bsdSockaddr: true,
        maxPath: 103,
      };
    case "freebsd":
      return {
        libraries: ["libc.so.7"],
        errnoSymbol: "__error",
        sockCloexec: 0x10000000,
        msgDontWait: 0x80,
        eagain: 35,
        bsdSockaddr: true,
        maxPath: 103,
      };
    default:
      return undefined;
  }
}

const AF_UNIX = 1;
const SOCK_DGRAM = 2;

const LIBC_SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer", optional: true },
  __error: { parameters: [], result: "pointer", optional: true },
} as const;

type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>;

function openLibc(platform: UnixPlatform): Libc {
  const failures: string[] = [];
  for (const name of platform.libraries) {
    try {
      return Deno.dlopen(name, LIBC_SYMBOLS);
    } catch (err) {
      failures.push(`${name}: ${err instanceof Error ? err.message : err}`);
    }
  }
  throw new SyslogUnavailableError(`Unable to load libc for syslog (${failures.join("; ")})`);
}

function sockaddrUnix(platform: UnixPlatform, path: string): Uint8Array {
  const pathBytes = encoder.encode(path);
  if (pathBytes.length > platform.maxPath) {
    throw new SyslogUnavailableError(`Syslog socket path too long: ${path}`);
  }
  // Family (and length on BSDs), the path, a terminating NUL.
  const addr = new Uint8Array(2 + pathBytes.length + 1);
  if (platform.bsdSockaddr) {
    addr[0] = addr.length;
    addr[1] = AF_UNIX;
  } else {
    new DataView(addr.buffer).setUint16(0, AF_UNIX, true); // every Deno target is little-endian
  }
  addr.set(pathBytes, 2);
  return addr;
}

/**
 * Sends datagrams to a Unix datagram socket with libc's `sendto(2)`, non-blocking.
 * Exported for tests and for `unix://` remote syslog URLs.
 */
export class UnixDatagramTransport implements SyslogTransport {
  readonly path: string;
  readonly #libc: Libc;
  readonly #platform: UnixPlatform;
  readonly #address: Uint8Array;
  readonly #reporter: FailureReporter;
  #fd: number;

  /**
   * @param path The socket, e.g. `/dev/log`.
   * @param onError Told about delivery problems.
   * @throws {SyslogUnavailableError} on platforms without Unix sockets, without
   * FFI permission, or when no socket can be created.
   */
  constructor(path: string, onError: (message: string) => void = defaultTransportError) {
    const platform = unixPlatform();
    if (platform === undefined) {
      throw new SyslogUnavailableError(`Syslog is not supported on ${Deno.build.os}`);
    }
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
      throw new SyslogUnavailableError("Syslog needs the FFI permission (--allow-ffi)");
    }
    this.path = path;
    this.#platform = platform;
    this.#address = sockaddrUnix(platform, path);
    this.#libc = openLibc(platform);
    this.#reporter = new FailureReporter(onError);
    this.#fd = this.#libc.symbols.socket(AF_UNIX, SOCK_DGRAM | platform.sockCloexec, 0);
    if (this.#fd < 0) {
      const errno = this.#errno();
      this.#libc.close();
      throw new SyslogUnavailableError(`Unable to create a Unix datagram socket (errno ${errno})`);
    }
  }

  #errno(): number {
    const locate = this.#libc.symbols[this.#platform.errnoSymbol];
    const pointer = locate?.();
    return pointer ? new Deno.UnsafePointerView(pointer).getInt32() : -1;
  }

  send(message: Uint8Array): void {
    if (this.#fd < 0) return;
    const sent = this.#libc.symbols.sendto(
      this.#fd,
      message as Uint8Array<ArrayBuffer>,
      BigInt(message.length),
      this.#platform.msgDontWait,
      this.#address as Uint8Array<ArrayBuffer>,
      this.#address.length,
    );
    if (Number(sent) >= 0) {
      this.#reporter.succeeded();
      return;
    }
    const errno = this.#errno();
    this.#reporter.failed(
      errno === this.#platform.eagain
        ? `Syslog socket ${this.path} is full`
        : `Unable to send to syslog socket ${this.path} (errno ${errno})`,
    );
  }

  close(): void {
    if (this.#fd < 0) return;
    this.#libc.symbols.close(this.#fd);
    this.#fd = -1;
    this.#libc.close();
  }
}

function isUnixSocket(path: string): boolean {
  try {
    return Deno.statSync(path).isSocket === true;
  } catch {
    return false;
  }
}

/** Options of {@link openLocalSyslog}. */
export interface LocalSyslogOptions extends SyslogLoggerOptions {
  /** Sockets to try, in order; defaults to {@link DEFAULT_SYSLOG_SOCKETS}. */
  socketPaths?: readonly string[];
}

/**
 * Opens the local syslog: the first of `socketPaths` that is a socket.
 *
 * @param opts Levels, tag, pid, socket paths.
 * @returns The logger.
 * @throws {SyslogUnavailableError} when no socket exists or cannot be used.
 */
export function openLocalSyslog(opts: LocalSyslogOptions): SyslogLogger {
  const candidates = opts.socketPaths ?? DEFAULT_SYSLOG_SOCKETS;
  const path = candidates.find(isUnixSocket);
  if (path === undefined) {
    throw new SyslogUnavailableError(`No syslog socket found (tried ${candidates.join(", ")})`);
  }
  const transport = new UnixDatagramTransport(path, opts.onTransportError);
  return new SyslogLogger(transport, "local", opts);
}

// ---------------------------------------------------------------------------
// Remote syslog.

/** A parsed `remote_syslog` URL. */
export type RemoteSyslogAddress =
  | { network: "udp" | "tcp"; host: string; port: number }
  | { network: "unix"; path: string };

/** The port used when a remote syslog URL has none. */
export const DEFAULT_SYSLOG_PORT = 514;

/**
 * Parses a `remote_syslog` URL: `udp://host[:port]`, `tcp://host[:port]`
 * (port 514 by default; IPv6 as `udp://[::1]:514`) or `unix:///path/to/socket`.
 *
 * @param url The option value.
 * @returns The network and address.
 * @throws {TypeError} for a malformed URL or another scheme.
 */
export function parseRemoteSyslogUrl(url: string): RemoteSyslogAddress {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`invalid remote syslog URL: ${JSON.stringify(url)}`);
  }
  const network = parsed.protocol.slice(0, -1);
  if (network === "unix") {
    if (parsed.pathname === "") throw new TypeError(`remote syslog URL has no path: ${url}`);
    return { network, path: decodeURIComponent(parsed.pathname) };
  }
  if (network !== "udp" && network !== "tcp") {
    const scheme = JSON.stringify(network);
    throw new TypeError(
      `invalid remote syslog network type ${scheme}: use udp://, tcp:// or unix://`,
    );
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") throw new TypeError(`remote syslog URL has no host: ${url}`);
  const port = parsed.port === "" ? DEFAULT_SYSLOG_PORT : Number(parsed.port);
  return { network, host, port };
}

/** Sends each message as one UDP datagram through `node:dgram`. */
class UdpTransport implements SyslogTransport {
  /** Lines waiting while one is being sent; past this, new lines are dropped (and reported). */
  static readonly MAX_QUEUED = 10_000;
  readonly #socket: UdpSocket;
  readonly #host: string;
  readonly #port: number;
  readonly #reporter: FailureReporter;
  #closed = false;
  #sending = false;
  #queue: Uint8Array[] = [];
  #next = 0;

  constructor(host: string, port: number, onError: (message: string) => void) {
    this.#host = host;
    this.#port = port;
    this.#reporter = new FailureReporter(onError);
    this.#socket = createSocket(isIPv6(host) ? "udp6" : "udp4");
    this.#socket.on("error", (err) => this.#reporter.failed(`Remote syslog error: ${err.message}`));
    // A logger must not keep the process alive by itself.
    this.#socket.unref();
  }

  /**
   * Sends one datagram at a time: the runtime resolves the address of each
   * send asynchronously, and sends started together left in any order (172 of
   * 300 lines out of order, measured), while a log is read in the order written.
   */
  send(message: Uint8Array): void {
    if (this.#closed) return;
    if (this.#sending) {
      if (this.#queue.length - this.#next < UdpTransport.MAX_QUEUED) this.#queue.push(message);
      else this.#reporter.failed(`Remote syslog ${this.#host}:${this.#port} is not keeping up`);
      return;
    }
    this.#sending = true;
    this.#socket.send(message, this.#port, this.#host, (err) => {
      this.#sending = false;
      if (err) {
        this.#reporter.failed(
          `Unable to send to remote syslog ${this.#host}:${this.#port}: ${err}`,
        );
      } else {
        this.#reporter.succeeded();
      }
      if (this.#next < this.#queue.length) {
        const next = this.#queue[this.#next++]!;
        if (this.#next === this.#queue.length) {
          this.#queue = [];
          this.#next = 0;
        }
        this.send(next);
      }
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
  }
}

/**
 * Sends newline-terminated messages over one TCP connection (`node:net`). Messages
 * wait in a bounded queue while connecting; after a failure the next message
 * reconnects, at most once a second, and messages in between are dropped.
 */
class TcpTransport implements SyslogTransport {
  static readonly MAX_QUEUED = 1024;
  static readonly RETRY_MS = 1000;
  readonly #host: string;
  readonly #port: number;
  readonly #reporter: FailureReporter;
  #socket: TcpSocket | undefined;
  #connected = false;
  #queue: Uint8Array[] = [];
  #lastFailureMs = -Infinity;
  #closed = false;

  constructor(host: string, port: number, onError: (message: string) => void) {
    this.#host = host;
    this.#port = port;
    this.#reporter = new FailureReporter(onError);
    this.#connect();
  }

  #connect(): void {
    const socket = connectTcp({ host: this.#host, port: this.#port });
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on("connect", () => {
      this.#connected = true;
      this.#reporter.succeeded();
      for (const message of this.#queue) socket.write(message);
      this.#queue = [];
    });
    socket.on("error", (err) => {
      this.#reporter.failed(`Remote syslog ${this.#host}:${this.#port}: ${err.message}`);
    });
    socket.on("close", () => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      this.#connected = false;
      this.#queue = [];
      this.#lastFailureMs = Date.now();
    });
    // A logger must not keep the process alive by itself.
    socket.unref();
  }

  send(message: Uint8Array): void {
    if (this.#closed) return;
    if (this.#socket === undefined) {
      if (Date.now() - this.#lastFailureMs < TcpTransport.RETRY_MS) {
        this.#reporter.failed(`Remote syslog ${this.#host}:${this.#port} is not connected`);
        return;
      }
      this.#connect();
    }
    if (this.#connected) {
      this.#socket?.write(message);
    } else if (this.#queue.length < TcpTransport.MAX_QUEUED) {
      this.#queue.push(message);
    } else {
      this.#reporter.failed(`Remote syslog ${this.#host}:${this.#port} is not connected`);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const socket = this.#socket;
    if (socket === undefined) return;
    if (this.#connected) {
      socket.end();
    } else {
      socket.destroy();
    }
  }
}

/**
 * Opens a remote syslog logger for a `remote_syslog` URL. Network messages carry
 * the hostname and an RFC 3339 timestamp; `unix://` ones the local header.
 *
 * @param url `udp://host[:port]`, `tcp://host[:port]` or `unix:///path`.
 * @param opts Levels, tag, pid, hostname, error callback.
 * @returns The logger.
 * @throws {TypeError} for a malformed or unsupported URL;
 * {@link SyslogUnavailableError} when a `unix://` socket cannot be used.
 */
export function openRemoteSyslog(url: string, opts: SyslogLoggerOptions): SyslogLogger {
  const address = parseRemoteSyslogUrl(url);
  const onError = opts.onTransportError ?? defaultTransportError;
  switch (address.network) {
    case "unix":
      return new SyslogLogger(new UnixDatagramTransport(address.path, onError), "local", opts);
    case "udp":
      return new SyslogLogger(
        new UdpTransport(address.host, address.port, onError),
        "network",
        opts,
      );
    case "tcp":
      return new SyslogLogger(
        new TcpTransport(address.host, address.port, onError),
        "network",
        opts,
      );
  }
}
