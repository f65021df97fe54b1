/**
 * The WebSocket client listener (`websocket { port }`): plain TCP with
 * `no_tls`, TLS from the first byte otherwise (as nats-server's `wss`). Each
 * connection reads its HTTP upgrade request (lib/websocket/handshake.ts),
 * then becomes an ordinary client connection over a
 * {@link WebSocketTransport}: limits, permissions, flow control and
 * slow-consumer rules are those of every client.
 *
 * @module
 */
import * as tls from "node:tls";
import type { AddressInfo } from "node:net";
import type { Server } from "../server.ts";
import type { WebSocketOptions } from "../config/options.ts";
import { joinHostPort } from "../conn/address.ts";
import { DenoTransport, type TlsState, type Transport } from "../conn/transport.ts";
import { LISTEN_BACKLOG } from "../ops/listen_backlog.ts";
import { acceptLoop } from "../server/accept_loop.ts";
import { websocketListenError } from "../server/listen_error.ts";
import { keepAccepting } from "../server/node_accept.ts";
import { CertificateHolder } from "../tls/context.ts";
import { TlsTransport } from "../tls/backpressure.ts";
import { peerCertificate, tlsStateOf } from "../tls/session.ts";
import {
  checkUpgrade,
  keepsAlive,
  MAX_REQUEST_HEAD,
  originPolicy,
  readRequest,
  upgradeErrorResponse,
} from "./handshake.ts";
import { WebSocketTransport } from "./transport.ts";

/** A running WebSocket listener. */
export interface WebSocketListener {
  /** Bound port. */
  readonly port: number;
  /** `wss` (TLS) or `ws`. */
  readonly tls: boolean;
  /** Connections still in their handshake. */
  readonly handshakes: number;
  /** Stops accepting (the port is free when this resolves) and drops unfinished handshakes. */
  close(): Promise<void>;
}

/** nats-server's default when `websocket.host` is not set. */
const DEFAULT_HOST = "0.0.0.0";
/** TLS handshake bound when handshake_timeout is 0 (nats-server has none; see README). */
const DEFAULT_TLS_HANDSHAKE_MS = 10_000;

/**
 * Binds the listener from `server.options.websocket` and logs nats-server's
 * lines (`Listening for websocket clients on ws://...`, the warning without TLS).
 *
 * @throws {ListenError} When the port cannot be bound.
 */
