/**
 * The read hooks the `node:tls` sinks share with dnatsd (lib/tls/backpressure.ts):
 * decrypted chunks delivered into one reused buffer (Node's `onread` fields
 * set on an accepted socket), and stopping/starting the TCP handle under a
 * TLS socket (in Deno 2.9 `pause()` alone does not stop the TLS layer).
 *
 * @module
 */
import type { Socket } from "node:net";

interface Handle {
  readStop?(): unknown;
  readStart?(): unknown;
  useUserBuffer?(buffer: Uint8Array): unknown;
  reading?: boolean;
}

/**
 * Makes `socket` hand each decrypted chunk to `onChunk` inside `buf`; the
 * chunk is valid only during the call. `onChunk` returning false stops the
 * TLS socket's own reads until {@link resumeTls}.
 *
 * @returns false when the runtime lacks the hook.
 */
export function useSharedBuffer(
  socket: Socket,
  buf: Uint8Array,
  onChunk: (chunk: Uint8Array) => boolean | void,
): boolean {
  const handle = (socket as unknown as { _handle?: Handle })._handle;
  const syms = Object.getOwnPropertySymbols(socket);
  const kBuffer = syms.find((s) => s.description === "kBuffer");
  const kBufferCb = syms.find((s) => s.description === "kBufferCb");
  if (typeof handle?.useUserBuffer !== "function" || !kBuffer || !kBufferCb) return false;
  const fields = socket as unknown as Record<symbol, unknown>;
  fields[kBuffer] = buf;
  fields[kBufferCb] = (n: number, b: Uint8Array) => onChunk(b.subarray(0, n)) !== false;
  handle.useUserBuffer(buf);
  return true;
}

function tcp(socket: Socket): Handle | undefined {
  return (socket as unknown as { _parent?: { _handle?: Handle } })._parent?._handle;
}

/** Stops reading a TLS socket: the stream and the TCP handle under it. */
export function pauseTls(socket: Socket): void {
  socket.pause();
  tcp(socket)?.readStop?.();
}

/** Restarts reading after {@link pauseTls} or an `onChunk` that returned false. */
export function resumeTls(socket: Socket): void {
  tcp(socket)?.readStart?.();
  const own = (socket as unknown as { _handle?: Handle })._handle;
  if (own && own.reading === false && typeof own.readStart === "function") {
    own.reading = true;
    own.readStart();
  }
  socket.resume();
}
