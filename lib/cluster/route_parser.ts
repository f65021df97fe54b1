/**
 * The route protocol parser: a byte state machine over `Uint8Array` chunks,
 * built like lib/protocol/client_parser.ts but for the verbs servers speak to
 * each other (docs/architecture.md, "Protocol facts"): RS+/RS-/LS+/LS-, RMSG/HMSG/LMSG,
 * A+/A-, CONNECT, INFO, PING, PONG, +OK, -ERR.
 *
 * No strings are built here. Arguments are offsets into the chunk; a control
 * line or payload that crosses a chunk boundary is copied into a scratch
 * buffer. Routes have no max_control_line and no max_payload (nats-server does
 * not enforce them between servers), but a line still arriving past
 * {@link MAX_ROUTE_LINE} is refused so an unauthenticated peer cannot make us
 * buffer without bound.
 *
 * @module
 */
import { CR, LF, LOWER, SPACE, TAB } from "../protocol/chars.ts";
import { countRepeats, crlfAt, LineParser } from "../protocol/line_parser.ts";

/** Why parsing stopped for good. */
export const RouteParseFailure = {
  /** `-ERR 'Unknown Protocol Operation'` and close. */
  UnknownOp: 1,
  /** Wrong argument count or size: closed. */
  BadArguments: 2,
  /** A control line longer than {@link MAX_ROUTE_LINE}. */
  LineTooLong: 3,
} as const;
export type RouteParseFailure = typeof RouteParseFailure[keyof typeof RouteParseFailure];

/** Interest verbs, as passed to {@link RouteOps.onInterest}. */
export const InterestOp = {
  /** `RS+ <acc> <subject> [<queue> <weight>]` */
  RemoteAdd: 1,
  /** `RS- <acc> <subject> [<queue>]` */
  RemoteRemove: 2,
  /** `LS+ <origin> <acc> <subject> [<queue> <weight>]` */
  LeafAdd: 3,
  /** `LS- <acc> <subject> [<queue>]` */
  LeafRemove: 4,
  /** `A+` / `A-`: gateway-only, accepted and ignored on routes. */
  Account: 5,
} as const;
export type InterestOp = typeof InterestOp[keyof typeof InterestOp];

/** Longest control line accepted on a route (CONNECT/INFO with many URLs fit easily). */
export const MAX_ROUTE_LINE = 1024 * 1024;

/** The callbacks the parser drives; RouteConnection implements them. */
export interface RouteOps {
  /** `CONNECT <json>`. Return false to pause parsing (asynchronous auth check). */
  onConnect(buf: Uint8Array, start: number, end: number): boolean;
  /** `INFO <json>`. */
  onInfo(buf: Uint8Array, start: number, end: number): void;
  /** RS±/LS±/A±; arguments are tokens 0..argCount-1 of `parser.argBuf`. */
  onInterest(parser: RouteParser, op: InterestOp): void;
  /**
   * RMSG/HMSG/LMSG; arguments are in the parser's `msg*` fields, the payload is
   * `buf[start, end)` (offsets, so no view is made per message).
   */
  onMsg(parser: RouteParser, buf: Uint8Array, start: number, end: number): void;
  /**
   * Optional: `count` more messages whose control lines are byte for byte the
   * one just given to {@link onMsg}, one every `stride` bytes of `buf`,
   * payloads at `first`, `first + stride`, ... ({@link RouteParser.msgSize}
   * bytes each, their CR LF checked). The arguments still point at the first
   * line. Must act as `count` calls of {@link onMsg} would.
   */
  onMsgRun?(
    parser: RouteParser,
    buf: Uint8Array,
    first: number,
    stride: number,
    count: number,
  ): void;
  onPing(): void;
  onPong(): void;
  /** `-ERR <text>` from the peer: the text is `buf[start, end)`. */
  onPeerError(buf: Uint8Array, start: number, end: number): void;
  onError(failure: RouteParseFailure): void;
}

const enum State {
  OpStart,
  Line,
  Payload,
}

const enum Verb {
  None,
  RsAdd,
  RsDel,
  LsAdd,
  LsDel,
  Rmsg,
  Hmsg,
  Lmsg,
  AAdd,
  ADel,
  Connect,
  Info,
  Ping,
  Pong,
  Ok,
  Err,
}

