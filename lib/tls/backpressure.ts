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
import { NodeTransport } from "../conn/transport.ts";

interface StreamHandle {
  readStop?(): unknown;
  readStart?(): unknown;
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
 * A {@link NodeTransport} for TLS sockets that keeps reads bounded: after each
 * chunk it stops the TCP handle and restarts it after pending I/O callbacks (setImmediate), so the
 * TLS layer holds at most what arrived in one event-loop turn instead of
 * buffering without limit while the parser is busy (measured: over 1 GB; docs/architecture.md).
 * pause()/resume() (async auth) use the same handle calls.
 */
/**
 * WORKAROUND (Deno 2.9.6): every decrypted chunk is a fresh buffer, and V8
 * collects them late: a TLS publisher at ~400 MB/s held the server at
 * 250-370 MB RSS (plain TCP, which reads into one reused buffer: 77 MB). A
 * young-generation collection every 32 MiB of TLS input keeps it flat at
 * ~150 MB with no measurable throughput cost (same load, 2.0-2.9 GB in 8 s
 * either way). `gc` is enabled at run time so no launch flag is needed.
 */
const TLS_GC_EVERY = 32 * 1024 * 1024;
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

export class TlsTransport extends NodeTransport {
  #paused = false;
  #throttled = false;

  override start(onData: (chunk: Uint8Array) => void, onClose: (error?: Error) => void): void {
    super.start((chunk) => {
      onData(chunk);
      collectTlsGarbage(chunk.length);
      if (this.#throttled) return;
      this.#throttled = true;
      pauseReads(this.socket);
      setImmediate(() => {
        this.#throttled = false;
        if (!this.#paused && !this.socket.destroyed) resumeReads(this.socket);
      });
    }, onClose);
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
