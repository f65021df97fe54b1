/**
 * MsgScanner must count the same messages however the stream is split.
 *
 * @module
 */
import assert from "node:assert/strict";
import { MsgScanner } from "./msg_scanner.ts";

const STREAM = new TextEncoder().encode(
  "INFO {}\r\nPONG\r\n" +
    "MSG a.b 1 10\r\n0000000000\r\n" +
    "MSG a.b 1 _INBOX.x 12\r\n0000000001yy\r\n" +
    "PING\r\nMSG c 2 1\r\np\r\n" +
    "MSG a.b 1 10\r\n0000000002\r\n",
);

Deno.test("MsgScanner.feed() counts sizes, sequences and probes at every split point", () => {
  for (let cut = 0; cut <= STREAM.length; cut++) {
    // The 1-byte probe "p" decodes as sequence 64 ('p' - '0'), inside this range.
    const seqCounts = new Uint8Array(100);
    const s = new MsgScanner({ seqCounts });
    s.feed(STREAM.slice(0, cut), cut);
    s.feed(STREAM.slice(cut), STREAM.length - cut);
    assert.equal(s.count + s.other, 4, `cut ${cut}`);
    assert.deepEqual([...seqCounts.subarray(0, 3)], [1, 1, 1], `cut ${cut}`);
    assert.deepEqual(s.errors, [], `cut ${cut}`);
  }
});

Deno.test("MsgScanner.feed() byte by byte separates payload sizes and PING/PONG", () => {
  const s = new MsgScanner({ payloadSize: 10 });
  for (let i = 0; i < STREAM.length; i++) s.feed(STREAM.slice(i, i + 1), 1);
  assert.equal(s.count, 2);
  assert.equal(s.other, 2);
  assert.equal(s.pings, 1);
  assert.equal(s.pongs, 1);
  assert.deepEqual(s.errors, []);
});
