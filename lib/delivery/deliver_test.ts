import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { Outbound } from "../conn/outbound.ts";
import type { Transport } from "../conn/transport.ts";
import { Sublist } from "../router/sublist.ts";
import { deoptProbe } from "../router/_test_util.ts";
import type { Account } from "../server/account.ts";
import { fanOut, PublishContext } from "./deliver.ts";
import { type LocalSubscriber, type RouteLink, Subscription } from "./subscription.ts";

const enc = new TextEncoder();
const idle: Transport = {
  remoteAddress: "127.0.0.1",
  remotePort: 1,
  start() {},
  write: () => Promise.resolve(),
  pause() {},
  resume() {},
  close() {},
};

/** A client as the fan-out sees it; what it was given stays in `out` (never flushed). */
class FakeClient implements LocalSubscriber {
  readonly cid: number;
  readonly out = new Outbound(idle, () => {});
  isClosed = false;
  echo = true;
  headers = true;
  grantsReplies = false;
  readonly account = { name: "$G" } as Account;
  readonly removed: Subscription[] = [];
  counted = 0;

  constructor(cid: number) {
    this.cid = cid;
  }

  deliveryAllowed(): boolean {
    return true;
  }
  grantReply(): void {}
  countOut(): void {
    this.counted++;
  }
  removeSubscription(sub: Subscription): void {
    this.removed.push(sub);
  }
  text(): string {
    return new TextDecoder().decode(this.out.buf.subarray(0, this.out.len));
  }
}

function sub(client: FakeClient, subject: string, sid: string, queue: string | null = null) {
  return new Subscription({ subject, queue, sid, sidBytes: enc.encode(sid), client });
}

/** A PublishContext for `PUB subject [reply] payload` (headers: HPUB with `hdr` bytes). */
function message(subject: string, payload: string, opts: { reply?: string; hdr?: number } = {}) {
  const m = new PublishContext();
  const line = enc.encode(`${subject} ${opts.reply ?? ""} ${payload.length} ${opts.hdr ?? 0}`);
  m.subject = subject;
  m.subjBuf =
    m.replyBuf =
    m.sizeBuf =
    m.hdrBuf =
      line;
  m.subjStart = 0;
  m.subjEnd = subject.length;
  if (opts.reply) {
    m.replyStart = subject.length + 1;
    m.replyEnd = m.replyStart + opts.reply.length;
  } else {
    m.replyStart = -1;
  }
  const sizeText = String(payload.length);
  m.sizeStart = subject.length + 1 + (opts.reply ?? "").length + 1;
  m.sizeEnd = m.sizeStart + sizeText.length;
  if (opts.hdr !== undefined) {
    m.hdrSize = opts.hdr;
    m.hdrStart = m.sizeEnd + 1;
    m.hdrEnd = m.hdrStart + String(opts.hdr).length;
  } else {
    m.hdrSize = -1;
  }
  m.payload = enc.encode(payload);
  return m;
}

Deno.test("fanOut() frames MSG for every plain subscriber, with sid and reply", () => {
  const list = new Sublist<Subscription>();
  const a = new FakeClient(1);
  const b = new FakeClient(2);
  list.insert(sub(a, "foo.*", "1"));
  list.insert(sub(b, "foo.bar", "22"));
  const n = fanOut(message("foo.bar", "hi", { reply: "inbox" }), list.match("foo.bar"));
  equal(n, 2);
  equal(a.text(), "MSG foo.bar 1 inbox 2\r\nhi\r\n");
  equal(b.text(), "MSG foo.bar 22 inbox 2\r\nhi\r\n");
});

Deno.test("fanOut() sends HMSG to header clients and strips headers for the others", () => {
  const list = new Sublist<Subscription>();
  const h = new FakeClient(1);
  const plain = new FakeClient(2);
  plain.headers = false;
  list.insert(sub(h, "s", "1"));
  list.insert(sub(plain, "s", "2"));
  const headers = "NATS/1.0\r\n\r\n";
  fanOut(message("s", headers + "body", { hdr: headers.length }), list.match("s"));
  equal(h.text(), `HMSG s 1 ${headers.length} ${headers.length + 4}\r\n${headers}body\r\n`);
  equal(plain.text(), "MSG s 2 4\r\nbody\r\n");
});

Deno.test("fanOut() gives each queue group one member and skips closed ones", () => {
  const list = new Sublist<Subscription>();
  const members = [new FakeClient(1), new FakeClient(2), new FakeClient(3)];
  members[0]!.isClosed = true;
  for (const m of members) list.insert(sub(m, "jobs", "q", "workers"));
  for (let i = 0; i < 300; i++) fanOut(message("jobs", "x"), list.match("jobs"));
  equal(members[0]!.counted, 0);
  equal(members[1]!.counted + members[2]!.counted, 300, "each message once");
  // Random choice: both open members get a share.
  equal(members[1]!.counted > 50 && members[2]!.counted > 50, true);
});

