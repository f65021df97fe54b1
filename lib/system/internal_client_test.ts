import { deepEqual, equal } from "node:assert/strict";
import { Account } from "../server/account.ts";
import { fanOut, PublishContext } from "../delivery/deliver.ts";
import { InternalClient, type InternalMessage } from "./internal_client.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function publish(account: Account, subject: string, reply: string, body: string, hdr = ""): void {
  const msg = new PublishContext();
  msg.subject = subject;
  msg.subjBuf = enc.encode(subject);
  msg.subjEnd = msg.subjBuf.length;
  if (reply !== "") {
    msg.replyBuf = enc.encode(reply);
    msg.replyStart = 0;
    msg.replyEnd = msg.replyBuf.length;
  }
  const payload = enc.encode(hdr + body);
  msg.sizeBuf = enc.encode(String(payload.length));
  msg.sizeEnd = msg.sizeBuf.length;
  if (hdr !== "") {
    msg.hdrSize = hdr.length;
    msg.hdrBuf = enc.encode(String(hdr.length));
    msg.hdrEnd = msg.hdrBuf.length;
  }
  msg.payload = payload;
  fanOut(msg, account.sublist.match(subject));
}

Deno.test("InternalClient takes each delivery out of its buffer and runs the handler later", () => {
  const account = new Account("$SYS", { cache: true });
  const queued: (() => void)[] = [];
  const client = new InternalClient(1, account, (run) => queued.push(run));
  const got: InternalMessage[] = [];
  account.sublist.insert(client.subscription("$SYS.REQ.>", (m) => got.push(m)));
  publish(account, "$SYS.REQ.SERVER.PING", "_INBOX.r", '{"a":1}');
  publish(account, "$SYS.REQ.X", "", "plain");
  publish(account, "$SYS.REQ.Y", "_INBOX.h", "body", "NATS/1.0\r\nK: v\r\n\r\n");
  // Nothing runs inside the fan-out, and the buffer is empty after each delivery.
  equal(got.length, 0);
  equal(client.out.len, 0);
  for (const run of queued) run();
  deepEqual(
    got.map((m) => [m.subject, m.reply, dec.decode(m.body)]),
    [
      ["$SYS.REQ.SERVER.PING", "_INBOX.r", '{"a":1}'],
      ["$SYS.REQ.X", "", "plain"],
      ["$SYS.REQ.Y", "_INBOX.h", "body"],
    ],
  );
});

Deno.test("InternalClient without echo does not hear what it publishes itself", () => {
  const account = new Account("$SYS", { cache: true });
  const queued: (() => void)[] = [];
  const client = new InternalClient(1, account, (run) => queued.push(run));
  account.sublist.insert(client.subscription("x", () => {}));
  const msg = new PublishContext();
  msg.subject = "x";
  msg.subjBuf = enc.encode("x");
  msg.subjEnd = 1;
  msg.sizeBuf = enc.encode("0");
  msg.sizeEnd = 1;
  msg.publisher = client;
  equal(fanOut(msg, account.sublist.match("x")), 0);
  equal(queued.length, 0);
});
