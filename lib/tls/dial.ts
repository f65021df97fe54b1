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
import type { X509Certificate } from "node:crypto";
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

/** The handshake deadline of a `tls` block in ms: its `timeout`, else nats-server's 2 s. */
export function handshakeDeadlineMs(options: TlsOptions | undefined): number {
  const t = options?.timeout ?? 0;
  return Math.round((t > 0 ? t : 2) * 1000);
}

function deadlineOf(holder: CertificateHolder, ms?: number): number {
  return ms ?? handshakeDeadlineMs(holder.options);
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

/**
 * Upgrades accepted sockets whose next bytes are a TLS handshake (routes: the
 * first bytes; leaf nodes: after our plain-text INFO).
 */
export interface TlsAcceptor {
  readonly certificate: CertificateHolder;
  /**
   * Runs the server side of the handshake on an accepted socket.
   *
   * @param socket The accepted TCP socket (nothing read from it yet).
   * @returns The verified TLS socket.
   * @throws {Error} `TLS handshake error: ...` or `TLS handshake timeout`.
   */
  upgrade(socket: net.Socket): Promise<tls.TLSSocket>;
  /** Fails the running handshakes and detaches from the holder. */
  close(): void;
}

/** Upgrades accepted route sockets (handshake first; peer certificate required). */
export type RouteTlsAcceptor = TlsAcceptor;

/** What differs between the acceptors of routes and of leaf nodes. */
export interface TlsAcceptRules {
  /** Ask for a client certificate and refuse a peer without a valid one. */
  verify: boolean;
  /** Why a verified handshake's peer is refused (no certificate, or one not trusted). */
  refusal(peer: X509Certificate | undefined): string;
  /** Why a handshake failed; `code` is node's `authorizationError`, if any. */
  handshakeError(err: Error, ts: tls.TLSSocket, code: unknown): string;
  /** What running handshakes fail with when the acceptor is closed. */
  closedMessage: string;
}

/**
 * Builds an acceptor: a `node:tls` server that is fed accepted sockets one by
 * one, with the block's handshake deadline (`timeout`, else 2 s) and
 * `pinned_certs` applied to the peer.
 *
 * @param holder The certificate (and CA, timeout, pins) to accept with.
 * @param rules Client-certificate policy and the texts of refusals.
 * @returns The acceptor; `close()` detaches it from the holder.
 */
export function createTlsAcceptor(holder: CertificateHolder, rules: TlsAcceptRules): TlsAcceptor {
  const timeoutMs = deadlineOf(holder);
  const server = tls.createServer({
    ...holder.secureContextOptions(),
    requestCert: rules.verify,
    rejectUnauthorized: rules.verify,
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
    if ((rules.verify && (!ts.authorized || peer === undefined)) || pinError !== null) {
      ts.destroy();
      w.reject(new Error(`TLS handshake error: ${pinError ?? rules.refusal(peer)}`));
      return;
    }
    w.resolve(ts);
  });
  server.on("tlsClientError", (err: Error, ts: tls.TLSSocket) => {
    const w = take(ts);
    if (!w) return;
    const code = (ts as { authorizationError?: unknown }).authorizationError;
    w.reject(new Error(`TLS handshake error: ${rules.handshakeError(err, ts, code)}`));
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
      for (const w of waiting.values()) w.reject(new Error(rules.closedMessage));
      waiting.clear();
    },
  };
}

/**
 * Builds the acceptor for the route listener: routes always require and
 * verify the peer certificate (nats-server does the same).
 *
 * @param material The cluster `tls` block, or its holder.
 * @returns The acceptor; `close()` detaches it from the holder.
 */
export function createRouteTlsAcceptor(
  material: TlsOptions | CertificateHolder,
): RouteTlsAcceptor {
  return createTlsAcceptor(holderOf(material), {
    verify: true,
    refusal: (peer) => clientCertRefusal(refusalReason(peer, Eku.clientAuth)),
    handshakeError: (err, ts, code) =>
      code ? clientCertRefusal(refusalReason(peerCertificate(ts))) : handshakeErrorText(err),
    closedMessage: "route listener closed",
  });
}
