/**
 * JSON as Go's encoding/json writes it, which nats-server's API answers use:
 * `<`, `>`, `&`, U+2028 and U+2029 are escaped as `\\u003c`-style sequences.
 *
 * @example
 * ```ts
 * import { goJson } from "./json.ts";
 * import assert from "node:assert/strict";
 * assert.equal(goJson({ s: "a.>" }), '{"s":"a.\\u003e"}');
 * ```
 *
 * @module
 */
import { asciiInto } from "../protocol/bytes.ts";

export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
  );
}

const encoder = new TextEncoder();

/**
 * `s` as UTF-8 bytes; short ASCII text (publish acks) is copied by hand,
 * cheaper than a call into the encoder.
 */
export function textBytes(s: string): Uint8Array {
  if (s.length > 256) return encoder.encode(s);
  const b = new Uint8Array(s.length);
  return asciiInto(s, b, 0) ? b : encoder.encode(s);
}
