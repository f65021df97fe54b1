import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { type ClientOps, ClientParser, ParseFailure } from "./client_parser.ts";
import { prng } from "../router/_test_util.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Records every callback as a readable string. */
class Recorder implements ClientOps {
  events: string[] = [];
  pauseOnConnect = false;
  onConnect(buf: Uint8Array, s: number, e: number): boolean {
    this.events.push(`CONNECT ${dec.decode(buf.subarray(s, e))}`);
    return !this.pauseOnConnect;
  }
  onPub(p: ClientParser, buf: Uint8Array, start: number, end: number): void {
    const payload = buf.subarray(start, end);
    const args = tokens(p);
    const verb = p.pubHeaderSize >= 0 ? "HPUB" : "PUB";
    this.events.push(`${verb} ${args.join(" ")} [${dec.decode(payload)}]`);
  }
  onSub(p: ClientParser): void {
    this.events.push(`SUB ${tokens(p).join(" ")}`);
  }
  onUnsub(p: ClientParser): void {
    this.events.push(`UNSUB ${tokens(p).join(" ")}`);
  }
  onPing(): void {
    this.events.push("PING");
  }
  onPong(): void {
    this.events.push("PONG");
  }
  onInfo(buf: Uint8Array, s: number, e: number): boolean {
    this.events.push(`INFO ${dec.decode(buf.subarray(s, e))}`);
    return true;
  }
  onPedanticPub(p: ClientParser): void {
    this.events.push(`PEDANTIC ${tokens(p)[0]}`);
  }
  onError(f: ParseFailure): void {
    this.events.push(`ERROR ${f}`);
  }
}

function tokens(p: ClientParser): string[] {
  const out: string[] = [];
  for (let k = 0; k < p.argCount; k++) {
    out.push(dec.decode(p.argBuf.subarray(p.argStart[k], p.argEnd[k])));
  }
  return out;
}

function parser(
  rec: Recorder,
  headers = true,
  limits = { maxControlLine: 4096, maxPayload: 1024 },
) {
  const p = new ClientParser(rec, limits);
  p.headersAllowed = headers;
  return p;
}

/** Feeds `input` split at the given points into fresh, reused-looking chunks. */
function feedSplit(input: Uint8Array, cuts: number[], headers = true): string[] {
  const rec = new Recorder();
  const p = parser(rec, headers);
  let prev = 0;
  for (const cut of [...cuts, input.length]) {
    // Copy into a scratch buffer that is overwritten afterwards, like a reused read buffer.
    const chunk = new Uint8Array(cut - prev);
    chunk.set(input.subarray(prev, cut));
    p.parse(chunk);
    chunk.fill(0x58);
    prev = cut;
  }
  return rec.events;
}

const STREAM = 'CONNECT {"verbose":false}\r\n' +
  "PUB foo 5\r\nhello\r\n" +
  "pub foo.bar reply.1 3\r\nabc\r\n" +
  "HPUB h rep 12 14\r\nNATS/1.0\r\n\r\nhi\r\n" +
  "SUB foo.* 1\r\n" +
  "sub\tq  grp\t2\r\n" +
  "UNSUB 1 5\r\n" +
  "PING\r\nPONG\r\n+OK\r\n" +
  "PUB empty 0\r\n\r\n" +
  "INFO {}\r\n" +
  "PING\n";

const EXPECTED = [
  'CONNECT {"verbose":false}',
  "PUB foo 5 [hello]",
  "PUB foo.bar reply.1 3 [abc]",
  "HPUB h rep 12 14 [NATS/1.0\r\n\r\nhi]",
  "SUB foo.* 1",
  "SUB q grp 2",
  "UNSUB 1 5",
  "PING",
  "PONG",
  "PUB empty 0 []",
  "INFO {}",
  "PING",
];

Deno.test("ClientParser.parse() handles every verb in one chunk", () => {
  assertEquals(feedSplit(enc.encode(STREAM), []), EXPECTED);
});

