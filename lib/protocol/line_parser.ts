/**
 * The byte-level machinery the client and the route parser share: splitting
 * a control line into argument offsets, reading decimal sizes, carrying a
 * partial control line over in scratch, and gathering a payload that crosses
 * into later chunks (nats-server `parser.go`: `argBuf`, `msgBuf`, `scratch`,
 * `clonePubArg`).
 *
 * It is a base class rather than a helper object on purpose: the state lives
 * on the parser itself, so the per-message path pays no extra indirection (a
 * composed helper measured 5-14% slower in a parser-only benchmark of 16-byte
 * PUBs). For the same reason each parser still scans for the line feed and
 * picks the finished line's buffer and bounds in locals; only the carrying
 * over (the cold part) is here.
 *
 * @module
 */
import { CR, DIGIT_0, DIGIT_9, LF, SPACE, TAB } from "./chars.ts";

/** Shared by every parser until it needs a buffer of its own (idle connections stay small). */
const EMPTY = new Uint8Array(0);

/** Limits a {@link LineParser} is built with. */
export interface LineLimits {
  /** Argument offset slots allocated up front. */
  argSlots: number;
  /**
   * Most arguments a line may carry. One more is counted (for the caller to
   * report as a bad count) but not recorded; above `argSlots` the slots grow.
   */
  maxArgs: number;
  /** Most digits in a size argument (nats-server refuses longer ones). */
  maxSizeDigits: number;
  /**
   * Scratch size allocated the first time a control line crosses chunks (none
   * before: most idle connections never need it).
   */
  scratchSize: number;
}

/** True when `buf[at]`, `buf[at + 1]` are CR LF, as after every payload. */
export function crlfAt(buf: Uint8Array, at: number): boolean {
  return buf[at] === CR && buf[at + 1] === LF;
}

/**
 * How many operations right from `at` in `chunk` repeat the one at `line`:
 * the same `lineLen` bytes of control line, then a payload ending in CR LF,
 * `stride` bytes each (line and payload). An identical line parses to the same
 * arguments, so the parsers hand such a run over in one call instead of
 * parsing each line (docs/performance.md, "Runs of identical lines").
 */
export function countRepeats(
  chunk: Uint8Array,
  line: number,
  lineLen: number,
  stride: number,
  at: number,
): number {
  const len = chunk.length;
  let count = 0;
  let j = at;
  while (j + stride <= len) {
    const end = j + stride;
    if (chunk[end - 2] !== CR || chunk[end - 1] !== LF) break;
    let k = 0;
    while (k < lineLen && chunk[j + k] === chunk[line + k]) k++;
    if (k < lineLen) break;
    count++;
    j = end;
  }
  return count;
}

/**
 * Argument tokens, line and payload buffers of a protocol parser; the
 * subclass owns the state machine and the verbs.
 *
 * Token `k` of the current line is `argBuf[argStart[k], argEnd[k])`.
 */
export abstract class LineParser {
  /** Buffer the current control line's tokens point into (chunk or scratch). */
  argBuf: Uint8Array = EMPTY;
  /** Start offsets; replaced when the slots grow, so read it afresh. */
  argStart: Int32Array;
  /** End offsets (exclusive). */
  argEnd: Int32Array;
  /** Tokens found, or `maxArgs + 1` when the line carried more. */
  argCount = 0;

  /** Start of the current line in the chunk it started in. */
  protected lineStart = 0;
  /** True once the current line crossed a chunk boundary: its start is in {@link scratch}. */
  protected lineCarried = false;
  /** Holds a control line that crosses chunks (`scratch[0, scratchLen)`). */
  protected scratch: Uint8Array = EMPTY;
  protected scratchLen = 0;
  /** Payload being gathered across chunks: `msgBuf[0, msgNeed - 2)` plus CR LF. */
  protected msgBuf: Uint8Array = EMPTY;
  protected msgHave = 0;
  protected msgNeed = 0;

  readonly #maxArgs: number;
  readonly #maxSizeDigits: number;
  readonly #scratchSize: number;

  /** @param limits argument slots and count, size digits, scratch size. */
  constructor(limits: LineLimits) {
    this.argStart = new Int32Array(limits.argSlots);
    this.argEnd = new Int32Array(limits.argSlots);
    this.#maxArgs = limits.maxArgs;
    this.#maxSizeDigits = limits.maxSizeDigits;
    this.#scratchSize = limits.scratchSize;
  }

