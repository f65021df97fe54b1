/**
 * The client protocol parser: a byte state machine over `Uint8Array` chunks.
 *
 * It never builds strings. Arguments are offsets into the current chunk; they
 * are copied into a scratch buffer only when a control line or a payload
 * crosses a chunk boundary (the transport may reuse its read buffer, so
 * nothing may point into a chunk after `parse()` returns). A payload that sits
 * whole in the chunk is handed over as a `subarray`, never copied.
 *
 * @module
 */
import { CR, LF, LOWER, SPACE, TAB } from "./chars.ts";
import { countRepeats, crlfAt, LineParser } from "./line_parser.ts";
import { goQuoteBytes } from "./go_quote.ts";

/** Why parsing stopped for good; the connection maps each to its answer. */
export const ParseFailure = {
  /** `-ERR 'Unknown Protocol Operation'` and close. */
  UnknownOp: 1,
  /** `-ERR 'maximum control line exceeded'` and close. */
  MaxControlLine: 2,
  /** `-ERR 'Maximum Payload Violation'` and close. */
  MaxPayload: 3,
  /** Wrong argument count or size: closed without any `-ERR`, as nats-server. */
  BadArguments: 4,
  /** The client sent `-ERR`: closed ("Parse Error"). */
  ClientError: 5,
} as const;
export type ParseFailure = typeof ParseFailure[keyof typeof ParseFailure];

/** The callbacks the parser drives; the connection implements them. */
export interface ClientOps {
  /** `CONNECT <json>`: the JSON is `buf[start, end)`. Return false to pause parsing (async auth). */
  onConnect(buf: Uint8Array, start: number, end: number): boolean;
  /**
   * PUB or HPUB; arguments are in the parser's `pub*` fields, the payload is
   * `buf[start, end)` (offsets, not a subarray: most messages never need a view).
   */
  onPub(parser: ClientParser, buf: Uint8Array, start: number, end: number): void;
  /**
   * Optional: `count` more PUBs whose lines are byte for byte the PUB just
   * given to {@link onPub} (same subject, size, no reply), one every `stride`
   * bytes of `buf`, payloads at `first`, `first + stride`, ... (each
   * {@link ClientParser.pubSize} bytes, their CR LF checked). The parser's
   * arguments still point at the first line, whose bytes are the same. Must
   * act as `count` calls of {@link onPub} would, stopping if parsing failed.
   */
  onPubRun?(
    parser: ClientParser,
    buf: Uint8Array,
    first: number,
    stride: number,
    count: number,
  ): void;
  /**
   * A PUB or HPUB line was accepted and {@link ClientParser.pedantic} is set: the
   * subject is checked now, before the payload, as nats-server does (its error
   * comes first even when the payload then turns out malformed).
   */
  onPedanticPub(parser: ClientParser): void;
  /** SUB; arguments are `parser.argBuf` tokens 0..argCount-1. */
  onSub(parser: ClientParser): void;
  /** UNSUB; arguments as for onSub. */
  onUnsub(parser: ClientParser): void;
  onPing(): void;
  onPong(): void;
  /** A client-sent INFO: parsed and ignored by nats-server. Return false to stop (it closed). */
  onInfo(buf: Uint8Array, start: number, end: number): boolean;
  onError(failure: ParseFailure): void;
}

const enum State {
  OpStart,
  Verb,
  /** Verb matched; at least one space/tab required before arguments. */
  VerbSpace,
  SkipSpace,
  Arg,
  /** PING, PONG, +OK: ignore everything up to the line feed. */
  SkipLine,
  Payload,
}

const enum Verb {
  Pub,
  Hpub,
  Sub,
  Unsub,
  Connect,
  Info,
  Ping,
  Pong,
  Ok,
  Err,
}

const VERB_BYTES: readonly Uint8Array[] = [
  new Uint8Array([0x70, 0x75, 0x62]), // pub
  new Uint8Array([0x68, 0x70, 0x75, 0x62]), // hpub
  new Uint8Array([0x73, 0x75, 0x62]), // sub
  new Uint8Array([0x75, 0x6e, 0x73, 0x75, 0x62]), // unsub
  new Uint8Array([0x63, 0x6f, 0x6e, 0x6e, 0x65, 0x63, 0x74]), // connect
  new Uint8Array([0x69, 0x6e, 0x66, 0x6f]), // info
  new Uint8Array([0x70, 0x69, 0x6e, 0x67]), // ping
  new Uint8Array([0x70, 0x6f, 0x6e, 0x67]), // pong
  new Uint8Array([0x2b, 0x6f, 0x6b]), // +ok
  new Uint8Array([0x2d, 0x65, 0x72, 0x72]), // -err
];

