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
  }
  return state;
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
  if (cert === undefined) return "certificate verification failed";
  if (now.getTime() > Date.parse(cert.validTo) || now.getTime() < Date.parse(cert.validFrom)) {
    return "certificate has expired or is not yet valid";
  }
  try {
    if (!allowsPurpose(new Uint8Array(cert.raw), purpose)) {
      return "certificate specifies an incompatible key usage";
    }
  } catch {
    return "certificate could not be parsed";
  }
  return "certificate signed by unknown authority";
}
