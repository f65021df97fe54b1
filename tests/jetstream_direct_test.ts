/**
 * Direct get and the message API on raw sockets, side by side with Debian's
 * nats-server -js: `$JS.API.DIRECT.GET.<stream>` (JSON body) and
 * `$JS.API.DIRECT.GET.<stream>.<subject>` answer with the stored message and
 * nats-server's headers, or its status messages (404, 408), framed byte for
 * byte as nats-server frames them (an empty reply slot: `HMSG <inbox> <sid>  ...`);
 * `STREAM.MSG.GET`/`STREAM.MSG.DELETE` check their request as nats-server
 * does (bad request and invalid JSON before the stream is looked up);
 * publish acknowledgements and rollups (`Nats-Rollup`) are compared in the
 * same transcript. Times are masked and the sizes on the MSG line recomputed.
 */
import { deepStrictEqual, equal } from "node:assert/strict";
import { RawClient } from "./helpers/raw.ts";
import { missing } from "./helpers/requires.ts";
import { startJs } from "./jetstream/helpers.ts";
import { waitFor } from "./helpers/server.ts";

const enc = new TextEncoder();

/** One request: subject, body, optional headers; `answer: false` when none is expected. */
interface Req {
  subject: string;
  body?: string;
  headers?: Array<[string, string]>;
  answer?: boolean;
}

/** A raw connection that sends requests with reply `_r.<n>` and reads whole frames back. */
class Requester {
  readonly raw: RawClient;
  #n = 0;
  constructor(raw: RawClient) {
    this.raw = raw;
  }

  static async open(port: number): Promise<Requester> {
    const raw = await RawClient.connect(port);
    await raw.send(
      'CONNECT {"verbose":false,"headers":true,"no_responders":true}\r\nSUB _r.> 1\r\n',
    );
    await raw.roundTrip();
    return new Requester(raw);
  }

  /** Sends a request; returns its reply subject. */
  async send(r: Req): Promise<string> {
    const reply = `_r.${++this.#n}`;
    const body = r.body ?? "";
    if (r.headers) {
      let h = "NATS/1.0\r\n";
      for (const [k, v] of r.headers) h += `${k}: ${v}\r\n`;
      h += "\r\n";
      const hlen = enc.encode(h).length;
      const total = hlen + enc.encode(body).length;
      await this.raw.send(`HPUB ${r.subject} ${reply} ${hlen} ${total}\r\n${h}${body}\r\n`);
    } else {
      await this.raw.send(`PUB ${r.subject} ${reply} ${enc.encode(body).length}\r\n${body}\r\n`);
    }
    return reply;
  }

  /** The frame delivered to `reply`, once complete (null if none yet). */
  frame(reply: string): string | null {
    const text = this.raw.received;
    const re = new RegExp(`(H?MSG) ${reply.replace(".", "\\.")} 1 [^\\r]*\\r\\n`);
    const m = re.exec(text);
    if (!m) return null;
    const sizes = m[0].trim().split(" ");
    const total = Number(sizes[sizes.length - 1]);
    const start = m.index + m[0].length;
    if (text.length < start + total + 2) return null;
    return m[0] + text.slice(start, start + total);
  }

  async request(r: Req): Promise<string> {
    const reply = await this.send(r);
    // Polled every millisecond (waitFor's 20 ms would cost seconds over the script).
    const deadline = Date.now() + 3000;
    let f = this.frame(reply);
    while (f === null && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 1));
      f = this.frame(reply);
    }
    if (f === null) throw new Error(`no answer to ${r.subject} in 3 s`);
    return mask(f);
  }
}

/**
 * Masks times (they differ between any two runs) and recomputes the sizes on
 * the MSG/HMSG line for the masked payload, after checking the sizes sent.
 */
function mask(frame: string): string {
  const eol = frame.indexOf("\r\n");
  const line = frame.slice(0, eol);
  const payload = frame.slice(eol + 2);
  const tokens = line.split(" ");
  const hmsg = tokens[0] === "HMSG";
  const total = Number(tokens[tokens.length - 1]);
  equal(enc.encode(payload).length, total, `size on ${line}`);
  if (hmsg) {
    const hlen = Number(tokens[tokens.length - 2]);
    equal(payload.indexOf("\r\n\r\n") + 4, hlen, `header size on ${line}`);
  }
  const masked = payload
    .replace(/Nats-Time-Stamp: [^\r]*/g, "Nats-Time-Stamp: T")
    .replace(/"(created|first_ts|last_ts|time|ts)":"[^"]*"/g, '"$1":"T"');
  const head = tokens.slice(0, hmsg ? -2 : -1).join(" ");
  const sizes = hmsg ? `${masked.indexOf("\r\n\r\n") + 4} ${masked.length}` : `${masked.length}`;
  return `${head} ${sizes}\r\n${masked}`;
}