/** Verbs whose line carries arguments (and so needs a space after the verb). */
function takesArguments(verb: Verb): boolean {
  // A mask, not `verb <= Verb.Info || verb === Verb.Err`: the second comparison
  // first runs on the first PING, and would deoptimize the compiled parser there.
  return ((1 << verb) & TAKES_ARGUMENTS) !== 0;
}

const TAKES_ARGUMENTS = (1 << Verb.Pub) | (1 << Verb.Hpub) | (1 << Verb.Sub) | (1 << Verb.Unsub) |
  (1 << Verb.Connect) | (1 << Verb.Info) | (1 << Verb.Err);

/** Run checks in a row that find none before {@link ClientParser} checks only now and then. */
const RUN_TRIES = 8;
/** Then one PUB in this many is checked for a run behind it (a power of two). */
const RUN_PROBE = 16;

/** More arguments than any client verb takes. */
const MAX_ARGS = 8;

/** Parses what a client sends; see the module documentation. */
export class ClientParser extends LineParser {
  /** Token indexes of the current PUB/HPUB (-1 when there is no reply). */
  pubReply = -1;
  /** Index of the size token that is echoed verbatim into MSG (total size for HPUB). */
  pubSizeArg = 0;
  /** Header size of an HPUB, -1 for PUB. */
  pubHeaderSize = -1;
  pubSize = 0;

  maxControlLine: number;
  maxPayload: number;
  /** HPUB is refused (silent close) unless the client's CONNECT enabled headers. */
  headersAllowed = false;
  /** Calls {@link ClientOps.onPedanticPub} for every PUB/HPUB line (the client is pedantic). */
  pedantic = false;

  /**
   * After a failure: nats-server's error text for it, which it logs at error level
   * (`processPub Parse Error: "a b c d"`, `Client parser ERROR, state=0, i=4: proto='"FOO"...'`),
   * or "" when it logs none. Built only when parsing fails.
   */
  failureDetail = "";
  /** After a failure on a complete control line: that line for the trace (`PUB a b c d`), else "". */
  failureLine = "";

  #ops: ClientOps;
  #state = State.OpStart;
  #verb = Verb.Pub;
  #verbPos = 0;
  #failed = false;
  /** Where the current op's `PUB` began in the chunk, -1 unless it was read whole there. */
  #opStart = -1;
  /** Checks for a run of PUBs in a row that found none (see {@link #repeats}). */
  #runMisses = 0;

  constructor(ops: ClientOps, limits: { maxControlLine: number; maxPayload: number }) {
    super({
      argSlots: MAX_ARGS,
      maxArgs: MAX_ARGS,
      maxSizeDigits: 9,
      scratchSize: Math.min(limits.maxControlLine + 64, 1024),
    });
    this.#ops = ops;
    this.maxControlLine = limits.maxControlLine;
    this.maxPayload = limits.maxPayload;
  }

  /** True when the parser is between operations (nothing half-read). */
  get idle(): boolean {
    return this.#state === State.OpStart;
  }