Deno.test("ClientParser.parse() gives the same events fed one byte at a time", () => {
  const input = enc.encode(STREAM);
  const cuts = Array.from({ length: input.length - 1 }, (_, i) => i + 1);
  assertEquals(feedSplit(input, cuts), EXPECTED);
});

Deno.test("ClientParser.parse() gives the same events at every single split point", () => {
  const input = enc.encode(STREAM);
  for (let cut = 1; cut < input.length; cut++) {
    assertEquals(feedSplit(input, [cut]), EXPECTED, `split at ${cut}`);
  }
});

Deno.test("ClientParser.parse() gives the same events at every pair of split points", () => {
  const input = enc.encode("PUB a.b r 10\r\n0123456789\r\nSUB x 1\r\n");
  const expected = ["PUB a.b r 10 [0123456789]", "SUB x 1"];
  for (let a = 1; a < input.length; a++) {
    for (let b = a + 1; b < input.length; b++) {
      assertEquals(feedSplit(input, [a, b]), expected, `split at ${a},${b}`);
    }
  }
});

Deno.test("ClientParser.parse() hands a whole payload over without copying it", () => {
  const rec = new Recorder();
  let seen: Uint8Array | null = null;
  let range: [number, number] = [0, 0];
  rec.onPub = (_p, buf, start, end) => {
    seen = buf;
    range = [start, end];
  };
  const p = parser(rec);
  const chunk = enc.encode("PUB foo 5\r\nhello\r\n");
  p.parse(chunk);
  assertEquals(seen, chunk);
  assertEquals(range, [11, 16]);
});

const BAD: [string, string, boolean?][] = [
  ["garbage verb", "FOO bar\r\n"],
  ["unknown first byte", "\x01\r\n"],
  ["verb without space", "SUB\r\n"],
  ["verb without space (PUB)", "PUBfoo 1\r\nx\r\n"],
  ["misspelled verb", "PUX foo 1\r\n"],
  ["route verb from a client", "RS+ $G foo\r\n"],
  ["MSG from a client", "MSG foo 1 1\r\nx\r\n"],
  ["payload longer than declared", "PUB foo 2\r\nabc\r\n"],
  ["payload shorter than declared", "PUB foo 5\r\nab\r\nPING\r\n"],
  ["payload ended by bare LF", "PUB foo 2\r\nab\nPING\r\n"],
  ["negative size", "PUB foo -1\r\n"],
  ["non-numeric size", "PUB foo abc\r\n"],
  ["ten-digit size", "PUB foo 0000000001\r\nx\r\n"],
  ["PUB with too few args", "PUB foo\r\n"],
  ["PUB with too many args", "PUB a b c 1\r\nx\r\n"],
  ["SUB with one arg", "SUB foo\r\n"],
  ["SUB with four args", "SUB a b c d\r\n"],
  ["UNSUB with three args", "UNSUB 1 2 3\r\n"],
  ["HPUB header larger than total", "HPUB foo 5 3\r\nabc\r\n"],
  ["HPUB without headers enabled", "HPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\n", false],
  ["client -ERR", "-ERR 'boom'\r\n"],
  ["payload over max_payload", "PUB foo 2000\r\n"],
];

const EXPECTED_FAILURE: Record<string, ParseFailure> = {
  "payload over max_payload": ParseFailure.MaxPayload,
  "client -ERR": ParseFailure.ClientError,
  "negative size": ParseFailure.BadArguments,
  "non-numeric size": ParseFailure.BadArguments,
  "ten-digit size": ParseFailure.BadArguments,
  "PUB with too few args": ParseFailure.BadArguments,
  "PUB with too many args": ParseFailure.BadArguments,
  "SUB with one arg": ParseFailure.BadArguments,
  "SUB with four args": ParseFailure.BadArguments,
  "UNSUB with three args": ParseFailure.BadArguments,
  "HPUB header larger than total": ParseFailure.BadArguments,
  "HPUB without headers enabled": ParseFailure.BadArguments,
};

for (const [name, input, headers] of BAD) {
  Deno.test(`ClientParser.parse() rejects ${name}`, () => {
    const events = feedSplit(enc.encode(input), [], headers ?? true);
    const want = EXPECTED_FAILURE[name] ?? ParseFailure.UnknownOp;
    assertEquals(events[events.length - 1], `ERROR ${want}`);
    assertEquals(events.filter((e) => e.startsWith("ERROR")).length, 1);
  });
}

