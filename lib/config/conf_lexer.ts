/**
 * Lexer for the NATS configuration language (the `nats-server.conf` format).
 *
 * The language has no formal grammar: nats-server's behaviour is the spec, and
 * it has many quirks (a `]` glued to a number becomes part of a string, a top
 * level `}` is a key, `1e5` is the integer `1e` followed by garbage...). To
 * reproduce them faithfully this lexer is a state machine in the same spirit
 * as nats-server's: every state consumes characters and returns the next
 * state, and a small stack remembers where to go back after a value.
 *
 * Tokens are pulled one at a time with {@linkcode ConfLexer.next} so that the
 * parser reports errors in the same order as nats-server (a missing variable
 * on line 2 wins over a syntax error on line 9).
 *
 * This file holds the lexer and its structural states (top level, keys,
 * maps, arrays, includes, comments); the states that lex one scalar value
 * are in conf_lex_scalars.ts, the tokens and character classes in
 * conf_tokens.ts.
 *
 * @module
 */
import {
  ConfLexError,
  type ConfToken,
  EOF,
  isDigit,
  isKeySeparator,
  isNewline,
  isSpace,
  isWhitespace,
  type Lexer,
  rawChar,
  type State,
  TokenKind,
} from "./conf_tokens.ts";
import {
  lexBlock,
  lexDoubleQuoted,
  lexNegNumberStart,
  lexNumberOrDateOrStringOrIPStart,
  lexSingleQuoted,
  lexString,
} from "./conf_lex_scalars.ts";

/** Pull-based lexer over one configuration text. */
export class ConfLexer implements Lexer {
  readonly input: string;
  /** Start of the token being built. */
  start = 0;
  /** Next character to read. */
  pos = 0;
  /** Width of the last character read (0 at EOF) so `backup` can undo it. */
  #width = 0;
  /** Current line (1-based) at `pos`. */
  line = 1;
  #state: State | null = lexTop;
  #stack: State[] = [];
  #queue: ConfToken[] = [];
  /** {@linkcode ConfLexer.#newlineBefore}: input before this offset has been scanned... */
  #nlScannedTo = 0;
  /** ...and this is the last '\n' in it (0 when none, as nats-server counts columns). */
  #nlLast = 0;
  /** Pieces of a string with escapes, collected before the final emit. */
  #parts: string[] = [];
  /** The string state to resume after an escape sequence. */
  stringState: State = lexString;

  constructor(input: string) {
    this.input = input;
  }

  /**
   * Returns the next token; after the input is exhausted it keeps returning EOF.
   * @throws {ConfLexError} on a syntax error.
   */
  next(): ConfToken {
    // Bounded: every state either consumes input or emits/pops; the guard
    // protects against a state bug turning into a hang.
    let guard = (this.input.length + 16) * 8;
    while (this.#queue.length === 0) {
      if (this.#state === null || guard-- <= 0) {
        return { kind: TokenKind.EOF, text: "", line: this.line, col: this.#colOf(this.pos) };
      }
      this.#state = this.#state(this);
    }
    return this.#queue.shift()!;
  }

  // --- primitives used by the states

  read(): string {
    if (this.pos >= this.input.length) {
      this.#width = 0;
      return EOF;
    }
    const c = this.input[this.pos]!;
    this.#width = 1;
    this.pos += 1;
    if (c === "\n") this.line += 1;
    // nats-server's lexer uses rune 0 as its end-of-input mark, so a NUL byte
    // reads as EOF there (one character wide: "Unexpected EOF." mid-file).
    if (c === "\0") return EOF;
    return c;
  }

  backup(): void {
    this.pos -= this.#width;
    if (this.#width === 1 && this.input[this.pos] === "\n") this.line -= 1;
  }

  peek(): string {
    const c = this.read();
    this.backup();
    return c;
  }

  ignore(): void {
    this.start = this.pos;
  }

  push(state: State): void {
    this.#stack.push(state);
  }

  pop(): State | null {
    return this.#stack.pop() ?? null;
  }

  emit(kind: TokenKind, text?: string): void {
    const value = text ?? this.input.slice(this.start, this.pos);
    this.#queue.push({
      kind,
      text: value,
      line: this.#lineOf(this.start),
      col: this.#colOf(this.start),
    });
    this.start = this.pos;
  }