export async function startWebSocketListener(server: Server): Promise<WebSocketListener> {
  const o: WebSocketOptions = server.options.websocket!;
  const host = o.host === "" ? DEFAULT_HOST : o.host;
  const port = o.port === -1 ? 0 : o.port;
  const policy = originPolicy(o.sameOrigin, o.allowedOrigins);
  const useTls = o.tls !== undefined;
  const pending = new Set<WebSocketTransport>();
  let closed = false;

  /** Runs the HTTP handshake on one accepted connection. */
  const handle = (inner: Transport, tlsState: TlsState | null) => {
    const ws = new WebSocketTransport(inner, { maxInflated: server.options.maxPending });
    pending.add(ws);
    const remote = joinHostPort(inner.remoteAddress, inner.remotePort);
    let buf = new Uint8Array(0);
    let len = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let done = false;
    const finish = () => {
      done = true;
      clearTimeout(timer);
      pending.delete(ws);
      buf = new Uint8Array(0); // the read closure lives as long as the connection
    };
    const drop = () => {
      finish();
      ws.close();
    };
    const arm = () => {
      clearTimeout(timer);
      // Go's read deadline: a request not read in time closes the connection, no answer.
      if (o.handshakeTimeoutMs > 0) timer = setTimeout(drop, o.handshakeTimeoutMs);
    };
    const onChunk = (chunk: Uint8Array) => {
      if (done) return;
      if (len + chunk.length > buf.length) {
        const bigger = new Uint8Array(Math.max(len + chunk.length, buf.length * 2, 1024));
        bigger.set(buf.subarray(0, len));
        buf = bigger;
      }
      buf.set(chunk, len);
      len += chunk.length;
      while (!done) {
        const r = readRequest(buf, len);
        if (r.kind === "incomplete") {
          if (len > MAX_REQUEST_HEAD) drop();
          return;
        }
        if (r.kind === "reject") {
          finish();
          ws.writeRaw(r.response).catch(() => {});
          ws.close();
          return;
        }
        const req = r.request;
        const result = checkUpgrade(req, policy, o.compression, useTls);
        if ("status" in result) {
          server.log.error(`${remote} - websocket handshake error: ${result.reason}`);
          ws.writeRaw(upgradeErrorResponse(req, result.status)).catch(() => {});
          if (!keepsAlive(req)) {
            drop();
            return;
          }
          // Keep-alive: the next request may follow on the same connection.
          buf.copyWithin(0, r.consumed, len);
          len -= r.consumed;
          arm();
          continue;
        }
        if (r.consumed < len) {
          // Frames before our 101: nats-server refuses the connection without an answer.
          server.log.error(
            `${remote} - websocket handshake error: client sent data before handshake is complete`,
          );
          drop();
          return;
        }
        finish();
        if (closed || server.isLameDuck || server.isShuttingDown) {
          ws.close();
          return;
        }
        ws.writeRaw(result.response).catch(() => {});
        const kind = webSocketKind(req.target);
        if (kind !== "client") {
          // nats-server answers 101 and then closes a leaf node without a leafnodes
          // listener; dnatsd has no MQTT either.
          server.log.error(
            kind === "leaf"
              ? "Not configured to accept leaf node connections"
              : "MQTT over websocket is not supported by dnatsd",
          );
          ws.close();
          return;
        }
        ws.accept(result);
        server.acceptClient(
          ws,
          server.prepareClient(inner.remoteAddress, "websocket"),
          tlsState,
          "websocket",
        );
        return;
      }
    };
    arm();
    ws.open(onChunk, () => {
      if (!done) finish();
      ws.close();
    });
  };

  let stop: () => Promise<void>;
  let bound: number;
  if (useTls) {
    const holder = new CertificateHolder(o.tls!, "server");
    for (const w of holder.warnings) server.log.warn(w);
    const verify = o.tls!.verify || o.tls!.verifyAndMap;
    const tlsServer = tls.createServer({
      ...holder.secureContextOptions(),
      requestCert: verify,
      rejectUnauthorized: verify,
      handshakeTimeout: o.handshakeTimeoutMs > 0 ? o.handshakeTimeoutMs : DEFAULT_TLS_HANDSHAKE_MS,
    });
    const detach = holder.attach(tlsServer);
    tlsServer.on("secureConnection", (ts: tls.TLSSocket) => {
      if (closed || server.isLameDuck) {
        ts.destroy();
        return;
      }
      const address = ts.remoteAddress ?? "";
      const rport = ts.remotePort ?? 0;
      const peer = peerCertificate(ts);
      const pinError = holder.checkPinned(peer);
      if (pinError !== null) {
        server.log.error(
          `websocket: TLS handshake error from ${joinHostPort(address, rport)}: ${pinError}`,
        );
        ts.destroy();
        return;
      }
      ts.setNoDelay(true);
      handle(new TlsTransport(ts, { address, port: rport }), tlsStateOf(ts, peer));
    });
    tlsServer.on("tlsClientError", (err: Error, ts: tls.TLSSocket) => {
      const where = joinHostPort(ts.remoteAddress ?? "", ts.remotePort ?? 0);
      server.log.error(`websocket: TLS handshake error from ${where}: ${err.message}`);
    });
    await new Promise<void>((resolve, reject) => {
      tlsServer.once("error", reject);
      tlsServer.listen(port, host, LISTEN_BACKLOG, () => {
        tlsServer.off("error", reject);
        resolve();
      });
    }).catch((e) => {
      throw websocketListenError(e, host, port);
    });
    tlsServer.on("error", (e: Error) => server.log.error(`Websocket Accept error: ${e.message}`));
    const stopRearming = keepAccepting(tlsServer);
    bound = (tlsServer.address() as AddressInfo).port;
    stop = () => {
      stopRearming();
      detach();
      tlsServer.close();
      return Promise.resolve();
    };
  } else {
    let listener: Deno.Listener;
    try {
      listener = Deno.listen({
        hostname: host,
        port,
        transport: "tcp",
        tcpBacklog: LISTEN_BACKLOG,
      });
    } catch (e) {
      throw websocketListenError(e, host, port);
    }
    const loop = acceptLoop(listener, {
      name: "Websocket",
      log: () => server.log,
      refuse: () => closed || server.isLameDuck || server.isShuttingDown,
      accepted: (conn) => handle(new DenoTransport(conn, server.options.maxPending / 4), null),
    });
    bound = loop.addr.port;
    stop = async () => {
      loop.close();
      await loop.done;
    };
  }
  const scheme = useTls ? "wss" : "ws";
  // nats-server joins host and port without brackets here.
  server.log.notice(`Listening for websocket clients on ${scheme}://${host}:${bound}`);
  if (!useTls) server.log.warn("Websocket not configured with TLS. DO NOT USE IN PRODUCTION!");
  return {
    port: bound,
    tls: useTls,
    get handshakes() {
      return pending.size;
    },
    async close() {
      if (closed) return;
      closed = true;
      await stop();
      for (const ws of [...pending]) ws.close();
      pending.clear();
    },
  };
}

/** What nats-server serves on a path: `/leafnode...` and `/mqtt...` are not clients. */
function webSocketKind(target: string): "client" | "leaf" | "mqtt" {
  const path = target.replace(/^[a-z]+:\/\/[^/]*/i, "");
  if (path.startsWith("/leafnode")) return "leaf";
  if (path.startsWith("/mqtt")) return "mqtt";
  return "client";
}
