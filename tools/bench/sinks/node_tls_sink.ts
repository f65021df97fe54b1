/**
 * TLS sink for the `tlsceiling` bench workload, on `node:tls` in Deno (the
 * stack dnatsd's TLS connections use): accepts TLS connections (handshake
 * first), sends an INFO line, reads and discards everything, and answers a
 * PING that ends a read with PONG. No parsing: what it costs is the cost of
 * TLS in the runtime.
 *
 * Usage: deno run -A node_tls_sink.ts <port> <cert.pem> <key.pem> [data|onread|parse|echo]
 *
 * `data` (default) takes 'data' events, a Buffer per chunk; `onread` reads
 * into one reused buffer as dnatsd does (lib/tls/backpressure.ts); `echo`
 * writes every chunk back ('data' events), for the decrypt-and-encrypt cost;
 * `parse` reads as `onread` and runs dnatsd's client parser on every byte on
 * the same thread (parse_sink.ts), printing its threads' CPU at each PING
 * (thread_cpu.ts): the in-thread twin of worker_tls_sink.ts.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import * as tls from "node:tls";
import { sinkParser } from "./parse_sink.ts";
import { pauseTls, resumeTls, useSharedBuffer } from "./shared_read.ts";
import { endsWithPing, INFO, PONG } from "./sink_protocol.ts";
import { printThreadCpu } from "./thread_cpu.ts";

const [portText, certFile, keyFile, mode = "data"] = Deno.args;
if (portText === undefined || certFile === undefined || keyFile === undefined) {
  console.error("usage: node_tls_sink.ts <port> <cert.pem> <key.pem> [data|onread|parse|echo]");
  Deno.exit(2);
}

const shared = new Uint8Array(64 * 1024);

const server = tls.createServer({
  cert: readFileSync(certFile),
  key: readFileSync(keyFile),
  minVersion: "TLSv1.2",
}, (socket) => {
  socket.setNoDelay(true);
  let tail: Uint8Array = new Uint8Array(0);
  let onChunk = (chunk: Uint8Array) => {
    const r = endsWithPing(tail, chunk);
    tail = r.tail;
    if (r.ping) socket.write(PONG);
  };
  if (mode === "parse") {
    const { parser } = sinkParser(() => {
      printThreadCpu();
      socket.write(PONG);
    });
    onChunk = (chunk) => {
      if (parser.parse(chunk) < 0) socket.destroy();
    };
  }
  socket.on("error", () => socket.destroy());
  if ((mode === "onread" || mode === "parse") && !useSharedBuffer(socket, shared, onChunk)) {
    console.error("onread: the runtime lacks the hook");
    Deno.exit(1);
  }
  if (mode === "echo") {
    // Back-pressure as a relay must: stop reading while the write is queued.
    // pause() alone does not stop the TLS layer in Deno 2.9; the TCP handle
    // under it must stop too (lib/tls/backpressure.ts).
    socket.on("data", (chunk: Uint8Array) => {
      if (socket.write(chunk)) return;
      pauseTls(socket);
      socket.once("drain", () => resumeTls(socket));
    });
  } else {
    socket.on("data", onChunk);
  }
  socket.write(INFO);
});
server.listen(Number(portText), "127.0.0.1", () => console.log(`listening on ${portText}`));