  /** Emits a string token made of the escaped pieces plus the raw tail. */
  emitString(kind: TokenKind = TokenKind.String): void {
    const tail = this.input.slice(this.start, this.pos);
    const text = this.#parts.length > 0 ? this.#parts.join("") + tail : tail;
    this.#parts = [];
    this.emit(kind, text);
  }

  hasEscapedParts(): boolean {
    return this.#parts.length > 0;
  }

  /** Keeps the raw text read so far minus the last `dropTail` characters (the backslash). */
  addCurrentStringPart(dropTail: number): void {
    this.#parts.push(this.input.slice(this.start, this.pos - dropTail));
    this.start = this.pos;
  }

  addStringPart(s: string): void {
    this.#parts.push(s);
    this.start = this.pos;
  }

  /**
   * The input ended: "Unexpected EOF." when a token was begun (a key or
   * quoted string left open), else the EOF token, as nats-server.
   */
  endOfInput(): null {
    if (this.pos > this.start) this.fail("Unexpected EOF.");
    this.emit(TokenKind.EOF);
    return null;
  }

  fail(reason: string): never {
    throw new ConfLexError(this.line, reason);
  }

  current(): string {
    return this.input.slice(this.start, this.pos);
  }

  #lineOf(offset: number): number {
    // Count back the newlines between the token start and the cursor.
    let line = this.line;
    for (let i = Math.min(this.pos, this.input.length) - 1; i >= offset; i--) {
      if (this.input[i] === "\n") line -= 1;
    }
    return line;
  }

  #colOf(offset: number): number {
    // nats-server: offset minus the offset of the previous '\n' (0 on line 1).
    return offset - this.#newlineBefore(offset);
  }

  /**
   * Offset of the last '\n' before `offset` (0 when there is none). Tokens
   * come in source order, so the scan resumes where the previous one stopped:
   * a plain lastIndexOf would rescan a long line for every token on it
   * (quadratic: 100,000 nested `{` on one line took a minute).
   */
  #newlineBefore(offset: number): number {
    if (offset < this.#nlScannedTo) {
      const nl = this.input.lastIndexOf("\n", offset - 1);
      return nl < 0 ? 0 : nl;
    }
    let nl = this.#nlLast;
    for (let i = this.#nlScannedTo; i < offset; i++) {
      if (this.input.charCodeAt(i) === 10) nl = i;
    }
    this.#nlScannedTo = offset;
    this.#nlLast = nl;
    return nl;
  }
}

// --- states -----------------------------------------------------------------

function skipTo(lx: Lexer, next: State): State {
  lx.ignore();
  return next;
}

/** Looks for `//` after a `/` was read; leaves the cursor after the second slash. */
function isSlashComment(lx: Lexer, c: string): boolean {
  if (c !== "/") return false;
  if (lx.peek() === "/") {
    lx.read();
    return true;
  }
  return false;
}

function lexTop(lx: Lexer): State | null {
  const c = lx.read();
  if (isSpace(c)) return skipTo(lx, lexTop);
  if (c === "{") return skipTo(lx, lexTop); // whole-file braces: the opening one is skipped
  if (c === "#" || isSlashComment(lx, c)) {
    lx.push(lexTop);
    return lexCommentStart;
  }
  // A lone '/' falls into nats-server's end-of-input branch.
  if (c === EOF || c === "/") return lx.endOfInput();
  lx.backup();
  lx.push(lexTopValueEnd);
  return lexKeyStart;
}

function lexTopValueEnd(lx: Lexer): State | null {
  const c = lx.read();
  if (isWhitespace(c)) return skipTo(lx, lexTopValueEnd);
  if (c === "#" || isSlashComment(lx, c)) {
    lx.push(lexTopValueEnd);
    return lexCommentStart;
  }
  if (isNewline(c) || c === EOF || c === ";" || c === "," || c === "}") {
    return skipTo(lx, lexTop);
  }
  return lx.fail(
    `Expected a top-level value to end with a new line, comment or EOF, but got '${
      rawChar(c)
    }' instead.`,
  );
}

