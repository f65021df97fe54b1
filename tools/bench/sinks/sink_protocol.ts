/**
 * What the TLS sinks of the `tlsceiling` workload say: an INFO line when a
 * connection opens (over TLS: the sinks handshake first) and a PONG for a
 * PING that ends a read. The bench's publisher sends CONNECT and PING, waits
 * for PONG, writes its PUBs, then PING again and waits for PONG: both PINGs
 * are the last bytes it sends before waiting, so they end a read.
 *
 * @module
 */

/** The INFO line a sink sends first. */
export const INFO = new TextEncoder().encode(
  'INFO {"server_id":"tls-sink","version":"0.0.0","proto":1,"max_payload":1048576,' +
    '"tls_required":true}\r\n',
);
/** The answer to PING. */
export const PONG = new TextEncoder().encode("PONG\r\n");
const PING = new TextEncoder().encode("PING\r\n");

/**
 * Whether the bytes read so far end with `PING\r\n`, given the previous
 * read's last five bytes (`tail`); returns the new tail too.
 */
export function endsWithPing(
  tail: Uint8Array,
  chunk: Uint8Array,
): { ping: boolean; tail: Uint8Array } {
  const keep = PING.length - 1;
  let ping = true;
  for (let i = 1; i <= PING.length; i++) {
    const at = chunk.length - i;
    const b = at >= 0 ? chunk[at] : tail[tail.length + at];
    if (b !== PING[PING.length - i]) {
      ping = false;
      break;
    }
  }
  let next: Uint8Array;
  if (chunk.length >= keep) {
    next = chunk.slice(chunk.length - keep);
  } else {
    next = new Uint8Array(Math.min(keep, tail.length + chunk.length));
    const fromTail = next.length - chunk.length;
    next.set(tail.subarray(tail.length - fromTail));
    next.set(chunk, fromTail);
  }
  return { ping, tail: next };
}