Deno.test("fanOut() honours echo=false for the publisher's own subscription", () => {
  const list = new Sublist<Subscription>();
  const self = new FakeClient(1);
  self.echo = false;
  list.insert(sub(self, "x", "1"));
  const m = message("x", "p");
  m.publisher = self;
  equal(fanOut(m, list.match("x")), 0);
  equal(self.text(), "");
});

Deno.test("fanOut() removes an auto-unsubscribed subscription after the last message", () => {
  const list = new Sublist<Subscription>();
  const c = new FakeClient(1);
  const s = sub(c, "x", "1");
  s.max = 2;
  list.insert(s);
  fanOut(message("x", "1"), list.match("x"));
  deepStrictEqual(c.removed, []);
  fanOut(message("x", "2"), list.match("x"));
  deepStrictEqual(c.removed, [s]);
  equal(fanOut(message("x", "3"), list.match("x")), 0, "closed: nothing more");
});

Deno.test("fanOut() sends a client's message to each interested route once; a routed message never", () => {
  const list = new Sublist<Subscription>();
  const sent: string[][] = [];
  const route: RouteLink = {
    deliveryStamp: 0,
    pendingQueues: [],
    sendMessage: (_m, queues) => sent.push([...queues]),
  };
  list.insert(
    new Subscription({ subject: "a.*", queue: null, sid: "r1", sidBytes: enc.encode(""), route }),
  );
  list.insert(
    new Subscription({ subject: "a.b", queue: null, sid: "r2", sidBytes: enc.encode(""), route }),
  );
  const m = message("a.b", "p");
  m.publisher = new FakeClient(9);
  equal(fanOut(m, list.match("a.b")), 1);
  deepStrictEqual(sent, [[]]);
  const routed = message("a.b", "p");
  routed.fromRoute = true;
  equal(fanOut(routed, list.match("a.b")), 0);
  equal(sent.length, 1);
});

Deno.test({
  name:
    "fanOut() compiled on matching subjects is not deoptimized by the first subject matching none",
  // The bench's flows publish matching subjects, then subjects matching none: a
  // result of another shape, or a check that first runs on a miss, threw the
  // compiled fan-out away (docs/performance/subjects.md, "eighth round").
  fn: async () => {
    const url = (path: string) => JSON.stringify(new URL(path, import.meta.url).href);
    const probe = `
      import { fanOut, PublishContext } from ${url("./deliver.ts")};
      import { Subscription } from ${url("./subscription.ts")};
      import { Sublist } from ${url("../router/sublist.ts")};
      import { Outbound } from ${url("../conn/outbound.ts")};
      const idle = { remoteAddress: "127.0.0.1", remotePort: 1, start() {},
        write: () => Promise.resolve(), pause() {}, resume() {}, close() {} };
      const client = { cid: 1, out: new Outbound(idle, () => {}), isClosed: false, echo: true,
        headers: true, grantsReplies: false, account: { name: "$G" },
        deliveryAllowed: () => true, grantReply() {}, countOut() {}, removeSubscription() {} };
      const enc = new TextEncoder();
      const list = new Sublist();
      for (let i = 0; i < 10; i++) {
        const sid = String(i);
        list.insert(new Subscription({ subject: "bench." + i + ".*", queue: null, sid,
          sidBytes: enc.encode(sid), client }));
      }
      const line = enc.encode("bench.1.x 2");
      const msg = new PublishContext();
      msg.subjBuf = msg.replyBuf = msg.sizeBuf = msg.hdrBuf = line;
      msg.subjStart = 0;
      msg.subjEnd = 9;
      msg.replyStart = -1;
      msg.sizeStart = 10;
      msg.sizeEnd = 11;
      msg.hdrSize = -1;
      msg.payload = enc.encode("hi");
      const natives = (code) => new Function("f", code);
      natives("%PrepareFunctionForOptimization(f)")(fanOut);
      for (let i = 0; i < 200; i++) {
        msg.subject = "bench." + (i % 10) + ".x";
        fanOut(msg, list.match(msg.subject));
        client.out.len = 0;
      }
      natives("%OptimizeFunctionOnNextCall(f)")(fanOut);
      fanOut(msg, list.match("bench.1.x"));
      if (!natives("return %ActiveTierIsTurbofan(f)")(fanOut)) console.log("NOT OPTIMIZED");
      for (let i = 0; i < 20; i++) {
        msg.subject = "other." + i + ".x";
        if (fanOut(msg, list.match(msg.subject)) !== 0) console.log("DELIVERED");
      }
      console.log("DONE");
    `;
    const { stdout, bailouts } = await deoptProbe(probe, "fanOut");
    ok(!stdout.includes("DELIVERED"), "a subject matching none was delivered");
    deepStrictEqual(bailouts, []);
  },
});
