import { equal, match, ok } from "node:assert/strict";
import { defaultOptions, type Options } from "../config/options.ts";
import { ClosedReason } from "../conn/closed_reason.ts";
import { FlushQueue } from "../conn/flush_queue.ts";
import { ScriptedTransport } from "../conn/_test_util.ts";
import type { Subscription } from "../delivery/subscription.ts";
import { MemoryLogger } from "../ops/logger.ts";
import { Account } from "../server/account.ts";
import type { AuthOutcome } from "../server/auth_api.ts";
import { type ServerCore, type ServerStats, zeroStats } from "../server/core.ts";
import { prng } from "../router/_test_util.ts";
import { ClientConnection } from "./connection.ts";

/** The smallest server a client connection can run against: no auth, one account. */
class TestServer implements ServerCore {
  readonly options: Options = { ...defaultOptions(), maxPayload: 16 };
  readonly log = new MemoryLogger();
  readonly stats: ServerStats = zeroStats();
  readonly authRequired = false;
  readonly authActive = false;
  readonly authTimeoutMs = 2000;
  readonly account = new Account("$G", { cache: true });
  readonly closed: ClientConnection[] = [];
  readonly writes = new FlushQueue();

  authenticate(): AuthOutcome {
    return { ok: true, account: "$G", permissions: null };
  }
  anonymousLogin(): AuthOutcome | null {
    return null;
  }
  authViolationLine(): string {
    return "authentication error";
  }
  accountFor(name: string): Account | null {
    return name === "$G" ? this.account : null;
  }
  maxSubscriptionsFor(): number {
    return 0;
  }
  interestChanged(_a: Account, _s: Subscription, _added: boolean): void {}
  pongSent(): void {}
  queueFlush(conn: ClientConnection): void {
    this.writes.add(conn);
  }
  flushPending(): void {
    this.writes.flush();
  }
  slowConsumer(): void {}
  clientClosed(c: ClientConnection): void {
    this.closed.push(c);
  }
  redact(text: string): string {
    return text;
  }
}

function connect(server = new TestServer()) {
  const transport = new ScriptedTransport();
  const client = new ClientConnection(server, transport, 1, server.account);
  client.begin(new TextEncoder().encode("INFO {} \r\n"));
  return { server, transport, client };
}

const turn = () => new Promise((r) => setTimeout(r, 0));

Deno.test("ClientConnection sends INFO, answers CONNECT (verbose) and PING in order", async () => {
  const { transport, client } = connect();
  transport.feed('CONNECT {"verbose":true}\r\nPING\r\n');
  await turn();
  equal(transport.written, "INFO {} \r\n+OK\r\nPONG\r\n");
  client.close(ClosedReason.ClientClosed);
});

Deno.test("ClientConnection delivers its own PUB to its SUB, split at any byte", async () => {
  const { transport, client } = connect();
  const input = 'CONNECT {"verbose":false}\r\nSUB foo 7\r\nPUB foo reply 5\r\nhello\r\nPING\r\n';
  // One byte per chunk: the parser must carry state across every boundary.
  for (const ch of input) transport.feed(ch);
  await turn();
  match(transport.written, /MSG foo 7 reply 5\r\nhello\r\nPONG\r\n$/);
  equal(client.inMsgs, 1);
  equal(client.outMsgs, 1);
  client.close(ClosedReason.ClientClosed);
});

Deno.test("ClientConnection: a repeated subject sees interest that changed between its PUBs", async () => {
  const { transport, client } = connect();
  // The same subject again and again (the second PUB of each pair hits the
  // last-subject shortcut), with SUB and UNSUB in between: each PUB must use
  // the interest of its own moment.
  const pub = (body: string) => `PUB foo 1\r\n${body}\r\nPUB foo 1\r\n${body}\r\n`;
  transport.feed(
    'CONNECT {"verbose":false}\r\n' + pub("a") + "SUB foo 1\r\n" + pub("b") + "SUB * 2\r\n" +
      pub("c") + "UNSUB 1\r\n" + pub("d") + "UNSUB 2\r\n" + pub("e") + "PING\r\n",
  );
  await turn();
  const msgs = transport.written.match(/MSG foo \d+ 1\r\n.\r\n/g) ?? [];
  const got = msgs.map((m) => m.replace(/^MSG foo (\d+) 1\r\n(.)\r\n$/, "$2$1")).join(" ");
  // Both subscriptions match "foo": the literal one first, as nats-server orders
  // matches at a subject's last token (lib/router/sublist.ts collectMatches).
  equal(got, "b1 b1 c1 c2 c1 c2 d2 d2");
  client.close(ClosedReason.ClientClosed);
});

