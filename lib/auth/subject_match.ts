/**
 * Subject tests used by permission checks. Kept separate from lib/router on
 * purpose: permissions need three different relations between a pattern and a
 * subject (match, subset, overlap), and the router only needs the first.
 *
 * All functions work on token arrays (`"foo.*.bar"` -> `["foo", "*", "bar"]`,
 * split by the router's `tokenize`, re-exported here) so the caller splits each
 * permission entry once, at compile time. The router's string functions are
 * not used for matching on purpose: they refuse empty tokens and check
 * whitespace differently, and publish subjects reach permission checks
 * unvalidated (non-pedantic clients), so verdicts would change.
 *
 * @module
 */
import { tokenize } from "../router/subject.ts";

export { tokenize };

/** Full wildcard token: one or more trailing tokens. */
export const FWC = ">";
/** Partial wildcard token: exactly one token. */
export const PWC = "*";

/**
 * Whether a subject is a valid pattern for a permission entry: non-empty
 * tokens, no whitespace, and `>` only as the last token.
 *
 * @param subject The subject to check.
 * @returns `true` when valid.
 */
export function isValidPattern(subject: string): boolean {
  if (subject.length === 0 || /[\s]/.test(subject)) return false;
  const toks = tokenize(subject);
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.length === 0) return false;
    if (t === FWC && i !== toks.length - 1) return false;
  }
  return true;
}

/**
 * Whether a subject contains a wildcard token.
 *
 * @param tokens The subject's tokens.
 * @returns `true` when any token is `*` or `>`.
 */
export function hasWildcard(tokens: readonly string[]): boolean {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === PWC || t === FWC) return true;
  }
  return false;
}

/**
 * Pattern match as the interest table does it: wildcards in `pattern` expand,
 * tokens of `subject` are taken literally (a `*` in the subject is just a token
 * that a pattern `*` happens to match). This is how nats-server evaluates
 * publish permissions and subscribe deny entries.
 *
 * @param pattern Tokens of the permission entry.
 * @param subject Tokens of the subject being checked.
 * @returns `true` when the pattern matches.
 * @example
 * ```ts
 * import { matchTokens, tokenize } from "./subject_match.ts";
 * matchTokens(tokenize("foo.>"), tokenize("foo.bar.baz")); // true
 * ```
 */
export function matchTokens(pattern: readonly string[], subject: readonly string[]): boolean {
  const plen = pattern.length;
  const slen = subject.length;
  for (let i = 0; i < plen; i++) {
    const p = pattern[i]!;
    if (p === FWC) return slen > i;
    if (i >= slen) return false;
    if (p !== PWC && p !== subject[i]) return false;
  }
  return plen === slen;
}

/**
 * Whether every subject matched by `subject` (which may hold wildcards) is also
 * matched by `pattern`. Used for subscribe allow entries so that `foo.>` is not
 * granted by an allow entry of `foo.*`.
 *
 * @param subject Tokens of the (possibly wildcard) subject.
 * @param pattern Tokens of the permission entry.
 * @returns `true` when `subject` is a subset of `pattern`.
 * @example
 * ```ts
 * import { isSubsetTokens, tokenize } from "./subject_match.ts";
 * isSubsetTokens(tokenize("foo.*"), tokenize("foo.>")); // true
 * isSubsetTokens(tokenize("foo.>"), tokenize("foo.*")); // false
 * ```
 */
export function isSubsetTokens(subject: readonly string[], pattern: readonly string[]): boolean {
  const plen = pattern.length;
  const slen = subject.length;
  for (let i = 0; i < plen; i++) {
    const p = pattern[i]!;
    if (p === FWC) return slen > i;
    if (i >= slen) return false;
    const s = subject[i]!;
    // `>` in the subject covers any number of tokens: only a pattern `>` covers it.
    if (s === FWC) return false;
    if (p === PWC) continue;
    if (s === PWC || s !== p) return false;
  }
  return plen === slen;
}

/**
 * Whether some literal subject is matched by both `a` and `b`. Used to find
 * wildcard subscriptions that would receive messages a deny entry forbids.
 *
 * @param a Tokens of the first subject.
 * @param b Tokens of the second subject.
 * @returns `true` when the two can match a common subject.
 * @example
 * ```ts
 * import { overlapsTokens, tokenize } from "./subject_match.ts";
 * overlapsTokens(tokenize("foo.*.x"), tokenize("foo.a.*")); // true
 * ```
 */
export function overlapsTokens(a: readonly string[], b: readonly string[]): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    // Both sides still have at least one token here, so `>` absorbs the rest.
    if (x === FWC || y === FWC) return true;
    if (x === PWC || y === PWC) continue;
    if (x !== y) return false;
  }
  return a.length === b.length;
}