/** Lower-case verb spellings and the verb each stands for. */
const VERBS: readonly [string, Verb][] = [
  ["rs+", Verb.RsAdd],
  ["rs-", Verb.RsDel],
  ["ls+", Verb.LsAdd],
  ["ls-", Verb.LsDel],
  ["rmsg", Verb.Rmsg],
  ["hmsg", Verb.Hmsg],
  ["lmsg", Verb.Lmsg],
  ["a+", Verb.AAdd],
  ["a-", Verb.ADel],
  ["connect", Verb.Connect],
  ["info", Verb.Info],
  ["ping", Verb.Ping],
  ["pong", Verb.Pong],
  ["+ok", Verb.Ok],
  ["-err", Verb.Err],
];
const VERB_BYTES = VERBS.map(([s, v]) => ({ verb: v, bytes: [...s].map((c) => c.charCodeAt(0)) }));

/** First bytes any route verb may start with (lower-cased): r l h a c i p + -. */
function validFirst(b: number): boolean {
  const l = b | LOWER;
  return l === 0x72 || l === 0x6c || l === 0x68 || l === 0x61 || l === 0x63 || l === 0x69 ||
    l === 0x70 || b === 0x2b || b === 0x2d;
}

const PLUS = 0x2b;
const PIPE = 0x7c;

/** Parses what a peer server sends on a route; see the module documentation. */
export class RouteParser extends LineParser {
  // Fields of the current RMSG/HMSG/LMSG, as token indexes (-1 = absent).
  msgOrigin = -1;
  msgAccount = 0;
  msgSubject = 1;
  msgReply = -1;
  /** Queue names are tokens msgQueueFirst..msgQueueEnd-1 (empty when equal). */
  msgQueueFirst = 0;
  msgQueueEnd = 0;
  /** Header size token (HMSG/LMSG), -1 for RMSG. */
  msgHdrArg = -1;
  msgHdrSize = -1;
  /** Total size token (echoed verbatim into MSG). */
  msgSizeArg = 0;
  msgSize = 0;

  /**
   * Leaf-connection framing: `LS+ <subject> [<queue> <weight>]`,
   * `LMSG <subject> ... <size>` and `HMSG <subject> ... <hdr> <size>`, with no
   * account (a leaf connection is bound to one) and no origin; msgAccount is -1.
   */
  readonly leaf: boolean;
  #ops: RouteOps;
  #state = State.OpStart;
  #verb = Verb.None;
  #failed = false;
  #stopped = false;

  constructor(ops: RouteOps, options: { leaf?: boolean } = {}) {
    super({
      argSlots: 16,
      maxArgs: 0x7fffffff, // RMSG lines may name any number of queue groups
      maxSizeDigits: 15, // no max_payload on routes
      scratchSize: 1024,
    });
    this.#ops = ops;
    this.leaf = options.leaf === true;
  }

  /** Makes every later `parse()` return at once (the connection closed). */
  stop(): void {
    this.#stopped = true;
  }

