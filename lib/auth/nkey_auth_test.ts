import assert from "node:assert/strict";
import { nkeys } from "../deps.ts";
import { decodeSignature, newNonce, verifyNonceSignature } from "./nkey_auth.ts";

function b64(bytes: Uint8Array, url: boolean): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  const s = btoa(bin);
  return url ? s.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "") : s;
}

Deno.test("newNonce() gives 15 url-safe characters, different each time", () => {
  const a = newNonce();
  const b = newNonce();
  assert.match(a, /^[A-Za-z0-9_-]{15}$/);
  assert.notEqual(a, b);
});

Deno.test("verifyNonceSignature() accepts a real user key's signature in both alphabets", () => {
  const user = nkeys.createUser();
  const pub = user.getPublicKey();
  const nonce = newNonce();
  const sig = user.sign(new TextEncoder().encode(nonce));
  assert.equal(verifyNonceSignature(pub, nonce, b64(sig, true)), true);
  assert.equal(verifyNonceSignature(pub, nonce, b64(sig, false)), true);
  // wrong nonce, other key, garbage
  assert.equal(verifyNonceSignature(pub, newNonce(), b64(sig, true)), false);
  const other = nkeys.createUser().getPublicKey();
  assert.equal(verifyNonceSignature(other, nonce, b64(sig, true)), false);
  assert.equal(verifyNonceSignature(pub, nonce, "not base64!"), false);
  assert.equal(verifyNonceSignature("UBAD", nonce, b64(sig, true)), false);
});

Deno.test("decodeSignature() handles padding and rejects junk", () => {
  assert.deepEqual(decodeSignature("AQID"), new Uint8Array([1, 2, 3]));
  assert.deepEqual(decodeSignature("AQ"), new Uint8Array([1]));
  assert.deepEqual(decodeSignature("AQ=="), new Uint8Array([1]));
  assert.deepEqual(decodeSignature("-_8"), new Uint8Array([0xfb, 0xff]));
  assert.equal(decodeSignature("A"), null);
  assert.equal(decodeSignature("a b"), null);
});
