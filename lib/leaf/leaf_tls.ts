/**
 * TLS on leaf links, as nats-server 2.9 does it: the accepting side (hub)
 * writes its INFO in plain text (`tls_required: true`), then both sides run
 * the handshake, the hub as TLS server; the dialing side reads that INFO
 * first and then starts the handshake as TLS client. The hub asks for a
 * client certificate only with `verify: true`; the dialing side verifies the
 * hub against `ca_file` (unless `insecure`) and presents its own certificate
 * when the remote's `tls` block has one.
 *
 * Accepted sockets come from a `node:net` listener because only `node:tls`
 * can upgrade a server-side socket in Deno.
 *
 * @module
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { LISTEN_BACKLOG } from "../ops/listen_backlog.ts";
import type { TlsOptions } from "../config/options.ts";
import type { Logger } from "../ops/logger.ts";
import type { Transport } from "../conn/transport.ts";
import { TlsTransport } from "../tls/backpressure.ts";
import { CertificateHolder, readPemFile } from "../tls/context.ts";
import { peerCertificate, refusalReason } from "../tls/session.ts";
import { looksLikeTlsRecord, NOT_TLS } from "../tls/first_record.ts";
import { joinHostPort } from "../conn/address.ts";
import { keepAccepting } from "../server/node_accept.ts";

/** What the TLS leaf listener needs from the leaf node manager. */
export interface LeafTlsHooks {
  host: string;
  /** 0 = any free port. */
  port: number;
  log: Logger;
  /** The plain-text INFO for a new connection and the id it was made for. */
  prepare(): { cid: number; info: Uint8Array };
  /** A verified TLS socket whose INFO was already sent. */
  accepted(transport: Transport, cid: number): void;
  /** True while shutting down: new sockets are dropped. */
  refuse(): boolean;
}

export interface LeafTls {
  readonly port: number;
  close(): void;
}

function timeoutMs(options: TlsOptions | undefined): number {
  const t = options?.timeout ?? 0;
  return Math.round((t > 0 ? t : 2) * 1000);
}

/**
 * Starts the TLS leaf listener.
 *
 * @throws {Error} When the certificate files are unusable or the port is taken.
 */
