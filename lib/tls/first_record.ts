/**
 * Go's test of the first TLS record a server reads: a handshake (or alert)
 * record with a plausible version. Anything else (a plain-text CONNECT, an
 * HTTP request) ends the connection without a TLS alert, as nats-server's
 * `crypto/tls` does, logged as `tls: first record does not look like a TLS handshake`.
 *
 * @module
 */

/** TLS record type of a handshake message (a ClientHello). */
export const TLS_HANDSHAKE_RECORD = 0x16;
/** TLS record type of an alert. */
export const TLS_ALERT_RECORD = 0x15;

/** The error text Go gives for a first record that fails {@linkcode looksLikeTlsRecord}. */
export const NOT_TLS = "tls: first record does not look like a TLS handshake";

/** True when the first bytes a peer sent can start a TLS handshake (major version below 16). */
export function looksLikeTlsRecord(chunk: Uint8Array): boolean {
  const type = chunk[0];
  if (type !== TLS_HANDSHAKE_RECORD && type !== TLS_ALERT_RECORD) return false;
  return chunk.length < 2 || chunk[1] < 0x10;
}