const J = (v: unknown) => JSON.stringify(v);

const STEPS: Req[] = [
  {
    subject: "$JS.API.STREAM.CREATE.D",
    body: J({ name: "D", subjects: ["d.>"], allow_direct: true }),
  },
  {
    subject: "$JS.API.STREAM.CREATE.M",
    body: J({
      name: "M",
      subjects: ["m.*"],
      storage: "memory",
      allow_direct: true,
      max_msgs_per_subject: 2,
    }),
  },
  { subject: "$JS.API.STREAM.CREATE.N", body: J({ name: "N", storage: "memory" }) },
  {
    subject: "$JS.API.STREAM.CREATE.X",
    body: J({ name: "X", storage: "memory", mirror_direct: true }),
  },
  { subject: "d.a", body: "hello" },
  { subject: "d.b", body: "with headers", headers: [["Foo", "bar"], ["Foo", "baz"], ["A", "b"]] },
  { subject: "d.c", body: "", headers: [] },
  { subject: "d.a", body: "" },
  { subject: "m.x", body: "one" },
  { subject: "m.x", body: "two", headers: [["Nats-Msg-Id", "i2"]] },
  { subject: "m.x", body: "three" },
  { subject: "m.y", body: "why" },
  { subject: "N", body: "n" },
  // Direct get with a JSON body.
  { subject: "$JS.API.DIRECT.GET.D", body: J({ seq: 1 }) },
  { subject: "$JS.API.DIRECT.GET.D", body: J({ seq: 2 }) },
  { subject: "$JS.API.DIRECT.GET.D", body: J({ seq: 3 }) },
  { subject: "$JS.API.DIRECT.GET.D", body: J({ seq: 4 }) },
  { subject: "$JS.API.DIRECT.GET.D", body: J({ seq: 99 }) },
  { subject: "$JS.API.DIRECT.GET.D", body: J({ last_by_subj: "d.a" }) },
  { subject: "$JS.API.DIRECT.GET.D", body: J({ last_by_subj: "d.*" }) },
  { subject: "$JS.API.DIRECT.GET.D", body: J({ last_by_subj: "d.zz" }) },
  { subject: "$JS.API.DIRECT.GET.D", body: J({ next_by_subj: "d.a", seq: 2 }) },
  { subject: "$JS.API.DIRECT.GET.D", body: J({ next_by_subj: "d.>" }) },
  { subject: "$JS.API.DIRECT.GET.D", body: J({ next_by_subj: "d.b", seq: 3 }) },
  { subject: "$JS.API.DIRECT.GET.D", body: J({ next_by_subj: "d.b", seq: 50 }) },
  { subject: "$JS.API.DIRECT.GET.D", body: "" },
  { subject: "$JS.API.DIRECT.GET.D", body: "{}" },
  { subject: "$JS.API.DIRECT.GET.D", body: "null" },
  { subject: "$JS.API.DIRECT.GET.D", body: "not json" },
  { subject: "$JS.API.DIRECT.GET.D", body: "[1]" },
  { subject: "$JS.API.DIRECT.GET.D", body: J({ seq: -1 }) },
  { subject: "$JS.API.DIRECT.GET.D", body: J({ seq: "1" }) },
  { subject: "$JS.API.DIRECT.GET.D", body: '{"seq":1.0}' },
  { subject: "$JS.API.DIRECT.GET.D", body: '{"SEQ":2}' },
  { subject: "$JS.API.DIRECT.GET.D", body: J({ seq: 1, last_by_subj: "d.a" }) },
  { subject: "$JS.API.DIRECT.GET.D", body: J({ last_by_subj: "d.a", next_by_subj: "d.a" }) },
  { subject: "$JS.API.DIRECT.GET.D", body: J({ seq: 1, other: [1, { seq: "x" }] }) },
  // The 2.9 form: the subject after the stream name, no body.
  { subject: "$JS.API.DIRECT.GET.D.d.a" },
  { subject: "$JS.API.DIRECT.GET.D.d.b" },
  { subject: "$JS.API.DIRECT.GET.D.d.nothing" },
  { subject: "$JS.API.DIRECT.GET.D.d.a", body: "x" },
  { subject: "$JS.API.DIRECT.GET.D.d.a", body: J({ seq: 1 }) },
  { subject: "$JS.API.DIRECT.GET.M.m.x" },
  { subject: "$JS.API.DIRECT.GET.M", body: J({ seq: 1 }) },
  { subject: "$JS.API.DIRECT.GET.M", body: J({ seq: 2 }) },
  { subject: "$JS.API.DIRECT.GET.M", body: J({ last_by_subj: "m.y" }) },
  // The JSON message API: requests checked before the stream is looked up.
  { subject: "$JS.API.STREAM.MSG.GET.D", body: J({ seq: 2 }) },
  { subject: "$JS.API.STREAM.MSG.GET.D", body: J({ next_by_subj: "d.c", seq: 1 }) },
  { subject: "$JS.API.STREAM.MSG.GET.NOPE", body: "" },
  { subject: "$JS.API.STREAM.MSG.GET.NOPE", body: "{ }" },
  { subject: "$JS.API.STREAM.MSG.GET.NOPE", body: "junk" },
  { subject: "$JS.API.STREAM.MSG.GET.NOPE", body: J({ seq: 1 }) },
  { subject: "$JS.API.STREAM.MSG.GET.D", body: "null" },
  { subject: "$JS.API.STREAM.MSG.GET.D", body: "[]" },
  { subject: "$JS.API.STREAM.MSG.GET.D", body: J({ seq: -5 }) },
  { subject: "$JS.API.STREAM.MSG.GET.D", body: J({ last_by_subj: 5 }) },
  { subject: "$JS.API.STREAM.MSG.GET.D", body: J({ seq: 1, last_by_subj: "d.a" }) },
  { subject: "$JS.API.STREAM.MSG.DELETE.NOPE", body: "" },
  { subject: "$JS.API.STREAM.MSG.DELETE.NOPE", body: "junk" },
  { subject: "$JS.API.STREAM.MSG.DELETE.D", body: J({ seq: "2" }) },
  { subject: "$JS.API.STREAM.MSG.DELETE.NOPE", body: J({ seq: 2 }) },
  { subject: "$JS.API.STREAM.MSG.DELETE.M", body: J({ seq: 2, no_erase: true }) },
  { subject: "$JS.API.STREAM.MSG.DELETE.M", body: J({ seq: 2 }) },
  { subject: "$JS.API.DIRECT.GET.M", body: J({ seq: 2 }) },
  { subject: "$JS.API.DIRECT.GET.M", body: J({ next_by_subj: "m.x", seq: 2 }) },
  { subject: "$JS.API.INFO" },
  // Rollups: refused unless allowed; "sub" keeps the subject's last, "all" the stream's.
  { subject: "m.x", body: "r", headers: [["Nats-Rollup", "sub"]] },
  {
    subject: "$JS.API.STREAM.CREATE.R",
    // A file stream: nats-server 2.9.10's memory store keeps counting the
    // subjects a roll-up of "all" removed (num_subjects), a bug not copied.
    body: J({ name: "R", subjects: ["r.*"], allow_rollup_hdrs: true }),
  },
  {
    subject: "$JS.API.STREAM.CREATE.P",
    body: J({ name: "P", storage: "memory", allow_rollup_hdrs: true, deny_purge: true }),
  },
  {
    subject: "$JS.API.STREAM.CREATE.P",
    body: J({ name: "P", storage: "memory", deny_purge: true }),
  },
  { subject: "P", body: "p", headers: [["Nats-Rollup", "all"]] },
  { subject: "r.a", body: "1" },
  { subject: "r.a", body: "2" },
  { subject: "r.b", body: "3" },
  { subject: "r.a", body: "4", headers: [["Nats-Rollup", "SUB"]] },
  { subject: "$JS.API.STREAM.INFO.R" },
  { subject: "r.b", body: "5", headers: [["Nats-Rollup", ""]] },
  { subject: "r.a", body: "6", headers: [["Nats-Rollup", "bogus"]], answer: false },
  { subject: "r.c", body: "7", headers: [["Nats-Rollup", "all"], ["Nats-Msg-Id", "x7"]] },
  { subject: "r.c", body: "7", headers: [["Nats-Rollup", "all"], ["Nats-Msg-Id", "x7"]] },
  { subject: "$JS.API.STREAM.INFO.R" },
  { subject: "$JS.API.STREAM.MSG.GET.R", body: J({ seq: 7 }) },
  // Purge with keep: the newest of all matching messages together, or of the stream.
  { subject: "d.b", body: "more" },
  { subject: "d.c", body: "more" },
  { subject: "$JS.API.STREAM.PURGE.D", body: J({ filter: "d.*", keep: 3 }) },
  { subject: "$JS.API.STREAM.INFO.D" },
  { subject: "$JS.API.STREAM.PURGE.D", body: J({ keep: 1 }) },
  { subject: "$JS.API.STREAM.INFO.D" },
  // Purge below a sequence (a compaction): a gap at that sequence, past the end.
  // (A memory stream refuses a gap; after a compaction nats-server 2.9.10's
  // memory store keeps counting the subjects removed, not copied: no INFO then.)
  {
    subject: "$JS.API.STREAM.CREATE.G",
    body: J({ name: "G", subjects: ["g.*"], storage: "memory" }),
  },
  { subject: "g.a", body: "1" },
  { subject: "g.b", body: "2" },
  { subject: "g.a", body: "3" },
  { subject: "g.c", body: "4" },
  { subject: "$JS.API.STREAM.MSG.DELETE.G", body: J({ seq: 3 }) },
  { subject: "$JS.API.STREAM.PURGE.G", body: J({ keep: 2 }) },
  { subject: "$JS.API.STREAM.PURGE.G", body: J({ seq: 3 }) },
  { subject: "$JS.API.STREAM.INFO.G" },
  { subject: "$JS.API.STREAM.PURGE.G", body: J({ seq: 2 }) },
  { subject: "$JS.API.STREAM.PURGE.G", body: J({ seq: 9 }) },
  { subject: "g.a", body: "9" },
  { subject: "d.a", body: "x" },
  { subject: "d.b", body: "y" },
  { subject: "$JS.API.STREAM.MSG.DELETE.D", body: J({ seq: 16 }) },
  { subject: "$JS.API.STREAM.PURGE.D", body: J({ keep: 2 }) },
  { subject: "$JS.API.STREAM.INFO.D" },
  { subject: "$JS.API.STREAM.PURGE.D", body: J({ seq: 30 }) },
  { subject: "$JS.API.STREAM.INFO.D" },
  { subject: "d.c", body: "after" },
  { subject: "$JS.API.STREAM.PURGE.D", body: J({ seq: 1 }) },
  { subject: "$JS.API.STREAM.INFO.D" },
  // Discard new as nats-server's stores check it: the new message's headers and
  // data against max_bytes, a subject at its own limit may replace its oldest.
  ...["file", "memory"].flatMap((storage): Req[] => {
    const n = `L${storage}`;
    const v = "v".repeat(30);
    return [
      {
        subject: `$JS.API.STREAM.CREATE.${n}`,
        body: J({
          name: n,
          subjects: [`${n}.*`],
          storage,
          discard: "new",
          max_bytes: 220,
          max_msgs: 3,
          max_msgs_per_subject: 1,
        }),
      },
      { subject: `${n}.a`, body: v },
      { subject: `${n}.b`, body: v },
      { subject: `${n}.c`, body: v },
      { subject: `${n}.d`, body: v },
      { subject: `${n}.a`, body: v },
      { subject: `${n}.a`, body: v + "x" },
      { subject: `${n}.a`, body: "short" },
      { subject: `${n}.b`, body: v + "xxxxxxxxxxxxxxxxxxxx" },
      { subject: `${n}.c`, body: v + v + "xxxxxxxxxx" },
      { subject: `$JS.API.STREAM.INFO.${n}` },
      {
        subject: `$JS.API.STREAM.CREATE.${n}x`,
        body: J({ name: `${n}x`, subjects: [`${n}x.>`], storage, discard: "new", max_bytes: 200 }),
      },
      ...["a", "b", "c", "d", "e"].map((k) => ({ subject: `${n}x.long.subject.${k}`, body: v })),
      { subject: `$JS.API.STREAM.INFO.${n}x` },
    ];
  }),
  // Discard new per subject.
  {
    subject: "$JS.API.STREAM.CREATE.DN",
    body: J({
      name: "DN",
      storage: "memory",
      discard_new_per_subject: true,
      max_msgs_per_subject: 1,
    }),
  },
  {
    subject: "$JS.API.STREAM.CREATE.DN",
    body: J({ name: "DN", storage: "memory", discard: "new", discard_new_per_subject: true }),
  },
  {
    subject: "$JS.API.STREAM.CREATE.DN",
    body: J({
      name: "DN",
      subjects: ["dn.*"],
      storage: "memory",
      discard: "new",
      discard_new_per_subject: true,
      max_msgs_per_subject: 2,
    }),
  },
  { subject: "dn.a", body: "1" },
  { subject: "dn.a", body: "2" },
  { subject: "dn.a", body: "3" },
  { subject: "dn.b", body: "4" },
  { subject: "$JS.API.STREAM.INFO.DN" },
  // allow_direct off: the direct subjects go unanswered; on again: answered.
  { subject: "$JS.API.DIRECT.GET.N", body: J({ seq: 1 }), answer: false },
  { subject: "$JS.API.DIRECT.GET.NOPE", body: J({ seq: 1 }), answer: false },
  {
    subject: "$JS.API.STREAM.UPDATE.M",
    body: J({ name: "M", subjects: ["m.*"], storage: "memory", max_msgs_per_subject: 2 }),
  },
  { subject: "$JS.API.DIRECT.GET.M", body: J({ seq: 3 }), answer: false },
  { subject: "$JS.API.DIRECT.GET.M.m.y", answer: false },
  {
    subject: "$JS.API.STREAM.UPDATE.N",
    body: J({ name: "N", storage: "memory", allow_direct: true }),
  },
  { subject: "$JS.API.DIRECT.GET.N.N" },
];

