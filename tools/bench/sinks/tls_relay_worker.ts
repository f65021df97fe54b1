/**
 * The Worker of tls_relay_server.ts: owns the client port. Each accepted
 * socket gets a plain-text INFO (`tls_required`), then is upgraded by a
 * `node:tls` Server (the way lib/tls/client_listener.ts does), answers the
 * load generator's handshake (PONG to the PING after CONNECT and SUBs) and
 * becomes a publisher or a subscriber. Publishers' decrypted bytes go to the
 * main thread through the `in` ring (`ring` mode), which copies them into one
 * `out` ring per subscriber; this Worker encrypts and writes each out ring to
 * its subscriber. In `direct` mode this Worker writes a publisher's chunk to
 * every subscriber itself (TLS and relay on one thread). What subscribers
 * send (the PONG to the publisher's final PING, forwarded to them unparsed)
 * goes straight back to the publishers.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import * as net from "node:net";
import type { Socket } from "node:net";
import * as tls from "node:tls";
import { RingFeeder, SabRing, writeRingTo } from "./sab_ring.ts";
import { pauseTls, resumeTls, useSharedBuffer } from "./shared_read.ts";

type Buffers = { ctl: SharedArrayBuffer; data: SharedArrayBuffer };

interface Start {
  type: "start";
  port: number;
  cert: string;
  key: string;
  mode: "ring" | "direct";
  inRing: Buffers;
  outRings: Buffers[];
}

const INFO = new TextEncoder().encode(
  'INFO {"server_id":"tls-relay","version":"0.0.0","max_payload":1048576,"tls_required":true}\r\n',
);
const PONG = new TextEncoder().encode("PONG\r\n");

const publishers = new Set<Socket>();
const subscribers: Socket[] = [];

function start(s: Start): void {
  const ring = new SabRing(s.inRing.ctl, s.inRing.data);
  const buf = new Uint8Array(64 * 1024);
  const feeders = new Map<Socket, RingFeeder>();

  /** A publisher's chunk, after its handshake. */
  const fromPublisher = (socket: Socket, chunk: Uint8Array): boolean => {
    if (s.mode === "direct") {
      let ok = true;
      for (const sub of subscribers) ok = sub.write(chunk.slice()) && ok;
      if (ok) return true;
      pauseTls(socket);
      let waiting = subscribers.filter((sub) => sub.writableNeedDrain).length;
      if (waiting === 0) {
        queueMicrotask(() => resumeTls(socket));
        return false;
      }
      for (const sub of subscribers) {
        if (!sub.writableNeedDrain) continue;
        sub.once("drain", () => {
          if (--waiting === 0) resumeTls(socket);
        });
      }
      return false;
    }
    let feeder = feeders.get(socket);
    if (feeder === undefined) {
      feeder = new RingFeeder(ring, () => pauseTls(socket), () => resumeTls(socket));
      feeders.set(socket, feeder);
    }
    return feeder.feed(chunk);
  };

  const tlsServer = tls.createServer({ cert: s.cert, key: s.key, minVersion: "TLSv1.2" });
  tlsServer.on("secureConnection", (socket: Socket) => {
    socket.setNoDelay(true);
    socket.on("error", () => socket.destroy());
    let hello = "";
    let role: "pub" | "sub" | undefined;
    const onChunk = (chunk: Uint8Array): boolean => {
      if (role === "pub") return fromPublisher(socket, chunk);
      if (role === "sub") {
        for (const p of publishers) p.write(chunk.slice());
        return true;
      }
      hello += new TextDecoder().decode(chunk);
      if (!hello.includes("PING\r\n")) return true;
      socket.write(PONG);
      if (/(^|\n)SUB /.test(hello)) {
        role = "sub";
        const i = subscribers.push(socket) - 1;
        socket.on("close", () => subscribers.splice(subscribers.indexOf(socket), 1));
        if (s.mode === "ring") {
          self.postMessage({ type: "sub", index: i });
          writeRingTo(socket, new SabRing(s.outRings[i]!.ctl, s.outRings[i]!.data));
        }
      } else {
        role = "pub";
        publishers.add(socket);
        socket.on("close", () => publishers.delete(socket));
      }
      return true;
    };
    if (!useSharedBuffer(socket, buf, onChunk)) {
      self.postMessage({ type: "error", message: "the runtime lacks the onread hook" });
    }
  });
  const server = net.createServer((tcp) => {
    tcp.setNoDelay(true);
    tcp.on("error", () => tcp.destroy());
    tcp.write(INFO);
    tlsServer.emit("connection", tcp);
  });
  server.listen(s.port, "127.0.0.1", () => self.postMessage({ type: "listening" }));
}

self.onmessage = (e: MessageEvent) => {
  if (e.data.type === "start") start(e.data as Start);
};
