import { deepStrictEqual, equal } from "node:assert/strict";
import { InterestOp, type RouteOps, RouteParseFailure, RouteParser } from "./route_parser.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Records every callback as a readable string. */
class Recorder implements RouteOps {
  events: string[] = [];
  pauseConnect = false;

  onConnect(buf: Uint8Array, s: number, e: number): boolean {
    this.events.push(`CONNECT ${dec.decode(buf.subarray(s, e))}`);
    return !this.pauseConnect;
  }
  onInfo(buf: Uint8Array, s: number, e: number): void {
    this.events.push(`INFO ${dec.decode(buf.subarray(s, e))}`);
  }
  onInterest(p: RouteParser, op: InterestOp): void {
    const args = [];
    for (let k = 0; k < p.argCount; k++) {
      args.push(dec.decode(p.argBuf.subarray(p.argStart[k], p.argEnd[k])));
    }
    this.events.push(`I${op} ${args.join(" ")}`);
  }
  onMsg(p: RouteParser, buf: Uint8Array, start: number, end: number): void {
    const payload = buf.subarray(start, end);
    const tok = (k: number) =>
      k < 0 ? "-" : dec.decode(p.argBuf.subarray(p.argStart[k], p.argEnd[k]));
    const queues = [];
    for (let q = p.msgQueueFirst; q < p.msgQueueEnd; q++) queues.push(tok(q));
    this.events.push(
      `MSG o=${tok(p.msgOrigin)} a=${tok(p.msgAccount)} s=${tok(p.msgSubject)} r=${
        tok(p.msgReply)
      } q=[${queues}] h=${p.msgHdrSize} n=${p.msgSize} [${dec.decode(payload)}]`,
    );
  }
  onPing(): void {
    this.events.push("PING");
  }
  onPong(): void {
    this.events.push("PONG");
  }
  onPeerError(buf: Uint8Array, s: number, e: number): void {
    this.events.push(`ERR ${dec.decode(buf.subarray(s, e))}`);
  }
  onError(failure: RouteParseFailure): void {
    this.events.push(`FAIL ${failure}`);
  }
}

const STREAM = 'CONNECT {"name":"N1","cluster":"c1"}\r\n' +
  'INFO {"server_id":"N1"} \r\n' +
  "RS+ $G foo\r\nRS+ $G bar grp 3\r\nrs- $G bar grp\r\nLS+ c2 $G leaf q 1\r\nLS- $G leaf\r\nA+ $G\r\n" +
  "RMSG $G foo 2\r\nhi\r\n" +
  "RMSG $G foo reply.1 3\r\nabc\r\n" +
  "RMSG $G bar + rep.1 grp grp2 3\r\nabc\r\n" +
  "RMSG $G bar | grp 1\r\nz\r\n" +
  "HMSG $G foo 12 14\r\nNATS/1.0\r\n\r\nok\r\n" +
  "HMSG $G foo + r q1 12 14\r\nNATS/1.0\r\n\r\nok\r\n" +
  "LMSG c2 $G foo | q 0 2\r\nhi\r\n" +
  "PING\r\nPONG\r\n-ERR 'boom'\r\n";

const EXPECTED = [
  'CONNECT {"name":"N1","cluster":"c1"}',
  'INFO {"server_id":"N1"} ',
  `I${InterestOp.RemoteAdd} $G foo`,
  `I${InterestOp.RemoteAdd} $G bar grp 3`,
  `I${InterestOp.RemoteRemove} $G bar grp`,
  `I${InterestOp.LeafAdd} c2 $G leaf q 1`,
  `I${InterestOp.LeafRemove} $G leaf`,
  `I${InterestOp.Account} $G`,
  "MSG o=- a=$G s=foo r=- q=[] h=-1 n=2 [hi]",
  "MSG o=- a=$G s=foo r=reply.1 q=[] h=-1 n=3 [abc]",
  "MSG o=- a=$G s=bar r=rep.1 q=[grp,grp2] h=-1 n=3 [abc]",
  "MSG o=- a=$G s=bar r=- q=[grp] h=-1 n=1 [z]",
  "MSG o=- a=$G s=foo r=- q=[] h=12 n=14 [NATS/1.0\r\n\r\nok]",
  "MSG o=- a=$G s=foo r=r q=[q1] h=12 n=14 [NATS/1.0\r\n\r\nok]",
  "MSG o=c2 a=$G s=foo r=- q=[q] h=0 n=2 [hi]",
  "PING",
  "PONG",
  "ERR 'boom'",
];