Deno.test("ClientConnection: subjects published in a fixed order, then in others, each get their own interest", async () => {
  // The publish cache predicts the entry that followed the last one; this goes
  // through 600 subjects (more than the cache's 512 slots, so entries are
  // reused for other subjects while still predicted) in order, shuffled and
  // repeated, with interest changing between rounds (which makes every entry
  // stale), and checks every delivery.
  const { transport, client } = connect();
  const rand = prng(14);
  const subjects = Array.from({ length: 600 }, (_, k) => `c.${k}.${k % 7}`);
  const live = new Map<number, string>();
  const changes: [sid: number, pattern: string | null][][] = [
    [[1, "c.*.3"]],
    [[2, "c.5.*"], [3, "c.>"]],
    [[1, null], [4, "c.*.0"]],
    [[3, null]],
    [[5, "*.17.*"], [2, null]],
    [[3, "c.>"]],
  ];
  const matches = (pattern: string, subject: string) => {
    const p = pattern.split(".");
    const t = subject.split(".");
    for (let i = 0; i < p.length; i++) {
      if (p[i] === ">") return t.length > i;
      if (i >= t.length || (p[i] !== "*" && p[i] !== t[i])) return false;
    }
    return p.length === t.length;
  };
  let input = 'CONNECT {"verbose":false}\r\n';
  const expected: string[] = [];
  let id = 0;
  for (let round = 0; round < changes.length; round++) {
    for (const [sid, pattern] of changes[round]) {
      if (pattern === null) {
        input += `UNSUB ${sid}\r\n`;
        live.delete(sid);
      } else {
        input += `SUB ${pattern} ${sid}\r\n`;
        live.set(sid, pattern);
      }
    }
    // With the interest fixed: twice in order, shuffled, in order with each subject twice.
    const shuffled = [...subjects];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
    }
    const sent = [...subjects, ...subjects, ...shuffled, ...subjects.flatMap((s) => [s, s])];
    for (let k = 0; k < sent.length; k++) {
      if (k === subjects.length + 300) {
        // Interest changes in the middle of an ordered pass, under predictions.
        input += round % 2 === 0 ? "SUB c.*.* 9\r\n" : "UNSUB 9\r\n";
        if (round % 2 === 0) live.set(9, "c.*.*");
        else live.delete(9);
      }
      const subject = sent[k];
      const body = String(id++);
      input += `PUB ${subject} ${body.length}\r\n${body}\r\n`;
      const sids = [...live].filter(([, p]) => matches(p, subject)).map(([sid]) => sid);
      expected.push(`${body} ${subject} ${sids.sort((a, b) => a - b).join(",")}`);
    }
  }
  transport.feed(input + "PING\r\n");
  await turn();
  ok(transport.written.endsWith("PONG\r\n"));
  const got = new Map<string, { subject: string; sids: number[] }>();
  for (const m of transport.written.matchAll(/MSG (\S+) (\d+) \d+\r\n(\d+)\r\n/g)) {
    const entry = got.get(m[3]) ?? { subject: m[1], sids: [] };
    entry.sids.push(Number(m[2]));
    got.set(m[3], entry);
  }
  const actual = expected.map((line) => {
    const body = line.split(" ")[0];
    const g = got.get(body);
    return `${body} ${g?.subject ?? line.split(" ")[1]} ${
      g?.sids.sort((a, b) => a - b).join(",") ?? ""
    }`;
  });
  equal(actual.join("\n"), expected.join("\n"));
  client.close(ClosedReason.ClientClosed);
});

Deno.test("ClientConnection: a cached subject nobody receives still gets +OK and no-responders", async () => {
  // The second PUB of each subject hits the publish cache's empty match, which
  // returns early only when there is no reply and no +OK to send.
  const verbose = connect();
  verbose.transport.feed(
    'CONNECT {"verbose":true}\r\nPUB none 1\r\na\r\nPUB none 1\r\nb\r\nPING\r\n',
  );
  const asking = connect();
  asking.transport.feed(
    'CONNECT {"verbose":false,"headers":true,"no_responders":true}\r\nSUB r.* 9\r\n' +
      "PUB ask r.1 1\r\nq\r\nPUB ask r.2 1\r\nq\r\nPING\r\n",
  );
  await turn();
  // CONNECT's and each PUB's.
  equal(verbose.transport.written, "INFO {} \r\n" + "+OK\r\n".repeat(3) + "PONG\r\n");
  equal(
    asking.transport.written,
    "INFO {} \r\n" +
      "HMSG r.1 9 16 16\r\nNATS/1.0 503\r\n\r\n\r\n" +
      "HMSG r.2 9 16 16\r\nNATS/1.0 503\r\n\r\n\r\n" +
      "PONG\r\n",
  );
  verbose.client.close(ClosedReason.ClientClosed);
  asking.client.close(ClosedReason.ClientClosed);
});

Deno.test("ClientConnection refuses a payload over max_payload with nats-server's error and closes", async () => {
  const { server, transport, client } = connect();
  transport.feed('CONNECT {"verbose":false}\r\nPUB foo 17\r\n');
  await turn();
  match(transport.written, /-ERR 'Maximum Payload Violation'\r\n$/);
  ok(client.isClosed);
  equal(server.closed[0], client);
});
