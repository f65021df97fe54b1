/**
 * The HTTP side of a WebSocket connection, as a nats-server 2.9 peer sees it:
 * Go's HTTP/1.x request reading (its own 400/431 answers, keep-alive after an
 * error answer) and nats-server's upgrade checks (method, Host, Upgrade,
 * Connection, key, version, origin), with the same statuses, bodies and log
 * reasons, then the 101 answer with permessage-deflate and no-masking.
 *
 * @example
 * ```ts
 * import { acceptKey } from "./handshake.ts";
 * console.assert(acceptKey("dGhlIHNhbXBsZSBub25jZQ==") === "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
 * ```
 *
 * @module
 */
import { createHash } from "node:crypto";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** Go's http.Server default header limit plus the slack its reader allows. */
export const MAX_REQUEST_HEAD = (1 << 20) + 4096;
const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/** A parsed request head. Header names are lower-cased; values keep their order. */
export interface HttpRequest {
  method: string;
  target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: number;
  headers: Map<string, string[]>;
}

/** What reading one request from the buffered bytes gave. */
export type ReadResult =
  | { kind: "incomplete" }
  | { kind: "request"; request: HttpRequest; consumed: number }
  /** Go answers this itself and closes the connection. */
  | { kind: "reject"; response: Uint8Array };

