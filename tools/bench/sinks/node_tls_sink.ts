/**
 * TLS sink for the `tlsceiling` bench workload, on `node:tls` in Deno (the
 * stack dnatsd's TLS connections use): accepts TLS connections (handshake
 * first), sends an INFO line, reads and discards everything, and answers a
 * PING that ends a read with PONG. No parsing: what it costs is the cost of
 * TLS in the runtime.
 *
 * Usage: deno run -A node_tls_sink.ts <port> <cert.pem> <key.pem> [data|onread|echo]
 *
 * `data` (default) takes 'data' events, a Buffer per chunk; `onread` reads
 * into one reused buffer as dnatsd does (lib/tls/backpressure.ts); `echo`
 * writes every chunk back ('data' events), for the decrypt-and-encrypt cost.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import type { Socket } from "node:net";
import * as tls from "node:tls";
import { endsWithPing, INFO, PONG } from "./sink_protocol.ts";

const [portText, certFile, keyFile, mode = "data"] = Deno.args;
if (portText === undefined || certFile === undefined || keyFile === undefined) {
  console.error("usage: node_tls_sink.ts <port> <cert.pem> <key.pem> [data|onread]");
  Deno.exit(2);
}

interface TcpHandle {
  readStop?(): unknown;
  readStart?(): unknown;
}

interface UserBufferHandle {
  useUserBuffer?(buffer: Uint8Array): unknown;
}

const shared = new Uint8Array(64 * 1024);

/** The same hook dnatsd uses: Node's `onread` fields set on an accepted socket. */
function useSharedBuffer(socket: Socket, onChunk: (chunk: Uint8Array) => void): boolean {
  const handle = (socket as unknown as { _handle?: UserBufferHandle })._handle;
  const syms = Object.getOwnPropertySymbols(socket);
  const kBuffer = syms.find((s) => s.description === "kBuffer");
  const kBufferCb = syms.find((s) => s.description === "kBufferCb");
  if (typeof handle?.useUserBuffer !== "function" || !kBuffer || !kBufferCb) return false;
  const fields = socket as unknown as Record<symbol, unknown>;
  fields[kBuffer] = shared;
  fields[kBufferCb] = (n: number, b: Uint8Array) => {
    onChunk(b.subarray(0, n));
    return true;
  };
  handle.useUserBuffer(shared);
  return true;
}

const server = tls.createServer({
  cert: readFileSync(certFile),
  key: readFileSync(keyFile),
  minVersion: "TLSv1.2",
}, (socket) => {
  socket.setNoDelay(true);
  let tail: Uint8Array = new Uint8Array(0);
  const onChunk = (chunk: Uint8Array) => {
    const r = endsWithPing(tail, chunk);
    tail = r.tail;
    if (r.ping) socket.write(PONG);
  };
  socket.on("error", () => socket.destroy());
  if (mode === "onread" && !useSharedBuffer(socket, onChunk)) {
    console.error("onread: the runtime lacks the hook");
    Deno.exit(1);
  }
  if (mode === "echo") {
    // Back-pressure as a relay must: stop reading while the write is queued.
    // pause() alone does not stop the TLS layer in Deno 2.9; the TCP handle
    // under it must stop too (lib/tls/backpressure.ts).
    const tcp = (socket as unknown as { _parent?: { _handle?: TcpHandle } })._parent?._handle;
    socket.on("data", (chunk: Uint8Array) => {
      if (socket.write(chunk)) return;
      socket.pause();
      tcp?.readStop?.();
      socket.once("drain", () => {
        tcp?.readStart?.();
        socket.resume();
      });
    });
  } else {
    socket.on("data", onChunk);
  }
  socket.write(INFO);
});
server.listen(Number(portText), "127.0.0.1", () => console.log(`listening on ${portText}`));