  /**
   * Reads argument `arg` as a decimal size.
   *
   * @param arg token index
   * @returns the value, or -1 unless the token is 1 to `maxSizeDigits` digits
   */
  parseSize(arg: number): number {
    const s = this.argStart[arg];
    const e = this.argEnd[arg];
    if (e - s < 1 || e - s > this.#maxSizeDigits) return -1;
    let v = 0;
    for (let k = s; k < e; k++) {
      const d = this.argBuf[k];
      if (d < DIGIT_0 || d > DIGIT_9) return -1;
      v = v * 10 + (d - DIGIT_0);
    }
    return v;
  }

  /** Starts a control line at `at` in the current chunk. */
  protected beginLine(at: number): void {
    this.lineStart = at;
    this.lineCarried = false;
  }

  /**
   * The chunk ended inside the current line: keeps what there is of it.
   *
   * @param chunk the chunk being parsed
   * @param limit most bytes the scratch may hold for one line
   * @returns false when that would pass `limit`
   */
  protected carryLine(chunk: Uint8Array, limit: number): boolean {
    let from = 0;
    if (!this.lineCarried) {
      from = this.lineStart;
      this.scratchLen = 0;
      this.lineCarried = true;
    }
    return this.#appendScratch(chunk, from, chunk.length, limit);
  }

  /**
   * Completes a carried line in scratch with `chunk[0, lf)`.
   *
   * @param chunk the chunk the line feed is in
   * @param lf index of the line feed
   * @param limit most bytes the scratch may hold for one line
   * @returns false when that would pass `limit`
   */
  protected finishCarriedLine(chunk: Uint8Array, lf: number, limit: number): boolean {
    return this.#appendScratch(chunk, 0, lf, limit);
  }

  /** Splits `buf[start, end)` into {@link argStart}/{@link argEnd} at runs of spaces and tabs. */
  protected tokenize(buf: Uint8Array, start: number, end: number): void {
    this.argBuf = buf;
    let n = 0;
    let i = start;
    while (i < end) {
      let b = buf[i];
      while ((b === SPACE || b === TAB) && i < end) b = buf[++i];
      if (i >= end) break;
      if (n === this.#maxArgs) {
        n++; // more arguments than any verb takes: reported as a bad count
        break;
      }
      if (n === this.argStart.length) this.#growArgs();
      this.argStart[n] = i;
      while (i < end && (b = buf[i]) !== SPACE && b !== TAB) i++;
      this.argEnd[n++] = i;
    }
    this.argCount = n;
  }

  /**
   * Starts gathering a payload that does not fit in `chunk`: keeps the line's
   * arguments (the transport may reuse the chunk) and the payload so far.
   *
   * @param chunk the chunk being parsed
   * @param next index of the payload's first byte in `chunk`
   * @param need payload size + 2 (CR LF)
   */
  protected beginPayload(chunk: Uint8Array, next: number, need: number): void {
    if (this.argBuf === chunk) this.#cloneArgs();
    if (this.msgBuf.length < need) this.msgBuf = new Uint8Array(Math.max(need, 512));
    this.msgBuf.set(chunk.subarray(next), 0);
    this.msgHave = chunk.length - next;
    this.msgNeed = need;
  }

  /**
   * Takes as much of the payload as `chunk` holds from `i` on; it is whole
   * when `msgHave === msgNeed`.
   *
   * @returns the index after the bytes taken
   */
  protected fillPayload(chunk: Uint8Array, i: number): number {
    const take = Math.min(this.msgNeed - this.msgHave, chunk.length - i);
    this.msgBuf.set(chunk.subarray(i, i + take), this.msgHave);
    this.msgHave += take;
    return i + take;
  }

  /** Moves the tokens into scratch so they survive the chunk (callers checked there are some). */
  #cloneArgs(): void {
    const start = this.argStart[0];
    const end = this.argEnd[this.argCount - 1];
    const n = end - start;
    if (this.scratch.length < n) this.scratch = new Uint8Array(Math.max(n, this.#scratchSize));
    this.scratch.set(this.argBuf.subarray(start, end), 0);
    for (let k = 0; k < this.argCount; k++) {
      this.argStart[k] -= start;
      this.argEnd[k] -= start;
    }
    this.argBuf = this.scratch;
  }

  /** Route lines may name any number of queue groups. */
  #growArgs(): void {
    const start = new Int32Array(this.argStart.length * 2);
    const end = new Int32Array(this.argEnd.length * 2);
    start.set(this.argStart);
    end.set(this.argEnd);
    this.argStart = start;
    this.argEnd = end;
  }

  #appendScratch(chunk: Uint8Array, from: number, to: number, limit: number): boolean {
    const n = to - from;
    // A line still arriving already longer than the limit is refused now, so a
    // peer cannot make us buffer without bound.
    if (this.scratchLen + n > limit) return false;
    if (this.scratchLen + n > this.scratch.length) {
      const bigger = new Uint8Array(
        Math.max(this.scratch.length * 2, this.scratchLen + n, this.#scratchSize),
      );
      bigger.set(this.scratch.subarray(0, this.scratchLen));
      this.scratch = bigger;
    }
    this.scratch.set(chunk.subarray(from, to), this.scratchLen);
    this.scratchLen += n;
    return true;
  }
}