/** Go's own answer to a request it cannot read (it closes afterwards). */
function goReject(status: string, detail = ""): Uint8Array {
  const body = detail === "" ? status : `${status}: ${detail}`;
  return encoder.encode(
    `HTTP/1.1 ${body}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Index just past the blank line ending the head, or -1. Accepts bare LF line ends as Go does. */
function headEnd(buf: Uint8Array, len: number): number {
  for (let i = 0; i < len; i++) {
    if (buf[i] !== 0x0a) continue;
    if (i + 1 < len && buf[i + 1] === 0x0a) return i + 2;
    if (i + 2 < len && buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

/**
 * Reads one request head from `buf[0..len)`.
 * @returns incomplete, the request and its length, or Go's own rejection
 */
export function readRequest(buf: Uint8Array, len: number): ReadResult {
  // Go skips blank lines before a request line.
  let start = 0;
  while (start < len && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
  const end = headEnd(buf.subarray(start, len), len - start);
  if (end < 0) {
    if (len > MAX_REQUEST_HEAD) {
      return { kind: "reject", response: goReject("431 Request Header Fields Too Large") };
    }
    return { kind: "incomplete" };
  }
  if (start + end > MAX_REQUEST_HEAD) {
    return { kind: "reject", response: goReject("431 Request Header Fields Too Large") };
  }
  const text = latin1.decode(buf.subarray(start, start + end));
  const lines = text.split("\n").map((l) => l.endsWith("\r") ? l.slice(0, -1) : l);
  const requestLine = lines[0];
  const m = /^([^ ]+) ([^ ]+) (HTTP\/(\d)\.(\d))$/.exec(requestLine);
  if (!m) return { kind: "reject", response: goReject("400 Bad Request") };
  const [, method, target, , major, minor] = m;
  if (major !== "1") {
    return {
      kind: "reject",
      response: goReject("505 HTTP Version Not Supported", "unsupported protocol version"),
    };
  }
  const headers = new Map<string, string[]>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line === "") break;
    const colon = line.indexOf(":");
    if (colon <= 0 || /[ \t]/.test(line.slice(0, colon))) {
      return { kind: "reject", response: goReject("400 Bad Request") };
    }
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    const list = headers.get(name);
    if (list) list.push(value);
    else headers.set(name, [value]);
  }
  const request: HttpRequest = { method, target, minor: minor === "0" ? 0 : 1, headers };
  const hosts = headers.get("host") ?? [];
  if (request.minor === 1 && hosts.length === 0) {
    return {
      kind: "reject",
      response: goReject("400 Bad Request", "missing required Host header"),
    };
  }
  if (hosts.length > 1) {
    return { kind: "reject", response: goReject("400 Bad Request", "too many Host headers") };
  }
  return { kind: "request", request, consumed: start + end };
}

/** The first value of a header, or "" (Go's Header.Get). */
export function header(req: HttpRequest, name: string): string {
  return req.headers.get(name.toLowerCase())?.[0] ?? "";
}

/** True when a comma-separated header holds `token` (case-insensitive), as nats-server checks. */
export function headerHas(req: HttpRequest, name: string, token: string): boolean {
  const want = token.toLowerCase();
  for (const v of req.headers.get(name.toLowerCase()) ?? []) {
    for (const t of v.split(",")) if (t.trim().toLowerCase() === want) return true;
  }
  return false;
}

/** `Sec-WebSocket-Accept` for a client key. */
export function acceptKey(key: string): string {
  return createHash("sha1").update(key + GUID).digest("base64");
}

/** HTTP status texts nats-server's upgrade can answer with. */
const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  405: "Method Not Allowed",
};

/**
 * nats-server's answer to a refused upgrade (Go's `http.Error`): the status,
 * its text as the body, and the WebSocket version it speaks. Go adds
 * `Connection: close` when an HTTP/1.1 request asked for it.
 */
export function upgradeErrorResponse(
  req: HttpRequest,
  status: number,
  now = new Date(),
): Uint8Array {
  const text = STATUS_TEXT[status] ?? "Error";
  const minor = req.minor;
  const close = minor === 1 && headerHas(req, "connection", "close") ? "Connection: close\r\n" : "";
  return encoder.encode(
    `HTTP/1.${minor} ${status} ${text}\r\n` +
      "Content-Type: text/plain; charset=utf-8\r\n" +
      "Sec-Websocket-Version: 13\r\n" +
      "X-Content-Type-Options: nosniff\r\n" +
      `Date: ${now.toUTCString()}\r\n` +
      `Content-Length: ${text.length + 1}\r\n${close}\r\n${text}\n`,
  );
}

/** Whether Go keeps the connection for another request after answering `req`. */
export function keepsAlive(req: HttpRequest): boolean {
  if (headerHas(req, "connection", "close")) return false;
  return req.minor === 1 || headerHas(req, "connection", "keep-alive");
}

/** The origin rules of a listener. */
export interface OriginPolicy {
  sameOrigin: boolean;
  /** Host (lower case) to its scheme and port, from allowed_origins. */
  allowed: Map<string, { scheme: string; port: string }>;
}

/** Builds the origin policy from the options (bad entries are skipped, as nats-server). */
export function originPolicy(sameOrigin: boolean, origins: readonly string[]): OriginPolicy {
  const allowed = new Map<string, { scheme: string; port: string }>();
  for (const o of origins) {
    const u = parseOrigin(o);
    if (u === null) continue;
    const hp = hostAndPort(u.scheme === "https", u.host);
    allowed.set(hp.host, { scheme: u.scheme, port: hp.port });
  }
  return { sameOrigin, allowed };
}

function parseOrigin(s: string): { scheme: string; host: string } | null {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):(?:\/\/([^/?#]*))?/.exec(s);
  if (!m) return null;
  let host = m[2] ?? "";
  const at = host.lastIndexOf("@");
  if (at >= 0) host = host.slice(at + 1);
  return { scheme: m[1].toLowerCase(), host };
}

/** Go's SplitHostPort with the scheme's default port when none is given. */
function hostAndPort(tls: boolean, hostport: string): { host: string; port: string } {
  const m = /^\[([^\]]*)\]:(\d*)$/.exec(hostport) ?? /^([^:]*):(\d*)$/.exec(hostport);
  if (m) return { host: m[1].toLowerCase(), port: m[2] };
  return { host: hostport.toLowerCase(), port: tls ? "443" : "80" };
}

/**
 * nats-server's origin check. No Origin header (and no Sec-WebSocket-Origin)
 * is accepted: only browsers send one.
 * @returns null when allowed, else the reason
 */
export function checkOrigin(req: HttpRequest, policy: OriginPolicy, tls: boolean): string | null {
  if (!policy.sameOrigin && policy.allowed.size === 0) return null;
  const origin = header(req, "origin") || header(req, "sec-websocket-origin");
  if (origin === "") return null;
  const u = parseOrigin(origin);
  if (u === null) return `parse ${JSON.stringify(origin)}: invalid URI for request`;
  const o = hostAndPort(u.scheme === "https", u.host);
  if (policy.sameOrigin) {
    const r = hostAndPort(tls, header(req, "host"));
    if (o.host !== r.host || o.port !== r.port) return "not same origin";
  }
  if (policy.allowed.size > 0) {
    const a = policy.allowed.get(o.host);
    if (a === undefined || u.scheme !== a.scheme || o.port !== a.port) {
      return "not in the allowed list";
    }
  }
  return null;
}

/** What an accepted upgrade negotiated. */
export interface Upgrade {
  response: Uint8Array;
  compress: boolean;
  /** The client asked not to mask its frames (`Nats-No-Masking: true`). */
  noMasking: boolean;
  /** A browser (User-Agent starting `Mozilla/`): frames of at most 4 KiB. */
  browser: boolean;
  /** Safari: compressed messages are not fragmented. */
  noCompressedFragments: boolean;
  /** The first `X-Forwarded-For` value, when it is an IP address (log lines show it). */
  forwardedFor?: string;
}

/** A refused upgrade: the HTTP status and the reason nats-server logs. */
export interface Refusal {
  status: number;
  reason: string;
}

/**
 * nats-server's upgrade checks, in its order.
 * @param compression the listener's `compression` setting
 * @param tls whether the listener is TLS (default port of the Host header)
 */
export function checkUpgrade(
  req: HttpRequest,
  policy: OriginPolicy,
  compression: boolean,
  tls: boolean,
): Upgrade | Refusal {
  if (req.method !== "GET") return { status: 405, reason: "request method must be GET" };
  if (header(req, "host") === "") return { status: 400, reason: "'Host' missing in request" };
  if (!headerHas(req, "upgrade", "websocket")) {
    return { status: 400, reason: "invalid value for header 'Upgrade'" };
  }
  if (!headerHas(req, "connection", "upgrade")) {
    return { status: 400, reason: "invalid value for header 'Connection'" };
  }
  const key = header(req, "sec-websocket-key");
  if (key === "") return { status: 400, reason: "key missing" };
  if (!headerHas(req, "sec-websocket-version", "13")) {
    return { status: 400, reason: "invalid version" };
  }
  const originProblem = checkOrigin(req, policy, tls);
  if (originProblem !== null) {
    return { status: 403, reason: `origin not allowed: ${originProblem}` };
  }
  const compress = compression && offersDeflate(req);
  const noMasking = header(req, "nats-no-masking") === "true";
  let text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n`;
  if (compress) {
    text +=
      "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n";
  }
  if (noMasking) text += "Nats-No-Masking: true\r\n";
  text += "\r\n";
  const ua = header(req, "user-agent");
  const browser = ua.startsWith("Mozilla/");
  const up: Upgrade = {
    response: encoder.encode(text),
    compress,
    noMasking,
    browser,
    noCompressedFragments: browser && compress && ua.includes("Version/") &&
      ua.includes("Safari/"),
  };
  // Go takes the header's first value as a whole, which must parse as an IP.
  const fwd = req.headers.get("x-forwarded-for")?.[0];
  if (fwd !== undefined && isIp(fwd)) up.forwardedFor = fwd;
  return up;
}

/** An IPv4 or IPv6 address as Go's net.ParseIP accepts it (no zone, no brackets). */
export function isIp(s: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4) return v4.slice(1).every((p) => Number(p) <= 255 && !(p.length > 1 && p[0] === "0"));
  if (!s.includes(":") || /[^0-9a-fA-F:.]/.test(s)) return false;
  try {
    new URL(`http://[${s}]/`);
    return true;
  } catch {
    return false;
  }
}

/** The client offers permessage-deflate (its parameters are not looked at, as nats-server). */
function offersDeflate(req: HttpRequest): boolean {
  for (const list of req.headers.get("sec-websocket-extensions") ?? []) {
    for (const ext of list.split(",")) {
      for (const p of ext.trim().split(";")) {
        if (p.trim().toLowerCase() === "permessage-deflate") return true;
      }
    }
  }
  return false;
}
