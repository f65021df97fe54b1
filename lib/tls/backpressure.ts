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
import { setImmediate } from "node:timers";
import v8 from "node:v8";
import vm from "node:vm";
import { nextTurn, NodeTransport } from "../conn/transport.ts";

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
  socket.resume();
}

/**
 * WORKAROUND (Deno 2.9.6), only when the shared read buffer below cannot be
 * installed: every decrypted chunk is a fresh buffer, and V8
 * collects them late: a TLS publisher at ~400 MB/s held the server at
 * 250-370 MB RSS (plain TCP, which reads into one reused buffer: 77 MB). A
 * young-generation collection every 32 MiB of TLS input keeps it flat at
 * ~150 MB with no measurable throughput cost (same load, 2.0-2.9 GB in 8 s
 * either way). `gc` is enabled at run time so no launch flag is needed.
 */
const TLS_GC_EVERY = 8 * 1024 * 1024;
let tlsBytesSinceGc = 0;
let minorGc: ((options: { type: "minor" }) => void) | null | undefined;

function collectTlsGarbage(bytes: number): void {
  tlsBytesSinceGc += bytes;
  if (tlsBytesSinceGc < TLS_GC_EVERY) return;
  tlsBytesSinceGc = 0;
  if (minorGc === undefined) {
    try {
      v8.setFlagsFromString("--expose-gc");
      minorGc = vm.runInNewContext("gc");
    } catch {
      minorGc = null; // the runtime refused: fall back to V8's own schedule
    }
  }
  minorGc?.({ type: "minor" });
}

/** Size of the read buffers all TLS connections share (see {@link TlsTransport}). */
const TLS_READ_SIZE = 64 * 1024;
let sharedPlainBuffer: Uint8Array | null = null;

/** A property of a `node:net` socket keyed by an internal symbol, found by its description. */
function internalSymbol(socket: Socket, name: string): symbol | undefined {
  return Object.getOwnPropertySymbols(socket).find((s) => s.description === name);
}

/**
 * Makes the runtime decrypt into one buffer shared by every TLS connection
 * and call `deliver` with each chunk, instead of emitting a fresh Buffer per
 * chunk through the stream machinery. This is Node's `onread` option of
 * `net.Socket` (a user buffer plus a callback); `tls.Server` gives it no way to
 * pass it, so the two internal fields are set here, as `net.Socket` does it.
 * Sharing is safe because a chunk is valid only during `deliver`: the runtime
 * fills the buffer just before calling it, on this thread.
 *
 * @returns false when the runtime has no such hook (the caller keeps 'data' events).
 */
function readIntoSharedBuffer(socket: Socket, deliver: (chunk: Uint8Array) => void): boolean {
  const handle = (socket as unknown as { _handle?: StreamHandle })._handle;
  const kBuffer = internalSymbol(socket, "kBuffer");
  const kBufferCb = internalSymbol(socket, "kBufferCb");
  if (typeof handle?.useUserBuffer !== "function" || !kBuffer || !kBufferCb) return false;
  const buf = sharedPlainBuffer ??= new Uint8Array(TLS_READ_SIZE);
  const fields = socket as unknown as Record<symbol, unknown>;
  fields[kBuffer] = buf;
  fields[kBufferCb] = (n: number, b: Uint8Array) => {
    deliver(b.subarray(0, n));
    return true;
  };
  handle.useUserBuffer(buf);
  return true;
}

/**
 * A {@link NodeTransport} for TLS sockets.
 *
 * - Reads go into one shared buffer (`readIntoSharedBuffer`): no allocation
 *   per chunk, so nothing for the garbage collector to catch up with.
 * - Reads stay bounded and fair: after each chunk it stops the TCP handle and
 *   restarts it on the next event-loop turn ({@link nextTurn}), so the TLS
 *   layer holds at most what arrived in one turn instead of buffering without
 *   limit while the parser is busy (measured: over 1 GB; docs/architecture.md),
 *   and a client that publishes flat out lets the others in between its chunks.
 *
 * pause()/resume() (async auth, flow control) use the same handle calls.
 */
export class TlsTransport extends NodeTransport {
  #paused = false;
  #throttled = false;
  #sharedBuffer = false;
  readonly #resumeAfterTurn = () => {
    this.#throttled = false;
    if (!this.#paused && !this.socket.destroyed) resumeReads(this.socket);
  };

  override start(onData: (chunk: Uint8Array) => void, onClose: (error?: Error) => void): void {
    const deliver = (chunk: Uint8Array) => {
      onData(chunk);
      collectTlsGarbage(chunk.length);
      if (this.#throttled) return;
      this.#throttled = true;
      pauseReads(this.socket);
      nextTurn().then(this.#resumeAfterTurn);
    };
    this.#sharedBuffer = readIntoSharedBuffer(this.socket, deliver);
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