export async function startLeafTls(options: TlsOptions, hooks: LeafTlsHooks): Promise<LeafTls> {
  const holder = new CertificateHolder(options, "server");
  for (const w of holder.warnings) hooks.log.warn(w);
  const verify = options.verify || options.verifyAndMap;
  const deadline = timeoutMs(options);
  const tlsServer = tls.createServer({
    ...holder.secureContextOptions(),
    requestCert: verify,
    rejectUnauthorized: verify,
    handshakeTimeout: deadline + 1000,
  });
  const detach = holder.attach(tlsServer);
  type Waiter = { resolve(s: tls.TLSSocket): void; reject(e: Error): void };
  const waiting = new Map<net.Socket, Waiter>();
  const take = (ts: tls.TLSSocket): Waiter | undefined => {
    // Node-compat internals: node:tls keeps the wrapped socket as `_parent`.
    const parent = (ts as unknown as { _parent?: net.Socket })._parent;
    const w = parent ? waiting.get(parent) : undefined;
    if (parent) waiting.delete(parent);
    return w;
  };
  tlsServer.on("secureConnection", (ts: tls.TLSSocket) => {
    const w = take(ts);
    if (!w) return ts.destroy();
    const peer = peerCertificate(ts);
    const pinError = holder.checkPinned(peer);
    if ((verify && (!ts.authorized || peer === undefined)) || pinError !== null) {
      ts.destroy();
      w.reject(new Error(`TLS handshake error: ${pinError ?? refusalReason(peer)}`));
      return;
    }
    w.resolve(ts);
  });
  tlsServer.on("tlsClientError", (err: Error, ts: tls.TLSSocket) => {
    const w = take(ts);
    if (!w) return;
    const code = (ts as { authorizationError?: unknown }).authorizationError;
    const reason = code ? `${refusalReason(peerCertificate(ts))} (${code})` : err.message;
    w.reject(new Error(`TLS handshake error: ${reason}`));
  });

  const upgrade = (socket: net.Socket): Promise<tls.TLSSocket> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(socket);
        socket.destroy();
        reject(new Error("TLS handshake timeout"));
      }, deadline);
      waiting.set(socket, {
        resolve: (s) => {
          clearTimeout(timer);
          resolve(s);
        },
        reject: (e) => {
          clearTimeout(timer);
          socket.destroy();
          reject(e);
        },
      });
      const closedFirst = () => {
        const w = waiting.get(socket);
        waiting.delete(socket);
        w?.reject(new Error("TLS handshake error: EOF"));
      };
      socket.once("close", closedFirst);
      socket.on("error", () => {});
      socket.once("data", (chunk: Uint8Array) => {
        socket.off("close", closedFirst);
        socket.pause();
        socket.unshift(chunk);
        const w = waiting.get(socket);
        if (w === undefined) return;
        if (!looksLikeTlsRecord(chunk)) {
          waiting.delete(socket);
          return w.reject(new Error(`TLS handshake error: ${NOT_TLS}`));
        }
        tlsServer.emit("connection", socket);
      });
    });

  const server = net.createServer((socket) => {
    if (hooks.refuse()) {
      socket.destroy();
      return;
    }
    const address = socket.remoteAddress ?? "";
    const port = socket.remotePort ?? 0;
    const { cid, info } = hooks.prepare();
    socket.write(info);
    upgrade(socket).then(
      (ts) => hooks.accepted(new TlsTransport(ts, { address, port }), cid),
      (e: Error) => hooks.log.error(`${joinHostPort(address, port)} - lid:${cid} - ${e.message}`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(hooks.port, hooks.host, LISTEN_BACKLOG, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (e: Error) => hooks.log.error(`Leafnode Accept error: ${e.message}`));
  const stopRearming = keepAccepting(server);
  return {
    port: (server.address() as net.AddressInfo).port,
    close() {
      detach();
      for (const w of waiting.values()) w.reject(new Error("leafnode listener closed"));
      waiting.clear();
      stopRearming();
      server.close();
    },
  };
}

/**
 * Dials a hub whose leaf port speaks TLS: TCP connect, read the plain INFO
 * line, then the client handshake on the same socket.
 *
 * @returns The TLS transport and the INFO line that came before the handshake.
 * @throws {Error} On connect, handshake or verification failure, or timeout.
 */
export async function dialLeafTls(
  host: string,
  port: number,
  options: TlsOptions | undefined,
  dialTimeoutMs: number,
): Promise<{ transport: Transport; info: Uint8Array }> {
  const socket = net.connect({ host, port });
  const deadline = timeoutMs(options);
  const info = await new Promise<Uint8Array>((resolve, reject) => {
    let seen = new Uint8Array(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("i/o timeout"));
    }, dialTimeoutMs + 1000);
    const onData = (chunk: Uint8Array) => {
      const next = new Uint8Array(seen.length + chunk.length);
      next.set(seen);
      next.set(chunk, seen.length);
      seen = next;
      const lf = seen.indexOf(0x0a);
      if (lf < 0) {
        if (seen.length > 64 * 1024) fail(new Error("INFO line too long"));
        return;
      }
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("error", fail);
      socket.pause();
      if (lf + 1 < seen.length) socket.unshift(seen.subarray(lf + 1));
      resolve(seen.subarray(0, lf + 1));
    };
    const fail = (e: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(e);
    };
    socket.on("data", onData);
    socket.once("error", fail);
    socket.once("close", () => fail(new Error("EOF")));
  });
  socket.removeAllListeners("close");
  const secure: tls.ConnectionOptions = {
    socket,
    rejectUnauthorized: !(options?.insecure ?? false),
    ...(net.isIP(host) ? {} : { servername: host }),
  };
  if (options?.caFile) secure.ca = readPemFile(options.caFile, "ca_file");
  if (options?.certFile && options.keyFile) {
    secure.cert = readPemFile(options.certFile, "cert_file");
    secure.key = readPemFile(options.keyFile, "key_file");
  }
  const ts = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const s = tls.connect(secure);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`TLS handshake timeout dialing ${joinHostPort(host, port)}`));
    }, deadline);
    s.once("secureConnect", () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once("error", (e: Error) => {
      clearTimeout(timer);
      s.destroy();
      reject(e);
    });
  });
  return {
    transport: new TlsTransport(ts, { address: host, port }),
    info,
  };
}
