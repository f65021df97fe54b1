/**
 * TLS for cluster routes. As in nats-server 2.9 (docs/architecture.md, "Protocol facts") a
 * route does the TLS handshake first, right after TCP connect, before either
 * side sends CONNECT or INFO. Both sides present and verify certificates
 * (route certificates carry serverAuth and clientAuth), against `ca_file`,
 * and `pinned_certs` applies to the peer's certificate.
 *
 * @module
 */
import * as net from "node:net";
import * as tls from "node:tls";
import type { TlsOptions } from "../config/options.ts";
import { CertificateHolder } from "./context.ts";
import {
  clientCertRefusal,
  handshakeErrorText,
  peerCertificate,
  refusalReason,
} from "./session.ts";
import { Eku } from "./_eku.ts";
import { looksLikeTlsRecord, NOT_TLS } from "./first_record.ts";

/** Options of {@link tlsConnect}. */
export interface TlsDialOptions {
  /** Name to verify the server's certificate against (default: the host). */
  servername?: string;
  /** Handshake deadline in ms (default: the block's `timeout`, else 2 s). */
  timeoutMs?: number;
}

function holderOf(material: TlsOptions | CertificateHolder): CertificateHolder {
  return material instanceof CertificateHolder ? material : new CertificateHolder(material, "both");
}

function deadlineOf(holder: CertificateHolder, ms?: number): number {
  return ms ?? Math.round((holder.options.timeout > 0 ? holder.options.timeout : 2) * 1000);
}

/**
 * Dials a route over TLS: TCP connect, then the handshake with our client
 * certificate, verifying the server against `ca_file` (skipped only with
 * `insecure`) and `pinned_certs`.
 *
 * @param host Host to dial.
 * @param port Port.
 * @param material The cluster `tls` block, or its holder (preferred: validated once).
 * @param opts Server name and deadline.
 * @returns The connected, verified socket (nothing sent yet).
 * @throws {Error} On connect, handshake, verification or pin failure, or timeout.
 */
export function tlsConnect(
  host: string,
  port: number,
  material: TlsOptions | CertificateHolder,
  opts: TlsDialOptions = {},
): Promise<tls.TLSSocket> {
  const holder = holderOf(material);
  const timeoutMs = deadlineOf(holder, opts.timeoutMs);
  const servername = opts.servername ?? host;
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port,
      ...holder.secureContextOptions(),
      // SNI must not carry an IP literal (RFC 6066); the IP is still checked against SANs.
      ...(net.isIP(servername) ? {} : { servername }),
      rejectUnauthorized: !holder.options.insecure,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TLS handshake timeout dialing ${host}:${port}`));
    }, timeoutMs);
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      const pinError = holder.checkPinned(peerCertificate(socket));
      if (pinError !== null) {
        socket.destroy();
        reject(new Error(pinError));
        return;
      }
      resolve(socket);
    });
    socket.once("error", (e: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(e);
    });
  });
}

/** Upgrades accepted route sockets (handshake first; peer certificate required). */
export interface RouteTlsAcceptor {
  readonly certificate: CertificateHolder;
  /**
   * Runs the server side of the handshake on a freshly accepted socket.
   *
   * @param socket The accepted TCP socket (nothing read from it yet).
   * @returns The verified TLS socket.
   * @throws {Error} `TLS handshake error: ...` or `TLS handshake timeout`.
   */
  upgrade(socket: net.Socket): Promise<tls.TLSSocket>;
  close(): void;
}

/**
 * Builds the acceptor for the route listener.
 *
 * @param material The cluster `tls` block, or its holder.
 * @returns The acceptor; `close()` detaches it from the holder.
 */
export function createRouteTlsAcceptor(
  material: TlsOptions | CertificateHolder,
): RouteTlsAcceptor {
  const holder = holderOf(material);
  const timeoutMs = deadlineOf(holder);
  // Routes always require and verify the peer certificate (nats-server does the same).
  const server = tls.createServer({
    ...holder.secureContextOptions(),
    requestCert: true,
    rejectUnauthorized: true,
    handshakeTimeout: timeoutMs + 1000,
  });
  const detach = holder.attach(server);
  type Waiter = { resolve(s: tls.TLSSocket): void; reject(e: Error): void };
  const waiting = new Map<net.Socket, Waiter>();
  const take = (ts: tls.TLSSocket): Waiter | undefined => {
    // Node-compat internals: node:tls keeps the wrapped socket as `_parent`.
    const parent = (ts as unknown as { _parent?: net.Socket })._parent;
    const w = parent ? waiting.get(parent) : undefined;
    if (parent) waiting.delete(parent);
    return w;
  };
  server.on("secureConnection", (ts: tls.TLSSocket) => {
    const w = take(ts);
    if (!w) return ts.destroy();
    const peer = peerCertificate(ts);
    const pinError = holder.checkPinned(peer);
    if (!ts.authorized || peer === undefined || pinError !== null) {
      ts.destroy();
      w.reject(
        new Error(
          `TLS handshake error: ${
            pinError ?? clientCertRefusal(refusalReason(peer, Eku.clientAuth))
          }`,
        ),
      );
      return;
    }
    w.resolve(ts);
  });
  server.on("tlsClientError", (err: Error, ts: tls.TLSSocket) => {
    const w = take(ts);
    if (!w) return;
    const code = (ts as { authorizationError?: unknown }).authorizationError;
    const reason = code
      ? clientCertRefusal(refusalReason(peerCertificate(ts)))
      : handshakeErrorText(err);
    w.reject(new Error(`TLS handshake error: ${reason}`));
  });
  return {
    certificate: holder,
    upgrade(socket: net.Socket): Promise<tls.TLSSocket> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(socket);
          socket.destroy();
          reject(new Error("TLS handshake timeout"));
        }, timeoutMs);
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
        // As Go: a first record that is not TLS closes without an alert.
        const closedFirst = () => {
          const w = waiting.get(socket);
          waiting.delete(socket);
          w?.reject(new Error("TLS handshake error: EOF"));
        };
        socket.once("close", closedFirst);
        // A reset before the first record: reported through "close".
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
          server.emit("connection", socket);
        });
      });
    },
    close(): void {
      detach();
      for (const w of waiting.values()) w.reject(new Error("route listener closed"));
      waiting.clear();
    },
  };
}
