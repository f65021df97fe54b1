/**
 * Subject rules of the NATS client protocol: validation of SUB/PUB subjects and
 * queue names, literal-versus-pattern matching, and pattern containment.
 *
 * A subject is a `.`-separated list of non-empty tokens. In a pattern, the token
 * `*` matches exactly one token and the token `>` (only as the last token) matches
 * one or more tokens. A wildcard character that is only part of a token (`foo*`,
 * `a>`) is an ordinary literal character.
 *
 * The functions here never allocate on the matching path, because the sublist
 * calls {@linkcode subjectMatchesPattern} over every cached subject when a
 * wildcard subscription comes or goes.
 *
 * @module
 */

const DOT = 0x2e;
const STAR = 0x2a;
const GT = 0x3e;
const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const FF = 0x0c;
const CR = 0x0d;

/** What {@linkcode classifySubject} found out about a subject. */
export const SubjectKind = {
  /** Empty, has an empty token, whitespace, or `>` that is not the last token. */
  Invalid: 0,
  /** Valid and without wildcard tokens: usable as a PUB subject. */
  Literal: 1,
  /** Valid and with at least one `*` or `>` token: a SUB-only pattern. */
  Wildcard: 2,
} as const;
/** One of the values of {@linkcode SubjectKind}. */
export type SubjectKind = typeof SubjectKind[keyof typeof SubjectKind];

/** Whitespace that can never be part of a subject or queue name (config-side rule). */
function isWhitespace(code: number): boolean {
  return code === SPACE || code === TAB || code === LF || code === CR || code === FF;
}

/**
 * Validates a subject and tells whether it contains wildcard tokens, in one pass.
 *
 * @param subject The subject or pattern to inspect.
 * @returns {@linkcode SubjectKind.Invalid}, `Literal` or `Wildcard`.
 *
 * @example
 * ```ts
 * import { classifySubject, SubjectKind } from "./subject.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(classifySubject("foo.bar"), SubjectKind.Literal);
 * assert.equal(classifySubject("foo.*"), SubjectKind.Wildcard);
 * assert.equal(classifySubject("foo.>.bar"), SubjectKind.Invalid);
 * ```
 */
export function classifySubject(subject: string): SubjectKind {
  const length = subject.length;
  if (length === 0) return SubjectKind.Invalid;
  let tokenStart = 0;
  let wildcard = false;
  // Walk one position past the end so the last token is closed like the others.
  for (let i = 0; i <= length; i++) {
    const code = i < length ? subject.charCodeAt(i) : DOT;
    if (code === DOT) {
      const tokenLength = i - tokenStart;
      if (tokenLength === 0) return SubjectKind.Invalid;
      if (tokenLength === 1) {
        // Every comparison runs for every one-character token: a comparison V8 has
        // never seen run (the `>` case in a burst of `a.*` SUBs) deoptimizes the
        // compiled function the first time it runs.
        const only = subject.charCodeAt(tokenStart);
        const star = only === STAR;
        const full = only === GT;
        const last = i === length;
        if (full && !last) return SubjectKind.Invalid; // `>` must be the last token
        if (star || full) wildcard = true;
      }
      tokenStart = i + 1;
    } else if (code <= SPACE && isWhitespace(code)) {
      // Whitespace is all below `!`: other characters make no call, which costs
      // while V8 runs this uncompiled (docs/performance/subjects.md, "sixth round").
      return SubjectKind.Invalid;
    }
  }
  return wildcard ? SubjectKind.Wildcard : SubjectKind.Literal;
}

/**
 * Checks a subject as SUB accepts it: non-empty tokens, `*` only as a whole token,
 * `>` only as the whole last token, no whitespace.
 *
 * @param subject The subject or pattern to check.
 * @returns `true` when the subject may be subscribed to.
 *
 * @example
 * ```ts
 * import { isValidSubject } from "./subject.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(isValidSubject("orders.*.created"));
 * assert.ok(isValidSubject("orders.>"));
 * assert.ok(!isValidSubject("orders..created"));
 * ```
 */
export function isValidSubject(subject: string): boolean {
  return classifySubject(subject) !== SubjectKind.Invalid;
}

/**
 * Checks a subject as PUB accepts it from a pedantic client: valid and without
 * wildcard tokens.
 *
 * @param subject The subject to check.
 * @returns `true` when the subject is a valid literal subject.
 *
 * @example
 * ```ts
 * import { isValidLiteralSubject } from "./subject.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(isValidLiteralSubject("orders.42"));
 * assert.ok(isValidLiteralSubject("orders*")); // `*` inside a token is literal
 * assert.ok(!isValidLiteralSubject("orders.*"));
 * ```
 */
export function isValidLiteralSubject(subject: string): boolean {
  return classifySubject(subject) === SubjectKind.Literal;
}

/**
 * Checks a queue group name: any non-empty string without whitespace.
 *
 * @param queue The queue group name from SUB.
 * @returns `true` when the name is acceptable.
 *
 * @example
 * ```ts
 * import { isValidQueueName } from "./subject.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(isValidQueueName("workers"));
 * assert.ok(!isValidQueueName(""));
 * ```
 */