async function transcript(reference: boolean): Promise<string[]> {
  const s = await startJs(reference);
  const r = await Requester.open(s.server.port);
  const out: string[] = [];
  const silent: string[] = [];
  try {
    for (const step of STEPS) {
      if (step.answer === false) {
        silent.push(await r.send(step));
        out.push(`${step.subject}: (no answer)`);
      } else {
        out.push(`${step.subject} ${step.body ?? ""}: ${await r.request(step)}`);
      }
    }
    // Whatever was to come for the unanswered ones has come by now (the
    // later steps were answered); give a slow server a moment more.
    await r.raw.roundTrip();
    await new Promise((res) => setTimeout(res, 200));
    for (const reply of silent) equal(r.frame(reply), null, `no answer on ${reply}`);
    return out;
  } finally {
    await r.raw.close();
    await s.stop();
  }
}

Deno.test({
  name: "direct get, message get/delete and rollups: the same bytes as nats-server",
  ignore: missing("nats-server"),
  fn: async () => {
    const ref = await transcript(true);
    const ours = await transcript(false);
    if (Deno.env.get("JS_TEST_DUMP")) console.log(ref.join("\n"));
    for (let i = 0; i < ref.length; i++) deepStrictEqual(ours[i], ref[i], `step ${i}`);
    equal(ours.length, ref.length);
  },
});

