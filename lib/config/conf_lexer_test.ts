import assert from "node:assert/strict";
import { ConfLexer } from "./conf_lexer.ts";
import { ConfLexError, type ConfToken, TokenKind } from "./conf_tokens.ts";

function lex(text: string): Array<[string, string]> {
  const lx = new ConfLexer(text);
  const out: Array<[string, string]> = [];
  for (let i = 0; i < 1000; i++) {
    const t: ConfToken = lx.next();
    if (t.kind === TokenKind.EOF) return out;
    out.push([t.kind, t.text]);
  }
  throw new Error("lexer did not finish");
}

function lexError(text: string): string {
  try {
    lex(text);
  } catch (err) {
    assert.ok(err instanceof ConfLexError);
    return err.message;
  }
  throw new Error(`no error for ${JSON.stringify(text)}`);
}

Deno.test("ConfLexer accepts =, : and whitespace as key separators", () => {
  for (const text of ["port = 4222", "port: 4222", "port 4222", "port\n 4222"]) {
    assert.deepEqual(lex(text), [["key", "port"], ["integer", "4222"]], text);
  }
});

Deno.test("ConfLexer value kinds", () => {
  const cases: Array<[string, [string, string]]> = [
    ["a: 1.5", ["float", "1.5"]],
    ["a: -3", ["integer", "-3"]],
    ["a: 1MB", ["integer", "1MB"]],
    ["a: 4ever", ["string", "4ever"]],
    ["a: 127.0.0.1:4222", ["string", "127.0.0.1:4222"]],
    ["a: localhost:4222", ["string", "localhost:4222"]],
    ["a: yes", ["bool", "yes"]],
    ["a: OFF", ["bool", "OFF"]],
    ['a: "true"', ["string", "true"]],
    ["a: $VAR", ["variable", "VAR"]],
    ["a: $2a$11$abc", ["string", "$2a$11$abc"]],
    ["a: 2006-01-02T15:04:05Z", ["datetime", "2006-01-02T15:04:05Z"]],
    ["a: 'raw\\t'", ["string", "raw\\t"]],
    ['a: "t\\tn\\nq\\"b\\\\x\\x41"', ["string", 't\tn\nq"b\\xA']],
    ["a: un\\tquoted", ["string", "un\tquoted"]],
    ["a: (\nline1\nline2\n)\n", ["string", "\nline1\nline2\n"]],
  ];
  for (const [text, expected] of cases) assert.deepEqual(lex(text), [["key", "a"], expected], text);
});

Deno.test("ConfLexer maps, arrays, comments and trailing commas", () => {
  assert.deepEqual(lex("m { a: 1, b = [x, 2,] # c\n // d\n c d; }\n"), [
    ["key", "m"],
    ["mapStart", ""],
    ["key", "a"],
    ["integer", "1"],
    ["key", "b"],
    ["arrayStart", ""],
    ["string", "x"],
    ["integer", "2"],
    ["arrayEnd", ""],
    ["key", "c"],
    ["string", "d"],
    ["mapEnd", ""],
  ]);
});

Deno.test("ConfLexer include keyword is case-insensitive and takes quoted paths", () => {
  assert.deepEqual(lex('include "a.conf"\nINCLUDE b.conf\n'), [
    ["include", "a.conf"],
    ["include", "b.conf"],
  ]);
});

Deno.test("ConfLexer quirks kept from nats-server", () => {
  // A ']' right after digits is part of a string; '1e5' is the integer '1e' then garbage.
  assert.deepEqual(lex("a: [a]"), [["key", "a"], ["arrayStart", ""], ["string", "a"], [
    "arrayEnd",
    "",
  ]]);
  assert.match(lexError("a: 1e5\n"), /but got '5' instead/);
  // Whole-file braces: the opening one is skipped, the closing one is a key without value.
  assert.deepEqual(lex("{\n port: 1\n}\n"), [["key", "port"], ["integer", "1"], ["key", "}"]]);
});

Deno.test("ConfLexer errors carry nats-server's wording and line", () => {
  const cases: Array<[string, string]> = [
    [
      "port: 1 2\n",
      "Parse error on line 1: 'Expected a top-level value to end with a new line, comment or EOF, but got '2' instead.'",
    ],
    [
      'a = "\\q"\n',
      "Parse error on line 1: 'Invalid escape character 'q'. Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\\", \\\\.'",
    ],
    ["a = .5\n", "Parse error on line 1: 'Floats must start with a digit'"],
    [
      "a = 1.x\n",
      "Parse error on line 1: 'Floats must have a digit after the '.', but got 'x' instead.'",
    ],
    [
      "a = 2006-01-02\n",
      "Parse error on line 2: 'Expected 'T' in ISO8601 datetime, but found '\\n' instead.'",
    ],
    ["a = 12-3\n", "Parse error on line 1: 'All ISO8601 dates must be in full Zulu form.'"],
    ["a = [1,,2]\n", "Parse error on line 1: 'Unexpected array value terminator ','.'"],
    ["= 5\n", "Parse error on line 1: 'Unexpected key separator '=''"],
    ["c { a: 1\n", "Parse error on line 2: 'Unexpected EOF processing map.'"],
    [
      "c { a: 1 2 }\n",
      "Parse error on line 1: 'Expected a map value terminator \",\" or a map terminator \"}\", but got '2' instead.'",
    ],
    ['a: "abc\n', "Parse error on line 2: 'Unexpected EOF.'"],
    ["a: (\nabc\n", "Parse error on line 3: 'Unexpected EOF processing block.'"],
    [
      'a: "\\xZZ"\n',
      "Parse error on line 1: 'Expected two hexadecimal digits after '\\x', but got 'ZZ''",
    ],
    ["port = \n 1\n", "Parse error on line 2: 'Expected value but found new line'"],
    ["a: -x\n", "Parse error on line 1: 'Expected a digit but got 'x'.'"],
    [
      "include [a]\n",
      "Parse error on line 1: 'Expected include value but found start of an array'",
    ],
  ];
  for (const [text, message] of cases) assert.equal(lexError(text), message, text);
});

Deno.test("ConfLexer positions: 0-based column on line 1, 1-based after", () => {
  const lx = new ConfLexer("  a: 1\n   b: 2\n");
  const a = lx.next();
  assert.deepEqual([a.line, a.col], [1, 2]);
  lx.next();
  const b = lx.next();
  assert.deepEqual([b.line, b.col], [2, 4]);
});