export function isValidQueueName(queue: string): boolean {
  if (queue.length === 0) return false;
  for (let i = 0; i < queue.length; i++) {
    if (isWhitespace(queue.charCodeAt(i))) return false;
  }
  return true;
}

/**
 * Splits a subject into its tokens (empty tokens included, nothing checked).
 *
 * @param subject A subject such as `foo.*.bar`.
 * @returns The tokens, e.g. `["foo", "*", "bar"]`.
 *
 * @example
 * ```ts
 * import { tokenize } from "./subject.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(tokenize("a.b.>"), ["a", "b", ">"]);
 * ```
 */
export function tokenize(subject: string): string[] {
  return subject.split(".");
}

/** `true` when `text` from `start` to its end holds no empty token. */
function restHasNoEmptyToken(text: string, start: number): boolean {
  // `start` is the end of a non-empty token: either the end of text or a dot.
  if (start === text.length) return true;
  return text.charCodeAt(text.length - 1) !== DOT && text.indexOf("..", start) === -1;
}

/**
 * Tests a published subject against a subscription pattern, token by token.
 *
 * Tokens of `literal` are taken literally, even `*` or `>` (a non-pedantic client
 * may publish them): such a token is matched by a `*` or `>` in the pattern or by
 * the same literal token, exactly as the sublist routes it. A subject with an empty
 * token matches nothing, and an invalid pattern matches nothing.
 *
 * @param literal The subject a message was published to.
 * @param pattern A subscription subject, possibly with wildcards.
 * @returns `true` when a subscription on `pattern` receives `literal`.
 *
 * @example
 * ```ts
 * import { subjectMatchesPattern } from "./subject.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(subjectMatchesPattern("a.b.c", "a.*.c"));
 * assert.ok(subjectMatchesPattern("a.b.c", "a.>"));
 * assert.ok(!subjectMatchesPattern("a", "a.>"));
 * ```
 */
export function subjectMatchesPattern(literal: string, pattern: string): boolean {
  const literalLength = literal.length;
  const patternLength = pattern.length;
  if (literalLength === 0 || patternLength === 0) return false;
  let li = 0;
  let pi = 0;
  for (;;) {
    // Both strings are at the start of a token here.
    let literalEnd = literal.indexOf(".", li);
    if (literalEnd === -1) literalEnd = literalLength;
    let patternEnd = pattern.indexOf(".", pi);
    if (patternEnd === -1) patternEnd = patternLength;
    const tokenLength = literalEnd - li;
    const patternTokenLength = patternEnd - pi;
    if (tokenLength === 0 || patternTokenLength === 0) return false;

    let wildcard = false;
    if (patternTokenLength === 1) {
      const code = pattern.charCodeAt(pi);
      if (code === GT) {
        // `>` swallows this token and every remaining one, which must be non-empty.
        return patternEnd === patternLength && restHasNoEmptyToken(literal, literalEnd);
      }
      wildcard = code === STAR;
    }
    if (!wildcard) {
      if (tokenLength !== patternTokenLength) return false;
      for (let k = 0; k < tokenLength; k++) {
        if (literal.charCodeAt(li + k) !== pattern.charCodeAt(pi + k)) return false;
      }
    }

    const literalDone = literalEnd === literalLength;
    const patternDone = patternEnd === patternLength;
    if (literalDone || patternDone) return literalDone && patternDone;
    li = literalEnd + 1;
    pi = patternEnd + 1;
  }
}

/**
 * Tells whether pattern `a` is contained in pattern `b`: every subject that
 * matches `a` also matches `b`. Permission checks use it to decide whether a
 * wildcard SUB stays inside what an allow rule grants.
 *
 * @param a The narrower pattern (for example the SUB subject).
 * @param b The wider pattern (for example a permission entry).
 * @returns `true` when `a` is a subset of `b`; `false` when either is invalid.
 *
 * @example
 * ```ts
 * import { subjectIsSubsetOf } from "./subject.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(subjectIsSubsetOf("foo.*.baz", "foo.>"));
 * assert.ok(subjectIsSubsetOf("foo.bar", "foo.*"));
 * assert.ok(!subjectIsSubsetOf("foo.*", "foo.bar"));
 * ```
 */
export function subjectIsSubsetOf(a: string, b: string): boolean {
  if (!isValidSubject(a) || !isValidSubject(b)) return false;
  const narrow = tokenize(a);
  const wide = tokenize(b);
  for (let i = 0; i < narrow.length; i++) {
    const wideToken = wide[i];
    if (wideToken === undefined) return false; // `a` is longer than `b` and `b` has no `>`
    if (wideToken === ">") return true; // `a` has at least one token left here
    const narrowToken = narrow[i];
    if (narrowToken === ">") return false; // `a` may be longer, `b` is bounded
    if (wideToken === "*") continue; // covers any single token, also `*`
    if (narrowToken !== wideToken) return false; // includes `*` in `a` vs literal in `b`
  }
  return narrow.length === wide.length;
}