Deno.test("ClientParser.parse() stops for good after an error", () => {
  const rec = new Recorder();
  const p = parser(rec);
  assertEquals(p.parse(enc.encode("XX\r\n")), -1);
  assertEquals(p.parse(enc.encode("PING\r\n")), -1);
  assertEquals(rec.events, [`ERROR ${ParseFailure.UnknownOp}`]);
});

Deno.test("ClientParser enforces max_control_line on complete and partial lines", () => {
  const limits = { maxControlLine: 16, maxPayload: 1024 };
  const rec = new Recorder();
  parser(rec, true, limits).parse(enc.encode("SUB aaaaaaaaaaaaaaaaaaaa 1\r\n"));
  assertEquals(rec.events, [`ERROR ${ParseFailure.MaxControlLine}`]);
  // A line that never ends is refused once it is longer than the limit, not buffered forever.
  const rec2 = new Recorder();
  const p2 = parser(rec2, true, limits);
  p2.parse(enc.encode("SUB aaaaaaaa"));
  assertEquals(rec2.events, []);
  p2.parse(enc.encode("aaaaaaaaaaaa"));
  assertEquals(rec2.events, [`ERROR ${ParseFailure.MaxControlLine}`]);
  // Exactly at the limit is fine.
  const rec3 = new Recorder();
  parser(rec3, true, limits).parse(enc.encode("SUB 123456789 12\r\n"));
  assertEquals(rec3.events, ["SUB 123456789 12"]);
});

Deno.test("ClientParser pauses after CONNECT and resumes with the rest", () => {
  const rec = new Recorder();
  rec.pauseOnConnect = true;
  const p = parser(rec);
  const input = enc.encode("CONNECT {}\r\nPUB a 1\r\nx\r\n");
  const stop = p.parse(input);
  assertEquals(stop, 12);
  assertEquals(rec.events, ["CONNECT {}"]);
  assertEquals(p.parse(input.slice(stop)), input.length - stop);
  assertEquals(rec.events, ["CONNECT {}", "PUB a 1 [x]"]);
});

Deno.test("ClientParser ignores bytes between PING and the line feed", () => {
  assertEquals(feedSplit(enc.encode("PING whatever\r\nping\n"), []), ["PING", "PING"]);
});

Deno.test("SUB and UNSUB split at space, tab, CR and LF only: other control bytes stay in the token", () => {
  // Every byte below `!` but the four separators, inside and at the ends of tokens
  // (the split skips its per-byte call for bytes above SPACE only).
  const others = Array.from({ length: 0x20 }, (_, b) => b).filter((b) =>
    b !== 0x09 && b !== 0x0a && b !== 0x0d
  );
  for (const b of others) {
    const c = String.fromCharCode(b);
    const rec = new Recorder();
    parser(rec).parse(enc.encode(`SUB a${c}b ${c}q${c} 1${c}\r\nUNSUB ${c}1 \t5\r\n`));
    assertEquals(rec.events, [`SUB a${c}b ${c}q${c} 1${c}`, `UNSUB ${c}1 5`], `byte ${b}`);
  }
});

Deno.test("ClientParser survives a seeded random stream of valid and split input", () => {
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const parts: string[] = [];
  const expected: string[] = [];
  for (let i = 0; i < 300; i++) {
    const n = Math.floor(rand() * 40);
    const payload = "x".repeat(n);
    parts.push(`PUB s.${i} ${n}\r\n${payload}\r\n`);
    expected.push(`PUB s.${i} ${n} [${payload}]`);
  }
  const input = enc.encode(parts.join(""));
  const cuts: number[] = [];
  for (let at = 0; at < input.length;) {
    at += 1 + Math.floor(rand() * 50);
    if (at < input.length) cuts.push(at);
  }
  assertEquals(feedSplit(input, cuts), expected);
});

