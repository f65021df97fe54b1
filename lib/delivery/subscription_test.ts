import assert from "node:assert/strict";
import { copySid } from "./subscription.ts";

const encoder = new TextEncoder();
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("copySid() copies survive reuse of the read buffer", () => {
  const buf = encoder.encode("SUB foo 42\r\n");
  const sid = copySid(buf, 8, 10);
  buf.fill(0x78);
  assert.equal(text(sid), "42");
  assert.equal(sid.length, 2);
});

Deno.test("copySid() keeps every earlier sid intact across many slabs", () => {
  const sids: Uint8Array[] = [];
  for (let i = 0; i < 5000; i++) {
    const buf = encoder.encode(`sid-${i}`);
    sids.push(copySid(buf, 0, buf.length));
    buf.fill(0);
  }
  for (let i = 0; i < sids.length; i++) assert.equal(text(sids[i]!), `sid-${i}`);
});

Deno.test("copySid() handles long and empty sids", () => {
  const long = "x".repeat(300);
  const buf = encoder.encode(`[${long}]`);
  const sid = copySid(buf, 1, 301);
  buf.fill(0);
  assert.equal(text(sid), long);
  assert.equal(copySid(buf, 3, 3).length, 0);
});