Deno.test("RouteParser.parse() handles every route verb in one chunk", () => {
  const r = new Recorder();
  const p = new RouteParser(r);
  const bytes = enc.encode(STREAM);
  equal(p.parse(bytes), bytes.length);
  deepStrictEqual(r.events, EXPECTED);
});

Deno.test("RouteParser.parse() gives the same result one byte at a time", () => {
  const r = new Recorder();
  const p = new RouteParser(r);
  const bytes = enc.encode(STREAM);
  for (let i = 0; i < bytes.length; i++) equal(p.parse(bytes.slice(i, i + 1)), 1);
  deepStrictEqual(r.events, EXPECTED);
});

Deno.test("RouteParser.parse() survives every split point", () => {
  const bytes = enc.encode(STREAM);
  for (let cut = 1; cut < bytes.length; cut++) {
    const r = new Recorder();
    const p = new RouteParser(r);
    // Copies: the parser must not keep pointers into a chunk after parse() returns.
    const first = bytes.slice(0, cut);
    p.parse(first);
    first.fill(0x21);
    p.parse(bytes.slice(cut));
    deepStrictEqual(r.events, EXPECTED, `cut at ${cut}`);
  }
});

Deno.test("RouteParser.parse() accepts many queue names and big payloads", () => {
  const r = new Recorder();
  const p = new RouteParser(r);
  const queues = Array.from({ length: 40 }, (_, i) => `q${i}`);
  const body = "x".repeat(3_000_000); // above the client max_payload: routes have no limit
  p.parse(enc.encode(`RMSG $G big | ${queues.join(" ")} ${body.length}\r\n${body}\r\n`));
  equal(r.events.length, 1);
  equal(r.events[0].startsWith(`MSG o=- a=$G s=big r=- q=[${queues}] h=-1 n=3000000`), true);
});

Deno.test("RouteParser.parse() refuses unknown verbs and bad arguments", () => {
  for (
    const [input, failure] of [
      ["PUB foo 1\r\nx\r\n", RouteParseFailure.UnknownOp],
      ["XYZ\r\n", RouteParseFailure.UnknownOp],
      ["RMSG $G foo\r\n", RouteParseFailure.BadArguments],
      ["RMSG $G foo a b 1\r\nx\r\n", RouteParseFailure.BadArguments],
      ["HMSG $G foo 5 2\r\nxx\r\n", RouteParseFailure.BadArguments],
      ["RMSG $G foo 1\r\nxyz\r\n", RouteParseFailure.UnknownOp],
    ] as const
  ) {
    const r = new Recorder();
    const p = new RouteParser(r);
    equal(p.parse(enc.encode(input)), -1, input);
    deepStrictEqual(r.events, [`FAIL ${failure}`], input);
  }
});

Deno.test("RouteParser.parse() pauses after CONNECT when asked", () => {
  const r = new Recorder();
  r.pauseConnect = true;
  const p = new RouteParser(r);
  const bytes = enc.encode('CONNECT {}\r\nINFO {"a":1}\r\n');
  const stop = p.parse(bytes);
  equal(stop, "CONNECT {}\r\n".length);
  r.pauseConnect = false;
  equal(p.parse(bytes.slice(stop)), bytes.length - stop);
  deepStrictEqual(r.events, ["CONNECT {}", 'INFO {"a":1}']);
});