  /**
   * Feeds one chunk. Returns the index where parsing stopped: `chunk.length`
   * normally, less when `onConnect` paused it (the caller keeps the rest), or
   * -1 after a fatal error or `stop()`.
   */
  parse(chunk: Uint8Array): number {
    if (this.#failed || this.#stopped) return -1;
    const len = chunk.length;
    let i = 0;
    while (i < len) {
      if (this.#stopped) return -1;
      switch (this.#state) {
        case State.OpStart: {
          const b = chunk[i];
          if (b === CR || b === LF) {
            // Tolerate stray line ends between operations.
            i++;
            break;
          }
          if (!validFirst(b)) return this.#fail(RouteParseFailure.UnknownOp);
          this.#state = State.Line;
          this.beginLine(i);
          break;
        }
        case State.Line: {
          // Byte loop, not indexOf: measurably faster for short lines.
          let j = i;
          while (j < len && chunk[j] !== LF) j++;
          const limit = MAX_ROUTE_LINE;
          if (j === len) {
            return this.carryLine(chunk, limit) ? len : this.#fail(RouteParseFailure.LineTooLong);
          }
          // Locals, not fields, for the finished line: measurably faster per message.
          let buf = chunk;
          let start = this.lineStart;
          let end = j;
          if (this.lineCarried) {
            if (!this.finishCarriedLine(chunk, j, limit)) {
              return this.#fail(RouteParseFailure.LineTooLong);
            }
            buf = this.scratch;
            start = 0;
            end = this.scratchLen;
          }
          if (end > start && buf[end - 1] === CR) end--;
          i = j + 1;
          this.#state = State.OpStart;
          const next = this.#dispatchLine(buf, start, end, chunk, i);
          if (next === PAUSED) return i;
          if (next < 0) return -1;
          i = next;
          break;
        }
        case State.Payload: {
          i = this.fillPayload(chunk, i);
          if (this.msgHave === this.msgNeed) {
            const size = this.msgNeed - 2;
            if (!crlfAt(this.msgBuf, size)) return this.#fail(RouteParseFailure.UnknownOp);
            this.#state = State.OpStart;
            this.#ops.onMsg(this, this.msgBuf, 0, size);
            if (this.#failed || this.#stopped) return -1;
          }
          break;
        }
      }
    }
    return this.#failed || this.#stopped ? -1 : len;
  }

  /** Handles one complete control line. Returns the next chunk index, PAUSED or -1. */
  #dispatchLine(
    buf: Uint8Array,
    start: number,
    end: number,
    chunk: Uint8Array,
    next: number,
  ): number {
    let v = start;
    while (v < end && buf[v] !== SPACE && buf[v] !== TAB) v++;
    const verb = matchVerb(buf, start, v);
    if (verb === Verb.None) return this.#fail(RouteParseFailure.UnknownOp);
    this.#verb = verb;
    let a = v;
    while (a < end && (buf[a] === SPACE || buf[a] === TAB)) a++;
    const ops = this.#ops;
    switch (verb) {
      case Verb.Rmsg:
      case Verb.Hmsg:
      case Verb.Lmsg:
        return this.#startPayload(buf, a, end, chunk, next);
      case Verb.RsAdd:
      case Verb.RsDel:
      case Verb.LsAdd:
      case Verb.LsDel:
      case Verb.AAdd:
      case Verb.ADel:
        this.tokenize(buf, a, end);
        if (this.argCount < 1) return this.#fail(RouteParseFailure.BadArguments);
        ops.onInterest(this, interestOp(verb));
        break;
      case Verb.Connect:
        if (!ops.onConnect(buf, a, end)) return this.#failed || this.#stopped ? -1 : PAUSED;
        break;
      case Verb.Info:
        ops.onInfo(buf, a, end);
        break;
      case Verb.Ping:
        ops.onPing();
        break;
      case Verb.Pong:
        ops.onPong();
        break;
      case Verb.Err:
        ops.onPeerError(buf, a, end);
        break;
      default:
        break;
    }
    return this.#failed || this.#stopped ? -1 : next;
  }

  #startPayload(
    buf: Uint8Array,
    start: number,
    end: number,
    chunk: Uint8Array,
    next: number,
  ): number {
    this.tokenize(buf, start, end);
    if (!this.#msgArgs()) return this.#fail(RouteParseFailure.BadArguments);
    const size = this.msgSize;
    const need = size + 2;
    if (chunk.length - next >= need) {
      // The whole payload is in this chunk: hand it over without copying.
      if (!crlfAt(chunk, next + size)) return this.#fail(RouteParseFailure.UnknownOp);
      const ops = this.#ops;
      ops.onMsg(this, chunk, next, next + size);
      if (this.#failed || this.#stopped) return -1;
      const after = next + need;
      // A run of the same line right behind it (see countRepeats).
      if (ops.onMsgRun === undefined || this.argBuf !== chunk) return after;
      const lineLen = next - this.lineStart;
      const stride = lineLen + need;
      const count = countRepeats(chunk, this.lineStart, lineLen, stride, after);
      if (count === 0) return after;
      ops.onMsgRun(this, chunk, after + lineLen, stride, count);
      return this.#failed || this.#stopped ? -1 : after + count * stride;
    }
    // The payload crosses into later chunks: keep the arguments and gather it.
    this.beginPayload(chunk, next, need);
    this.#state = State.Payload;
    return chunk.length;
  }

  /**
   * Splits RMSG/HMSG/LMSG tokens into fields:
   * `[origin] <acc> <subject> [<reply> | + <reply> <q>... | \| <q>...] [<hdr>] <size>`.
   */
  #msgArgs(): boolean {
    const n = this.argCount;
    if (this.leaf) return this.#leafMsgArgs(n);
    let first = 0;
    if (this.#verb === Verb.Lmsg) {
      this.msgOrigin = 0;
      first = 1;
    } else {
      this.msgOrigin = -1;
    }
    const withHeader = this.#verb !== Verb.Rmsg;
    const sizes = withHeader ? 2 : 1;
    if (n < first + 2 + sizes) return false;
    this.msgAccount = first;
    this.msgSubject = first + 1;
    this.msgSizeArg = n - 1;
    this.msgHdrArg = withHeader ? n - 2 : -1;
    const midStart = first + 2;
    const midEnd = n - sizes;
    this.msgReply = -1;
    this.msgQueueFirst = this.msgQueueEnd = 0;
    if (midEnd > midStart) {
      const marker = this.#singleByte(midStart);
      if (marker === PLUS) {
        if (midEnd - midStart < 2) return false;
        this.msgReply = midStart + 1;
        this.msgQueueFirst = midStart + 2;
        this.msgQueueEnd = midEnd;
      } else if (marker === PIPE) {
        this.msgQueueFirst = midStart + 1;
        this.msgQueueEnd = midEnd;
      } else if (midEnd - midStart === 1) {
        this.msgReply = midStart;
      } else {
        return false;
      }
    }
    this.msgSize = this.parseSize(this.msgSizeArg);
    if (this.msgSize < 0) return false;
    this.msgHdrSize = withHeader ? this.parseSize(this.msgHdrArg) : -1;
    if (withHeader && (this.msgHdrSize < 0 || this.msgHdrSize > this.msgSize)) return false;
    return true;
  }

  /** Leaf framing: `<subject> [<reply> | + <reply> <q>... | \| <q>...] [<hdr>] <size>`. */
  #leafMsgArgs(n: number): boolean {
    if (this.#verb === Verb.Rmsg) return false;
    const withHeader = this.#verb === Verb.Hmsg;
    const sizes = withHeader ? 2 : 1;
    if (n < 1 + sizes) return false;
    this.msgOrigin = -1;
    this.msgAccount = -1;
    this.msgSubject = 0;
    this.msgSizeArg = n - 1;
    this.msgHdrArg = withHeader ? n - 2 : -1;
    const midEnd = n - sizes;
    this.msgReply = -1;
    this.msgQueueFirst = this.msgQueueEnd = 0;
    if (midEnd > 1) {
      const marker = this.#singleByte(1);
      if (marker === PLUS) {
        if (midEnd < 3) return false;
        this.msgReply = 2;
        this.msgQueueFirst = 3;
        this.msgQueueEnd = midEnd;
      } else if (marker === PIPE) {
        this.msgQueueFirst = 2;
        this.msgQueueEnd = midEnd;
      } else if (midEnd === 2) {
        this.msgReply = 1;
      } else {
        return false;
      }
    }
    this.msgSize = this.parseSize(this.msgSizeArg);
    if (this.msgSize < 0) return false;
    this.msgHdrSize = withHeader ? this.parseSize(this.msgHdrArg) : -1;
    if (withHeader && (this.msgHdrSize < 0 || this.msgHdrSize > this.msgSize)) return false;
    return true;
  }

  /** The byte of a one-byte token, else -1. */
  #singleByte(arg: number): number {
    const s = this.argStart[arg];
    return this.argEnd[arg] - s === 1 ? this.argBuf[s] : -1;
  }

  #fail(failure: RouteParseFailure): number {
    this.#failed = true;
    this.#ops.onError(failure);
    return -1;
  }
}

/** Sentinel from #dispatchLine: onConnect asked to pause. */
const PAUSED = -2;

function matchVerb(buf: Uint8Array, start: number, end: number): Verb {
  const n = end - start;
  outer: for (let k = 0; k < VERB_BYTES.length; k++) {
    const { verb, bytes } = VERB_BYTES[k];
    if (bytes.length !== n) continue;
    for (let i = 0; i < n; i++) {
      const b = buf[start + i];
      // Letters compare case-insensitively; '+' and '-' must match exactly.
      const c = bytes[i] >= 0x61 ? b | LOWER : b;
      if (c !== bytes[i]) continue outer;
    }
    return verb;
  }
  return Verb.None;
}

function interestOp(verb: Verb): InterestOp {
  switch (verb) {
    case Verb.RsAdd:
      return InterestOp.RemoteAdd;
    case Verb.RsDel:
      return InterestOp.RemoteRemove;
    case Verb.LsAdd:
      return InterestOp.LeafAdd;
    case Verb.LsDel:
      return InterestOp.LeafRemove;
    default:
      return InterestOp.Account;
  }
}
