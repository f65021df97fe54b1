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
import { CR, DIGIT_0, DIGIT_9, LF, LOWER, SPACE, TAB } from "./chars.ts";

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
  /** SUB; arguments are `parser.argBuf` tokens 0..argCount-1. */
  onSub(parser: ClientParser): void;
  /** UNSUB; arguments as for onSub. */
  onUnsub(parser: ClientParser): void;
  onPing(): void;
  onPong(): void;
  /** A client-sent INFO: parsed and ignored by nats-server. */
  onInfo(buf: Uint8Array, start: number, end: number): void;
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
  return verb <= Verb.Info || verb === Verb.Err;
}

const MAX_ARGS = 8;

export class ClientParser {
  /** Buffer the current control line's tokens point into (chunk or scratch). */
  argBuf: Uint8Array = new Uint8Array(0);
  readonly argStart: Int32Array = new Int32Array(MAX_ARGS);
  readonly argEnd: Int32Array = new Int32Array(MAX_ARGS);
  argCount = 0;

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

  #ops: ClientOps;
  #state = State.OpStart;
  #verb = Verb.Pub;
  #verbPos = 0;
  /** Start of the argument text in the current chunk (when not spilled). */
  #lineStart = 0;
  /** Partial control line carried over from an earlier chunk. */
  #scratch: Uint8Array;
  #scratchLen = 0;
  #spilled = false;
  /** Payload being assembled across chunks. */
  #msgBuf: Uint8Array = new Uint8Array(0);
  #msgHave = 0;
  #msgNeed = 0;
  #failed = false;

