/**
 * The leaf port byte for byte next to nats-server: a fake leaf (raw socket)
 * and a raw client talk to a dnatsd hub and a nats-server hub with the same
 * config, and every observation must be the same: INFO field order, the
 * `-ERR` and close for bad input, the `connect_info` INFO, `LS+` lines for
 * client interest, and the exact `MSG`/`LMSG`/`HMSG` framing both ways
 * (reply, queue groups, headers). Reported as ignored when nats-server is
 * not installed.
 */
import { deepStrictEqual } from "node:assert/strict";
import { missing } from "./helpers/requires.ts";
import { RawClient } from "./helpers/raw.ts";
import { type Kind, type Node, startNode } from "./leaf_helpers.ts";

const CONF = "cluster { name: hubc, listen: 127.0.0.1:-1 }\n" +
  "leafnodes { listen: 127.0.0.1:-1, authorization { user: lu, password: lp, timeout: 1 } }\n";

type Obs = Record<string, unknown>;

async function infoKeys(leafPort: number): Promise<string[]> {
  const c = await RawClient.connect(leafPort);
  try {
    const m = await c.expect(/^INFO (\{.*\}) \r\n/);
    return Object.keys(JSON.parse(m[1]));
  } finally {
    await c.close();
  }
}

/** Sends `input` after the INFO; returns what followed the INFO and whether it closed. */
async function reply(leafPort: number, input: string, timeoutMs = 3000): Promise<string> {
  const c = await RawClient.connect(leafPort);
  try {
    await c.expect(/^INFO .*\r\n/);
    if (input !== "") await c.send(input);
    await c.expectClosed(timeoutMs);
    return c.received.replace(/^INFO .*\r\n/, "");
  } finally {
    await c.close();
  }
}

async function observe(kind: Kind): Promise<Obs> {
  const hub: Node = await startNode(kind, CONF);
  const obs: Obs = {};
  try {
    const port = hub.leafPort;
    obs.infoKeys = await infoKeys(port);
    obs.clientOnLeafPort = await reply(port, 'CONNECT {"lang":"go","user":"lu","pass":"lp"}\r\n');
    obs.badPassword = await reply(port, 'CONNECT {"user":"lu","pass":"nope"}\r\n');
    obs.garbage = await reply(port, "FOO\r\n");
    obs.sameCluster = await reply(
      port,
      'CONNECT {"user":"lu","pass":"lp","name":"x","cluster":"hubc"}\r\n',
    );
    obs.silent = await reply(port, "", 5000);

    // A working fake leaf and a client of the hub.
    const leaf = await RawClient.connect(port);
    const cli = await RawClient.connect(hub.proc.port);
    try {
      await leaf.expect(/^INFO .*\r\n/);
      await leaf.send(
        'CONNECT {"version":"2.9.10","user":"lu","pass":"lp","tls_required":false,' +
          '"server_id":"NFAKELEAF","name":"fakeleaf","cluster":"leafc","headers":true}\r\n',
      );
      const ci = await leaf.expect(/INFO (\{[^\r]*"connect_info":true[^\r]*\}) \r\n/);
      const info = JSON.parse(ci[1]);
      obs.connectInfoKeys = Object.keys(info);
      obs.remoteAccount = info.remote_account;
      await leaf.expect(/LS\+ \$LDS\.[0-9A-Za-z]{22}\r\n/);
      await leaf.roundTrip();
      // Client interest reaches the leaf as LS+ (plain, then a queue group with its weight).
      await cli.send('CONNECT {"verbose":false,"headers":true}\r\nSUB foo 1\r\nSUB foo g 2\r\n');
      await cli.roundTrip();
      await leaf.expect(/LS\+ foo g 1\r\n/);
      obs.lsLines = leaf.received.split("\r\n").filter((l) => /^LS[+-] (foo|bar)/.test(l));
      // LMSG from the leaf to the hub's client (plain subscription only: no queue named).
      await leaf.send("LMSG foo 2\r\nhi\r\nLMSG foo r.1 3\r\nyo!\r\n");
      await leaf.send("LMSG foo | g 4\r\nqqqq\r\n");
      await leaf.send("HMSG foo 12 14\r\nNATS/1.0\r\n\r\nhh\r\n");
      await cli.expect(/MSG foo 1 12 14\r\nNATS\/1.0\r\n\r\nhh\r\n/);
      await cli.roundTrip();
      obs.delivered = cli.received.replace(/^INFO .*\r\n/, "");
      // The other way: the leaf's interest, then the client's messages as LMSG/HMSG.
      await leaf.send("LS+ bar\r\nLS+ baz q 3\r\n");
      await leaf.roundTrip();
      const mark = leaf.received.length;
      await cli.send(
        "PUB bar 2\r\nab\r\nPUB bar rr 2\r\ncd\r\nPUB baz 1\r\ne\r\nPUB baz rep 1\r\nf\r\n",
      );
      await cli.send(
        "HPUB bar 12 14\r\nNATS/1.0\r\n\r\ngh\r\nHPUB baz r2 12 13\r\nNATS/1.0\r\n\r\ni\r\n",
      );
      await cli.roundTrip();
      await leaf.expect(/HMSG baz \+ r2 q 12 13\r\nNATS\/1.0\r\n\r\ni\r\n/);
      obs.toLeaf = leaf.received.slice(mark).split("\r\n").filter((l) =>
        l !== "PONG" && l !== "PING"
      )
        .join("|");
      // Unsubscribing sends LS- for the plain subject, and the new weight for the group.
      await cli.send("UNSUB 1\r\nUNSUB 2\r\n");
      await cli.roundTrip();
      await leaf.expect(/LS- foo g\r\n/);
      obs.unsub = leaf.received.split("\r\n").filter((l) => /^LS- foo/.test(l));
    } finally {
      await leaf.close();
      await cli.close();
    }
  } finally {
    await hub.proc.stop();
  }
  return obs;
}

Deno.test({
  name: "leaf protocol: a fake leaf sees the same bytes from dnatsd and nats-server",
  ignore: missing("nats-server"),
  fn: async () => {
    const ours = await observe("dnatsd");
    const theirs = await observe("nats-server");
    deepStrictEqual(ours, theirs);
  },
});
