/**
 * The configuration lexer's states for one scalar value: unquoted, quoted
 * and block strings with their escapes, booleans and `$variables`, numbers
 * with size suffixes, dates and IP addresses. Kept apart from the structural
 * states in conf_lexer.ts (keys, maps, arrays, includes, comments) because
 * each of these only emits its token and returns to whatever state pushed
 * it (`lx.pop()`): none needs to know where the value stands.
 *
 * @module
 */
import {
  EOF,
  goQuoteRune,
  isDigit,
  isNewline,
  isNumberSuffix,
  isWhitespace,
  type Lexer,
  type State,
  TokenKind,
} from "./conf_tokens.ts";

/** Unquoted string; also where bools and `$variables` are recognised. */
export function lexString(lx: Lexer): State | null {
  const c = lx.read();
  if (c === "\\") {
    lx.addCurrentStringPart(1);
    return lexStringEscape;
  }
  if (
    isNewline(c) || c === EOF || c === ";" || c === "," || c === "]" || c === "}" ||
    isWhitespace(c)
  ) {
    lx.backup();
    if (lx.hasEscapedParts()) {
      lx.emitString();
    } else if (isBoolWord(lx.current())) {
      lx.emit(TokenKind.Bool);
    } else if (isVariableRef(lx.current())) {
      lx.start += 1; // drop the '$'
      lx.emit(TokenKind.Variable);
    } else {
      lx.emitString();
    }
    return lx.pop();
  }
  return lexString;
}

function isBoolWord(s: string): boolean {
  switch (s.toLowerCase()) {
    case "true":
    case "yes":
    case "on":
    case "false":
    case "no":
    case "off":
      return true;
  }
  return false;
}

function isVariableRef(s: string): boolean {
  // An unquoted bcrypt hash (`$2a$11$...`) is kept as text; nats-server only
  // special-cases the 2a prefix, so `$2b$...` must be quoted.
  return s.startsWith("$") && !s.startsWith("$2a$");
}

export function lexDoubleQuoted(lx: Lexer): State | null {
  const c = lx.read();
  if (c === "\\") {
    lx.addCurrentStringPart(1);
    return lexStringEscape;
  }
  if (c === '"') {
    lx.backup();
    lx.emitString();
    lx.read();
    lx.ignore();
    return lx.pop();
  }
  if (c === EOF) return lx.endOfInput();
  return lexDoubleQuoted;
}

export function lexSingleQuoted(lx: Lexer): State | null {
  const c = lx.read();
  if (c === "'") {
    lx.backup();
    lx.emit(TokenKind.String);
    lx.read();
    lx.ignore();
    return lx.pop();
  }
  if (c === EOF) return lx.endOfInput();
  return lexSingleQuoted;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  t: "\t",
  n: "\n",
  r: "\r",
  '"': '"',
  "\\": "\\",
};

function lexStringEscape(lx: Lexer): State | null {
  const c = lx.read();
  if (c === "x") return lexStringHexEscape;
  const replacement = SIMPLE_ESCAPES[c];
  if (replacement === undefined || c === EOF) {
    return lx.fail(
      `Invalid escape character ${
        goQuoteRune(c)
      }. Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\", \\\\.`,
    );
  }
  lx.addStringPart(replacement);
  return lx.stringState;
}

function lexStringHexEscape(lx: Lexer): State | null {
  const endOfLine = "Expected two hexadecimal digits after '\\x', but hit end of line";
  if (isNewline(lx.read())) lx.fail(endOfLine);
  if (isNewline(lx.read())) lx.fail(endOfLine);
  const digits = lx.input.slice(lx.pos - 2, lx.pos);
  if (!/^[0-9a-fA-F]{2}$/.test(digits)) {
    lx.fail(`Expected two hexadecimal digits after '\\x', but got '${digits}'`);
  }
  lx.addStringPart(String.fromCharCode(parseInt(digits, 16)));
  return lx.stringState;
}