  /**
   * Feeds one chunk. Returns the index where parsing stopped: `chunk.length`
   * normally, less when `onConnect` paused it (the caller keeps the rest and
   * feeds it again later), or -1 after a fatal error.
   */
  parse(chunk: Uint8Array): number {
    if (this.#failed) return -1;
    const len = chunk.length;
    let i = 0;
    while (i < len) {
      const b = chunk[i];
      switch (this.#state) {
        case State.OpStart: {
          // Fast path for the most common op: "PUB " whole in this chunk.
          if (
            (b | LOWER) === 0x70 && i + 3 < len && (chunk[i + 1] | LOWER) === 0x75 &&
            (chunk[i + 2] | LOWER) === 0x62 && (chunk[i + 3] === SPACE || chunk[i + 3] === TAB)
          ) {
            this.#verb = Verb.Pub;
            this.#opStart = i;
            const next = this.#wholePub(chunk, i + 4);
            if (next >= 0) {
              i = next;
              break;
            }
            if (next === FAILED) return -1;
            this.#state = State.SkipSpace;
            i += 4;
            break;
          }
          this.#opStart = -1;
          const verb = firstLetterVerb(b);
          if (verb < 0) return this.#failAt(chunk, i, 0);
          this.#verb = verb;
          this.#verbPos = 1;
          this.#state = State.Verb;
          i++;
          break;
        }
        case State.Verb: {
          const lower = b | LOWER;
          // P is shared by PUB, PING and PONG: the second letter decides.
          if (this.#verbPos === 1 && this.#verb === Verb.Pub) {
            if (lower === 0x69) this.#verb = Verb.Ping;
            else if (lower === 0x6f) this.#verb = Verb.Pong;
          }
          const bytes = VERB_BYTES[this.#verb];
          if (lower !== bytes[this.#verbPos]) {
            return this.#failAt(chunk, i, goVerbState(this.#verb, this.#verbPos));
          }
          i++;
          if (++this.#verbPos === bytes.length) {
            // nats-server wants a space after PUB, SUB... but not after CONNECT and INFO.
            this.#state = !takesArguments(this.#verb)
              ? State.SkipLine
              : this.#verb === Verb.Connect || this.#verb === Verb.Info
              ? State.SkipSpace
              : State.VerbSpace;
          }
          break;
        }
        case State.VerbSpace:
          if (b !== SPACE && b !== TAB) {
            return this.#failAt(chunk, i, goVerbState(this.#verb, VERB_BYTES[this.#verb].length));
          }
          this.#state = State.SkipSpace;
          i++;
          break;
        case State.SkipSpace:
          if (b === SPACE || b === TAB) {
            i++;
            break;
          }
          this.#state = State.Arg;
          this.beginLine(i);
          // The argument's first byte is taken whatever it is (a CR or LF too), as
          // nats-server does: "CONNECT\r\n" has the argument "\r", a bad CONNECT.
          if (++i === len) {
            const limit = this.maxControlLine + 1;
            return this.carryLine(chunk, limit) ? len : this.#failLine(chunk);
          }
          break;
        case State.Arg: {
          // Byte loop, not indexOf: measurably faster for short lines.
          let j = i;
          while (j < len && chunk[j] !== LF) j++;
          // +1: the line may still hold its CR.
          const limit = this.maxControlLine + 1;
          if (j === len) {
            return this.carryLine(chunk, limit) ? len : this.#failLine(chunk);
          }
          // Locals, not fields, for the finished line: measurably faster per message.
          let buf = chunk;
          let start = this.lineStart;
          let end = j;
          if (this.lineCarried) {
            if (!this.finishCarriedLine(chunk, j, limit)) {
              return this.#failLine(chunk, j);
            }
            buf = this.scratch;
            start = 0;
            end = this.scratchLen;
          }
          // The CR before the LF is dropped, unless it is the line's first byte (see SkipSpace).
          if (end > start + 1 && buf[end - 1] === CR) end--;
          i = j + 1;
          if (end - start > this.maxControlLine) {
            return this.#fail(
              ParseFailure.MaxControlLine,
              this.#controlLineText(buf, start, end, 0),
            );
          }
          this.#state = State.OpStart;
          const next = this.#dispatchLine(buf, start, end, chunk, i);
          if (next === PAUSED) return i;
          if (next < 0) return -1;
          i = next;
          break;
        }
        case State.SkipLine: {
          while (i < len && chunk[i] !== LF) i++;
          if (i === len) return len;
          i++;
          this.#state = State.OpStart;
          if (this.#verb === Verb.Ping) this.#ops.onPing();
          else if (this.#verb === Verb.Pong) this.#ops.onPong();
          break;
        }
        case State.Payload: {
          i = this.fillPayload(chunk, i);
          if (this.msgHave === this.msgNeed) {
            const size = this.msgNeed - 2;
            if (!crlfAt(this.msgBuf, size)) {
              const lf = this.msgBuf[size] === CR ? 1 : 0;
              return this.#failAt(chunk, Math.max(0, i - 2 + lf), GO_MSG_END_R + lf);
            }
            this.#state = State.OpStart;
            this.#ops.onPub(this, this.msgBuf, 0, size);
            if (this.#failed) return -1;
          }
          break;
        }
      }
    }
    return this.#failed ? -1 : len;
  }

  /** Handles one complete control line. Returns the next chunk index, PAUSED or -1. */
  #dispatchLine(
    buf: Uint8Array,
    start: number,
    end: number,
    chunk: Uint8Array,
    next: number,
  ): number {
    switch (this.#verb) {
      case Verb.Pub:
      case Verb.Hpub:
        return this.#startPayload(buf, start, end, chunk, next);
      case Verb.Sub:
        this.#tokenizeSub(buf, start, end);
        if (this.argCount < 2 || this.argCount > 3) {
          return this.#failArgs(buf, start, end, "SUB", "processSub Parse Error");
        }
        this.#ops.onSub(this);
        return this.#failed ? -1 : next;
      case Verb.Unsub:
        this.#tokenizeSub(buf, start, end);
        if (this.argCount < 1 || this.argCount > 2) {
          return this.#failArgs(buf, start, end, "UNSUB", "processUnsub Parse Error");
        }
        this.#ops.onUnsub(this);
        return this.#failed ? -1 : next;
      case Verb.Connect:
        if (!this.#ops.onConnect(buf, start, end)) return this.#failed ? -1 : PAUSED;
        return this.#failed ? -1 : next;
      case Verb.Info:
        if (!this.#ops.onInfo(buf, start, end)) return this.#failed ? -1 : PAUSED;
        return this.#failed ? -1 : next;
      case Verb.Err:
        return this.#fail(
          ParseFailure.ClientError,
          `Client Error ${new TextDecoder().decode(buf.subarray(start, end))}`,
        );
      default:
        return next;
    }
  }

  /**
   * The PUB line from `at` (right after `PUB `), when it is whole in `chunk`
   * and of the usual shape: blanks, two or three tokens of bytes above space
   * separated by blanks, the size token's digits, CR LF, no longer than
   * max_control_line. Its tokens are taken in the scan that finds its end,
   * instead of finding the line feed first and splitting the line after.
   * Returns what {@link #startPayload} returns (the index after the payload,
   * or `chunk.length` when the payload goes on in later chunks; -1 when it
   * failed), or {@link NOT_WHOLE} having changed nothing but the argument
   * slots: the general states then read the same bytes, so any other shape
   * gets exactly their answer.
   */
  #wholePub(chunk: Uint8Array, at: number): number {
    const len = chunk.length;
    const argStart = this.argStart;
    const argEnd = this.argEnd;
    let i = at;
    let b = SPACE;
    while (i < len && ((b = chunk[i]) === SPACE || b === TAB)) i++;
    const lineStart = i;
    let n = 0;
    while (n < 3) {
      argStart[n] = i;
      while (i < len && (b = chunk[i]) > SPACE) i++;
      if (i === argStart[n]) return NOT_WHOLE; // not a token (CR, LF, a control byte, the end)
      argEnd[n++] = i;
      if (i === len) return NOT_WHOLE;
      if (b === CR) break;
      if (b !== SPACE && b !== TAB) return NOT_WHOLE;
      while (++i < len && ((b = chunk[i]) === SPACE || b === TAB));
    }
    // The line must end right after the last token with CR LF.
    if (n < 2 || i + 1 >= len || chunk[i] !== CR || chunk[i + 1] !== LF) return NOT_WHOLE;
    if (i - lineStart > this.maxControlLine) return NOT_WHOLE;
    this.argBuf = chunk;
    this.argCount = n;
    return this.#startPayload(chunk, lineStart, i, chunk, i + 2, true);
  }

  #startPayload(
    buf: Uint8Array,
    start: number,
    end: number,
    chunk: Uint8Array,
    next: number,
    tokenized = false,
  ): number {
    if (!tokenized) this.tokenize(buf, start, end);
    const n = this.argCount;
    const bad = (what: string) =>
      this.#verb === Verb.Pub
        ? this.#failArgs(buf, start, end, "PUB", `processPub ${what}`)
        : this.#failArgs(buf, start, end, "HPUB", `processHeaderPub ${what}`);
    if (this.#verb === Verb.Pub) {
      if (n < 2 || n > 3) return bad("Parse Error");
      this.pubReply = n === 3 ? 1 : -1;
      this.pubSizeArg = n - 1;
      this.pubHeaderSize = -1;
    } else {
      if (!this.headersAllowed) {
        this.failureLine = `HPUB ${new TextDecoder().decode(buf.subarray(start, end))}`;
        return this.#fail(ParseFailure.BadArguments, "message headers not supported");
      }
      if (n < 3 || n > 4) return bad("Parse Error");
      this.pubReply = n === 4 ? 1 : -1;
      this.pubSizeArg = n - 1;
      this.pubHeaderSize = this.parseSize(n - 2);
      if (this.pubHeaderSize < 0) return bad("Bad or Missing Header Size");
    }
    const size = this.parseSize(this.pubSizeArg);
    if (size < 0) {
      return bad(this.#verb === Verb.Pub ? "Bad or Missing Size" : "Bad or Missing Total Size");
    }
    if (this.pubHeaderSize > size) return bad("Header Size larger then TotalSize");
    if (size > this.maxPayload) {
      return this.#fail(
        ParseFailure.MaxPayload,
        `maximum payload exceeded: ${size} vs ${this.maxPayload}`,
      );
    }
    this.pubSize = size;
    if (this.pedantic) {
      this.#ops.onPedanticPub(this);
      if (this.#failed) return -1;
    }
    const need = size + 2;
    if (chunk.length - next >= need) {
      // The whole payload is in this chunk: hand it over without copying.
      if (!crlfAt(chunk, next + size)) {
        const lf = chunk[next + size] === CR ? 1 : 0;
        return this.#failAt(chunk, next + size + lf, GO_MSG_END_R + lf);
      }
      this.#ops.onPub(this, chunk, next, next + size);
      if (this.#failed) return -1;
      return this.#verb === Verb.Pub && this.argBuf === chunk && this.#opStart >= 0
        ? this.#repeats(chunk, next, need)
        : next + need;
    }
    // The payload crosses into later chunks: keep the arguments and gather it.
    this.beginPayload(chunk, next, need);
    this.#state = State.Payload;
    return chunk.length;
  }

  /**
   * After a PUB read whole from `chunk` (its line at {@link #opStart}, its
   * payload at `next`): hands the PUBs right behind it whose line is the same
   * bytes to {@link ClientOps.onPubRun} in one call. A publisher mostly
   * repeats its subject and often its size; an identical line parses to the
   * same arguments, so only the line's bytes and the payload's CR LF are
   * checked per message. Returns the index after the last PUB taken.
   */
  #repeats(chunk: Uint8Array, next: number, need: number): number {
    const after = next + need;
    const ops = this.#ops;
    if (ops.onPubRun === undefined || this.pedantic) return after;
    // A publisher cycling through subjects has no runs: after RUN_TRIES checks
    // in a row found none, only every RUN_PROBE-th PUB is checked (a run of
    // more than RUN_PROBE lines is still taken, from its next checked line on).
    const misses = this.#runMisses;
    if (misses >= RUN_TRIES) {
      this.#runMisses = misses + 1 === RUN_TRIES + RUN_PROBE ? RUN_TRIES : misses + 1;
      if (misses !== RUN_TRIES) return after;
    }
    const lineLen = next - this.#opStart;
    const stride = lineLen + need;
    const count = countRepeats(chunk, this.#opStart, lineLen, stride, after);
    if (count === 0) {
      if (misses < RUN_TRIES) this.#runMisses = misses + 1;
      return after;
    }
    this.#runMisses = 0;
    ops.onPubRun(this, chunk, after + lineLen, stride, count);
    return this.#failed ? -1 : after + count * stride;
  }

  /** True after a fatal parse error (the connection is being closed). */
  get failed(): boolean {
    return this.#failed;
  }

  /**
   * SUB and UNSUB arguments are split at CR and LF too, not only at spaces and
   * tabs, as nats-server does for them (but not for PUB): "UNSUB \r" has no sid.
   */
  #tokenizeSub(buf: Uint8Array, start: number, end: number): void {
    this.argBuf = buf;
    let n = 0;
    let i = start;
    while (i < end) {
      // The separators are all below `!`: a byte above SPACE needs no call.
      while (i < end && buf[i] <= SPACE && isSubSeparator(buf[i])) i++;
      if (i >= end) break;
      if (n === MAX_ARGS) {
        n++; // more than SUB or UNSUB take: reported as a bad count
        break;
      }
      this.argStart[n] = i;
      while (i < end && (buf[i] > SPACE || !isSubSeparator(buf[i]))) i++;
      this.argEnd[n++] = i;
    }
    this.argCount = n;
  }

  /** `-ERR 'Unknown Protocol Operation'` at byte `i`, described as nats-server's parser does. */
  #failAt(chunk: Uint8Array, i: number, goState: number): number {
    return this.#fail(
      ParseFailure.UnknownOp,
      `Client parser ERROR, state=${goState}, i=${i}: proto='${protoSnippet(chunk, i, 32)}...'`,
    );
  }

  /** A control line that grew past max_control_line while still incomplete. */
  #failLine(chunk: Uint8Array, end = chunk.length): number {
    const start = this.lineCarried ? 0 : this.lineStart;
    const buf = this.lineCarried ? this.scratch : chunk;
    const stop = this.lineCarried ? this.scratchLen : end;
    const text = this.#controlLineText(buf, start, stop, stop - start);
    return this.#fail(ParseFailure.MaxControlLine, text);
  }

  #controlLineText(buf: Uint8Array, start: number, end: number, held: number): string {
    const snip = goQuoteBytes(buf, start, Math.min(end, start + 128));
    return `maximum control line exceeded: State ${goArgState(this.#verb)}, ` +
      `max_control_line ${this.maxControlLine}, Buffer len ${held} (snip: ${snip}...)`;
  }