Deno.test("ClientParser: no scratch buffer until a control line crosses a chunk", () => {
  const rec = new Recorder();
  const p = new ClientParser(rec, { maxControlLine: 4096, maxPayload: 1024 * 1024 });
  const scratchBytes = () => (p as unknown as { scratch: Uint8Array }).scratch.length;
  p.parse(enc.encode('CONNECT {"verbose":false}\r\nPING\r\nSUB a 1\r\n'));
  assertEquals(scratchBytes(), 0, "whole lines need no copy (an idle connection keeps none)");
  p.parse(enc.encode("SUB b.c"));
  p.parse(enc.encode(" 2\r\n"));
  assertEquals(rec.events.at(-1), "SUB b.c 2");
  assertEquals(scratchBytes() > 0, true, "the split line was carried in scratch");
});

/** A Recorder that also takes runs of identical PUB lines, each as the PUBs it stands for. */
class RunRecorder extends Recorder {
  runs: string[] = [];
  onPubRun(p: ClientParser, buf: Uint8Array, first: number, stride: number, count: number): void {
    this.runs.push(`${first}+${stride}x${count}`);
    for (let m = 0; m < count; m++) {
      const at = first + m * stride;
      this.onPub(p, buf, at, at + p.pubSize);
    }
  }
}

Deno.test("PUBs repeating the line before are handed over as one run, as the same PUBs", () => {
  // Three PUBs with the same line, one with a reply, then two with the same line again.
  const text = "PUB a.b 2\r\nxx\r\nPUB a.b 2\r\nyy\r\npub a.b 2\r\nnn\r\nPUB a.b 2\r\nzz\r\n" +
    "PUB a.b r 2\r\nrr\r\nPUB a.b 2\r\nvv\r\nPUB a.b 2\r\nww\r\n";
  const plain = new Recorder();
  parser(plain).parse(enc.encode(text));
  const runs = new RunRecorder();
  const p = parser(runs);
  assertEquals(p.parse(enc.encode(text)), text.length);
  assertEquals(runs.events, plain.events);
  // "pub" in lower case is another line: the first run stops there.
  assertEquals(runs.runs, ["26+15x1", "103+15x1"]);
  assertEquals(plain.events.length, 7);
});

Deno.test("a run is only the PUBs whose payload ends in CR LF: a bad one fails as without runs", () => {
  const text = "PUB s 1\r\na\r\nPUB s 1\r\nb\r\nPUB s 1\r\nc\r\nPUB s 1\r\ndx\r\n";
  const plain = new Recorder();
  const a = parser(plain).parse(enc.encode(text));
  const runs = new RunRecorder();
  const b = parser(runs).parse(enc.encode(text));
  assertEquals(b, a);
  assertEquals(runs.events, plain.events);
  assertEquals(runs.runs, ["21+12x2"]);
  assertEquals(runs.events.at(-1), `ERROR ${ParseFailure.UnknownOp}`);
});

Deno.test("no run across chunks, with a carried line, or for a pedantic client", () => {
  const one = "PUB s 3\r\nabc\r\n";
  const text = one.repeat(6);
  const bytes = enc.encode(text);
  const plain = new Recorder();
  parser(plain).parse(bytes);
  // Split inside the third PUB's line: the run before stops at the chunk's end.
  const runs = new RunRecorder();
  const p = parser(runs);
  const cut = one.length * 2 + 4;
  p.parse(bytes.subarray(0, cut));
  p.parse(bytes.subarray(cut));
  assertEquals(runs.events, plain.events);
  // Chunk 1: PUB 1 and a run of PUB 2; chunk 2: PUB 3 (carried line, no run), then PUB 4 and a run of 5-6.
  assertEquals(runs.runs, ["23+14x1", "33+14x2"]);
  const pedantic = new RunRecorder();
  const q = parser(pedantic);
  q.pedantic = true;
  q.parse(bytes);
  assertEquals(pedantic.runs, []);
  assertEquals(pedantic.events.filter((e) => e.startsWith("PUB")), plain.events);
});

