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
import type * as tls from "node:tls";
import type { TlsOptions } from "../config/options.ts";
import type { Logger } from "../ops/logger.ts";
import { NodeTransport, type Transport } from "../client/transport.ts";
import { CertificateHolder } from "../tls/context.ts";
import { createRouteTlsAcceptor, tlsConnect } from "../tls/dial.ts";
import { joinHostPort } from "./route_url.ts";

export interface RouteTlsHooks {
  host: string;
  /** 0 = any free port. */
  port: number;
  log: Logger;
  /** A verified TLS route socket, ready for INFO. */
  accepted(transport: Transport): void;
  /** True while shutting down: new sockets are dropped. */
  refuse(): boolean;
}

export interface RouteTls {
  readonly port: number;
  /** Dials a route and completes the handshake (our certificate, peer verified). */
  dial(host: string, port: number): Promise<tls.TLSSocket>;
  close(): void;
}

/**
 * Starts the TLS route listener.
 *
 * @throws {Error} When the certificate files are unusable or the port is taken.
 */
export async function startRouteTls(options: TlsOptions, hooks: RouteTlsHooks): Promise<RouteTls> {
  const holder = new CertificateHolder(options, "both");
  const acceptor = createRouteTlsAcceptor(holder);
  const server = net.createServer((socket) => {
    if (hooks.refuse()) {
      socket.destroy();
      return;
    }
    const address = socket.remoteAddress ?? "";
    const port = socket.remotePort ?? 0;
    acceptor.upgrade(socket).then(
      (ts) => hooks.accepted(new NodeTransport(ts, { address, port })),
      (e: Error) => hooks.log.error(`${joinHostPort(address, port)} - ${e.message}`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(hooks.port, hooks.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = (server.address() as net.AddressInfo).port;
  return {
    port: bound,
    dial: (host, port) => tlsConnect(host, port, holder),
    close() {
      acceptor.close();
      server.close();
    },
  };
}
