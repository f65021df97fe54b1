/**
 * The runtime's ceiling for request/reply latency with NATS work in it (the
 * `rrceiling` bench workload, read against the `reqreply` rows): a
 * stand-alone Deno TCP server that does the least a NATS server must do to
 * route a request and its reply, and nothing else. `latceiling`'s relay
 * (tools/bench/relay_server.ts) forwards ready-made `MSG` frames unparsed; this
 * server is given what dnatsd is given, `PUB` lines from a real requester and
 * responder, so the difference between the two is what parsing, one lookup
 * and framing cost in the runtime, and dnatsd's figures beyond this server's
 * are dnatsd's own.
 *
 * Per read it splits the lines, answers `PING` with `PONG`, keeps each
 * `SUB <subject> <sid>` in a `Map` by subject (exact subjects only: no
 * wildcards, no queue groups), and for each `PUB <subject> [reply] <size>`
 * waits for the payload, looks the subject up (one string per `PUB`, cut from
 * the bytes) and frames a `MSG` for each subscriber into that connection's
 * output. After the read's lines, each connection with output gets one write,
 * as a server coalescing its writes per read does. No validation, no limits,
 * no permissions, no flow control, no cache.
 *
 * It starts as dnatsd does (main.ts): the same V8 young-generation cap
 * (lib/ops/heap_flags.ts) and `DENO_TOKIO_EVENT_INTERVAL=1`
 * (lib/ops/event_interval.ts), through the same re-execution at start
 * (lib/ops/sigusr1_mask.ts). Figures: docs/performance/request-reply.md,
 * "A minimal NATS server's request/reply".
 *
 * Usage: `deno run -A tools/bench/rr_ceiling.ts -a 127.0.0.1 -p <port>`
 * (other flags are ignored, so the bench can start it like a server).
 *
 * @module
 */
import { readUntilClosed, startLikeDnatsd } from "./ceiling_start.ts";

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;

const INFO = new TextEncoder().encode(
  'INFO {"server_id":"rrceiling","version":"0.0.0","max_payload":1048576}\r\n',
);
const PONG = new TextEncoder().encode("PONG\r\n");
const CRLF = new TextEncoder().encode("\r\n");
const MSG_ = new TextEncoder().encode("MSG ");
const SP = new TextEncoder().encode(" ");
const LATIN1 = new TextDecoder("latin1");

/** A connection's output: bytes framed during one read, written once after it. */
class Client {
  out = new Uint8Array(64 * 1024);
  used = 0;
  /** Whether a write is in flight: output framed meanwhile goes out after it. */
  writing = false;
  constructor(readonly conn: Deno.Conn) {}

  append(bytes: Uint8Array, start = 0, end = bytes.length): void {
    const len = end - start;
    if (this.used + len > this.out.length) {
      const bigger = new Uint8Array(Math.max(this.out.length * 2, this.used + len));
      bigger.set(this.out.subarray(0, this.used));
      this.out = bigger;
    }
    this.out.set(bytes.subarray(start, end), this.used);
    this.used += len;
  }

  /** Starts writing what was framed, at once unless a write is in flight. */
  flush(): void {
    if (this.used === 0 || this.writing) return;
    const data = this.out.slice(0, this.used);
    this.used = 0;
    this.writing = true;
    this.#write(data).then(() => {
      this.writing = false;
      this.flush();
    }, () => {});
  }

  async #write(data: Uint8Array): Promise<void> {
    let off = 0;
    while (off < data.length) off += await this.conn.write(data.subarray(off));
  }
}

/** One subscription: its connection and its sid as bytes, to copy into each `MSG`. */
interface Sub {
  client: Client;
  sid: Uint8Array;
}

/** Subscriptions by exact subject, one table for every connection. */
const bySubject = new Map<string, Sub[]>();
/** Connections that got output during the current read. */
const touched = new Set<Client>();

/** The end (exclusive) of the space-separated field starting at `from`. */
function fieldEnd(buf: Uint8Array, from: number, end: number): number {
  let i = from;
  while (i < end && buf[i] !== SPACE) i++;
  return i;
}

/**
 * Routes one `PUB` whose line is `buf[start..end)` and whose payload is
 * `buf[payload..payload+size)`: a `MSG` per subscriber of its subject.
 */
function route(buf: Uint8Array, start: number, end: number, payload: number, size: number): void {
  const subjectStart = start + 4;
  const subjectEnd = fieldEnd(buf, subjectStart, end);
  const subs = bySubject.get(LATIN1.decode(buf.subarray(subjectStart, subjectEnd)));
  if (subs === undefined) return;
  // What follows the subject: " <reply> <size>" or " <size>", copied as is.
  for (const sub of subs) {
    const c = sub.client;
    c.append(MSG_);
    c.append(buf, subjectStart, subjectEnd);
    c.append(SP);
    c.append(sub.sid);
    c.append(buf, subjectEnd, end);
    c.append(CRLF);
    c.append(buf, payload, payload + size);
    c.append(CRLF);
    touched.add(c);
  }
}

/** Handles the lines of one connection until it closes. */
function serve(conn: Deno.Conn): Promise<void> {
  const self = new Client(conn);
  return readUntilClosed(conn, INFO, 64 * 1024, (buf, len) => {
    let start = 0;
    for (;;) {
      let lf = start;
      while (lf < len && buf[lf] !== LF) lf++;
      if (lf === len) break;
      let end = lf;
      if (end > start && buf[end - 1] === CR) end--;
      const c0 = buf[start]! | 0x20;
      const c1 = buf[start + 1]! | 0x20;
      if (c0 === 0x70 && c1 === 0x75) {
        // PUB <subject> [reply] <size>: the size is the line's last field.
        let sizeStart = end;
        while (sizeStart > start && buf[sizeStart - 1] !== SPACE) sizeStart--;
        let size = 0;
        for (let i = sizeStart; i < end; i++) size = size * 10 + buf[i]! - 0x30;
        const payload = lf + 1;
        if (payload + size + 2 > len) break; // the payload is not all here yet
        route(buf, start, end, payload, size);
        start = payload + size + 2;
        continue;
      }
      if (c0 === 0x73 && c1 === 0x75) {
        // SUB <subject> <sid>
        const a = start + 4;
        const b = fieldEnd(buf, a, end);
        const subject = LATIN1.decode(buf.subarray(a, b));
        const sub = { client: self, sid: buf.slice(b + 1, end) };
        const list = bySubject.get(subject);
        if (list === undefined) bySubject.set(subject, [sub]);
        else list.push(sub);
      } else if (c0 === 0x70 && c1 === 0x69) {
        self.append(PONG); // PING
        touched.add(self);
      }
      start = lf + 1;
    }
    for (const c of touched) c.flush();
    touched.clear();
    return start;
  }, () => {
    for (const [subject, list] of bySubject) {
      const left = list.filter((s) => s.client !== self);
      if (left.length === 0) bySubject.delete(subject);
      else bySubject.set(subject, left);
    }
  });
}

if (import.meta.main) await startLikeDnatsd(serve);
