/**
 * The client listener when a top-level `tls` block is set: a `node:net`
 * server whose sockets get the plain-text INFO (`tls_required`), then are
 * upgraded by emitting `connection` on a `node:tls` Server (the one path on
 * which Deno verifies client certificates; a bare `new TLSSocket(...,
 * {isServer})` completes handshakes with untrusted certificates). Handles
 * `handshake_first`, `allow_non_tls`, `connection_rate_limit`, the handshake
 * timeout and `pinned_certs`.
 *
 * A config reload replaces the settings for new connections only
 * ({@link TlsClientListener.reconfigure}): each set of settings gets its own
 * `tls.Server` (a "generation"), and a socket stays with the generation it was
 * accepted under, so handshakes already running finish as they started and
 * established connections are never touched.
 *
 * @module
 */
import * as net from "node:net";
import { LISTEN_BACKLOG } from "../ops/listen_backlog.ts";
import * as tls from "node:tls";
import type { TlsOptions } from "../config/options.ts";
import type { Server } from "../server.ts";
import type { PreparedClient } from "../server/feature_handles.ts";
import { joinHostPort } from "../conn/address.ts";
import { NodeTransport } from "../conn/transport.ts";
import { ClosedReason } from "../conn/closed_reason.ts";
import { errLine, WireError } from "../protocol/wire_errors.ts";
import { CertificateHolder } from "./context.ts";
import { TlsTransport } from "./backpressure.ts";
import {
  clientCertRefusal,
  handshakeErrorText,
  peerCertificate,
  refusalReason,
  tlsStateOf,
} from "./session.ts";
import { keepAccepting } from "../server/node_accept.ts";
import { looksLikeTlsRecord, NOT_TLS, TLS_HANDSHAKE_RECORD } from "./first_record.ts";

/** What {@link startTlsClientListener} returns to the server. */
export interface TlsClientListener {
  /** Bound port. */
  readonly port: number;
  /**
   * Owner of the certificate new connections get (always the current one:
   * a reload may replace it). ACME renewals swap their certificate in here.
   */
  readonly certificate: CertificateHolder;
  /** The `tls` block new connections are handled with. */
  readonly options: TlsOptions;
  /**
   * Config reload: connections accepted from now on use `options` (verify,
   * timeout, handshake_first, pins) and `holder` (certificate, CA, ciphers);
   * connections already accepted keep what they started with. Does not throw:
   * a failure is logged and the current settings stay.
   */
  reconfigure(options: TlsOptions, holder: CertificateHolder): void;
  /**
   * Stops accepting (the port is free when this returns) and drops connections
   * still in their handshake; established clients are left to the server.
   */
  close(): Promise<void>;
}

/** The first byte of a TLS record carrying a handshake (ClientHello). */

/**
 * The settings one set of accepted sockets is handled with: a reload makes a
 * new generation, sockets keep the one they were accepted under.
 */
interface Generation {
  readonly options: TlsOptions;
  readonly holder: CertificateHolder;
  readonly timeoutMs: number;
  readonly tlsServer: tls.Server;
  /** Stops the holder from updating this generation's tls.Server. */
  detach(): void;
}

/** One accepted socket until it is handed to the server. */
interface Pending {
  socket: net.Socket;
  gen: Generation;
  address: string;
  port: number;
  prepared: PreparedClient;
  start: Date;
  timer: ReturnType<typeof setTimeout> | undefined;
  done: boolean;
}

/**
 * Binds the TLS client listener.
 *
 * @param server The server (prepareClient/acceptClient, options, log).
 * @param opts Host and port to bind (0 = any free port); `certificate` (ACME)
 *   instead of cert_file; or `holder`, already built and validated (config reload
 *   turning TLS on, or a caller that prepared it).
 * @returns The bound port, the certificate holder, `reconfigure()` and `close()`.
 * @throws {TlsConfigError} When the TLS material or settings are unusable.
 */
