import { deepEqual, equal } from "node:assert/strict";
import { describeInternalPublish, readMsgFrame } from "./internal.ts";
import { PublishContext } from "./deliver.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("readMsgFrame reads MSG and HMSG frames one after the other", () => {
  const buf = enc.encode(
    "MSG a.b 1 5\r\nhello\r\n" +
      "MSG c 22 _INBOX.x 0\r\n\r\n" +
      "HMSG d.é 3 r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
  );
  const frames = [];
  let p = 0;
  for (let f = readMsgFrame(buf, p, buf.length); f !== null; f = readMsgFrame(buf, p, buf.length)) {
    frames.push([
      f.subject,
      f.sid,
      f.reply,
      f.withHeaders,
      dec.decode(buf.subarray(f.start, f.start + f.hdrSize)),
      dec.decode(buf.subarray(f.start + f.hdrSize, f.start + f.total)),
    ]);
    p = f.next;
  }
  equal(p, buf.length);
  deepEqual(frames, [
    ["a.b", "1", "", false, "", "hello"],
    ["c", "22", "_INBOX.x", false, "", ""],
    ["d.é", "3", "r", true, "NATS/1.0\r\n\r\n", "hi"],
  ]);
});

Deno.test("readMsgFrame returns null without a whole line", () => {
  const buf = enc.encode("MSG a 1 5\r");
  equal(readMsgFrame(buf, 0, buf.length), null);
  equal(readMsgFrame(buf, 0, 0), null);
});

Deno.test("describeInternalPublish fills a reused context completely", () => {
  const ctx = new PublishContext();
  describeInternalPublish(ctx, "a", "_INBOX.1", enc.encode("NATS/1.0\r\n\r\nxy"), 12);
  equal(dec.decode(ctx.replyBuf.subarray(ctx.replyStart, ctx.replyEnd)), "_INBOX.1");
  equal(dec.decode(ctx.hdrBuf.subarray(ctx.hdrStart, ctx.hdrEnd)), "12");
  equal(dec.decode(ctx.sizeBuf.subarray(ctx.sizeStart, ctx.sizeEnd)), "14");
  describeInternalPublish(ctx, "b.c", "", enc.encode("z"));
  equal(ctx.subject, "b.c");
  equal(dec.decode(ctx.subjBuf.subarray(ctx.subjStart, ctx.subjEnd)), "b.c");
  equal(ctx.replyStart, -1);
  equal(ctx.hdrSize, -1);
  equal(dec.decode(ctx.sizeBuf.subarray(ctx.sizeStart, ctx.sizeEnd)), "1");
  equal(dec.decode(ctx.payload), "z");
});

Deno.test("readMsgFrame reads an empty reply slot (two spaces) as no reply", () => {
  const buf = enc.encode("MSG a.b 7  3\r\nabc\r\nHMSG c 8  12 14\r\nNATS/1.0\r\n\r\nhi\r\n");
  const f = readMsgFrame(buf, 0, buf.length)!;
  deepEqual([f.subject, f.sid, f.reply, f.total], ["a.b", "7", "", 3]);
  const g = readMsgFrame(buf, f.next, buf.length)!;
  deepEqual([g.subject, g.sid, g.reply, g.hdrSize, g.total, g.next], [
    "c",
    "8",
    "",
    12,
    14,
    buf.length,
  ]);
});

Deno.test("describeInternalPublish encodes subjects that are not ASCII", () => {
  const ctx = new PublishContext();
  describeInternalPublish(ctx, "a.é", "r.ü", enc.encode("xyz"), 1);
  equal(dec.decode(ctx.subjBuf.subarray(ctx.subjStart, ctx.subjEnd)), "a.é");
  equal(dec.decode(ctx.replyBuf.subarray(ctx.replyStart, ctx.replyEnd)), "r.ü");
  equal(dec.decode(ctx.sizeBuf.subarray(ctx.sizeStart, ctx.sizeEnd)), "3");
  equal(dec.decode(ctx.hdrBuf.subarray(ctx.hdrStart, ctx.hdrEnd)), "1");
});