Deno.test("a PUB line whole in the chunk gives what the general states give, for any shape", () => {
  // The fast split of a whole PUB line (#wholePub) against the general states,
  // which read the same line when the chunk ends inside the verb ("PU" | "B ...").
  // Failure details are compared without their chunk offsets (`i=`, the snippet).
  const rand = prng(1414);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const verbs = ["PUB", "pub", "PuB"];
  const blanks = [" ", "\t", "  ", " \t ", ""];
  const words = ["foo", "a.b.c", "x\ry", "\x01z", "\xe9t\xe9", "r.1", "", "q\ny", "a".repeat(70)];
  const sizes = ["5", "05", "0", "123456789", "1234567890", "x5", "5x", "2000", ""];
  const ends = ["\r\n", "\n", "\r\r\n", " \r\n", "\t\r\n", "\r"];
  const limits = { maxControlLine: 64, maxPayload: 1024 };
  const events = (input: Uint8Array, cut: number, pedantic: boolean) => {
    const rec = new Recorder();
    const p = parser(rec, true, limits);
    p.pedantic = pedantic;
    let stopped = 0;
    for (const [s, e] of cut > 0 ? [[0, cut], [cut, input.length]] : [[0, input.length]]) {
      const chunk = input.slice(s, e);
      if (p.parse(chunk) < 0) {
        stopped = 1;
        break;
      }
    }
    const detail = p.failureDetail.replace(/i=\d+: proto='.*$/s, "i=?");
    return [...rec.events, `stopped ${stopped}`, detail, p.failureLine];
  };
  let fast = 0;
  for (let n = 0; n < 3000; n++) {
    const args = [pick(words)];
    if (rand() < 0.4) args.push(pick(words));
    if (rand() < 0.1) args.push(pick(words));
    args.push(pick(sizes));
    let line = pick(verbs) + pick(blanks.slice(0, 3));
    line += pick(blanks) + args.join(pick(blanks.slice(0, 4))) + pick(ends);
    let body = "hello".slice(0, Math.floor(rand() * 6));
    if (rand() < 0.5) {
      // A good line, but for what the words and blanks may bring.
      args[args.length - 1] = String(body.length);
      line = pick(verbs) + pick(blanks.slice(0, 3)) + args.join(pick(blanks.slice(0, 4))) +
        pick(["\r\n", "\r\n", " \r\n"]);
      body += "\r\n";
    } else {
      body += pick(["\r\n", "\n", "xy"]);
    }
    const text = line + body + "PUB ok 2\r\nok\r\nPING\r\n";
    const input = new Uint8Array([...text].map((c) => c.charCodeAt(0)));
    const pedantic = rand() < 0.2;
    const whole = events(input, 0, pedantic);
    assertEquals(whole, events(input, 2, pedantic), JSON.stringify(text));
    if (whole[0].startsWith("PUB ") && !whole[0].startsWith("PUB ok 2 [ok]")) fast++;
  }
  // Most cases are good PUBs (taken by the fast split), the rest errors.
  assertEquals(fast > 300, true, `${fast} good PUBs`);
});

Deno.test("a publisher with no runs is checked for one now and then, and a run is still found", () => {
  // 40 PUBs on cycling subjects (no runs: after 8 checks only every 16th PUB
  // is checked), then 40 on one subject: the run is found and handed over,
  // and every PUB arrives once, in order, as without runs.
  let text = "";
  for (let k = 0; k < 40; k++) text += `PUB s.${k % 3} 1\r\n${k % 10}\r\n`;
  for (let k = 0; k < 40; k++) text += `PUB one 1\r\n${k % 10}\r\n`;
  const plain = new Recorder();
  parser(plain).parse(enc.encode(text));
  const runs = new RunRecorder();
  parser(runs).parse(enc.encode(text));
  assertEquals(runs.events, plain.events);
  assertEquals(plain.events.length, 80);
  // Found at the first checked PUB on "one" (PUB 41 to 47 are not checked), covering the rest.
  assertEquals(runs.runs.length, 1);
  const [, count] = runs.runs[0].split("x");
  assertEquals(Number(count) >= 40 - 16 && Number(count) < 40, true, runs.runs[0]);
});
