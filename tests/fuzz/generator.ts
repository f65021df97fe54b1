/**
 * The protocol fuzzer's stream generator: seeded, so `(seed, index)` names a
 * stream exactly and a difference found once can be replayed.
 *
 * A stream is a short client session (an optional CONNECT, then a few PUB,
 * HPUB, SUB, UNSUB, PING and PONG ops) in which some ops are valid and some
 * are mutated in the ways a hostile or broken client would: wrong sizes, huge
 * and negative numbers, invalid UTF-8, bad header blocks, odd line ends and
 * separators, over-long lines and payloads, unknown or lower-case verbs,
 * binary garbage and CONNECT JSON edge cases. Its bytes are sent in chunks
 * whose split points are random too.
 *
 * @module
 */
import { prng } from "../../lib/router/_test_util.ts";

/** Limits the generator aims around; the servers under test use the same. */
export const FUZZ_LIMITS = { maxPayload: 2048, maxControlLine: 512 } as const;

/** The server config every fuzzed server is started with. */
export const FUZZ_CONFIG =
  `max_payload: ${FUZZ_LIMITS.maxPayload}\nmax_control_line: ${FUZZ_LIMITS.maxControlLine}\n` +
  // A subject mapping on the streams' subjects (under their own first token), so
  // fuzzed publishes also go through the mapping path: `n3.foo.bar` arrives as `n3.bar`.
  `mappings { "*.foo.bar": "$1.bar" }\n`;

/** One generated client session. */
export interface FuzzStream {
  seed: number;
  index: number;
  /** Every byte the client sends, in order. */
  bytes: Uint8Array;
  /** Lengths of the writes the bytes are sent in (they sum to `bytes.length`). */
  chunks: number[];
  /** The mutations applied, for the report. */
  tags: string[];
}

type Rand = () => number;

const enc = new TextEncoder();

/**
 * Subjects the streams use, each under the stream's own first token (`n<index>.`)
 * so that streams running at the same time never see each other's messages; the
 * observer's subject is never among them.
 */
const SUBJECTS = [
  "foo",
  "foo.bar",
  "foo.*",
  "foo.>",
  "bar",
  "*",
  ">",
  "a.b.c",
  "_INBOX.x.1",
  "a..b",
  "a.>.b",
  "a.",
];
const CRLF = "\r\n";

