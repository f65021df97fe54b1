/**
 * Facts about an established TLS session (for logs, /connz and
 * verify_and_map) and the reasons a peer certificate was refused.
 *
 * @module
 */
import { X509Certificate } from "node:crypto";
import type { TLSSocket } from "node:tls";
import type { TlsState } from "../conn/transport.ts";
import { certIdentityFromX509 } from "../auth/cert_identity.ts";
import { goCipherName, goTlsVersion } from "./ciphers.ts";
import { allowsPurpose, Eku } from "./_eku.ts";

/**
 * The peer's leaf certificate. `getPeerCertificate().subject` loses the RDN
 * order, so the certificate is re-read from its DER.
 *
 * @param socket An upgraded socket.
 * @returns The certificate, or undefined when the peer sent none.
 */
export function peerCertificate(socket: TLSSocket): X509Certificate | undefined {
  let raw: Uint8Array | undefined;
  try {
    raw = socket.getPeerCertificate()?.raw;
  } catch {
    return undefined; // no session (handshake never finished)
  }
  if (!raw || raw.length === 0) return undefined;
  try {
    return new X509Certificate(raw);
  } catch {
    return undefined;
  }
}

/**
 * Builds the connection's TLS state.
 *
 * @param socket An upgraded socket.
 * @param peer Its peer certificate, if any (see {@link peerCertificate}).
 * @returns Version and cipher named as nats-server names them, plus the peer identity.
 */
export function tlsStateOf(socket: TLSSocket, peer?: X509Certificate): TlsState {
  const state: TlsState = {
    version: goTlsVersion(socket.getProtocol()),
    cipher: goCipherName(socket.getCipher()?.standardName ?? ""),
  };
  if (peer !== undefined) {
    const id = certIdentityFromX509(peer);
    state.peerCert = id;
    state.peerCertSubject = id.subjectDn;
    state.peerCertDer = new Uint8Array(peer.raw);
    const chain = peerChain(socket);
    if (chain.length > 0) state.peerChainDer = chain;
  }
  return state;
}

/**
 * The certificates after the peer's own in its chain, leaf side first. The runtime
 * gives the chain it verified, which ends with the trusted root taken from our CA
 * file; a peer does not send that root, and nats-server (which shows what the peer
 * sent) does not list it, so a self-issued last certificate is left out.
 */
function peerChain(socket: TLSSocket): Uint8Array[] {
  type Detailed = { raw?: Uint8Array; issuerCertificate?: Detailed };
  let cert: Detailed | undefined;
  try {
    cert = (socket.getPeerCertificate as (detailed: boolean) => Detailed)
      .call(socket, true);
  } catch {
    return [];
  }
  const out: Uint8Array[] = [];
  for (let n = 0; n < 10 && cert?.issuerCertificate; n++) {
    const next: Detailed = cert.issuerCertificate;
    if (next === cert || !next.raw || next.raw.length === 0) break; // the self-issued root
    if (next.issuerCertificate === next) break; // the root from our trust store
    out.push(new Uint8Array(next.raw));
    cert = next;
  }
  return out;
}

/**
 * Why the TLS layer refused a peer certificate. Deno reports one generic code
 * (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`) for every refusal, so the likely cause is
 * worked out from the certificate.
 *
 * @param cert The refused certificate.
 * @param purpose The EKU the peer needed (clientAuth for clients).
 * @param now Time to check validity against.
 * @returns A short reason.
 */
export function refusalReason(
  cert: X509Certificate | undefined,
  purpose: string = Eku.clientAuth,
  now = new Date(),
): string {
  // The texts are those of Go's x509 package, which nats-server logs.
  if (cert === undefined) return "x509: certificate signed by unknown authority";
  const to = Date.parse(cert.validTo);
  const from = Date.parse(cert.validFrom);
  if (now.getTime() > to || now.getTime() < from) {
    const [rel, edge] = now.getTime() > to ? ["after", to] : ["before", from];
    return "x509: certificate has expired or is not yet valid: " +
      `current time ${rfc3339(now.getTime())} is ${rel} ${rfc3339(edge)}`;
  }
  try {
    if (!allowsPurpose(new Uint8Array(cert.raw), purpose)) {
      return "x509: certificate specifies an incompatible key usage";
    }
  } catch {
    return "x509: malformed certificate";
  }
  return "x509: certificate signed by unknown authority";
}

/** Go's `time.RFC3339` of a UTC instant, whole seconds: `2026-12-03T10:15:24Z`. */
function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/**
 * A refused client certificate, as nats-server's TLS layer words it.
 *
 * @param x509Reason What {@link refusalReason} found.
 * @returns `tls: failed to verify client certificate: <reason>`
 */
export function clientCertRefusal(x509Reason: string): string {
  return `tls: failed to verify client certificate: ${x509Reason}`;
}

/**
 * A handshake error from the runtime, in Go's TLS wording where the cause is the
 * same: a client that sent no certificate, a peer that went away (`EOF`).
 *
 * @param err The error node:tls reported.
 * @returns The text nats-server would log after `TLS handshake error: `.
 */
export function handshakeErrorText(err: Error): string {
  const m = err.message;
  if (/no certificates|CertificateRequired|peer did not return a certificate/i.test(m)) {
    return "tls: client didn't provide a certificate";
  }
  if (/socket hang up|ECONNRESET|connection reset|unexpected eof|EOF/i.test(m)) return "EOF";
  return m;
}