export async function startTlsClientListener(
  server: Server,
  opts: {
    host: string;
    port: number;
    certificate?: { certPem: string; keyPem: string };
    holder?: CertificateHolder;
  },
): Promise<TlsClientListener> {
  const tlsOpts = opts.holder?.options ?? server.options.tls;
  if (!tlsOpts) throw new TypeError("startTlsClientListener needs options.tls");
  // In ACME config mode the certificate comes as PEM text, not from cert_file.
  const holder = opts.holder ??
    (opts.certificate
      ? CertificateHolder.fromPem(tlsOpts, "server", opts.certificate)
      : new CertificateHolder(tlsOpts, "server"));
  for (const w of holder.warnings) server.log.warn(w);
  // connection_rate_limit cannot change by reload (refused), so it belongs to the listener.
  const rate = tlsOpts.connectionRateLimit && tlsOpts.connectionRateLimit > 0
    ? new RateCounter(tlsOpts.connectionRateLimit)
    : null;
  const pending = new Map<net.Socket, Pending>();
  let closed = false;

  const logPrefix = (p: Pending) => `${joinHostPort(p.address, p.port)} - cid:${p.prepared.cid}`;

  /** The handshake failed: nats-server's error line, then its debug "closed" line. */
  const fail = (p: Pending, message: string) => {
    if (p.done) return;
    p.done = true;
    clearTimeout(p.timer);
    pending.delete(p.socket);
    server.log.error(`${logPrefix(p)} - ${message}`);
    server.log.debug(
      `${logPrefix(p)} - Client connection closed: ${ClosedReason.TlsHandshakeError}`,
    );
    p.socket.destroy();
    recordFailure(server, p);
  };

  /** Hands the socket to the TLS server; `peeked` when its first bytes were checked already. */
  const upgrade = (p: Pending, peeked = false) => {
    server.log.debug(`${logPrefix(p)} - Starting TLS client connection handshake`);
    if (peeked) {
      p.gen.tlsServer.emit("connection", p.socket);
      return;
    }
    // As Go's TLS server: a first record that is not a handshake (a plain-text
    // CONNECT, an HTTP request) ends the connection without a TLS alert.
    p.socket.once("data", (chunk: Uint8Array) => {
      p.socket.pause();
      p.socket.unshift(chunk);
      if (!looksLikeTlsRecord(chunk)) {
        return fail(p, `TLS handshake error: ${NOT_TLS}`);
      }
      p.gen.tlsServer.emit("connection", p.socket);
    });
  };

  /** A tls.Server whose handlers apply the settings of its own generation. */
  const makeGeneration = (options: TlsOptions, h: CertificateHolder): Generation => {
    const verify = options.verify || options.verifyAndMap;
    const timeoutMs = Math.max(1, Math.round((options.timeout > 0 ? options.timeout : 2) * 1000));
    const tlsServer = tls.createServer({
      ...h.secureContextOptions(),
      requestCert: verify,
      rejectUnauthorized: verify,
      // Our own timer (tls.timeout) logs and frees; this is only a backstop.
      handshakeTimeout: timeoutMs + 1000,
    });
    tlsServer.on("secureConnection", (ts: tls.TLSSocket) => {
      const p = pendingOf(pending, ts);
      if (p === undefined || p.done) {
        ts.destroy();
        return;
      }
      const peer = peerCertificate(ts);
      if (verify && (!ts.authorized || peer === undefined)) {
        // rejectUnauthorized already refuses these; kept as a guard on the runtime.
        ts.destroy();
        return fail(p, `TLS handshake error: ${clientCertRefusal(refusalReason(peer))}`);
      }
      const pinError = h.checkPinned(peer);
      if (pinError !== null) {
        ts.destroy();
        return fail(p, `TLS handshake error: ${pinError}`);
      }
      p.done = true;
      clearTimeout(p.timer);
      pending.delete(p.socket);
      const state = tlsStateOf(ts, peer);
      if (server.log.debugEnabled) {
        server.log.debug(`${logPrefix(p)} - TLS handshake complete`);
        server.log.debug(
          `${logPrefix(p)} - TLS version ${state.version}, cipher suite ${state.cipher}`,
        );
      }
      const transport = new TlsTransport(ts, { address: p.address, port: p.port });
      server.acceptClient(transport, p.prepared, state);
    });
    tlsServer.on("tlsClientError", (err: Error, ts: tls.TLSSocket) => {
      const p = pendingOf(pending, ts);
      if (p === undefined) return;
      const code = (ts as { authorizationError?: unknown }).authorizationError;
      const reason = code
        ? clientCertRefusal(refusalReason(peerCertificate(ts)))
        : handshakeErrorText(err);
      fail(p, `TLS handshake error: ${reason}`);
    });
    const detach = h.attach(tlsServer);
    return { options, holder: h, timeoutMs, tlsServer, detach };
  };

  let gen = makeGeneration(tlsOpts, holder);

  const onSocket = (socket: net.Socket) => {
    if (closed || server.isLameDuck) {
      socket.destroy();
      return;
    }
    const address = socket.remoteAddress ?? "";
    const port = socket.remotePort ?? 0;
    socket.setNoDelay(true);
    const prepared = server.prepareClient(address);
    if (server.atConnectionLimit) {
      // INFO then -ERR in plain text, before any handshake (as nats-server).
      server.acceptClient(new NodeTransport(socket, { address, port }), prepared);
      return;
    }
    // nats-server creates the client before the handshake, and says so then.
    server.log.debug(
      `${joinHostPort(address, port)} - cid:${prepared.cid} - Client connection created`,
    );
    prepared.createdLogged = true;
    const g = gen;
    const p: Pending = {
      socket,
      gen: g,
      address,
      port,
      prepared,
      start: new Date(),
      timer: undefined,
      done: false,
    };
    pending.set(socket, p);
    socket.on("error", () => {/* reported through tlsClientError or close */});
    socket.once("close", () => {
      // The tls.Server reports a refused certificate (tlsClientError) after the
      // TCP close; give it that turn so the log names the real reason.
      // Go's TLS layer reads EOF there, and nats-server logs it as an error.
      setTimeout(() => fail(p, "TLS handshake error: EOF"), 20);
    });
    p.timer = setTimeout(() => fail(p, "TLS handshake timeout"), g.timeoutMs);
    if (g.options.handshakeFirst) {
      // TLS before INFO; the server sends INFO over TLS once it is up.
      prepared.infoSent = false;
      upgrade(p);
      return;
    }
    socket.write(prepared.info);
    prepared.infoSent = true;
    if (rate !== null && !rate.allow()) {
      socket.end(errLine(WireError.ConnectionThrottling));
      p.done = true;
      clearTimeout(p.timer);
      pending.delete(socket);
      server.log.error(`${logPrefix(p)} - Connection throttling is active`);
      recordFailure(server, p, ClosedReason.MaxConnectionsExceeded);
      return;
    }
    if (!server.options.allowNonTls) {
      upgrade(p);
      return;
    }
    // allow_non_tls: a ClientHello starts with a handshake record; anything else
    // (a CONNECT) stays plain. A client that sends nothing within the timeout is
    // handed over as plain, as nats-server does after its 4-byte peek times out.
    const onFirst = (chunk: Uint8Array) => {
      clearTimeout(p.timer);
      socket.pause();
      socket.unshift(chunk);
      if (chunk[0] === TLS_HANDSHAKE_RECORD) {
        p.timer = setTimeout(() => fail(p, "TLS handshake timeout"), g.timeoutMs);
        upgrade(p, true);
      } else {
        handPlain(p);
      }
    };
    const handPlain = (q: Pending) => {
      socket.off("data", onFirst);
      q.done = true;
      clearTimeout(q.timer);
      pending.delete(socket);
      server.acceptClient(new NodeTransport(socket, { address, port }), q.prepared, null);
      // The peek paused the socket; a 'data' listener alone does not restart it.
      socket.resume();
    };
    socket.once("data", onFirst);
    clearTimeout(p.timer);
    p.timer = setTimeout(() => handPlain(p), g.timeoutMs);
  };

  const netServer = net.createServer({ noDelay: true }, onSocket);
  await new Promise<void>((resolve, reject) => {
    netServer.once("error", reject);
    netServer.listen(opts.port, opts.host, LISTEN_BACKLOG, () => {
      netServer.off("error", reject);
      resolve();
    });
  });
  netServer.on("error", (e: Error) => server.log.error(`Client Accept error: ${e.message}`));
  const stopRearming = keepAccepting(netServer); // survives running out of file descriptors
  const bound = (netServer.address() as net.AddressInfo).port;

  return {
    port: bound,
    get certificate(): CertificateHolder {
      return gen.holder;
    },
    get options(): TlsOptions {
      return gen.options;
    },
    reconfigure(options: TlsOptions, next: CertificateHolder): void {
      if (closed) return;
      let fresh: Generation;
      try {
        fresh = makeGeneration(options, next);
      } catch (e) {
        server.log.error(`TLS settings not reloaded: ${(e as Error).message}`);
        return;
      }
      // The old tls.Server lives on for the handshakes it has begun; only the
      // holder no longer updates it (ACME now swaps into the new holder).
      gen.detach();
      gen = fresh;
      for (const w of next.warnings) server.log.warn(w);
    },
    close(): Promise<void> {
      if (closed) return Promise.resolve();
      closed = true;
      stopRearming();
      gen.detach();
      for (const p of [...pending.values()]) {
        p.done = true;
        clearTimeout(p.timer);
        p.socket.destroy();
      }
      pending.clear();
      // net.Server's close callback waits until every accepted socket has ended,
      // established TLS clients included; the listening socket itself is released
      // at once, which is all shutdown, lame duck and a reload rebinding the port need.
      netServer.close();
      return Promise.resolve();
    },
  };
}