class Builder {
  readonly parts: Uint8Array[] = [];
  readonly tags: string[] = [];
  readonly ns: string;
  constructor(ns: string) {
    this.ns = ns;
  }
  add(s: string | Uint8Array): void {
    this.parts.push(typeof s === "string" ? enc.encode(s) : s);
  }
  tag(t: string): void {
    this.tags.push(t);
  }
  bytes(): Uint8Array {
    const len = this.parts.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array(len);
    let off = 0;
    for (const p of this.parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }
}

function pick<T>(r: Rand, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

function int(r: Rand, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

function chance(r: Rand, p: number): boolean {
  return r() < p;
}

function payload(r: Rand, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(int(r, 0x61, 0x7a));
  return s;
}

function garbage(r: Rand, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = int(r, 0, 255);
  return out;
}

/** Replacement numbers for a size, sid or max_msgs field. */
const BAD_NUMBERS = [
  "-1",
  "-0",
  "0",
  "+5",
  "0x10",
  "1e3",
  "5.0",
  "99999999999999999999",
  "2147483648",
  "4294967296",
  "9007199254740993",
  "999999999",
  "1000000000",
  "0000000005",
  "",
  "x",
  "١",
];

/** Invalid UTF-8 and control bytes spliced into subjects, sids and JSON strings. */
const BAD_BYTES = [
  [0xff],
  [0xc3, 0x28],
  [0xe2, 0x82],
  [0xed, 0xa0, 0x80],
  [0xf0, 0x9f, 0x98],
  [0xc0, 0xaf],
  [0x00],
  [0x7f],
  [0x0d],
  [0x0b],
];

function badBytes(r: Rand): Uint8Array {
  return new Uint8Array(pick(r, BAD_BYTES));
}

/** A subject, sometimes with invalid UTF-8 or control bytes in it. */
function subjectBytes(r: Rand, b: Builder): Uint8Array {
  const s = b.ns + pick(r, SUBJECTS);
  if (!chance(r, 0.1)) return enc.encode(s);
  b.tag("bad-utf8-subject");
  const at = int(r, 0, s.length);
  const bad = badBytes(r);
  const out = new Uint8Array(s.length + bad.length);
  out.set(enc.encode(s.slice(0, at)), 0);
  out.set(bad, at);
  out.set(enc.encode(s.slice(at)), at + bad.length);
  return out;
}

/** Verb spelling: usually upper case, sometimes lower or mixed, rarely unknown. */
function verb(r: Rand, b: Builder, v: string): string {
  const x = r();
  if (x < 0.05) {
    b.tag("lowercase-verb");
    return v.toLowerCase();
  }
  if (x < 0.08) {
    b.tag("mixed-case-verb");
    return v.split("").map((c, i) => i % 2 ? c.toLowerCase() : c).join("");
  }
  if (x < 0.1) {
    b.tag("unknown-verb");
    return pick(r, [v + "X", v.slice(0, -1), "X" + v, "FOO", "MSG", "HMSG", "INFO", "+OK", "PUSH"]);
  }
  return v;
}

/** Separator between tokens: usually one space. */
function sep(r: Rand, b: Builder): string {
  const x = r();
  if (x < 0.04) {
    b.tag("tab-sep");
    return "\t";
  }
  if (x < 0.06) {
    b.tag("multi-sep");
    return pick(r, ["  ", " \t ", "\t\t"]);
  }
  return " ";
}

/** Line end: usually CRLF. */
function eol(r: Rand, b: Builder): string {
  const x = r();
  if (x < 0.03) {
    b.tag("lone-lf");
    return "\n";
  }
  if (x < 0.045) {
    b.tag("missing-crlf");
    return "";
  }
  if (x < 0.055) {
    b.tag("lone-cr");
    return "\r";
  }
  if (x < 0.065) {
    b.tag("trailing-space");
    return " \r\n";
  }
  if (x < 0.07) {
    b.tag("crcrlf");
    return "\r\r\n";
  }
  return CRLF;
}

/** A number field: usually `good`, sometimes a bad one. */
function num(r: Rand, b: Builder, good: number, what: string, p = 0.08): string {
  if (!chance(r, p)) return String(good);
  b.tag(`bad-${what}`);
  return pick(r, BAD_NUMBERS);
}

function sid(r: Rand, b: Builder): string {
  if (chance(r, 0.06)) {
    b.tag("odd-sid");
    return pick(r, ["-1", "0", "99999999999999999999999", "abc", "x".repeat(100), "1.5"]);
  }
  return String(int(r, 1, 5));
}

function line(b: Builder, r: Rand, tokens: (string | Uint8Array)[]): void {
  tokens.forEach((t, i) => {
    if (i > 0) b.add(sep(r, b));
    b.add(t);
  });
  b.add(eol(r, b));
}

/** A reply subject: in the stream's namespace (so no-responders can answer), or reserved. */
function reply(r: Rand, b: Builder): string {
  return pick(r, ["reply", "_INBOX.x.1", "foo", "_R_.x", "$JS.ACK.x", "*", "a..b"]).replace(
    /^[a-z_*]/,
    (c) => b.ns + c,
  );
}

function pub(r: Rand, b: Builder): void {
  let n = chance(r, 0.1) ? int(r, 0, 40) : int(r, 0, 12);
  if (chance(r, 0.04)) {
    b.tag("over-max-payload");
    n = FUZZ_LIMITS.maxPayload + int(r, 1, 100);
  } else if (chance(r, 0.02)) {
    b.tag("max-payload");
    n = FUZZ_LIMITS.maxPayload;
  }
  const body = payload(r, n);
  let declared = n;
  if (chance(r, 0.06)) {
    b.tag("wrong-size");
    declared = Math.max(0, n + pick(r, [-2, -1, 1, 2]));
  }
  const tokens: (string | Uint8Array)[] = [verb(r, b, "PUB"), subjectBytes(r, b)];
  if (chance(r, 0.25)) tokens.push(reply(r, b));
  tokens.push(num(r, b, declared, "size"));
  if (chance(r, 0.03)) {
    b.tag("extra-arg");
    tokens.push("extra");
  }
  line(b, r, tokens);
  b.add(body);
  b.add(eol(r, b));
}

function hpub(r: Rand, b: Builder): void {
  let hdr = "NATS/1.0\r\nA: b\r\n\r\n";
  const hx = r();
  if (hx < 0.1) {
    b.tag("no-nats-1.0");
    hdr = "A: b\r\n\r\n";
  } else if (hx < 0.15) {
    b.tag("bad-header-block");
    hdr = pick(r, ["NATS/1.0\r\n", "NATS/1.0 503\r\n\r\n", "NATS/2.0\r\n\r\n", "\r\n\r\n", ""]);
  }
  const body = payload(r, int(r, 0, 10));
  let h = hdr.length;
  let total = hdr.length + body.length;
  const sx = r();
  if (sx < 0.08) {
    b.tag("hdr-gt-total");
    h = total + int(r, 1, 5);
  } else if (sx < 0.14) {
    b.tag("hdr-eq-total");
    h = total;
  } else if (sx < 0.18) {
    b.tag("hdr-zero");
    h = 0;
  } else if (sx < 0.22) {
    b.tag("total-short");
    total = Math.max(0, total - int(r, 1, 4));
  }
  const tokens: (string | Uint8Array)[] = [verb(r, b, "HPUB"), subjectBytes(r, b)];
  if (chance(r, 0.25)) tokens.push(reply(r, b));
  tokens.push(num(r, b, h, "hdr-size"), num(r, b, total, "size"));
  line(b, r, tokens);
  b.add(hdr + body);
  b.add(eol(r, b));
}

function sub(r: Rand, b: Builder): void {
  const tokens: (string | Uint8Array)[] = [verb(r, b, "SUB"), subjectBytes(r, b)];
  const id = sid(r, b);
  if (chance(r, 0.2)) {
    // One member per queue group (the group is named after the sid): with two, which
    // one gets a message is a random pick in both servers, not comparable.
    const q = chance(r, 0.1) ? (b.tag("bad-queue"), pick(r, ["q.*", "q>", "q\x01"])) : "q";
    tokens.push(q + id);
  }
  tokens.push(id);
  if (chance(r, 0.03)) {
    b.tag("extra-arg");
    tokens.push("x", "y");
  }
  if (chance(r, 0.03)) {
    b.tag("missing-arg");
    tokens.pop();
  }
  line(b, r, tokens);
}

function unsub(r: Rand, b: Builder): void {
  const tokens = [verb(r, b, "UNSUB"), sid(r, b)];
  if (chance(r, 0.4)) tokens.push(num(r, b, int(r, 0, 3), "max-msgs", 0.3));
  if (chance(r, 0.03)) {
    b.tag("missing-arg");
    tokens.length = 1;
  }
  line(b, r, tokens);
}

/** CONNECT options a valid CONNECT may carry. */
function connectJson(r: Rand): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (chance(r, 0.7)) o.verbose = chance(r, 0.5);
  if (chance(r, 0.5)) o.pedantic = chance(r, 0.5);
  if (chance(r, 0.6)) o.headers = chance(r, 0.8);
  if (chance(r, 0.2)) o.echo = chance(r, 0.5);
  if (chance(r, 0.2)) o.no_responders = chance(r, 0.5);
  if (chance(r, 0.3)) o.protocol = pick(r, [0, 1, 1, 2, -1]);
  if (chance(r, 0.3)) o.name = "fuzz";
  if (chance(r, 0.3)) o.lang = "deno";
  if (chance(r, 0.2)) o.version = "1.0.0";
  return o;
}

/** A mutated CONNECT argument (the JSON text), with what was done to it. */
function badConnectArg(r: Rand, b: Builder): string | Uint8Array {
  const base = JSON.stringify(connectJson(r));
  const x = int(r, 0, 18);
  switch (x) {
    case 0:
      b.tag("connect-deep-nesting");
      return `{"x":${"[".repeat(int(r, 50, 200))}${"]".repeat(int(r, 0, 200))}}`;
    case 1:
      b.tag("connect-huge-string");
      return `{"name":"${"n".repeat(int(r, 100, 2000))}"}`;
    case 2:
      b.tag("connect-duplicate-keys");
      return `{"verbose":true,"verbose":false,"headers":false,"headers":true}`;
    case 3:
      b.tag("connect-wrong-type");
      return pick(r, [
        `{"verbose":"false"}`,
        `{"verbose":0}`,
        `{"headers":1}`,
        `{"protocol":"1"}`,
        `{"protocol":1.5}`,
        `{"protocol":1e400}`,
        `{"protocol":99999999999999999999}`,
        `{"echo":null}`,
        `{"verbose":null}`,
        `{"name":5}`,
        `{"lang":{}}`,
        `{"user":[]}`,
        `{"pedantic":[true]}`,
      ]);
    case 4:
      b.tag("connect-not-object");
      return pick(r, ["[]", "null", "1", '"x"', "true", "", "{", "}", "{}}", "{} x", "{},{}"]);
    case 5: {
      b.tag("connect-bad-utf8");
      const bad = badBytes(r);
      const head = enc.encode('{"name":"a');
      const tail = enc.encode('b","verbose":false}');
      const out = new Uint8Array(head.length + bad.length + tail.length);
      out.set(head, 0);
      out.set(bad, head.length);
      out.set(tail, head.length + bad.length);
      return out;
    }
    case 6:
      b.tag("connect-key-case");
      return pick(r, [`{"Verbose":false}`, `{"VERBOSE":false}`, `{"Headers":true}`]);
    case 7:
      b.tag("connect-escapes");
      return pick(r, [
        `{"name":"\\u0000"}`,
        `{"name":"\\ud800"}`,
        `{"verbose":false,"name":"a\\"b"}`,
        `{"verb\\u006fse":false}`,
      ]);
    case 8:
      b.tag("connect-whitespace");
      return pick(r, [` ${base} `, `\t${base}`, base.replace(/,/g, " , ")]);
    case 9:
      b.tag("connect-unknown-fields");
      return `{"verbose":false,"zzz":{"a":[1,2,{"b":null}]},"tls_required":false}`;
    case 10:
      b.tag("connect-account");
      return pick(r, [`{"account":"A"}`, `{"new_account":true}`, `{"account":null}`]);
    case 11:
      b.tag("connect-creds");
      return pick(r, [
        `{"user":"a","pass":"b"}`,
        `{"auth_token":"t"}`,
        `{"user":""}`,
        `{"jwt":"x","sig":"y"}`,
      ]);
    case 12:
      b.tag("connect-numbers");
      return pick(r, [`{"protocol":-0}`, `{"protocol":1.0}`, `{"protocol":01}`, `{"protocol":+1}`]);
    default:
      return base;
  }
}

function connect(r: Rand, b: Builder): void {
  const arg = chance(r, 0.3) ? badConnectArg(r, b) : JSON.stringify(connectJson(r));
  line(b, r, [verb(r, b, "CONNECT"), arg]);
}

/** One op: usually a (possibly mutated) PUB, HPUB, SUB, UNSUB, PING or PONG, sometimes worse. */
function op(r: Rand, b: Builder): void {
  const x = r();
  if (x < 0.3) return pub(r, b);
  if (x < 0.42) return hpub(r, b);
  if (x < 0.6) return sub(r, b);
  if (x < 0.68) return unsub(r, b);
  if (x < 0.76) return line(b, r, [verb(r, b, "PING")]);
  if (x < 0.8) return line(b, r, [verb(r, b, "PONG")]);
  if (x < 0.82) return connect(r, b);
  if (x < 0.85) {
    b.tag("garbage");
    b.add(garbage(r, int(r, 1, 40)));
    return;
  }
  if (x < 0.87) {
    b.tag("over-long-line");
    const n = FUZZ_LIMITS.maxControlLine + int(r, -4, 60);
    line(b, r, [verb(r, b, "SUB"), "s." + "x".repeat(n), "1"]);
    return;
  }
  if (x < 0.89) {
    b.tag("blank-line");
    b.add(pick(r, ["\r\n", "\n", " \r\n", "\t\r\n"]));
    return;
  }
  if (x < 0.91) {
    b.tag("client-info-or-ok");
    b.add(pick(r, ['INFO {"x":1}\r\n', "+OK\r\n", "INFO\r\n", "INFO {}\r\n", "-ERR 'x'\r\n"]));
    return;
  }
  if (x < 0.93) {
    b.tag("verb-without-args");
    b.add(pick(r, ["PUB\r\n", "SUB\r\n", "UNSUB\r\n", "HPUB\r\n", "CONNECT\r\n", "PUB \r\n"]));
    return;
  }
  if (x < 0.935) {
    b.tag("odd-arg-start");
    b.add(pick(r, [
      "CONNECT\r\n",
      "CONNECT{}\r\n",
      'CONNECT\n{"verbose":false}\r\n',
      "INFO\r\n",
      "INFO{}\r\n",
      `SUB \n${b.ns}foo 1\r\n`,
      "PUB \n",
      "UNSUB \r\n",
      `HMSG ${b.ns}foo 1 5\r\n\r\n`,
      `HMSG ${b.ns}foo 1 5\r\nhello\r\n`,
    ]));
    return;
  }
  if (x < 0.95) {
    b.tag("verb-glued");
    b.add(pick(r, ["PUBfoo 1\r\nx\r\n", "PINGx\r\n", "PONGPONG\r\n", "SUBfoo 1\r\n", "PING \r\n"]));
    return;
  }
  return pub(r, b);
}

/** Splits `len` bytes into random write sizes. */
function splitPoints(r: Rand, len: number): number[] {
  if (len === 0) return [];
  const x = r();
  if (x < 0.3) return [len];
  const chunks: number[] = [];
  let left = len;
  const oneByte = x < 0.4;
  while (left > 0) {
    const n = oneByte ? 1 : Math.min(left, int(r, 1, Math.max(1, Math.min(64, left))));
    chunks.push(n);
    left -= n;
  }
  return chunks;
}

/**
 * Stream `index` of `seed`: the same arguments always give the same bytes
 * and split points.
 */
export function generateStream(seed: number, index: number): FuzzStream {
  // Mix seed and index so neighbouring streams are unrelated.
  const r = prng((Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
  const b = new Builder(`n${index}.`);
  if (chance(r, 0.7)) connect(r, b);
  const n = chance(r, 0.1) ? int(r, 9, 30) : int(r, 1, 8);
  for (let k = 0; k < n; k++) op(r, b);
  const bytes = b.bytes();
  return { seed, index, bytes, chunks: splitPoints(r, bytes.length), tags: [...new Set(b.tags)] };
}

/** The stream as a JS string literal body: printable ASCII kept, everything else escaped. */
export function escapeBytes(bytes: Uint8Array): string {
  let s = "";
  for (const c of bytes) {
    if (c === 0x0d) s += "\\r";
    else if (c === 0x0a) s += "\\n";
    else if (c === 0x09) s += "\\t";
    else if (c === 0x5c) s += "\\\\";
    else if (c === 0x22) s += '\\"';
    else if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += "\\x" + c.toString(16).padStart(2, "0");
  }
  return s;
}

/** The inverse of {@link escapeBytes}. */
export function unescapeBytes(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== "\\") {
      out.push(...enc.encode(c));
      continue;
    }
    const e = s[++i];
    if (e === "x") {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out.push({ r: 0x0d, n: 0x0a, t: 0x09 }[e as "r"] ?? e.charCodeAt(0));
    }
  }
  return new Uint8Array(out);
}
