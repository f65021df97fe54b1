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
 * A write failed: logs it as nats-server does (`Error flushing: ...`, at debug
 * for clients, as an error for routes) and closes with `WriteError`.
 *
 * @param conn the connection whose write failed
 * @param e the write error
 * @param level `error` for routes
 */
export function closeOnWriteError(
  conn: TransportOwner,
  e: Error,
  level: "debug" | "error" = "debug",
): void {
  if (conn.isClosed) return;
  conn.server.log[level](`${conn.logPrefix} - Error flushing: write: ${goWriteErrorText(e)}`);
  conn.close(ClosedReason.WriteError);
}

/** The errno text Go prints for a failed write, not the runtime's wording. */
function goWriteErrorText(e: Error): string {
  const code = (e as { code?: unknown }).code;
  if (e instanceof Deno.errors.BrokenPipe || code === "EPIPE") return "broken pipe";
  if (e instanceof Deno.errors.ConnectionReset || code === "ECONNRESET") {
    return "connection reset by peer";
  }
  const bare = e.message.replace(/\s*\(os error \d+\)\s*$/, "");
  return bare.length > 0 ? bare[0].toLowerCase() + bare.slice(1) : bare;
}

/**
 * The transport stopped delivering: `ReadError` when reading failed,
 * `ClientClosed` when the peer closed. Nothing is logged here: nats-server
 * says only `... connection closed: Read Error` (written by the close), but
 * for a broken WebSocket frame (`read error: mask bit missing`).
 *
 * @param conn the connection whose transport ended
 * @param e the read error, if any
 */
export function closeOnTransportEnd(conn: TransportOwner, e?: Error): void {
  if (conn.isClosed) return;
  // A broken WebSocket frame is logged as an error, as nats-server does.
  if (e && (e as { wsProtocol?: boolean }).wsProtocol) {
    conn.server.log.error(`${conn.logPrefix} - read error: ${e.message}`);
  }
  conn.close(e ? ClosedReason.ReadError : ClosedReason.ClientClosed);
}
