/**
 * The Worker of worker_tls_sink.ts: owns the TLS listener and its sockets
 * (`node:tls`, handshake first, INFO, dnatsd's shared read buffer) and hands
 * every decrypted byte to the main thread, either through a SharedArrayBuffer
 * ring (`ring`, sab_ring.ts) or as a transferred ArrayBuffer per chunk
 * (`post`). In `echo` mode it also takes plaintext back from the main thread
 * through a second ring, and encrypts and writes it (the write path of a
 * delivery). In `none` mode nothing is handed over: the Worker finds the
 * PINGs itself and asks the main thread to answer (`node:tls` in a Worker
 * alone). Reading stops while the main thread is behind (a full ring, or more
 * than {@link POST_HIGH} bytes posted and not yet parsed) and resumes when it
 * catches up. The PONG comes from the main thread as a message.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import type { Socket } from "node:net";
import * as tls from "node:tls";
import { RingFeeder, SabRing, writeRingTo } from "./sab_ring.ts";
import { endsWithPing, INFO, PONG } from "./sink_protocol.ts";
import { pauseTls, resumeTls, useSharedBuffer } from "./shared_read.ts";

/** Bytes posted and not yet acknowledged above which `post` mode stops reading. */
const POST_HIGH = 4 * 1024 * 1024;

type Buffers = { ctl: SharedArrayBuffer; data: SharedArrayBuffer };

interface Start {
  type: "start";
  port: number;
  cert: string;
  key: string;
  mode: "ring" | "post" | "none" | "echo";
  /** Plaintext read, Worker to main thread. */
  inRing: Buffers;
  /** Plaintext to write, main thread to Worker (`echo`). */
  outRing: Buffers;
}

let socketNow: Socket | undefined;
let outstanding = 0;
let postPaused = false;

function start(s: Start): void {
  const ring = new SabRing(s.inRing.ctl, s.inRing.data);
  const out = new SabRing(s.outRing.ctl, s.outRing.data);
  const server = tls.createServer({
    cert: s.cert,
    key: s.key,
    minVersion: "TLSv1.2",
  }, (socket) => {
    socketNow = socket;
    socket.setNoDelay(true);
    socket.on("error", () => socket.destroy());
    const buf = new Uint8Array(64 * 1024);
    const feeder = new RingFeeder(ring, () => pauseTls(socket), () => resumeTls(socket));
    let tail: Uint8Array = new Uint8Array(0);
    const toRing = (chunk: Uint8Array): boolean => feeder.feed(chunk);
    const onChunk = s.mode === "none"
      ? (chunk: Uint8Array): boolean => {
        const r = endsWithPing(tail, chunk);
        tail = r.tail;
        if (r.ping) self.postMessage({ type: "ping" });
        return true;
      }
      : s.mode === "post"
      ? (chunk: Uint8Array): boolean => {
        const copy = chunk.slice();
        self.postMessage({ type: "data", buf: copy.buffer }, [copy.buffer]);
        outstanding += chunk.length;
        if (outstanding < POST_HIGH) return true;
        postPaused = true;
        pauseTls(socket);
        return false;
      }
      : toRing;
    if (!useSharedBuffer(socket, buf, onChunk)) {
      self.postMessage({ type: "error", message: "the runtime lacks the onread hook" });
      return;
    }
    socket.write(INFO);
    if (s.mode === "echo") writeRingTo(socket, out);
  });
  server.listen(s.port, "127.0.0.1", () => self.postMessage({ type: "listening" }));
}

self.onmessage = (e: MessageEvent) => {
  const m = e.data;
  if (m.type === "start") start(m as Start);
  else if (m.type === "pong") socketNow?.write(PONG);
  else if (m.type === "ack") {
    outstanding -= m.bytes as number;
    if (postPaused && outstanding < POST_HIGH / 2 && socketNow !== undefined) {
      postPaused = false;
      resumeTls(socketNow);
    }
  }
};
