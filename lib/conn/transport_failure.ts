/**
 * What a connection (client or route) does when its transport fails or
 * ends: the same debug lines and closed reasons as nats-server for both.
 *
 * @module
 */
import { ClosedReason } from "./closed_reason.ts";

/** The parts of a connection the transport callbacks need. */
export interface TransportOwner {
  readonly isClosed: boolean;
  readonly logPrefix: string;
  readonly server: { readonly log: { debug(msg: string): void; error(msg: string): void } };
  close(reason: ClosedReason): void;
}

/**
 * A write failed: logs it at debug and closes with `WriteError`.
 *
 * @param conn the connection whose write failed
 * @param e the write error
 */
export function closeOnWriteError(conn: TransportOwner, e: Error): void {
  if (conn.isClosed) return;
  conn.server.log.debug(`${conn.logPrefix} - Write error: ${e.message}`);
  conn.close(ClosedReason.WriteError);
}

/**
 * The transport stopped delivering: `ReadError` (logged at debug) when
 * reading failed, `ClientClosed` when the peer closed.
 *
 * @param conn the connection whose transport ended
 * @param e the read error, if any
 */
export function closeOnTransportEnd(conn: TransportOwner, e?: Error): void {
  if (conn.isClosed) return;
  // A broken WebSocket frame is logged as an error, as nats-server does.
  if (e && (e as { wsProtocol?: boolean }).wsProtocol) {
    conn.server.log.error(`${conn.logPrefix} - read error: ${e.message}`);
  } else if (e) conn.server.log.debug(`${conn.logPrefix} - Read error: ${e.message}`);
  conn.close(e ? ClosedReason.ReadError : ClosedReason.ClientClosed);
}
