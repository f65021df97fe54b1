/**
 * Go's `%q` for bytes and strings, as nats-server's log and trace lines print
 * them: double quotes, `\"` and `\\`, `\a \b \f \n \r \t \v`, `\xNN` for other
 * control bytes and for bytes that are not valid UTF-8, printable characters
 * as they are.
 *
 * @module
 */

const SHORT_ESCAPES: Record<number, string> = {
  0x07: "\\a",
  0x08: "\\b",
  0x09: "\\t",
  0x0a: "\\n",
  0x0b: "\\v",
  0x0c: "\\f",
  0x0d: "\\r",
  0x22: '\\"',
  0x5c: "\\\\",
};

function hex2(b: number): string {
  return b.toString(16).padStart(2, "0");
}

/** One code point as Go's strconv.Quote writes it (the printable check is approximated by Unicode categories). */
function quoteRune(cp: number): string {
  const short = SHORT_ESCAPES[cp];
  if (short !== undefined) return short;
  if (cp < 0x20 || cp === 0x7f) return `\\x${hex2(cp)}`;
  const ch = String.fromCodePoint(cp);
  if (/[\p{L}\p{M}\p{N}\p{P}\p{S}\u0020]/u.test(ch)) return ch;
  return cp < 0x10000
    ? `\\u${cp.toString(16).padStart(4, "0")}`
    : `\\U${cp.toString(16).padStart(8, "0")}`;
}

/**
 * Quotes bytes as Go's `fmt.Sprintf("%q", b)` does.
 *
 * @example
 * ```ts
 * import { goQuoteBytes } from "./go_quote.ts";
 * const q = goQuoteBytes(new TextEncoder().encode("a\tb\r"));
 * if (q !== String.raw`"a\tb\r"`) throw new Error(q);
 * ```
 */
export function goQuoteBytes(b: Uint8Array, start = 0, end = b.length): string {
  let out = '"';
  let i = start;
  while (i < end) {
    const c = b[i];
    if (c < 0x80) {
      out += c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c
        ? String.fromCharCode(c)
        : quoteRune(c);
      i++;
      continue;
    }
    const [cp, n] = decodeUtf8(b, i, end);
    if (n === 0) {
      out += `\\x${hex2(c)}`;
      i++;
    } else {
      out += quoteRune(cp);
      i += n;
    }
  }
  return out + '"';
}

/** Quotes a string as Go's `%q` does (UTF-8 encoded first). */
export function goQuote(s: string): string {
  const b = new TextEncoder().encode(s);
  return goQuoteBytes(b);
}

/** One UTF-8 sequence at `i`: its code point and length, or length 0 when invalid. */
function decodeUtf8(b: Uint8Array, i: number, end: number): [number, number] {
  const c = b[i];
  let n: number;
  let cp: number;
  let min: number;
  if (c >= 0xc2 && c <= 0xdf) [n, cp, min] = [2, c & 0x1f, 0x80];
  else if (c >= 0xe0 && c <= 0xef) [n, cp, min] = [3, c & 0x0f, 0x800];
  else if (c >= 0xf0 && c <= 0xf4) [n, cp, min] = [4, c & 0x07, 0x10000];
  else return [0, 0];
  if (i + n > end) return [0, 0];
  for (let k = 1; k < n; k++) {
    const cc = b[i + k];
    if ((cc & 0xc0) !== 0x80) return [0, 0];
    cp = (cp << 6) | (cc & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return [0, 0];
  return [cp, n];
}
