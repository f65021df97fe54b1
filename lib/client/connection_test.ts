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

Deno.test("ClientConnection refuses a payload over max_payload with nats-server's error and closes", async () => {
  const { server, transport, client } = connect();
  transport.feed('CONNECT {"verbose":false}\r\nPUB foo 17\r\n');
  await turn();
  match(transport.written, /-ERR 'Maximum Payload Violation'\r\n$/);
  ok(client.isClosed);
  equal(server.closed[0], client);
});
