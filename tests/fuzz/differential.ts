/**
 * The protocol fuzzer's differential runner: sends each generated stream on a
 * fresh raw TCP connection to dnatsd and to Debian's nats-server, records what
 * each answered and whether it closed, and compares the two. Meanwhile an
 * observer on another connection checks that a steady sequence-numbered
 * publication loses nothing, and at the end a normal client must still get
 * its message.
 *
 * Used by tests/fuzz_test.ts (bounded) and tools/fuzz.ts (`deno task fuzz`).
 *
 * @module
 */
import { escapeBytes, type FuzzStream, generateStream } from "./generator.ts";

/** What one server did with one stream. */
export interface Transcript {
  /** Everything after the first INFO, normalised (see {@link normalise}). */
  text: string;
  /** The server closed the connection (FIN or reset) before quiescence. */
  closed: boolean;
}

/** How long a connection must stay silent before its answer is taken as complete. */
export interface Timing {
  quietMs: number;
  capMs: number;
}

export const FAST: Timing = { quietMs: 150, capMs: 3000 };
/** For re-running a stream that differed: a slow answer must not look like a difference. */
export const PATIENT: Timing = { quietMs: 600, capMs: 6000 };

/** The final probe appended to every stream. */
const PROBE = new TextEncoder().encode("PING\r\n");