/**
 * Direct get is a queue subscription in group `_sys_`, a group no client may
 * join (nats-server refuses the SUB as a permissions violation): a client in
 * another group gets each request as well, and the stream answers every one.
 */
async function sharing(reference: boolean): Promise<{ answered: number; other: number }> {
  const s = await startJs(reference);
  const r = await Requester.open(s.server.port);
  const member = await RawClient.connect(s.server.port);
  try {
    await r.request({
      subject: "$JS.API.STREAM.CREATE.Q",
      body: J({ name: "Q", storage: "memory", allow_direct: true }),
    });
    await r.request({ subject: "Q", body: "q" });
    await member.send(
      'CONNECT {"verbose":false}\r\nSUB $JS.API.DIRECT.GET.Q _sys_ 1\r\n' +
        "SUB $JS.API.DIRECT.GET.Q other 2\r\n",
    );
    await member.roundTrip();
    equal(
      member.received.replace(/^INFO [^\r]*\r\n/, ""),
      `-ERR 'Permissions Violation for Subscription to "$JS.API.DIRECT.GET.Q" using queue "_sys_"'\r\nPONG\r\n`,
    );
    await s.server.waitForLog(
      /Subscription Violation - User "N\/A", Subject "\$JS\.API\.DIRECT\.GET\.Q", Queue: "_sys_", SID 1/,
    );
    const n = 10;
    const replies: string[] = [];
    for (let i = 0; i < n; i++) {
      replies.push(await r.send({ subject: "$JS.API.DIRECT.GET.Q", body: J({ seq: 1 }) }));
    }
    const answered = () => replies.filter((x) => r.frame(x) !== null).length;
    const other = () => (member.received.match(/MSG \$JS\.API\.DIRECT\.GET\.Q 2 /g) ?? []).length;
    await waitFor(() => answered() === n && other() === n, 5000, "every request answered");
    equal(member.received.match(/MSG \$JS\.API\.DIRECT\.GET\.Q 1 /), null);
    return { answered: answered(), other: other() };
  } finally {
    await member.close();
    await r.raw.close();
    await s.stop();
  }
}

Deno.test({
  name: "direct get: a queue subscription in group _sys_, which clients may not join",
  ignore: missing("nats-server"),
  fn: async () => {
    const ref = await sharing(true);
    deepStrictEqual(ref, { answered: 10, other: 10 });
    deepStrictEqual(await sharing(false), ref);
  },
});
