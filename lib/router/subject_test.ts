import assert from "node:assert/strict";
import {
  classifySubject,
  isValidLiteralSubject,
  isValidQueueName,
  isValidSubject,
  subjectIsSubsetOf,
  SubjectKind,
  subjectMatchesPattern,
} from "./subject.ts";
import { deoptProbe, prng } from "./_test_util.ts";

const VALID_SUBJECTS = [
  "foo",
  "foo.bar",
  "foo.bar.baz",
  "*",
  ">",
  "*.*",
  "*.>",
  "foo.*",
  "*.bar",
  "foo.*.baz",
  "foo.>",
  "foo*", // a `*` inside a token is literal
  "foo.*bar",
  "foo>",
  "foo.>bar", // so is a `>` inside a token
  ">foo.bar",
  "$SYS.>",
  "_INBOX.abc123.*",
  "__proto__",
  "constructor.prototype",
  "a-b_c~d/e:f",
  "ünïcødé.日本",
];

const INVALID_SUBJECTS = [
  "",
  ".",
  "..",
  "foo.",
  ".foo",
  "foo..bar",
  "foo.>.bar",
  ">.foo",
  ">.>",
  "foo bar",
  " foo",
  "foo ",
  "foo\tbar",
  "foo\nbar",
  "foo\rbar",
  "foo\fbar",
  "foo.\t",
];

Deno.test("isValidSubject() accepts well-formed subjects and patterns", () => {
  for (const subject of VALID_SUBJECTS) {
    assert.ok(isValidSubject(subject), `expected valid: ${JSON.stringify(subject)}`);
  }
});

Deno.test("isValidSubject() rejects empty tokens, misplaced `>` and whitespace", () => {
  for (const subject of INVALID_SUBJECTS) {
    assert.ok(!isValidSubject(subject), `expected invalid: ${JSON.stringify(subject)}`);
  }
});

Deno.test("isValidLiteralSubject() accepts valid subjects without wildcard tokens", () => {
  const table: [string, boolean][] = [
    ["foo", true],
    ["foo.bar", true],
    ["foo*", true],
    ["foo.>bar", true],
    ["__proto__.constructor", true],
    ["*", false],
    [">", false],
    ["foo.*", false],
    ["*.foo", false],
    ["foo.>", false],
    ["foo.*.bar", false],
    ["", false],
    ["foo..bar", false],
    ["foo bar", false],
  ];
  for (const [subject, expected] of table) {
    assert.equal(isValidLiteralSubject(subject), expected, JSON.stringify(subject));
  }
});

Deno.test("classifySubject() tells invalid, literal and wildcard subjects apart", () => {
  assert.equal(classifySubject("a.b"), SubjectKind.Literal);
  assert.equal(classifySubject("a.*"), SubjectKind.Wildcard);
  assert.equal(classifySubject("a.>"), SubjectKind.Wildcard);
  assert.equal(classifySubject("a.>.b"), SubjectKind.Invalid);
  assert.equal(classifySubject(""), SubjectKind.Invalid);
});

Deno.test("isValidQueueName() requires a non-empty name without whitespace", () => {
  for (const name of ["q", "workers", "q.1", "*", ">", "group-a_b"]) {
    assert.ok(isValidQueueName(name), name);
  }
  for (const name of ["", " ", "a b", "a\tb", "a\n", "\rq", "q\f"]) {
    assert.ok(!isValidQueueName(name), JSON.stringify(name));
  }
});

Deno.test("subjectMatchesPattern() follows the wildcard rules", () => {
  const table: [literal: string, pattern: string, expected: boolean][] = [
    ["foo", "foo", true],
    ["foo", "bar", false],
    ["foo", "fo", false],
    ["fo", "foo", false],
    ["foo.bar", "foo.bar", true],
    ["foo.bar", "foo", false],
    ["foo", "foo.bar", false],
    ["foo", "*", true],
    ["foo.bar", "*", false],
    ["foo.bar", "*.bar", true],
    ["foo.bar", "foo.*", true],
    ["foo.bar", "*.*", true],
    ["foo.bar.baz", "foo.*.baz", true],
    ["foo.bar.baz", "foo.*.qux", false],
    ["foo.bar", "*.*.*", false],
    ["foo", ">", true],
    ["foo.bar.baz", ">", true],
    ["foo", "foo.>", false], // `>` needs at least one token
    ["foo.bar", "foo.>", true],
    ["foo.bar.baz", "foo.>", true],
    ["bar.baz", "foo.>", false],
    ["foo.bar.baz", "*.>", true],
    ["foo", "*.>", false],
    ["foo.bar.baz", "*.bar.>", true],
    ["foo.bar", "foo.>.bar", false], // invalid pattern matches nothing
    ["foo*", "foo*", true],
    ["foox", "foo*", false], // `*` inside a token is literal
    ["foo.*", "foo.*", true], // published wildcard tokens are literal tokens
    ["foo.*", "foo.bar", false],
    ["foo.>", "foo.*", true],
    ["foo.bar", "foo.>bar", false],
    ["__proto__", "__proto__", true],
    ["__proto__.x", "*.x", true],
    ["", "*", false],
    ["foo", "", false],
    ["foo..bar", "foo.*.bar", false],
    ["foo..bar", ">", false],
    ["foo.", "foo.>", false],
    ["foo.bar.", "foo.>", false],
    [".foo", "*.foo", false],
  ];
  for (const [literal, pattern, expected] of table) {
    assert.equal(
      subjectMatchesPattern(literal, pattern),
      expected,
      `${JSON.stringify(literal)} vs ${JSON.stringify(pattern)}`,
    );
  }
});

