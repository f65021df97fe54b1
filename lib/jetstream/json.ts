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

export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
  );
}
