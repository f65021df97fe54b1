/**
 * Decodes a client's CONNECT JSON the way nats-server's Go decoder does, so
 * that the same bytes are accepted or refused, with the same log line:
 *
 * - the whole text is checked for syntax first (Go's error texts, e.g.
 *   `invalid character 'u' looking for beginning of object key string`);
 * - top-level `null` changes nothing; any other non-object is a type error;
 * - keys match the known fields exactly or case-insensitively (Unicode simple
 *   folding: `K` (U+212A) folds to `k`, `ſ` (U+017F) to `s`), later keys win;
 * - a `null` value leaves a field as it was; a value of the wrong JSON type is
 *   an error (`json: cannot unmarshal number into Go struct field
 *   ClientOpts.user of type string`), and so is a number that is not an
 *   integer literal in int64 range for `protocol`;
 * - unknown keys are ignored.
 *
 * The iterative scanner has Go's nesting limit (10000), so deep input cannot
 * exhaust the stack.
 *
 * @module
 */

/** The CONNECT fields nats-server decodes, with their Go types. */
const FIELDS = {
  echo: "bool",
  verbose: "bool",
  pedantic: "bool",
  tls_required: "bool",
  nkey: "string",
  jwt: "string",
  sig: "string",
  auth_token: "string",
  user: "string",
  pass: "string",
  name: "string",
  lang: "string",
  version: "string",
  protocol: "int",
  account: "string",
  new_account: "bool",
  headers: "bool",
  no_responders: "bool",
  import: "server.SubjectPermission",
  export: "server.SubjectPermission",
} as const;

type FieldName = keyof typeof FIELDS;

/** Decoded fields: only those present with a non-null value, last occurrence winning. */
export type ConnectFields = {
  [K in FieldName]?: (typeof FIELDS)[K] extends "bool" ? boolean
    : (typeof FIELDS)[K] extends "string" ? string
    : (typeof FIELDS)[K] extends "int" ? number
    : Record<string, unknown>;
};

/** Result of {@link decodeConnect}: the fields, or the Go decoder's error text. */
export type DecodedConnect = { ok: true; fields: ConnectFields } | { ok: false; error: string };

const MAX_DEPTH = 10000;
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

class SyntaxFailure extends Error {}

const encoder = new TextEncoder();

/** Go's quoteChar: the offending character as the error message shows it. */
function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return "'\"'";
  const code = c.charCodeAt(0);
  const named: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b" };
  if (named[c]) return `'${named[c]}'`;
  if (c === "\f") return "'\\f'";
  if (c === "\v") return "'\\v'";
  if (c === "\x07") return "'\\a'";
  if (code < 0x20 || code === 0x7f) return `'\\x${code.toString(16).padStart(2, "0")}'`;
  if (code < 0x80) return `'${c}'`;
  // Go reports the first byte of the character's UTF-8 encoding, read as a Latin-1 rune.
  const b = encoder.encode(c)[0];
  if (b < 0xa0 || b === 0xad) return `'\\u00${b.toString(16)}'`;
  return `'${String.fromCharCode(b)}'`;
}

function isSpace(c: string): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r";
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

function isHex(c: string | undefined): boolean {
  return c !== undefined && /^[0-9a-fA-F]$/.test(c);
}

interface Member {
  keyStart: number;
  keyEnd: number;
  valueStart: number;
  valueEnd: number;
}

/** Checks the syntax (Go's messages) and returns the top-level object's members, if any. */
class Scanner {
  readonly text: string;
  pos = 0;
  readonly members: Member[] = [];
  topKind = "";

  constructor(text: string) {
    this.text = text;
  }