Deno.test("subjectIsSubsetOf() decides pattern containment", () => {
  const table: [a: string, b: string, expected: boolean][] = [
    ["foo", "foo", true],
    ["foo", "bar", false],
    ["foo", "*", true],
    ["foo", ">", true],
    ["*", "foo", false],
    [">", "foo", false],
    ["*", "*", true],
    ["*", ">", true],
    [">", "*", false],
    [">", ">", true],
    ["foo.bar", "foo.*", true],
    ["foo.bar", "foo.>", true],
    ["foo.*", "foo.>", true],
    ["foo.>", "foo.>", true],
    ["foo.>", "foo.*", false],
    ["foo.*", "foo.bar", false],
    ["foo.*.baz", "foo.>", true],
    ["foo.*.baz", "foo.*.*", true],
    ["foo.*.baz", "*.bar.baz", false],
    ["foo.bar.baz", "*.bar.>", true],
    ["foo", "foo.>", false], // `foo.>` needs a second token
    ["foo.>", "foo", false],
    ["foo.bar", "foo", false],
    ["foo", "foo.bar", false],
    ["foo.>", ">", true],
    ["*.>", ">", true],
    [">", "*.>", false], // `>` also matches single-token subjects
    ["*.*", "*.>", true],
    ["*.*.>", "*.>", true],
    ["*.>", "*.*.>", false],
    ["$SYS.REQ.>", "$SYS.>", true],
    ["$SYS.>", "$SYS.REQ.>", false],
    ["foo..bar", ">", false], // invalid subjects are never subsets
    ["foo", "foo..bar", false],
    ["foo.>.bar", ">", false],
  ];
  for (const [a, b, expected] of table) {
    assert.equal(subjectIsSubsetOf(a, b), expected, `${a} ⊆ ${b}`);
  }
});

/** Token-array reference matcher, written independently of the one under test. */
function bruteMatch(literal: string[], pattern: string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === ">") return i === pattern.length - 1 && literal.length > i;
    if (i >= literal.length) return false;
    if (pattern[i] !== "*" && pattern[i] !== literal[i]) return false;
  }
  return literal.length === pattern.length;
}

/** Every valid pattern with 1..maxTokens tokens drawn from `alphabet`. */
function allPatterns(alphabet: string[], maxTokens: number): string[] {
  const out: string[] = [];
  let level: string[][] = [[]];
  for (let n = 1; n <= maxTokens; n++) {
    const next: string[][] = [];
    for (const prefix of level) for (const token of alphabet) next.push([...prefix, token]);
    for (const tokens of next) {
      const subject = tokens.join(".");
      if (isValidSubject(subject)) out.push(subject);
    }
    level = next.filter((tokens) => !tokens.includes(">"));
  }
  return out;
}

Deno.test("subjectMatchesPattern() agrees with a brute-force matcher on random input", () => {
  const random = prng(0x5eed);
  const tokens = ["a", "b", "c", "*", ">", "__proto__"];
  const pick = () => tokens[Math.floor(random() * tokens.length)] as string;
  const build = (length: number) => Array.from({ length }, pick);
  for (let i = 0; i < 20_000; i++) {
    const literal = build(1 + Math.floor(random() * 4));
    const pattern = build(1 + Math.floor(random() * 4));
    const patternText = pattern.join(".");
    const expected = isValidSubject(patternText) && bruteMatch(literal, pattern);
    assert.equal(
      subjectMatchesPattern(literal.join("."), patternText),
      expected,
      `${literal.join(".")} vs ${patternText}`,
    );
  }
});

Deno.test("subjectIsSubsetOf() agrees with enumerating every matching subject", () => {
  // A counterexample to a ⊆ b, if any, uses the patterns' literal tokens plus one
  // fresh token and is at most one token longer than the longer pattern.
  const patterns = allPatterns(["a", "b", "*", ">"], 3);
  const literals = allPatterns(["a", "b", "z"], 4).map((s) => s.split("."));
  const matches = new Map<string, boolean[]>();
  for (const p of patterns) {
    const tokens = p.split(".");
    matches.set(p, literals.map((literal) => bruteMatch(literal, tokens)));
  }
  for (const a of patterns) {
    const inA = matches.get(a) as boolean[];
    for (const b of patterns) {
      const inB = matches.get(b) as boolean[];
      const expected = inA.every((matched, i) => !matched || inB[i] === true);
      assert.equal(subjectIsSubsetOf(a, b), expected, `${a} ⊆ ${b}`);
    }
  }
});

Deno.test({
  name:
    "classifySubject() compiled on `a.<n>.*` subjects is not deoptimized by `a.*.<n>` or `a.<n>.>`",
  // A SUB burst changes shape partway (the bench's `bench.<n>.*`, then `bench.*.<n>`,
  // then `bench.<n>.>`); a comparison that first runs on a later shape throws the
  // compiled function away (docs/performance.md, "fifth round").
  fn: async () => {
    const probe = `
      import { classifySubject } from ${
      JSON.stringify(new URL("./subject.ts", import.meta.url).href)
    };
      const natives = (code) => new Function("f", code);
      natives("%PrepareFunctionForOptimization(f)")(classifySubject);
      for (let i = 0; i < 200; i++) classifySubject("bench." + i + ".*");
      natives("%OptimizeFunctionOnNextCall(f)")(classifySubject);
      classifySubject("bench.1.*");
      if (!natives("return %ActiveTierIsTurbofan(f)")(classifySubject)) console.log("NOT OPTIMIZED");
      for (let i = 0; i < 20; i++) classifySubject("bench.*." + i);
      for (let i = 0; i < 20; i++) classifySubject("bench." + i + ".>");
      console.log("DONE");
    `;
    const { bailouts } = await deoptProbe(probe, "classifySubject");
    assert.deepEqual(bailouts, []);
  },
});