function lexKeyStart(lx: Lexer): State | null {
  const c = lx.peek();
  if (isKeySeparator(c)) lx.fail(`Unexpected key separator '${c}'`);
  if (isSpace(c)) {
    lx.read();
    return skipTo(lx, lexKeyStart);
  }
  if (c === '"' || c === "'") {
    lx.read();
    lx.ignore();
    return quotedKeyState(c, lexKeyEnd);
  }
  lx.ignore();
  lx.read();
  return lexKey;
}

function quotedKeyState(quote: string, after: State): State {
  const state: State = (lx) => {
    const c = lx.peek();
    if (c === quote) {
      lx.emit(TokenKind.Key);
      lx.read();
      return skipTo(lx, after);
    }
    if (c === EOF) return lx.endOfInput();
    lx.read();
    return state;
  };
  return state;
}

function lexKey(lx: Lexer): State | null {
  const c = lx.peek();
  if (isSpace(c)) return checkKeyword(lx, lexKeyEnd, null);
  if (isKeySeparator(c) || c === EOF) {
    lx.emit(TokenKind.Key);
    return lexKeyEnd;
  }
  lx.read();
  return lexKey;
}

/** A key followed by whitespace may be the `include` keyword. */
function checkKeyword(lx: Lexer, fallThrough: State, push: State | null): State {
  if (lx.current().toLowerCase() === "include") {
    lx.ignore();
    if (push) lx.push(push);
    return lexIncludeStart;
  }
  lx.emit(TokenKind.Key);
  return fallThrough;
}

function lexKeyEnd(lx: Lexer): State | null {
  const c = lx.read();
  if (isSpace(c)) return skipTo(lx, lexKeyEnd);
  if (isKeySeparator(c)) return skipTo(lx, lexValue);
  if (c === EOF) {
    lx.emit(TokenKind.EOF);
    return null;
  }
  lx.backup();
  return lexValue;
}

function lexValue(lx: Lexer): State | null {
  const c = lx.read();
  if (isWhitespace(c)) return skipTo(lx, lexValue);
  switch (c) {
    case "[":
      lx.ignore();
      lx.emit(TokenKind.ArrayStart);
      return lexArrayValue;
    case "{":
      lx.ignore();
      lx.emit(TokenKind.MapStart);
      return lexMapKeyStart;
    case "'":
      lx.ignore();
      return lexSingleQuoted;
    case '"':
      lx.ignore();
      lx.stringState = lexDoubleQuoted;
      return lexDoubleQuoted;
    case "-":
      return lexNegNumberStart;
    case "(":
      lx.ignore();
      return lexBlock;
    case ".":
      return lx.fail("Floats must start with a digit");
  }
  if (isDigit(c)) {
    lx.backup();
    return lexNumberOrDateOrStringOrIPStart;
  }
  if (isNewline(c)) lx.fail("Expected value but found new line");
  lx.backup();
  lx.stringState = lexString;
  return lexString;
}

function lexArrayValue(lx: Lexer): State | null {
  const c = lx.read();
  if (isSpace(c)) return skipTo(lx, lexArrayValue);
  if (c === "#" || isSlashComment(lx, c)) {
    lx.push(lexArrayValue);
    return lexCommentStart;
  }
  if (c === ",") lx.fail("Unexpected array value terminator ','.");
  if (c === "]") return lexArrayEnd;
  lx.backup();
  lx.push(lexArrayValueEnd);
  return lexValue;
}

function lexArrayValueEnd(lx: Lexer): State | null {
  const c = lx.read();
  if (isWhitespace(c)) return skipTo(lx, lexArrayValueEnd);
  if (c === "#" || isSlashComment(lx, c)) {
    lx.push(lexArrayValueEnd);
    return lexCommentStart;
  }
  if (c === "," || isNewline(c)) return skipTo(lx, lexArrayValue);
  if (c === "]") return lexArrayEnd;
  return lx.fail(
    `Expected an array value terminator "," or an array terminator "]", but got '${
      rawChar(c)
    }' instead.`,
  );
}

function lexArrayEnd(lx: Lexer): State | null {
  lx.ignore();
  lx.emit(TokenKind.ArrayEnd);
  return lx.pop();
}

