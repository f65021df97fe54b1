/**
 * What the configuration lexer hands the parser (token kinds, the token, the
 * lexical error), and what its states work with: the {@linkcode Lexer} they
 * drive, the {@linkcode State} type, the character classes they test. Kept
 * apart from the state machine so the parser and both halves of the lexer
 * (conf_lexer.ts, conf_lex_scalars.ts) share them without importing each
 * other.
 *
 * @module
 */
/** Kinds of tokens the lexer emits (comments are dropped). */
export const TokenKind = {
  Key: "key",
  String: "string",
  Bool: "bool",
  Integer: "integer",
  Float: "float",
  Datetime: "datetime",
  ArrayStart: "arrayStart",
  ArrayEnd: "arrayEnd",
  MapStart: "mapStart",
  MapEnd: "mapEnd",
  Variable: "variable",
  Include: "include",
  EOF: "eof",
} as const;
/** One of the {@linkcode TokenKind} values. */
export type TokenKind = typeof TokenKind[keyof typeof TokenKind];

/** A lexed token with its position in the source. */
export interface ConfToken {
  kind: TokenKind;
  /** Token text; escapes already resolved for strings, no `$` for variables. */
  text: string;
  line: number;
  /**
   * Column as nats-server reports it: the offset from the previous newline, so
   * 1-based from line 2 on but 0-based on line 1 (a quirk kept for identical
   * `file:line:col` messages).
   */
  col: number;
}

/** A lexical error; `message` is the nats-server text `Parse error on line N: '...'`. */
export class ConfLexError extends SyntaxError {
  /** Line where the lexer stood when it gave up. */
  readonly line: number;
  /** The reason without the `Parse error on line` wrapper. */
  readonly reason: string;
  constructor(line: number, reason: string) {
    super(`Parse error on line ${line}: '${reason}'`);
    this.name = "ConfLexError";
    this.line = line;
    this.reason = reason;
  }
}

/** What a lexer state does with the lexer (implemented by `ConfLexer` in conf_lexer.ts). */
export interface Lexer {
  readonly input: string;
  /** Start of the token being built. */
  start: number;
  /** Next character to read. */
  pos: number;
  /** The string state to resume after an escape sequence. */
  stringState: State;
  read(): string;
  backup(): void;
  peek(): string;
  ignore(): void;
  push(state: State): void;
  pop(): State | null;
  emit(kind: TokenKind, text?: string): void;
  emitString(kind?: TokenKind): void;
  hasEscapedParts(): boolean;
  addCurrentStringPart(dropTail: number): void;
  addStringPart(s: string): void;
  endOfInput(): null;
  fail(reason: string): never;
  current(): string;
}

/** One state of the lexer: consumes input and returns the next state (null: done). */
export type State = (lx: Lexer) => State | null;

/** End of input marker returned by `#next()`; an empty string never occurs as a char. */
export const EOF = "";

export const isWhitespace = (c: string) => c === " " || c === "\t";
export const isNewline = (c: string) => c === "\n" || c === "\r";
export const isDigit = (c: string) => c >= "0" && c <= "9" && c.length === 1;
export const isKeySeparator = (c: string) => c === "=" || c === ":";
// Go's unicode.IsSpace: ASCII spaces plus NEL, NBSP and the Unicode space separators.
export const isSpace = (c: string) => c !== EOF && /^[\s\u0085]$/.test(c);
export const isNumberSuffix = (c: string) => "kKmMgGtTpPeE".includes(c) && c.length === 1;

/**
 * Quotes one character the way Go's `%q` does for a rune, which is how
 * nats-server prints the offending character in its messages.
 */
export function goQuoteRune(c: string): string {
  switch (c) {
    case EOF:
      return "'\\x00'";
    case "\n":
      return "'\\n'";
    case "\r":
      return "'\\r'";
    case "\t":
      return "'\\t'";
    case "'":
      return "'\\''";
    case "\\":
      return "'\\\\'";
  }
  const code = c.codePointAt(0) ?? 0;
  if (code < 0x20 || code === 0x7f) return `'\\x${code.toString(16).padStart(2, "0")}'`;
  return `'${c}'`;
}

/** The offending character as nats-server prints it in terminator errors (`%c`). */
export function rawChar(c: string): string {
  return c === EOF ? "\0" : c;
}
