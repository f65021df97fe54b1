/**
 * Client certificate identities for TLS `verify_and_map`: what a certificate
 * offers as a user name (email, DNS and URI SANs, subject DN) and how a
 * configured RFC 2253 DN is compared with the certificate's.
 *
 * @module
 */
import type { X509Certificate } from "node:crypto";
import type { CertIdentity } from "../server/auth_api.ts";

export type { CertIdentity };

/** One attribute of an RDN; `type` is upper-cased because types compare case-insensitively. */
export interface DnAttribute {
  type: string;
  value: string;
}

/** A distinguished name: RDNs in order, each a set of attributes. */
export type Dn = DnAttribute[][];

const HEX2 = /^[0-9a-fA-F]{2}$/;

/**
 * Parses an RFC 2253 (or RFC 4514) distinguished name. Accepts `,` and `;`
 * between RDNs, `+` inside multi-valued RDNs, backslash escapes (`\,`, `\2C`)
 * and quoted values.
 *
 * @param s The DN string.
 * @returns The parsed DN, or null when it is not a DN.
 * @example
 * ```ts
 * import { parseDn } from "./cert_identity.ts";
 * parseDn("CN=example.com,OU=CNCF"); // [[{type:"CN",value:"example.com"}],[{type:"OU",value:"CNCF"}]]
 * ```
 */
export function parseDn(s: string): Dn | null {
  const dn: Dn = [];
  let rdn: DnAttribute[] = [];
  let i = 0;
  const n = s.length;
  if (s.trim().length === 0) return null;
  while (i < n) {
    // attribute type
    const eq = s.indexOf("=", i);
    if (eq < 0) return null;
    const type = s.slice(i, eq).trim().toUpperCase();
    if (type.length === 0 || /[,+;"\\]/.test(type)) return null;
    i = eq + 1;
    while (i < n && s[i] === " ") i++;
    // attribute value
    const bytes: number[] = [];
    const enc = new TextEncoder();
    const push = (str: string) => bytes.push(...enc.encode(str));
    let trailingSpaces = 0;
    if (s[i] === '"') {
      i++;
      while (i < n && s[i] !== '"') {
        if (s[i] === "\\" && i + 1 < n) i++;
        push(s[i]!);
        i++;
      }
      if (i >= n) return null;
      i++; // closing quote
      while (i < n && s[i] === " ") i++;
    } else {
      while (i < n && s[i] !== "," && s[i] !== ";" && s[i] !== "+") {
        const c = s[i]!;
        if (c === "\\") {
          const hex = s.slice(i + 1, i + 3);
          if (HEX2.test(hex)) {
            bytes.push(parseInt(hex, 16));
            i += 3;
          } else if (i + 1 < n) {
            push(s[i + 1]!);
            i += 2;
          } else {
            return null;
          }
          trailingSpaces = 0;
          continue;
        }
        push(c);
        trailingSpaces = c === " " ? trailingSpaces + 1 : 0;
        i++;
      }
    }
    // Unescaped trailing spaces are not part of the value (RFC 4514 §3).
    if (trailingSpaces > 0) bytes.length -= trailingSpaces;
    rdn.push({ type, value: new TextDecoder().decode(new Uint8Array(bytes)) });
    if (i < n && s[i] === "+") {
      i++;
      continue;
    }
    dn.push(rdn);
    rdn = [];
    if (i < n) i++; // skip , or ;
  }
  if (rdn.length > 0) dn.push(rdn);
  return dn;
}

function rdnEqual(a: readonly DnAttribute[], b: readonly DnAttribute[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x) => b.some((y) => x.type === y.type && x.value === y.value));
}

/**
 * Whether two DNs are equal RDN by RDN, in order (attribute types compare
 * case-insensitively, values exactly).
 *
 * @param a First DN.
 * @param b Second DN.
 * @returns `true` when equal.
 */
export function dnEqual(a: Dn, b: Dn): boolean {
  return a.length === b.length && a.every((rdn, i) => rdnEqual(rdn, b[i]!));
}

/**
 * Whether two DNs hold the same RDNs in any order: a configured DN written
 * in certificate order (`OU=CNCF,CN=example.com`) still maps.
 *
 * @param a First DN.
 * @param b Second DN.
 * @returns `true` when both have the same RDNs.
 */
export function dnRdnsMatch(a: Dn, b: Dn): boolean {
  if (a.length !== b.length) return false;
  const used = new Array<boolean>(b.length).fill(false);
  for (const rdn of a) {
    const j = b.findIndex((other, k) => !used[k] && rdnEqual(rdn, other));
    if (j < 0) return false;
    used[j] = true;
  }
  return true;
}

/** Escapes an attribute value for RFC 2253 output. */
function escapeDnValue(v: string): string {
  let out = v.replace(/[,+"\\<>;=]/g, (c) => "\\" + c);
  if (out.startsWith(" ") || out.startsWith("#")) out = "\\" + out;
  if (out.endsWith(" ") && out.length > 1) out = out.slice(0, -1) + "\\ ";
  return out;
}

/**
 * Splits Node's `subjectAltName` text (`DNS:a, email:b, URI:c`). Node quotes
 * values holding commas or quotes as JSON strings, which this undoes.
 */
function splitAltNames(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let i = 0;
  while (i < text.length) {
    while (text[i] === " " || text[i] === ",") i++;
    const colon = text.indexOf(":", i);
    if (colon < 0) break;
    const kind = text.slice(i, colon);
    i = colon + 1;
    let value: string;
    if (text[i] === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      try {
        value = JSON.parse(text.slice(i, j + 1));
      } catch {
        value = text.slice(i + 1, j);
      }
      i = j + 1;
    } else {
      const end = text.indexOf(", ", i);
      value = end < 0 ? text.slice(i) : text.slice(i, end);
      i = end < 0 ? text.length : end;
    }
    out.push([kind, value]);
  }
  return out;
}

/**
 * Builds the identity of a peer certificate (from `node:crypto`, e.g.
 * `new X509Certificate(socket.getPeerCertificate().raw)`).
 *
 * @param cert The verified client certificate.
 * @returns Its SANs and its subject as RFC 2253 (reversed from certificate order).
 */
export function certIdentityFromX509(cert: X509Certificate): CertIdentity {
  const id: CertIdentity = { emails: [], dnsNames: [], uris: [], subjectDn: "" };
  for (const [kind, value] of splitAltNames(cert.subjectAltName ?? "")) {
    if (kind === "email") id.emails.push(value);
    else if (kind === "DNS") id.dnsNames.push(value);
    else if (kind === "URI") id.uris.push(value);
  }
  // Node lists one "TYPE=value" per line in certificate order; RFC 2253 wants
  // the most specific RDN first.
  const parts = cert.subject.split("\n").filter((l) => l.length > 0).map((line) => {
    const eq = line.indexOf("=");
    return eq < 0
      ? escapeDnValue(line)
      : line.slice(0, eq) + "=" + escapeDnValue(line.slice(eq + 1));
  });
  id.subjectDn = parts.reverse().join(",");
  return id;
}
