/**
 * A client may send INFO: nats-server decodes it (into its server-info type)
 * and otherwise ignores it, so text that is not a JSON object (or `null`)
 * closes the connection without an `-ERR`.
 *
 * @module
 */

/** True when a client-sent INFO argument is a JSON object or `null`. */
export function validInfo(text: string): boolean {
  try {
    const v = JSON.parse(text);
    return v === null || (typeof v === "object" && !Array.isArray(v));
  } catch {
    return false;
  }
}