/** The pending entry of a TLS socket made by the tls.Server from our raw socket. */
function pendingOf(pending: Map<net.Socket, Pending>, ts: tls.TLSSocket): Pending | undefined {
  // node:tls keeps the wrapped socket as `_parent` (Node and Deno alike).
  const parent = (ts as unknown as { _parent?: net.Socket })._parent;
  return parent ? pending.get(parent) : undefined;
}

/** A connection that never reached the server still counts and shows in closed /connz. */
function recordFailure(
  server: Server,
  p: Pending,
  reason: string = ClosedReason.TlsHandshakeError,
): void {
  server.stats.totalConnections++;
  const now = new Date();
  server.closedClients.push({
    cid: p.prepared.cid,
    ip: p.address,
    port: p.port,
    start: p.start,
    stop: now,
    reason,
    lastActivity: p.start,
    rttMs: 0,
    inMsgs: 0,
    outMsgs: 0,
    inBytes: 0,
    outBytes: 0,
    subscriptions: [],
    name: "",
    lang: "",
    version: "",
    account: "$G",
  });
}

/** `connection_rate_limit`: at most `limit` new TLS connections per second. */
class RateCounter {
  readonly limit: number;
  #windowEnd = 0;
  #count = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  allow(): boolean {
    const now = Date.now();
    if (now >= this.#windowEnd) {
      this.#windowEnd = now + 1000;
      this.#count = 0;
    }
    if (this.#count >= this.limit) return false;
    this.#count++;
    return true;
  }
}