function latin1(bytes: Uint8Array, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

const tick = () => new Promise((r) => setTimeout(r, 0));

/**
 * Sends `stream` (in its chunks, then `PING\r\n`) on a new connection to
 * `port` and records the answer until the server closes or stays quiet.
 */
export async function runOn(
  port: number,
  stream: FuzzStream,
  observerSubject: string,
  timing: Timing = FAST,
): Promise<Transcript> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  let received = "";
  let closed = false;
  let lastByte = Date.now();
  const reader = (async () => {
    const buf = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await conn.read(buf);
        if (n === null) break;
        received += latin1(buf, n);
        lastByte = Date.now();
      }
    } catch {
      // a reset counts as a close
    }
    closed = true;
  })();
  try {
    const infoDeadline = Date.now() + 5000;
    while (!received.includes("\r\n") && !closed) {
      if (Date.now() > infoDeadline) throw new Error(`no INFO from port ${port}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const infoEnd = received.indexOf("\r\n") + 2;
    let off = 0;
    const writes = [...stream.chunks.map((n) => [off, off += n]), null];
    for (const w of writes) {
      if (closed) break;
      const data = w === null ? PROBE : stream.bytes.subarray(w[0], w[1]);
      try {
        let sent = 0;
        while (sent < data.length) sent += await conn.write(data.subarray(sent));
      } catch {
        break; // the server closed: what it answered is still read
      }
      if (stream.chunks.length > 1) await tick();
    }
    const start = Date.now();
    lastByte = Math.max(lastByte, start);
    while (!closed && Date.now() - lastByte < timing.quietMs && Date.now() - start < timing.capMs) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const wasClosed = closed;
    return { text: normalise(received.slice(infoEnd), observerSubject), closed: wasClosed };
  } finally {
    try {
      conn.close();
    } catch { /* closed already */ }
    await reader;
  }
}

/**
 * Drops what legitimately differs between servers or runs: INFO lines (ids,
 * ports, versions), the server's own PINGs (timer driven), and messages on
 * the observer's subject (a fuzzed `SUB >` sees them at any moment). And
 * where one message goes to several subscriptions of the connection, its
 * copies are put in sid order: that order is unspecified, and nats-server's
 * is partly random (its subscriptions on one subject sit in a Go map).
 */
export function normalise(s: string, observerSubject: string): string {
  let out = "";
  /** Copies of one message (same frame but for the sid), as [sid, frame]. */
  let copies: [string, string][] = [];
  let copiesKey = "";
  const flush = () => {
    copies.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    for (const [, frame] of copies) out += frame;
    copies = [];
    copiesKey = "";
  };
  let i = 0;
  while (i < s.length) {
    const j = s.indexOf("\r\n", i);
    if (j < 0) {
      flush();
      out += s.slice(i);
      break;
    }
    const line = s.slice(i, j);
    if (line.startsWith("MSG ") || line.startsWith("HMSG ")) {
      const tokens = line.split(" ");
      const size = Number(tokens[tokens.length - 1]);
      const end = j + 2 + size + 2;
      if (tokens[1] !== observerSubject) {
        const frame = s.slice(i, Math.min(end, s.length));
        const key = [tokens[0], tokens[1], ...tokens.slice(3)].join(" ") + s.slice(j, end);
        if (key !== copiesKey) flush();
        copiesKey = key;
        copies.push([tokens[2], frame]);
      }
      i = end;
      continue;
    }
    if (line.startsWith("INFO ") || line === "PING") {
      i = j + 2;
      continue;
    }
    flush();
    out += line + "\r\n";
    i = j + 2;
  }
  flush();
  return out;
}

/**
 * Publishes sequence-numbered messages at a steady rate on one connection and
 * checks, on another, that every one arrives once and in order.
 */
export class Observer {
  readonly subject: string;
  published = 0;
  received = 0;
  readonly problems: string[] = [];
  #sub!: Deno.Conn;
  #pub!: Deno.Conn;
  #subText = "";
  #pongs = 0;
  #pubText = "";
  #timer: ReturnType<typeof setInterval> | undefined;
  #readers: Promise<void>[] = [];
  #writing = Promise.resolve();

  constructor(subject: string) {
    this.subject = subject;
  }

  async start(port: number, intervalMs = 5): Promise<void> {
    this.#sub = await Deno.connect({ hostname: "127.0.0.1", port });
    this.#pub = await Deno.connect({ hostname: "127.0.0.1", port });
    this.#readers.push(this.#read(this.#sub, (t) => this.#onSubData(t)));
    this.#readers.push(this.#read(this.#pub, (t) => this.#onPubData(t)));
    const enc = new TextEncoder();
    await writeAll(
      this.#sub,
      enc.encode(`CONNECT {"verbose":false}\r\nSUB ${this.subject} 1\r\nPING\r\n`),
    );
    await waitUntil(() => this.#pongs > 0, 5000, "observer PONG");
    await writeAll(this.#pub, enc.encode(`CONNECT {"verbose":false}\r\n`));
    this.#timer = setInterval(() => {
      const seq = ++this.published;
      const body = String(seq);
      const bytes = enc.encode(`PUB ${this.subject} ${body.length}\r\n${body}\r\n`);
      this.#writing = this.#writing.then(() => writeAll(this.#pub, bytes)).then(
        () => {},
        (e) => {
          this.#problem(`publisher write failed at ${seq}: ${e}`);
        },
      );
    }, intervalMs);
  }

  async #read(conn: Deno.Conn, onText: (t: string) => void): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await conn.read(buf);
        if (n === null) break;
        onText(latin1(buf, n));
      }
    } catch { /* reported below as a close */ }
  }

  /** The publisher only answers the server's PINGs (else it is cut as stale after minutes). */
  #onPubData(t: string): void {
    this.#pubText += t;
    let lf: number;
    while ((lf = this.#pubText.indexOf("\n")) >= 0) {
      const line = this.#pubText.slice(0, lf + 1);
      this.#pubText = this.#pubText.slice(lf + 1);
      if (line === "PING\r\n") this.#send(this.#pub, "PONG\r\n");
      else if (!line.startsWith("INFO ") && line !== "PONG\r\n") {
        this.#problem(`publisher got ${JSON.stringify(line.slice(0, 80))}`);
      }
    }
  }

  /** Queues `text` on `conn` behind the publications (writes must not interleave). */
  #send(conn: Deno.Conn, text: string): void {
    const bytes = new TextEncoder().encode(text);
    this.#writing = this.#writing.then(() => writeAll(conn, bytes)).then(() => {}, () => {});
  }

  /** Keeps the first problems (a dead connection would repeat one for every message). */
  #problem(p: string): void {
    if (this.problems.length < 10) this.problems.push(p);
    else if (this.problems.length === 10) this.problems.push("(more problems not listed)");
  }

  #onSubData(t: string): void {
    this.#subText += t;
    // Consume whole MSG frames; keep a partial tail.
    const re = /MSG (\S+) 1 (\d+)\r\n/y;
    let i = 0;
    while (true) {
      const pong = this.#subText.indexOf("PONG\r\n", i) === i;
      if (pong) {
        this.#pongs++;
        i += 6;
        continue;
      }
      if (this.#subText.startsWith("PING\r\n", i)) {
        i += 6;
        writeAll(this.#sub, new TextEncoder().encode("PONG\r\n")).catch(() => {});
        continue;
      }
      re.lastIndex = i;
      const m = re.exec(this.#subText);
      if (m === null) {
        const rest = this.#subText.slice(i);
        if (rest.startsWith("INFO ") && rest.includes("\r\n")) {
          i = this.#subText.indexOf("\r\n", i) + 2;
          continue;
        }
        if (rest.includes("\r\n") && !rest.startsWith("MSG ")) {
          this.#problem(`observer got ${JSON.stringify(rest.slice(0, 80))}`);
          i = this.#subText.indexOf("\r\n", i) + 2;
          continue;
        }
        break;
      }
      const size = Number(m[2]);
      const end = re.lastIndex + size + 2;
      if (end > this.#subText.length) break;
      const seq = Number(this.#subText.slice(re.lastIndex, re.lastIndex + size));
      if (seq !== this.received + 1) {
        this.#problem(`observer expected ${this.received + 1}, got ${seq}`);
      }
      this.received = seq;
      i = end;
    }
    this.#subText = this.#subText.slice(i);
  }

  /** Stops publishing and waits for everything published to arrive. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#writing;
    const last = this.published;
    await writeAll(this.#pub, new TextEncoder().encode("PING\r\n")).catch(() => {});
    try {
      await waitUntil(() => this.received >= last, 10_000, "observer catching up");
    } catch {
      this.#problem(`observer received ${this.received} of ${last}`);
    }
    for (const c of [this.#sub, this.#pub]) {
      try {
        c.close();
      } catch { /* closed already */ }
    }
    await Promise.all(this.#readers);
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

async function waitUntil(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A normal client after the run: it must connect, subscribe and get its own message. */
export async function normalClientWorks(port: number): Promise<string | null> {
  const s = { seed: 0, index: 0, tags: [], chunks: [] as number[], bytes: new Uint8Array() };
  const text = 'CONNECT {"verbose":false}\r\nSUB final 1\r\nPUB final 2\r\nok\r\n';
  s.bytes = new TextEncoder().encode(text);
  s.chunks = [s.bytes.length];
  const t = await runOn(port, s, "", PATIENT);
  const want = "MSG final 1 2\r\nok\r\nPONG\r\n";
  return t.text === want && !t.closed ? null : `final client got ${JSON.stringify(t)}`;
}

/** A log line that means the server hit an exception it did not expect. */
export const CRASH_IN_LOG = /Uncaught|TypeError|RangeError|ReferenceError|SyntaxError|panic/;

/** A difference nats-server and dnatsd show on purpose (listed in the README). */
export interface AllowedDifference {
  name: string;
  reason: string;
  /** True when this difference explains what the two servers did with `stream`. */
  matches(stream: FuzzStream, ours: Transcript, theirs: Transcript): boolean;
}

/** One stream on which the two servers differed. */
export interface Difference {
  stream: FuzzStream;
  ours: Transcript;
  theirs: Transcript;
  /** The allow-list entry that explains it, if any. */
  allowed?: string;
}

export interface RunOptions {
  dnatsdPort: number;
  referencePort: number;
  observerSubject: string;
  seeds: number[];
  /** Stop starting new streams after this many milliseconds. */
  budgetMs: number;
  /** Streams per seed at most. */
  maxPerSeed?: number;
  concurrency?: number;
  allowed?: AllowedDifference[];
  onDifference?: (d: Difference) => void;
}

export interface RunResult {
  compared: number;
  differences: Difference[];
  /** Streams that differed once but agreed when re-run alone (timing noise). */
  unconfirmed: number;
  tagCounts: Map<string, number>;
}

function same(a: Transcript, b: Transcript): boolean {
  return a.text === b.text && a.closed === b.closed;
}

/** Runs streams of each seed in turn against both servers until the budget is spent. */
export async function runDifferential(o: RunOptions): Promise<RunResult> {
  const deadline = Date.now() + o.budgetMs;
  const maxPerSeed = o.maxPerSeed ?? Infinity;
  const result: RunResult = { compared: 0, differences: [], unconfirmed: 0, tagCounts: new Map() };
  let seedIdx = 0;
  let index = 0;
  const next = (): FuzzStream | null => {
    if (Date.now() > deadline) return null;
    if (index >= maxPerSeed) {
      seedIdx++;
      index = 0;
    }
    if (seedIdx >= o.seeds.length) return null;
    return generateStream(o.seeds[seedIdx], index++);
  };
  const worker = async () => {
    for (let s = next(); s !== null; s = next()) {
      let [ours, theirs] = await Promise.all([
        runOn(o.dnatsdPort, s, o.observerSubject),
        runOn(o.referencePort, s, o.observerSubject),
      ]);
      // Confirm alone and patiently (twice: the box may be busy) before calling it a
      // difference; a real one is deterministic and shows every time.
      // (An allowed difference needs no confirming.)
      const allowedAtOnce = (d: FuzzStream) =>
        o.allowed?.some((a) => a.matches(d, ours, theirs)) ?? false;
      for (let retry = 0; retry < 2 && !same(ours, theirs) && !allowedAtOnce(s); retry++) {
        ours = await runOn(o.dnatsdPort, s, o.observerSubject, PATIENT);
        theirs = await runOn(o.referencePort, s, o.observerSubject, PATIENT);
        if (same(ours, theirs)) result.unconfirmed++;
      }
      result.compared++;
      for (const t of s.tags) result.tagCounts.set(t, (result.tagCounts.get(t) ?? 0) + 1);
      if (same(ours, theirs)) continue;
      const allowed = o.allowed?.find((a) => a.matches(s, ours, theirs));
      const d: Difference = { stream: s, ours, theirs, allowed: allowed?.name };
      result.differences.push(d);
      o.onDifference?.(d);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 4 }, worker));
  return result;
}

/** A difference as text: enough to replay it (`deno task fuzz --replay seed:index`). */
export function describe(d: Difference): string {
  const s = d.stream;
  return [
    `seed ${s.seed} index ${s.index}${d.allowed ? ` (allowed: ${d.allowed})` : ""}` +
    ` tags [${s.tags.join(", ")}] chunks [${s.chunks.join(",")}]`,
    `  stream:      "${escapeBytes(s.bytes)}"`,
    `  dnatsd:      "${escapeBytes(bytesOf(d.ours.text))}" closed=${d.ours.closed}`,
    `  nats-server: "${escapeBytes(bytesOf(d.theirs.text))}" closed=${d.theirs.closed}`,
  ].join("\n");
}

/** The bytes of a latin1 transcript. */
function bytesOf(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}