  constructor(ops: ClientOps, limits: { maxControlLine: number; maxPayload: number }) {
    this.#ops = ops;
    this.maxControlLine = limits.maxControlLine;
    this.maxPayload = limits.maxPayload;
    this.#scratch = new Uint8Array(Math.min(limits.maxControlLine + 64, 1024));
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
            this.#state = State.SkipSpace;
            i += 4;
            break;
          }
          const verb = firstLetterVerb(b);
          if (verb < 0) return this.#fail(ParseFailure.UnknownOp);
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
          if (lower !== bytes[this.#verbPos]) return this.#fail(ParseFailure.UnknownOp);
          i++;
          if (++this.#verbPos === bytes.length) {
            this.#state = takesArguments(this.#verb) ? State.VerbSpace : State.SkipLine;
          }
          break;
        }
        case State.VerbSpace:
          if (b !== SPACE && b !== TAB) return this.#fail(ParseFailure.UnknownOp);
          this.#state = State.SkipSpace;
          i++;
          break;
        case State.SkipSpace:
          if (b === SPACE || b === TAB) {
            i++;
            break;
          }
          this.#state = State.Arg;
          this.#lineStart = i;
          this.#spilled = false;
          break;
        case State.Arg: {
          // Byte loop, not indexOf: measurably faster for short lines.
          let j = i;
          while (j < len && chunk[j] !== LF) j++;
          if (j === len) {
            if (!this.#spill(chunk, this.#spilled ? 0 : this.#lineStart, len)) return -1;
            return len;
          }
          let buf: Uint8Array, start: number, end: number;
          if (this.#spilled) {
            if (!this.#appendScratch(chunk, 0, j)) return -1;
            buf = this.#scratch;
            start = 0;
            end = this.#scratchLen;
          } else {
            buf = chunk;
            start = this.#lineStart;
            end = j;
          }
          if (end > start && buf[end - 1] === CR) end--;
          i = j + 1;
          if (end - start > this.maxControlLine) return this.#fail(ParseFailure.MaxControlLine);
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
          const take = Math.min(this.#msgNeed - this.#msgHave, len - i);
          this.#msgBuf.set(chunk.subarray(i, i + take), this.#msgHave);
          this.#msgHave += take;
          i += take;
          if (this.#msgHave === this.#msgNeed) {
            const size = this.#msgNeed - 2;
            if (this.#msgBuf[size] !== CR || this.#msgBuf[size + 1] !== LF) {
              return this.#fail(ParseFailure.UnknownOp);
            }
            this.#state = State.OpStart;
            this.#ops.onPub(this, this.#msgBuf, 0, size);
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
        this.#tokenize(buf, start, end);
        if (this.argCount < 2 || this.argCount > 3) return this.#fail(ParseFailure.BadArguments);
        this.#ops.onSub(this);
        return this.#failed ? -1 : next;
      case Verb.Unsub:
        this.#tokenize(buf, start, end);
        if (this.argCount < 1 || this.argCount > 2) return this.#fail(ParseFailure.BadArguments);
        this.#ops.onUnsub(this);
        return this.#failed ? -1 : next;
      case Verb.Connect:
        if (!this.#ops.onConnect(buf, start, end)) return this.#failed ? -1 : PAUSED;
        return this.#failed ? -1 : next;
      case Verb.Info:
        this.#ops.onInfo(buf, start, end);
        return this.#failed ? -1 : next;
      case Verb.Err:
        return this.#fail(ParseFailure.ClientError);
      default:
        return next;
    }
  }

  #startPayload(
    buf: Uint8Array,
    start: number,
    end: number,
    chunk: Uint8Array,
    next: number,
  ): number {
    this.#tokenize(buf, start, end);
    const n = this.argCount;
    if (this.#verb === Verb.Pub) {
      if (n < 2 || n > 3) return this.#fail(ParseFailure.BadArguments);
      this.pubReply = n === 3 ? 1 : -1;
      this.pubSizeArg = n - 1;
      this.pubHeaderSize = -1;
    } else {
      if (!this.headersAllowed || n < 3 || n > 4) return this.#fail(ParseFailure.BadArguments);
      this.pubReply = n === 4 ? 1 : -1;
      this.pubSizeArg = n - 1;
      this.pubHeaderSize = this.#parseSize(n - 2);
      if (this.pubHeaderSize < 0) return this.#fail(ParseFailure.BadArguments);
    }
    const size = this.#parseSize(this.pubSizeArg);
    if (size < 0) return this.#fail(ParseFailure.BadArguments);
    if (this.pubHeaderSize > size) return this.#fail(ParseFailure.BadArguments);
    if (size > this.maxPayload) return this.#fail(ParseFailure.MaxPayload);
    this.pubSize = size;
    const need = size + 2;
    if (chunk.length - next >= need) {
      // The whole payload is in this chunk: hand it over without copying.
      if (chunk[next + size] !== CR || chunk[next + size + 1] !== LF) {
        return this.#fail(ParseFailure.UnknownOp);
      }
      this.#ops.onPub(this, chunk, next, next + size);
      return this.#failed ? -1 : next + need;
    }
    // The payload crosses into later chunks: keep the arguments and gather it.
    if (buf === chunk) this.#cloneArgs(buf, start, end);
    if (this.#msgBuf.length < need) this.#msgBuf = new Uint8Array(Math.max(need, 512));
    const have = chunk.length - next;
    this.#msgBuf.set(chunk.subarray(next), 0);
    this.#msgHave = have;
    this.#msgNeed = need;
    this.#state = State.Payload;
    return chunk.length;
  }

  /** Moves the current line into scratch so its tokens survive the chunk. */
  #cloneArgs(buf: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (this.#scratch.length < n) this.#scratch = new Uint8Array(n);
    this.#scratch.set(buf.subarray(start, end), 0);
    for (let k = 0; k < this.argCount; k++) {
      this.argStart[k] -= start;
      this.argEnd[k] -= start;
    }
    this.argBuf = this.#scratch;
  }

  #tokenize(buf: Uint8Array, start: number, end: number): void {
    this.argBuf = buf;
    let n = 0;
    let i = start;
    while (i < end) {
      let b = buf[i];
      while ((b === SPACE || b === TAB) && i < end) b = buf[++i];
      if (i >= end) break;
      if (n === MAX_ARGS) {
        n++; // more arguments than any verb takes: reported as a bad count
        break;
      }
      this.argStart[n] = i;
      while (i < end && (b = buf[i]) !== SPACE && b !== TAB) i++;
      this.argEnd[n++] = i;
    }
    this.argCount = n;
  }

  /** Decimal size token: 1-9 digits, else -1 (nats-server refuses longer ones). */
  #parseSize(arg: number): number {
    const s = this.argStart[arg];
    const e = this.argEnd[arg];
    if (e - s < 1 || e - s > 9) return -1;
    let v = 0;
    for (let k = s; k < e; k++) {
      const d = this.argBuf[k];
      if (d < DIGIT_0 || d > DIGIT_9) return -1;
      v = v * 10 + (d - DIGIT_0);
    }
    return v;
  }

  /** Carries a partial control line over to the next chunk. */
  #spill(chunk: Uint8Array, from: number, to: number): boolean {
    if (!this.#spilled) {
      this.#scratchLen = 0;
      this.#spilled = true;
    }
    return this.#appendScratch(chunk, from, to);
  }

  #appendScratch(chunk: Uint8Array, from: number, to: number): boolean {
    const n = to - from;
    // A line still arriving already longer than the limit (+1 for a CR) is refused now,
    // so a client cannot make us buffer without bound.
    if (this.#scratchLen + n > this.maxControlLine + 1) {
      this.#fail(ParseFailure.MaxControlLine);
      return false;
    }
    if (this.#scratchLen + n > this.#scratch.length) {
      const bigger = new Uint8Array(Math.max(this.#scratch.length * 2, this.#scratchLen + n));
      bigger.set(this.#scratch.subarray(0, this.#scratchLen));
      this.#scratch = bigger;
    }
    this.#scratch.set(chunk.subarray(from, to), this.#scratchLen);
    this.#scratchLen += n;
    return true;
  }

  #fail(failure: ParseFailure): number {
    this.#failed = true;
    this.#ops.onError(failure);
    return -1;
  }
}

/** Sentinel from #dispatchLine: onConnect asked to pause. */
const PAUSED = -2;

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
