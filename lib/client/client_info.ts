/**
 * A client may send INFO: nats-server decodes it (into its server-info type)
 * and otherwise ignores it, so text that is not a JSON object (or `null`)
 * closes the connection without an `-ERR`.
 *
 * @module
 */
import { goQuote } from "../protocol/go_quote.ts";

/** True when a client-sent INFO argument is a JSON object or `null`. */
export function validInfo(text: string): boolean {
  try {
    const v = JSON.parse(text);
    return v === null || (typeof v === "object" && !Array.isArray(v));
  } catch {
    return false;
  }
}

/**
 * The part nats-server adds to a client's log prefix after CONNECT:
 * ` - "v<version>:<lang>:<name>"` with the empty ones left out, or "" when all are empty.
 *
 * @example
 * ```ts
 * import { clientLogTag } from "./client_info.ts";
 * const tag = clientLogTag("3.0.2", "nats.js", "svc");
 * if (tag !== ' - "v3.0.2:nats.js:svc"') throw new Error(tag);
 * ```
 */
export function clientLogTag(version: string, lang: string, name: string): string {
  const parts: string[] = [];
  if (version !== "") parts.push(`v${version}`);
  if (lang !== "") parts.push(lang);
  if (name !== "") parts.push(name);
  return parts.length === 0 ? "" : ` - ${goQuote(parts.join(":"))}`;
}