  #fail(context: string): never {
    if (this.pos >= this.text.length) throw new SyntaxFailure("unexpected end of JSON input");
    const c = String.fromCodePoint(this.text.codePointAt(this.pos)!);
    throw new SyntaxFailure(`invalid character ${quoteChar(c)} ${context}`);
  }

  #skipSpace(): void {
    while (this.pos < this.text.length && isSpace(this.text[this.pos])) this.pos++;
  }

  scan(): void {
    // Stack of open containers: "{" or "[".
    const stack: string[] = [];
    let member: Member | null = null;
    // What the next non-space character must be.
    let expect: "value" | "valueOrEnd" | "key" | "keyOrEnd" | "colon" | "next" = "value";
    // A value just ended: when it was a top-level member's, that member is complete.
    const endMember = () => {
      if (stack.length !== 1 || member === null) return;
      member.valueEnd = this.pos;
      this.members.push(member);
      member = null;
    };
    while (true) {
      this.#skipSpace();
      const c = this.text[this.pos];
      const top = stack[stack.length - 1];
      if (expect === "keyOrEnd" || expect === "key") {
        if (expect === "keyOrEnd" && c === "}") {
          this.pos++;
          stack.pop();
          expect = "next";
          endMember();
        } else if (c === '"') {
          const start = this.pos;
          this.#string();
          if (stack.length === 1) {
            member = { keyStart: start, keyEnd: this.pos, valueStart: -1, valueEnd: -1 };
          }
          expect = "colon";
          continue;
        } else {
          this.#fail("looking for beginning of object key string");
        }
      } else if (expect === "colon") {
        if (c !== ":") this.#fail("after object key");
        this.pos++;
        expect = "value";
        continue;
      } else if (expect === "next") {
        if (top === undefined) {
          if (c !== undefined) this.#fail("after top-level value");
          return;
        }
        if (top === "{") {
          if (c === ",") expect = "key";
          else if (c === "}") stack.pop();
          else this.#fail("after object key:value pair");
        } else {
          if (c === ",") expect = "value";
          else if (c === "]") stack.pop();
          else this.#fail("after array element");
        }
        this.pos++;
        if (c === "}" || c === "]") endMember();
        continue;
      }
      if (expect === "value" || expect === "valueOrEnd") {
        if (expect === "valueOrEnd" && c === "]") {
          this.pos++;
          stack.pop();
          expect = "next";
          endMember();
          continue;
        }
        if (stack.length === 1 && member !== null) member.valueStart = this.pos;
        if (stack.length === 0) this.topKind = kindOf(c);
        if (c === "{" || c === "[") {
          if (stack.length >= MAX_DEPTH) this.#fail("exceeded max depth");
          stack.push(c);
          this.pos++;
          expect = c === "{" ? "keyOrEnd" : "valueOrEnd";
          continue;
        }
        this.#scalar();
        endMember();
        expect = "next";
      }
    }
  }

  #scalar(): void {
    const c = this.text[this.pos];
    if (c === '"') return this.#string();
    if (c === "-" || isDigit(c)) return this.#number();
    if (c === "t") return this.#literal("true");
    if (c === "f") return this.#literal("false");
    if (c === "n") return this.#literal("null");
    this.#fail("looking for beginning of value");
  }

  #literal(word: string): void {
    this.pos++;
    for (let i = 1; i < word.length; i++, this.pos++) {
      if (this.text[this.pos] !== word[i]) {
        this.#fail(`in literal ${word} (expecting '${word[i]}')`);
      }
    }
  }

  #string(): void {
    this.pos++; // opening quote
    while (true) {
      const c = this.text[this.pos];
      if (c === undefined) this.#fail("");
      if (c === '"') {
        this.pos++;
        return;
      }
      if (c === "\\") {
        this.pos++;
        const e = this.text[this.pos];
        if (e === "u") {
          for (let i = 0; i < 4; i++) {
            this.pos++;
            if (!isHex(this.text[this.pos])) this.#fail("in \\u hexadecimal character escape");
          }
        } else if (e === undefined || !'"\\/bfnrt'.includes(e)) {
          this.#fail("in string escape code");
        }
        this.pos++;
        continue;
      }
      if (c.charCodeAt(0) < 0x20) this.#fail("in string literal");
      this.pos++;
    }
  }

  #number(): void {
    const t = this.text;
    if (t[this.pos] === "-") {
      this.pos++;
      if (!isDigit(t[this.pos])) this.#fail("in numeric literal");
    }
    if (t[this.pos] === "0") this.pos++;
    else while (isDigit(t[this.pos])) this.pos++;
    if (t[this.pos] === ".") {
      this.pos++;
      if (!isDigit(t[this.pos])) this.#fail("after decimal point in numeric literal");
      while (isDigit(t[this.pos])) this.pos++;
    }
    if (t[this.pos] === "e" || t[this.pos] === "E") {
      this.pos++;
      if (t[this.pos] === "+" || t[this.pos] === "-") this.pos++;
      if (!isDigit(t[this.pos])) this.#fail("in exponent of numeric literal");
      while (isDigit(t[this.pos])) this.pos++;
    }
  }
}

