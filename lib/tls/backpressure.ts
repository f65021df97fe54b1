/**
 * Read back-pressure for `node:tls` sockets under Deno.
 *
 * WORKAROUND (Deno 2.9.6, docs/architecture.md, "Runtime facts"): `pause()`
 * on a TLS socket does not stop the TLS layer from reading TCP and buffering
 * the plaintext (measured here: 1 MB consumed, RSS past 700 MB three seconds
 * later). Stopping reads on the TCP handle under the TLS socket works
 * (RSS flat at 57 MB). Node honours `pause()` alone, so when Deno fixes this,
 * delete the handle calls below and keep `pause()`/`resume()`.
 *
 * @module
 */
import type { Socket } from "node:net";
import { nextTurn, NodeTransport, noteRead, READ_TURN_BUDGET } from "../conn/transport.ts";

interface StreamHandle {
  readStop?(): unknown;
  readStart?(): unknown;
  useUserBuffer?(buffer: Uint8Array): unknown;
}

/** The TCP handle a TLS socket reads from, when the runtime exposes it. */
function tcpHandle(socket: Socket): StreamHandle | undefined {
  // Node-compat internals: the wrapped socket (`_parent`) and its TCP handle are untyped.
  const parent = (socket as unknown as { _parent?: { _handle?: StreamHandle } })._parent;
  return parent?._handle ?? undefined;
}

/**
 * Stops reading a socket (plain or TLS) until {@link resumeReads}.
 *
 * @param socket A `node:net` or `node:tls` socket.
 */
export function pauseReads(socket: Socket): void {
  socket.pause();
  tcpHandle(socket)?.readStop?.();
}

/**
 * Restarts reading after {@link pauseReads}.
 *
 * @param socket The same socket.
 */
export function resumeReads(socket: Socket): void {
  tcpHandle(socket)?.readStart?.();
  // A TLS socket whose reader returned false (readIntoSharedBuffer) has its
  // own handle stopped too.
  const own = (socket as unknown as { _handle?: StreamHandle & { reading?: boolean } })._handle;
  if (own && own.reading === false && typeof own.readStart === "function") {
    own.reading = true;
    own.readStart();
  }
  socket.resume();
}

/** Size of the read buffer all TLS connections share (see {@link readIntoSharedBuffer}). */
const TLS_READ_SIZE = 64 * 1024;
let sharedReadBuffer: Uint8Array | null = null;

/** An internal symbol-keyed field of a `node:net` socket, found by its description. */
function internalSymbol(socket: Socket, name: string): symbol | undefined {
  return Object.getOwnPropertySymbols(socket).find((s) => s.description === name);
}

/**
 * Makes the TLS layer hand each decrypted chunk to `deliver` in one buffer
 * shared by every TLS connection, instead of wrapping each chunk in a Buffer
 * pushed through the stream machinery and emitted as 'data'. This is Node's
 * `onread` option of `net.Socket` (a user buffer and a callback), which
 * `tls.Server` offers no way to pass, so its two fields are set as
 * `net.Socket` sets them. Sharing is safe because a chunk is only valid during
 * `deliver` (the same contract as the plain TCP transport's reused buffer):
 * the runtime fills the buffer on this thread just before the call.
 * Measured: peak RSS of a TLS publisher 230 MB with 'data' events, 138 MB
 * with the shared buffer (docs/performance.md).
 *
 * @returns false when the runtime lacks the hook ('data' events remain).
 */
function readIntoSharedBuffer(socket: Socket, deliver: (chunk: Uint8Array) => boolean): boolean {
  const handle = (socket as unknown as { _handle?: StreamHandle })._handle;
  const kBuffer = internalSymbol(socket, "kBuffer");
  const kBufferCb = internalSymbol(socket, "kBufferCb");
  if (typeof handle?.useUserBuffer !== "function" || !kBuffer || !kBufferCb) return false;
  const buf = sharedReadBuffer ??= new Uint8Array(TLS_READ_SIZE);
  const fields = socket as unknown as Record<symbol, unknown>;
  fields[kBuffer] = buf;
  // `deliver` returns false when reads are paused: the TLS layer then stops
  // too (as it does once a stream's buffer is full) until resumeReads().
  fields[kBufferCb] = (n: number, b: Uint8Array) => deliver(b.subarray(0, n));
  handle.useUserBuffer(buf);
  return true;
}

/**
 * A {@link NodeTransport} for TLS sockets that keeps reads bounded and fair:
 * once a connection has read {@link READ_TURN_BUDGET} bytes it stops the TCP
 * handle and restarts it on a later turn of the event loop ({@link nextTurn}),
 * so the TLS layer holds at most about that much per turn instead of
 * buffering without limit while the parser is busy (measured: over 1 GB;
 * docs/architecture.md), and a client that publishes flat out lets the other
 * connections in between. A connection that reads less (a request, a reply)
 * is never held back.
 * pause()/resume() (async auth, flow control) use the same handle calls.
 *
 * Decrypted chunks arrive in one shared buffer (`readIntoSharedBuffer`).
 * The runtime still allocates a buffer per read underneath, which V8 frees
 * late; forcing collections does not pay: the only collector reachable at
 * run time does full mark-compacts of 40-120 ms each (docs/performance.md).
 */
export class TlsTransport extends NodeTransport {
  #paused = false;
  #throttled = false;
  readonly #resumeAfterTurn = () => {
    this.#throttled = false;
    if (!this.#paused && !this.socket.destroyed) resumeReads(this.socket);
  };

  override start(onData: (chunk: Uint8Array) => void, onClose: (error?: Error) => void): void {
    let sinceTurn = 0;
    const deliver = (chunk: Uint8Array): boolean => {
      noteRead(this);
      onData(chunk);
      if (this.#throttled || this.#paused) return false;
      sinceTurn += chunk.length;
      if (sinceTurn < READ_TURN_BUDGET) return true;
      sinceTurn = 0;
      this.#throttled = true;
      pauseReads(this.socket);
      nextTurn(this).then(this.#resumeAfterTurn);
      return false;
    };
    readIntoSharedBuffer(this.socket, deliver);
    // 'data' still carries what the stream buffered before the switch (and
    // everything, on a runtime without the hook).
    super.start(deliver, onClose);
  }

  override pause(): void {
    this.#paused = true;
    pauseReads(this.socket);
  }

  override resume(): void {
    this.#paused = false;
    if (!this.#throttled) resumeReads(this.socket);
  }
}
