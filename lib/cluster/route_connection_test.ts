import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { defaultOptions } from "../config/options.ts";
import { ClosedReason } from "../conn/closed_reason.ts";
import { type Flushable, FlushQueue } from "../conn/flush_queue.ts";
import { Outbound } from "../conn/outbound.ts";
import { ScriptedTransport } from "../conn/_test_util.ts";
import { type LocalSubscriber, Subscription } from "../delivery/subscription.ts";
import { MemoryLogger } from "../ops/logger.ts";
import { Account } from "../server/account.ts";
import { type RouteServer, zeroStats } from "../server/core.ts";
import { RouteAuth } from "./route_auth.ts";
import { RouteConnection, type RouteHost, type RouteInfoJson } from "./route_connection.ts";

const enc = new TextEncoder();

/** A local client that keeps what it is given. */
class Receiver implements LocalSubscriber {
  readonly cid = 1;
  readonly out = new Outbound(new ScriptedTransport(), () => {});
  readonly isClosed = false;
  readonly echo = true;
  readonly headers = true;
  readonly grantsReplies = false;
  readonly account: Account;
  constructor(account: Account) {
    this.account = account;
  }
  deliveryAllowed(): boolean {
    return true;
  }
  grantReply(): void {}
  countOut(): void {}
  removeSubscription(): void {}
  text(): string {
    return new TextDecoder().decode(this.out.buf.subarray(0, this.out.len));
  }
}

/** One account, a cluster that registers every route at its first INFO. */
function setup() {
  const account = new Account("$G", { cache: true });
  const writes = new FlushQueue();
  const server: RouteServer = {
    options: defaultOptions(),
    log: new MemoryLogger(),
    stats: zeroStats(),
    accounts: new Map([["$G", account]]),
    queueFlush: (c: Flushable) => writes.add(c),
    flushPending: () => writes.flush(),
    redact: (t) => t,
  };
  const closed: RouteConnection[] = [];
  const host: RouteHost = {
    server,
    auth: new RouteAuth(undefined),
    checkClusterName: () => true,
    processFirstInfo: (conn: RouteConnection, _info: RouteInfoJson) =>
      conn.registeredWith(new Uint8Array()),
    gossipReceived: () => {},
    peerUrlsChanged: () => {},
    routeClosed: (conn) => closed.push(conn),
    exportAllowed: () => true,
    peerPermissionsChanged: () => {},
  };
  const transport = new ScriptedTransport();
  const route = new RouteConnection(host, transport, {
    rid: 1,
    solicited: false,
    url: null,
    explicit: false,
  });
  route.begin([enc.encode("INFO {} \r\n")]);
  transport.feed('CONNECT {"name":"PEER"}\r\nINFO {"server_id":"PEER"}\r\n');
  return { account, route, transport, closed };
}

Deno.test("RouteConnection keeps the peer's RS+/RS- interest in the account's sublist", () => {
  const { account, route } = setup();
  ok(route.registered);
  const t = route.transport as ScriptedTransport;
  t.feed("RS+ $G orders.* \r\nRS+ $G jobs workers 3\r\n");
  equal(account.sublist.match("orders.new").plain.length, 1);
  const queue = account.sublist.match("jobs").queues[0]!;
  equal(queue[0]!.weight, 3);
  t.feed("RS- $G orders.*\r\n");
  equal(account.sublist.match("orders.new").plain.length, 0);
  route.close(ClosedReason.ClientClosed);
  equal(account.sublist.match("jobs").queues.length, 0, "closing drops the peer's interest");
});

Deno.test("RouteConnection delivers RMSG to local subscribers, split anywhere, never back to routes", () => {
  const { account, route, transport } = setup();
  const local = new Receiver(account);
  account.sublist.insert(
    new Subscription({
      subject: "a.b",
      queue: null,
      sid: "9",
      sidBytes: enc.encode("9"),
      client: local,
    }),
  );
  let forwarded = 0;
  account.sublist.insert(
    new Subscription({
      subject: "a.b",
      queue: null,
      sid: "other-route",
      sidBytes: new Uint8Array(),
      route: { deliveryStamp: 0, pendingQueues: [], sendMessage: () => forwarded++ },
    }),
  );
  for (const ch of "RMSG $G a.b reply 5\r\nhello\r\n") transport.feed(ch);
  equal(local.text(), "MSG a.b 9 reply 5\r\nhello\r\n");
  equal(forwarded, 0, "one hop: a routed message is not sent on to other routes");
  equal(route.inMsgs, 1);
  route.close(ClosedReason.ClientClosed);
});

Deno.test("RouteConnection answers PING and reports a peer's -ERR by closing", async () => {
  const { route, transport, closed } = setup();
  transport.feed("PING\r\n");
  await new Promise((r) => setTimeout(r, 0));
  ok(transport.written.endsWith("PONG\r\n"));
  transport.feed("-ERR 'Unknown Protocol Operation'\r\n");
  deepStrictEqual(closed, [route]);
  ok(route.isClosed);
});
