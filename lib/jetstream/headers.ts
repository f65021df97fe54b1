/**
 * Reading NATS message headers (`NATS/1.0\r\nKey: value\r\n...\r\n\r\n`)
 * the way nats-server's JetStream looks them up: the first header whose name
 * matches exactly, its value with surrounding spaces removed.
 *
 * @module
 */

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** The value of header `name` in `hdr`, or undefined when absent. */
export function getHeader(hdr: Uint8Array | null, name: string): string | undefined {
  if (hdr === null || hdr.length === 0) return undefined;
  const text = decoder.decode(hdr);
  const lines = text.split("\r\n");
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    if (line.slice(0, colon) === name) return line.slice(colon + 1).trim();
  }
  return undefined;
}

/** Builds a header block from a status line tail (`""`, `"404 No Messages"`) and pairs. */
export function buildHeaders(status: string, pairs: Array<[string, string]> = []): Uint8Array {
  let text = status === "" ? "NATS/1.0\r\n" : `NATS/1.0 ${status}\r\n`;
  for (const [k, v] of pairs) text += `${k}: ${v}\r\n`;
  return encoder.encode(text + "\r\n");
}
