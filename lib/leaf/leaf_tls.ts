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
import { createTlsAcceptor, handshakeDeadlineMs } from "../tls/dial.ts";
import { joinHostPort } from "../conn/address.ts";
import { listenAndKeepAccepting } from "../server/node_accept.ts";

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

/**
 * Starts the TLS leaf listener.
 *
 * @throws {Error} When the certificate files are unusable or the port is taken.
 */
export async function startLeafTls(options: TlsOptions, hooks: LeafTlsHooks): Promise<LeafTls> {
  const holder = new CertificateHolder(options, "server");
  for (const w of holder.warnings) hooks.log.warn(w);
  const acceptor = createTlsAcceptor(holder, {
    verify: options.verify || options.verifyAndMap,
    refusal: (peer) => refusalReason(peer),
    handshakeError: (err, ts, code) =>
      code ? `${refusalReason(peerCertificate(ts))} (${code})` : err.message,
    closedMessage: "leafnode listener closed",
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
    acceptor.upgrade(socket).then(
      (ts) => hooks.accepted(new TlsTransport(ts, { address, port }), cid),
      (e: Error) => hooks.log.error(`${joinHostPort(address, port)} - lid:${cid} - ${e.message}`),
    );
  });
  const stopRearming = await listenAndKeepAccepting(
    server,
    { port: hooks.port, host: hooks.host, backlog: LISTEN_BACKLOG },
    (e) => hooks.log.error(`Leafnode Accept error: ${e.message}`),
  );
  return {
    port: (server.address() as net.AddressInfo).port,
    close() {
      acceptor.close();
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
  const deadline = handshakeDeadlineMs(options);
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
