/**
 * Keeps credentials out of protocol traces. nats-server replaces the password of a
 * traced CONNECT with `[REDACTED]`; dnatsd does the same for every credential a
 * CONNECT can carry.
 *
 * @module
 */

/** The CONNECT fields whose string values never reach a log. */
export const SECRET_CONNECT_FIELDS: readonly string[] = [
  "pass",
  "auth_token",
  "sig",
  "password",
  "token",
  "jwt",
];

/** What a secret value is replaced with, as nats-server prints it. */
export const REDACTED = "[REDACTED]";

const SECRET_KEYS = new Set(SECRET_CONNECT_FIELDS);

// A JSON key string, optional blanks, a colon, optional blanks, then a JSON string
// value (escaped quotes included). Only string values are secrets; a key that
// appears inside another string value is written as `\"key\"` there and does not match.
const KEY_STRING_VALUE = /"((?:[^"\\]|\\.)*)"(\s*:\s*)"(?:[^"\\]|\\.)*"/g;

/**
 * Whether a raw JSON key names a secret as the server decodes CONNECT keys: JSON
 * escapes undone, then case-insensitive with Unicode simple folding (`"PASS"`,
 * `"pa\u017fs"` and `"p\u0061ss"` are all the password).
 */
function isSecretKey(raw: string): boolean {
  let key: string;
  try {
    key = JSON.parse(`"${raw}"`);
  } catch {
    return false;
  }
  if (SECRET_KEYS.has(key)) return true;
  const folded = key.replace(/[A-Z\u212a\u017f]/g, (ch) => {
    if (ch === "\u212a") return "k";
    if (ch === "\u017f") return "s";
    return ch.toLowerCase();
  });
  return SECRET_KEYS.has(folded);
}

/**
 * Replaces the values of `pass`, `auth_token`, `sig`, `password`, `token` and `jwt`
 * in a line holding CONNECT JSON with `[REDACTED]`; everything else is unchanged.
 *
 * @param line A trace line such as `<<- [CONNECT {"user":"a","pass":"s"}]`.
 * @returns The line with secret string values replaced.
 *
 * @example
 * ```ts
 * import { redactSecrets } from "./redact.ts";
 * const out = redactSecrets('CONNECT {"user":"a","pass":"s3cret"}');
 * if (out !== 'CONNECT {"user":"a","pass":"[REDACTED]"}') throw new Error(out);
 * ```
 */
export function redactSecrets(line: string): string {
  // Most traced lines hold no JSON at all: skip the regex when there is no quote.
  if (line.indexOf('"') < 0) return line;
  return line.replace(
    KEY_STRING_VALUE,
    (all, key: string, colon: string) => isSecretKey(key) ? `"${key}"${colon}"${REDACTED}"` : all,
  );
}
