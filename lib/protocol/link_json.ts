/**
 * The INFO and CONNECT JSON of server links (routes, leaf nodes): read
 * leniently, field by field, since peers of other versions add and omit
 * fields.
 *
 * @module
 */

/** A JSON object as parsed, fields unchecked. */
export type JsonFields = Record<string, unknown>;

/** Parses `text` as a JSON object; null when it is not valid JSON or not an object. */
export function parseJsonObject(text: string): JsonFields | null {
  try {
    const v = JSON.parse(text);
    return v !== null && typeof v === "object" && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

/** A field's value when it is a string, else undefined. */
export function optStr(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}
