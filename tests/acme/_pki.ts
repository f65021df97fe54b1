/**
 * A tiny test PKI built with lib/acme's DER encoder: a CA and leaf
 * certificates signed by it. Used for pebble's HTTPS certificate and for
 * "stored certificate from another CA" cases.
 */
import * as der from "../../lib/acme/_der.ts";
import { toPem } from "../../lib/acme/_encoding.ts";
import { commonNameName, sanValue, signatureAlgorithm, signDer } from "../../lib/acme/csr.ts";
import { generateKeyPair, type KeyPair, privateKeyToPem } from "../../lib/acme/keys.ts";

export interface TestCert {
  certPem: string;
  keyPem: string;
  key: KeyPair;
  der: Uint8Array;
  subjectKeyId: Uint8Array;
}

async function keyId(kp: KeyPair): Promise<Uint8Array> {
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", kp.publicKey));
  return new Uint8Array(await crypto.subtle.digest("SHA-1", spki)).subarray(0, 20);
}

const ext = (id: string, critical: boolean, value: Uint8Array) =>
  der.seq(der.oid(id), ...(critical ? [der.bool(true)] : []), der.octets(value));

/** Makes a certificate; self-signed when `issuer` is absent. */
export async function makeCert(opts: {
  cn: string;
  names?: string[];
  ca?: boolean;
  issuer?: TestCert & { cn: string };
  notBefore?: Date;
  notAfter?: Date;
  serial?: Uint8Array;
}): Promise<TestCert & { cn: string }> {
  const key = await generateKeyPair("EC256");
  const ski = await keyId(key);
  const signer = opts.issuer?.key ?? key;
  const aki = opts.issuer?.subjectKeyId ?? ski;
  const exts = [
    ext("2.5.29.19", true, opts.ca ? der.seq(der.bool(true)) : der.seq()),
    ext(
      "2.5.29.15",
      true,
      opts.ca ? der.tlv(der.Tag.BIT_STRING, Uint8Array.of(1, 0x06)) : der.tlv(
        der.Tag.BIT_STRING,
        Uint8Array.of(7, 0x80),
      ),
    ),
    ext("2.5.29.14", false, der.octets(ski)),
    ext("2.5.29.35", false, der.seq(der.implicit(0, aki))),
  ];
  if (!opts.ca) exts.push(ext("2.5.29.37", false, der.seq(der.oid("1.3.6.1.5.5.7.3.1"))));
  if (opts.names?.length) exts.push(ext("2.5.29.17", false, sanValue(opts.names)));
  const serial = opts.serial ?? crypto.getRandomValues(new Uint8Array(12));
  serial[0]! &= 0x7f;
  const now = Date.now();
  const tbs = der.seq(
    der.explicit(0, der.int(2)),
    der.uint(serial),
    signatureAlgorithm(signer),
    commonNameName(opts.issuer?.cn ?? opts.cn),
    der.seq(
      der.time(opts.notBefore ?? new Date(now - 3600_000)),
      der.time(opts.notAfter ?? new Date(now + 30 * 86400_000)),
    ),
    commonNameName(opts.cn),
    new Uint8Array(await crypto.subtle.exportKey("spki", key.publicKey)),
    der.explicit(3, der.seq(...exts)),
  );
  const cert = der.seq(tbs, signatureAlgorithm(signer), der.bits(await signDer(signer, tbs)));
  return {
    cn: opts.cn,
    certPem: toPem("CERTIFICATE", cert),
    keyPem: await privateKeyToPem(key),
    key,
    der: cert,
    subjectKeyId: ski,
  };
}