/** Go's name for a JSON value's kind in type errors. */
function kindOf(c: string | undefined): string {
  switch (c) {
    case "{":
      return "object";
    case "[":
      return "array";
    case '"':
      return "string";
    case "t":
    case "f":
      return "bool";
    case "n":
      return "null";
    default:
      return "number";
  }
}

/** The known field a key selects: exact, else Unicode simple case folding. */
function fieldFor(key: string): FieldName | undefined {
  if (Object.hasOwn(FIELDS, key)) return key as FieldName;
  const folded = key.replace(/[A-Z\u212a\u017f]/g, (ch) => {
    if (ch === "\u212a") return "k";
    if (ch === "\u017f") return "s";
    return ch.toLowerCase();
  });
  return Object.hasOwn(FIELDS, folded) ? folded as FieldName : undefined;
}

/**
 * Decodes a CONNECT argument.
 *
 * @param text The JSON after `CONNECT `.
 * @returns The fields present (null values left out), or the Go decoder's error text.
 * @example
 * ```ts
 * import { decodeConnect } from "./connect_json.ts";
 * decodeConnect('{"USER":"a"}'); // { ok: true, fields: { user: "a" } }
 * ```
 */
export function decodeConnect(text: string): DecodedConnect {
  const scanner = new Scanner(text);
  try {
    scanner.scan();
  } catch (e) {
    if (e instanceof SyntaxFailure) return { ok: false, error: e.message };
    throw e;
  }
  if (scanner.topKind === "null") return { ok: true, fields: {} };
  if (scanner.topKind !== "object") {
    return {
      ok: false,
      error: `json: cannot unmarshal ${scanner.topKind} into Go value of type server.ClientOpts`,
    };
  }
  const fields: Record<string, unknown> = {};
  let firstError: string | null = null;
  for (const m of scanner.members) {
    const name = fieldFor(JSON.parse(text.slice(m.keyStart, m.keyEnd)));
    if (name === undefined) continue;
    const raw = text.slice(m.valueStart, m.valueEnd);
    const kind = kindOf(raw[0]);
    if (kind === "null") continue;
    const type = FIELDS[name];
    let value: unknown;
    let bad: string | null = null;
    if (type === "bool") {
      if (kind === "bool") value = raw === "true";
      else bad = kind;
    } else if (type === "string") {
      if (kind === "string") value = JSON.parse(raw);
      else bad = kind;
    } else if (type === "int") {
      if (kind !== "number") bad = kind;
      else if (!/^-?\d+$/.test(raw)) bad = `number ${raw}`;
      else {
        const n = BigInt(raw);
        if (n > INT64_MAX || n < INT64_MIN) bad = `number ${raw}`;
        else value = Number(n);
      }
    } else {
      if (kind === "object") value = JSON.parse(raw);
      else bad = kind;
    }
    if (bad !== null) {
      firstError ??=
        `json: cannot unmarshal ${bad} into Go struct field ClientOpts.${name} of type ${type}`;
      continue;
    }
    fields[name] = value;
  }
  if (firstError !== null) return { ok: false, error: firstError };
  return { ok: true, fields: fields as ConnectFields };
}