  /** Wrong arguments on a complete line: nats-server traces the line, then logs `<what>: "<args>"`. */
  #failArgs(buf: Uint8Array, start: number, end: number, verb: string, what: string): number {
    this.failureLine = `${verb} ${new TextDecoder().decode(buf.subarray(start, end))}`;
    return this.#fail(ParseFailure.BadArguments, `${what}: ${goQuoteBytes(buf, start, end)}`);
  }

  #fail(failure: ParseFailure, detail = ""): number {
    this.failureDetail = detail;
    this.#failed = true;
    this.#ops.onError(failure);
    return -1;
  }
}

/** nats-server's parser state numbers, which its parse error line shows. */
const GO_MSG_END_R = 41;
/** The first state of each verb's letters (`OP_P`, `OP_H`, ...), then its argument state. */
const GO_VERB_STATES: Record<Verb, [first: number, arg: number]> = {
  [Verb.Pub]: [29, 33],
  [Verb.Hpub]: [18, 23],
  [Verb.Sub]: [43, 47],
  [Verb.Unsub]: [59, 65],
  [Verb.Connect]: [10, 17],
  [Verb.Info]: [71, 75],
  [Verb.Ping]: [34, 0],
  [Verb.Pong]: [37, 0],
  [Verb.Ok]: [1, 0],
  [Verb.Err]: [4, 9],
};