/** `( ... )` raw text; ends at a `)` alone at the start of a line. */
export function lexBlock(lx: Lexer): State | null {
  const c = lx.read();
  if (c === EOF) lx.fail("Unexpected EOF processing block.");
  if (c !== ")") return lexBlock;
  const closeAt = lx.pos - 1;
  const before = lx.input[closeAt - 1];
  const after = lx.input[closeAt + 1];
  if (before === "\n" && (after === "\n" || after === undefined)) {
    // The text keeps the newline that precedes the ')', as nats-server does.
    lx.emit(TokenKind.String, lx.input.slice(lx.start, closeAt));
    lx.ignore();
    return lx.pop();
  }
  return lexBlock;
}

export function lexNegNumberStart(lx: Lexer): State | null {
  const c = lx.read();
  if (!isDigit(c)) {
    if (c === ".") lx.fail("Floats must start with a digit, not '.'.");
    lx.fail(`Expected a digit but got ${goQuoteRune(c)}.`);
  }
  return lexNegNumber;
}

function lexNegNumber(lx: Lexer): State | null {
  const c = lx.read();
  if (isDigit(c)) return lexNegNumber;
  if (c === ".") return lexFloatStart;
  if (isNumberSuffix(c)) return lexConvenientNumber;
  lx.backup();
  lx.emit(TokenKind.Integer);
  return lx.pop();
}

export function lexNumberOrDateOrStringOrIPStart(lx: Lexer): State | null {
  const c = lx.read();
  if (!isDigit(c)) {
    if (c === ".") lx.fail("Floats must start with a digit, not '.'.");
    lx.fail(`Expected a digit but got ${goQuoteRune(c)}.`);
  }
  return lexNumberOrDateOrStringOrIP;
}

const endsNumber = (c: string) =>
  isNewline(c) || c === EOF || c === "}" || c === ";" || c === "," || isWhitespace(c);

function lexNumberOrDateOrStringOrIP(lx: Lexer): State | null {
  const c = lx.read();
  if (c === "-") {
    if (lx.pos - lx.start !== 5) lx.fail("All ISO8601 dates must be in full Zulu form.");
    return lexDateAfterYear;
  }
  if (isDigit(c)) return lexNumberOrDateOrStringOrIP;
  if (c === ".") return lexFloatStart;
  if (isNumberSuffix(c)) return lexConvenientNumber;
  if (!endsNumber(c)) {
    // Not a number after all (`4ever`, `1:2`): the rest is an unquoted string.
    lx.stringState = lexString;
    return lexString;
  }
  lx.backup();
  lx.emit(TokenKind.Integer);
  return lx.pop();
}

/** After a size suffix letter: `kb`, `KiB`... */
function lexConvenientNumber(lx: Lexer): State | null {
  const c = lx.read();
  if (c === "b" || c === "B" || c === "i" || c === "I") return lexConvenientNumber;
  lx.backup();
  if (endsNumber(c) || isDigit(c)) {
    lx.emit(TokenKind.Integer);
    return lx.pop();
  }
  lx.stringState = lexString;
  return lexString;
}

function lexDateAfterYear(lx: Lexer): State | null {
  // YYYY- has been read; the rest must be MM-DDTHH:MM:SSZ ('0' = any digit).
  for (const expected of "00-00T00:00:00Z") {
    const c = lx.read();
    if (expected === "0") {
      if (!isDigit(c)) {
        lx.fail(`Expected digit in ISO8601 datetime, but found ${goQuoteRune(c)} instead.`);
      }
    } else if (c !== expected) {
      lx.fail(`Expected '${expected}' in ISO8601 datetime, but found ${goQuoteRune(c)} instead.`);
    }
  }
  lx.emit(TokenKind.Datetime);
  return lx.pop();
}

function lexFloatStart(lx: Lexer): State | null {
  const c = lx.read();
  if (!isDigit(c)) {
    lx.fail(`Floats must have a digit after the '.', but got ${goQuoteRune(c)} instead.`);
  }
  return lexFloat;
}

function lexFloat(lx: Lexer): State | null {
  const c = lx.read();
  if (isDigit(c)) return lexFloat;
  // A second '.' means this was an IP address, not a float.
  if (c === ".") return lexIPAddr;
  lx.backup();
  lx.emit(TokenKind.Float);
  return lx.pop();
}

function lexIPAddr(lx: Lexer): State | null {
  const c = lx.read();
  if (isDigit(c) || c === "." || c === ":" || c === "-") return lexIPAddr;
  lx.backup();
  lx.emit(TokenKind.String);
  return lx.pop();
}
