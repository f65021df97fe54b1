import assert from "node:assert/strict";
import { copySid, keptSidBytes, Subscription } from "./subscription.ts";

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

Deno.test("Subscription.sidBytes of an ASCII sid are made from the sid on first use", () => {
  const buf = encoder.encode("SUB foo 42\r\n");
  assert.equal(keptSidBytes(buf, 8, 10), null, "an ASCII sid keeps no bytes at SUB time");
  const sub = new Subscription({ subject: "foo", queue: null, sid: "42", sidBytes: null });
  buf.fill(0x78);
  const bytes = sub.sidBytes;
  assert.equal(text(bytes), "42");
  assert.equal(sub.sidBytes, bytes, "made once, then kept");
  // Many of them, across slabs, each intact.
  const subs = Array.from(
    { length: 3000 },
    (_, i) => new Subscription({ subject: "foo", queue: null, sid: `s${i}`, sidBytes: null }),
  );
  for (const s of subs) assert.ok(s.sidBytes.length > 0);
  for (let i = 0; i < subs.length; i++) assert.equal(text(subs[i]!.sidBytes), `s${i}`);
  const long = "y".repeat(100);
  assert.equal(
    text(new Subscription({ subject: "f", queue: null, sid: long, sidBytes: null }).sidBytes),
    long,
  );
});

Deno.test("keptSidBytes() keeps a non-ASCII sid's bytes exactly as they came", () => {
  // Invalid UTF-8 (0xff) would not survive a decode and re-encode.
  const buf = new Uint8Array([0x53, 0x55, 0x42, 0x20, 0xc3, 0xa9, 0xff, 0x0d, 0x0a]);
  const kept = keptSidBytes(buf, 4, 7);
  assert.ok(kept !== null);
  buf.fill(0);
  assert.deepEqual([...kept], [0xc3, 0xa9, 0xff]);
});
