/**
 * Byte-level reader of the server -> client stream for the load generator.
 *
 * It frames `MSG` deliveries by their size field and jumps over payloads, so a
 * subscriber can count millions of messages a second without decoding text.
 * Lines and payloads may be split anywhere across reads.
 *
 * @module
 */

const LF = 10;
const CR = 13;
const SPACE = 32;
const ZERO = 48;
const CHAR_M = 77;
const CHAR_H = 72;
const CHAR_P = 80;
const CHAR_I = 73;
const CHAR_MINUS = 45;

/** Digits of the sequence number a publisher writes at the start of each payload. */
export const SEQ_DIGITS = 10;

/** What a scanner does besides counting. */
export interface ScannerOptions {
  /** Count only messages with this payload size in `count`; others go to `other`. */
  payloadSize?: number;
  /**
   * Per-sequence delivery counters (saturating at 255). The sequence is the
   * decimal number in the first {@link SEQ_DIGITS} payload bytes.
   */
  seqCounts?: Uint8Array;
  /**
   * Called with the whole `MSG` control line (without CRLF) before its payload,
   * for the responder, which needs the reply subject.
   */
  onMsgLine?: (line: Uint8Array) => void;
}

const decoder = new TextDecoder();

/** Incremental scanner: feed it every chunk read from the socket, in order. */
export class MsgScanner {
  /** Messages delivered (matching `payloadSize` when set). */
  count = 0;
  /** Messages with another payload size (probes). */
  other = 0;
  /** PONGs received. */
  pongs = 0;
  /** PINGs received that still need a PONG. */
  pings = 0;
  /** `-ERR` lines, decoded (rare, so decoding is fine). */
  readonly errors: string[] = [];

  readonly #opts: ScannerOptions;
  /** Partial control line carried over from the previous chunk. */
  #line = new Uint8Array(4096);
  #lineLen = 0;
  /** Payload bytes plus CRLF still to skip. */
  #skip = 0;
  #payloadLen = 0;
  #payloadPos = 0;
  #seq = 0;

  constructor(opts: ScannerOptions = {}) {
    this.#opts = opts;
  }

  /** Scans `buf[0..n)`. */
  feed(buf: Uint8Array, n: number): void {
    const view = n === buf.length ? buf : buf.subarray(0, n);
    let i = 0;
    while (i < n) {
      if (this.#skip > 0) {
        const take = Math.min(this.#skip, n - i);
        if (
          this.#opts.seqCounts !== undefined && this.#payloadPos < SEQ_DIGITS &&
          this.#payloadPos < this.#payloadLen
        ) {
          // Only the first digits matter; they may straddle two reads.
          const digits = Math.min(SEQ_DIGITS, this.#payloadLen) - this.#payloadPos;
          const end = Math.min(i + take, i + digits);
          for (let k = i; k < end; k++) this.#seq = this.#seq * 10 + (view[k]! - ZERO);
        }
        this.#payloadPos += take;
        this.#skip -= take;
        i += take;
        if (this.#skip === 0) this.#finishMsg();
        continue;
      }
      const nl = view.indexOf(LF, i);
      if (nl < 0) {
        this.#carry(view, i, n);
        return;
      }
      if (this.#lineLen > 0) {
        this.#carry(view, i, nl + 1);
        this.#parseLine(this.#line, 0, this.#lineLen - 1);
        this.#lineLen = 0;
      } else {
        this.#parseLine(view, i, nl);
      }
      i = nl + 1;
    }
  }

  #carry(src: Uint8Array, from: number, to: number): void {
    const need = this.#lineLen + (to - from);
    if (need > this.#line.length) {
      const bigger = new Uint8Array(Math.max(need, this.#line.length * 2));
      bigger.set(this.#line.subarray(0, this.#lineLen));
      this.#line = bigger;
    }
    this.#line.set(src.subarray(from, to), this.#lineLen);
    this.#lineLen = need;
  }

  /** `buf[start..lf)` is one control line; `lf` is the index of its LF. */
  #parseLine(buf: Uint8Array, start: number, lf: number): void {
    let end = lf;
    if (end > start && buf[end - 1] === CR) end--;
    const c = buf[start];
    if (c === CHAR_M || c === CHAR_H) {
      // MSG <subject> <sid> [reply] <size>, or HMSG ... <header size> <total size>:
      // the size to skip is the last token.
      let k = end - 1;
      let size = 0;
      let mul = 1;
      while (k > start && buf[k] !== SPACE) {
        size += (buf[k]! - ZERO) * mul;
        mul *= 10;
        k--;
      }
      if (this.#opts.onMsgLine !== undefined) this.#opts.onMsgLine(buf.subarray(start, end));
      this.#payloadLen = size;
      this.#payloadPos = 0;
      this.#seq = 0;
      this.#skip = size + 2;
    } else if (c === CHAR_P) {
      // PING or PONG: the second letter after "P" tells them apart.
      if (buf[start + 1] === 73) this.pings++;
      else this.pongs++;
    } else if (c === CHAR_MINUS) {
      this.#error(decoder.decode(buf.subarray(start, end)));
    } else if (c !== CHAR_I && c !== 43 /* +OK */ && end > start) {
      this.#error(`unexpected line: ${decoder.decode(buf.subarray(start, end))}`);
    }
  }

  /** Keeps the first few errors only: a broken stream must not fill memory. */
  #error(text: string): void {
    if (this.errors.length < 20) this.errors.push(text);
  }

  #finishMsg(): void {
    const want = this.#opts.payloadSize;
    if (want !== undefined && this.#payloadLen !== want) {
      this.other++;
      return;
    }
    this.count++;
    const seqs = this.#opts.seqCounts;
    if (seqs !== undefined) {
      if (this.#seq < seqs.length) {
        const seen = seqs[this.#seq]!;
        if (seen < 255) seqs[this.#seq] = seen + 1;
      } else {
        this.#error(`sequence out of range: ${this.#seq}`);
      }
    }
  }
}