function lexMapKeyStart(lx: Lexer): State | null {
  const c = lx.peek();
  if (isKeySeparator(c)) lx.fail(`Unexpected key separator '${c}'.`);
  if (c === "}") {
    lx.read();
    return skipTo(lx, lexMapEnd);
  }
  if (isSpace(c)) {
    lx.read();
    return skipTo(lx, lexMapKeyStart);
  }
  if (c === "#" || (c === "/" && lx.input[lx.pos + 1] === "/")) {
    lx.read();
    if (c === "/") lx.read();
    lx.push(lexMapKeyStart);
    return lexCommentStart;
  }
  if (c === '"' || c === "'") {
    lx.read();
    lx.ignore();
    return quotedKeyState(c, lexMapKeyEnd);
  }
  if (c === EOF) lx.fail("Unexpected EOF processing map.");
  lx.ignore();
  lx.read();
  return lexMapKey;
}

function lexMapKey(lx: Lexer): State | null {
  const c = lx.peek();
  if (c === EOF) lx.fail("Unexpected EOF processing map.");
  if (isSpace(c)) return checkKeyword(lx, lexMapKeyEnd, lexMapValueEnd);
  if (isKeySeparator(c)) {
    lx.emit(TokenKind.Key);
    return lexMapKeyEnd;
  }
  lx.read();
  return lexMapKey;
}

function lexMapKeyEnd(lx: Lexer): State | null {
  const c = lx.read();
  if (isSpace(c)) return skipTo(lx, lexMapKeyEnd);
  if (isKeySeparator(c)) {
    lx.ignore();
    lx.push(lexMapValueEnd);
    return lexValue;
  }
  lx.backup();
  lx.push(lexMapValueEnd);
  return lexValue;
}

function lexMapValueEnd(lx: Lexer): State | null {
  const c = lx.read();
  if (isWhitespace(c)) return skipTo(lx, lexMapValueEnd);
  if (c === "#" || isSlashComment(lx, c)) {
    lx.push(lexMapValueEnd);
    return lexCommentStart;
  }
  if (c === ";" || c === "," || isNewline(c)) return skipTo(lx, lexMapKeyStart);
  if (c === "}") return skipTo(lx, lexMapEnd);
  return lx.fail(
    `Expected a map value terminator "," or a map terminator "}", but got '${rawChar(c)}' instead.`,
  );
}

function lexMapEnd(lx: Lexer): State | null {
  lx.emit(TokenKind.MapEnd);
  return lx.pop();
}

function lexIncludeStart(lx: Lexer): State | null {
  const c = lx.read();
  if (isWhitespace(c)) return skipTo(lx, lexIncludeStart);
  lx.backup();
  return lexInclude;
}

function lexInclude(lx: Lexer): State | null {
  const c = lx.read();
  switch (c) {
    case "'":
    case '"':
      lx.ignore();
      return includeQuotedState(c);
    case "[":
      return lx.fail("Expected include value but found start of an array");
    case "{":
      return lx.fail("Expected include value but found start of a map");
    case "(":
      return lx.fail("Expected include value but found start of a block");
    case "\\":
      return lx.fail("Expected include value but found escape sequence");
  }
  if (isDigit(c) || c === "-") lx.fail("Expected include value but found start of a number");
  if (isNewline(c)) lx.fail("Expected include value but found new line");
  lx.backup();
  return lexIncludeString;
}

function includeQuotedState(quote: string): State {
  const state: State = (lx) => {
    const c = lx.read();
    if (c === quote) {
      lx.backup();
      lx.emit(TokenKind.Include);
      lx.read();
      lx.ignore();
      return lx.pop();
    }
    if (c === EOF) lx.fail("Unexpected EOF in quoted include");
    return state;
  };
  return state;
}

function lexIncludeString(lx: Lexer): State | null {
  const c = lx.read();
  if (isNewline(c) || c === EOF || c === ";" || c === "}" || isWhitespace(c)) {
    lx.backup();
    lx.emit(TokenKind.Include);
    return lx.pop();
  }
  return lexIncludeString;
}

function lexCommentStart(lx: Lexer): State | null {
  lx.ignore();
  return lexComment;
}

function lexComment(lx: Lexer): State | null {
  const c = lx.peek();
  if (isNewline(c) || c === EOF) {
    lx.ignore(); // comments carry no meaning for the parser
    return lx.pop();
  }
  lx.read();
  return lexComment;
}
