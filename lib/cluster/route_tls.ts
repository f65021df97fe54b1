/**
 * Route TLS: as nats-server 2.9, the TLS handshake comes first, right after
 * TCP connect and before INFO/CONNECT, and both sides present and verify
 * certificates (the handshake itself is lib/tls/dial.ts). Accepted sockets come
 * from a `node:net` listener because only `node:tls` can upgrade a server-side
 * socket in Deno.
 *
 * @module
 */
import * as net from "node:net";
import { LISTEN_BACKLOG } from "../ops/listen_backlog.ts";
import type * as tls from "node:tls";
import type { TlsOptions } from "../config/options.ts";
import type { Logger } from "../ops/logger.ts";
import type { Transport } from "../conn/transport.ts";
import { TlsTransport } from "../tls/backpressure.ts";
import { CertificateHolder } from "../tls/context.ts";
import {
  createRouteTlsAcceptor,
  handshakeDeadlineMs,
  type RouteTlsAcceptor,
  tlsConnect,
} from "../tls/dial.ts";
import { joinHostPort } from "../conn/address.ts";
import { listenAndKeepAccepting } from "../server/node_accept.ts";

export interface RouteTlsHooks {
  host: string;
  /** 0 = any free port. */
  port: number;
  log: Logger;
  /** A verified TLS route socket, ready for INFO. */
  accepted(transport: Transport): void;
  /** True while shutting down: new sockets are dropped. */
  refuse(): boolean;
  /** The certificate as PEM (the cluster tls block has `acme`, no cert_file). */
  certificate?: { certPem: string; keyPem: string };
  /** A holder already built and validated (config reload turning route TLS on). */
  holder?: CertificateHolder;
}

export interface RouteTls {
  readonly port: number;
  /** Owner of the route certificate (the current one: a reload may replace it). */
  readonly certificate: CertificateHolder;
  /** Dials a route and completes the handshake (our certificate, peer verified). */
  dial(host: string, port: number): Promise<tls.TLSSocket>;
  /**
   * Config reload: handshakes begun from now on (accepted and dialed) use
   * `holder` (its certificate, CA, timeout, pins); routes already up, and
   * handshakes already running, keep what they had.
   */
  reconfigure(holder: CertificateHolder): void;
  /** Stops listening (the port is free on return) and fails running handshakes. */
  close(): void;
}

/**
 * Starts the TLS route listener.
 *
 * @throws {Error} When the certificate files are unusable or the port is taken.
 */
export async function startRouteTls(options: TlsOptions, hooks: RouteTlsHooks): Promise<RouteTls> {
  let holder = hooks.holder ??
    (hooks.certificate
      ? CertificateHolder.fromPem(options, "both", hooks.certificate)
      : new CertificateHolder(options, "both"));
  for (const w of holder.warnings) hooks.log.warn(w);
  let acceptor = createRouteTlsAcceptor(holder);
  /** Acceptors replaced by a reload, kept until their running handshakes are over. */
  const retired = new Map<RouteTlsAcceptor, ReturnType<typeof setTimeout>>();
  const server = net.createServer((socket) => {
    if (hooks.refuse()) {
      socket.destroy();
      return;
    }
    const address = socket.remoteAddress ?? "";
    const port = socket.remotePort ?? 0;
    acceptor.upgrade(socket).then(
      (ts) => hooks.accepted(new TlsTransport(ts, { address, port })),
      (e: Error) => hooks.log.error(`${joinHostPort(address, port)} - ${e.message}`),
    );
  });
  // Accept errors (out of file descriptors) must not end the process: log, keep listening.
  const stopRearming = await listenAndKeepAccepting(
    server,
    { port: hooks.port, host: hooks.host, backlog: LISTEN_BACKLOG },
    (e) => hooks.log.error(`Route Accept error: ${e.message}`),
  );
  const bound = (server.address() as net.AddressInfo).port;
  return {
    port: bound,
    get certificate(): CertificateHolder {
      return holder;
    },
    dial: (host, port) => tlsConnect(host, port, holder),
    reconfigure(next: CertificateHolder): void {
      const old = acceptor;
      acceptor = createRouteTlsAcceptor(next);
      holder = next;
      for (const w of next.warnings) hooks.log.warn(w);
      // Every handshake the old acceptor runs has a deadline of its timeout; once
      // that has passed nothing can still need it.
      const timer = setTimeout(() => {
        retired.delete(old);
        old.close();
      }, handshakeDeadlineMs(old.certificate.options) + 1000);
      Deno.unrefTimer(Number(timer));
      retired.set(old, timer);
    },
    close() {
      acceptor.close();
      for (const [old, timer] of retired) {
        clearTimeout(timer);
        old.close();
      }
      retired.clear();
      stopRearming();
      server.close();
    },
  };
}
