/**
 * base64url (RFC 4648 §5, no padding, as JOSE and ACME use it) and PEM helpers.
 *
 * @module
 */

/** Encodes bytes or a UTF-8 string as unpadded base64url. */
export function b64url(data: Uint8Array | string): string {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Decodes base64url or standard base64 (padding optional). */
export function b64urlDecode(s: string): Uint8Array {
  const std = s.replace(/-/g, "+").replace(/_/g, "/").replace(/\s+/g, "");
  const bin = atob(std + "=".repeat((4 - (std.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** Wraps DER bytes in a PEM block with 64-column lines. */
export function toPem(label: string, der: Uint8Array): string {
  const body = b64url(der).replace(/-/g, "+").replace(/_/g, "/");
  const padded = body + "=".repeat((4 - (body.length % 4)) % 4);
  const lines = padded.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** One PEM block: its label and DER bytes. */
export interface PemBlock {
  label: string;
  der: Uint8Array;
}

/** Every PEM block in `text`, in order (text between blocks is ignored). */
export function parsePem(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (const m of text.matchAll(re)) {
    out.push({ label: m[1]!, der: b64urlDecode(m[2]!) });
  }
  return out;
}

/** Splits a PEM bundle into its CERTIFICATE blocks, each re-encoded as PEM. */
export function splitCertificates(text: string): string[] {
  return parsePem(text).filter((b) => b.label === "CERTIFICATE").map((b) =>
    toPem("CERTIFICATE", b.der)
  );
}