/** nats-server's state after `matched` letters of `verb` (PING and PONG share `OP_P`). */
function goVerbState(verb: Verb, matched: number): number {
  if ((verb === Verb.Ping || verb === Verb.Pong) && matched === 1) return 29;
  const first = GO_VERB_STATES[verb][0];
  return verb === Verb.Ping || verb === Verb.Pong ? first + matched - 2 : first + matched - 1;
}

function goArgState(verb: Verb): number {
  return GO_VERB_STATES[verb][1];
}

/** Up to `max` bytes from `i`, quoted, cut as nats-server cuts them (one byte short at the end). */
function protoSnippet(buf: Uint8Array, i: number, max: number): string {
  if (i >= buf.length) return '""';
  const stop = i + max > buf.length ? buf.length - 1 : i + max;
  return goQuoteBytes(buf, i, Math.max(i, stop));
}

/** Sentinel from #dispatchLine: onConnect asked to pause. */
const PAUSED = -2;
/** From #wholePub: parsing failed. */
const FAILED = -1;
/** From #wholePub: not a PUB line it takes; the general states read it. */
const NOT_WHOLE = -3;

function isSubSeparator(b: number): boolean {
  return b === SPACE || b === TAB || b === CR || b === LF;
}

function firstLetterVerb(b: number): number {
  switch (b | LOWER) {
    case 0x70: // p: PUB, PING or PONG, decided by the next letter
      return Verb.Pub;
    case 0x68:
      return Verb.Hpub;
    case 0x73:
      return Verb.Sub;
    case 0x75:
      return Verb.Unsub;
    case 0x63:
      return Verb.Connect;
    case 0x69:
      return Verb.Info;
  }
  if (b === 0x2b) return Verb.Ok;
  if (b === 0x2d) return Verb.Err;
  return -1;
}
