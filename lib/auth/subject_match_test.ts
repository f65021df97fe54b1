import assert from "node:assert/strict";
import {
  hasWildcard,
  isSubsetTokens,
  isValidPattern,
  matchTokens,
  overlapsTokens,
  tokenize,
} from "./subject_match.ts";

const t = tokenize;

Deno.test("matchTokens() expands wildcards of the pattern only", () => {
  const table: Array<[string, string, boolean]> = [
    ["foo", "foo", true],
    ["foo", "bar", false],
    ["foo.*", "foo.bar", true],
    ["foo.*", "foo", false],
    ["foo.*", "foo.bar.baz", false],
    ["foo.>", "foo.bar.baz", true],
    ["foo.>", "foo", false],
    [">", "a.b.c", true],
    ["*.*", "a.b", true],
    ["*.*", "a", false],
    ["foo.*.baz", "foo.x.baz", true],
    ["foo.*.baz", "foo.x.bar", false],
    // subject wildcards are literal tokens
    ["foo.bar", "foo.*", false],
    ["foo.*", "foo.*", true],
    ["foo.>", "foo.*", true],
  ];
  for (const [p, s, want] of table) assert.equal(matchTokens(t(p), t(s)), want, `${p} ~ ${s}`);
});

Deno.test("isSubsetTokens() requires the whole subject to be covered", () => {
  const table: Array<[string, string, boolean]> = [
    ["foo.bar", "foo.*", true],
    ["foo.*", "foo.*", true],
    ["foo.*", "foo.>", true],
    ["foo.>", "foo.>", true],
    ["foo.>", "foo.*", false],
    ["foo.*", "foo.bar", false],
    ["foo.bar.baz", "foo.*", false],
    ["foo", "foo.>", false],
    ["a.b", ">", true],
    [">", ">", true],
    ["*", ">", true],
  ];
  for (const [s, p, want] of table) assert.equal(isSubsetTokens(t(s), t(p)), want, `${s} <= ${p}`);
});

Deno.test("overlapsTokens() finds a common literal subject", () => {
  const table: Array<[string, string, boolean]> = [
    ["foo.*", "foo.bar", true],
    ["foo.*.x", "foo.a.*", true],
    ["foo.>", "foo.bar.baz", true],
    ["foo.*", "bar.*", false],
    ["foo.*", "foo.a.b", false],
    ["foo.>", "foo", false],
    [">", "foo", true],
    ["a.b", "a.b", true],
  ];
  for (const [a, b, want] of table) {
    assert.equal(overlapsTokens(t(a), t(b)), want, `${a} & ${b}`);
    assert.equal(overlapsTokens(t(b), t(a)), want, `${b} & ${a}`);
  }
});

Deno.test("isValidPattern() and hasWildcard()", () => {
  assert.equal(isValidPattern("foo.*.>"), true);
  assert.equal(isValidPattern("foo..bar"), false);
  assert.equal(isValidPattern(".foo"), false);
  assert.equal(isValidPattern("foo.>.bar"), false);
  assert.equal(isValidPattern("foo bar"), false);
  assert.equal(isValidPattern(""), false);
  assert.equal(hasWildcard(t("a.*")), true);
  assert.equal(hasWildcard(t("a.b*")), false);
});
