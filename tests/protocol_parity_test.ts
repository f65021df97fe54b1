/**
 * Raw-socket protocol cases: each is sent to dnatsd and, when installed, to
 * Debian's nats-server; both must answer with exactly the expected bytes and
 * close (or not) the same way.
 */
import { deepStrictEqual, equal } from "node:assert/strict";
import { missing } from "./helpers/requires.ts";
import { ServerProcess } from "./helpers/server.ts";
import { RawClient } from "./helpers/raw.ts";

interface Case {
  name: string;
  send: string;
  /** Exact bytes expected after the server's INFO line. */
  expect: string;
  /** The server must close the connection (else the input ends with PING and we wait for PONG). */
  closes: boolean;
  config?: string;
}

const UNKNOWN = "-ERR 'Unknown Protocol Operation'\r\n";
const QUIET = 'CONNECT {"verbose":false}\r\n';

const CASES: Case[] = [
  { name: "PING answered with PONG", send: "PING\r\n", expect: "PONG\r\n", closes: false },
  { name: "verbs are case-insensitive", send: "pInG\r\n", expect: "PONG\r\n", closes: false },
  { name: "bare LF line end", send: "PING\n", expect: "PONG\r\n", closes: false },
  {
    name: "verbose by default: SUB acknowledged without CONNECT",
    send: "SUB foo 1\r\nPING\r\n",
    expect: "+OK\r\nPONG\r\n",
    closes: false,
  },
  {
    name: "CONNECT {} keeps verbose default",
    send: "CONNECT {}\r\nPING\r\n",
    expect: "+OK\r\nPONG\r\n",
    closes: false,
  },
  {
    name: "publish to own subscription",
    send: QUIET + "SUB foo 1\r\nPUB foo 5\r\nhello\r\nPING\r\n",
    expect: "MSG foo 1 5\r\nhello\r\nPONG\r\n",
    closes: false,
  },
  {
    name: "size token echoed verbatim",
    send: QUIET + "SUB foo 1\r\nPUB foo 05\r\nhello\r\nPING\r\n",
    expect: "MSG foo 1 05\r\nhello\r\nPONG\r\n",
    closes: false,
  },
  {
    name: "reply subject passed through, tabs as separators",
    send: QUIET + "SUB\tfoo.*\t9\r\nPUB foo.bar\treply.x 2\r\nhi\r\nPING\r\n",
    expect: "MSG foo.bar 9 reply.x 2\r\nhi\r\nPONG\r\n",
    closes: false,
  },
  {
    name: "plain and queue sub on one connection each get the message",
    send: QUIET + "SUB q 1\r\nSUB q g 2\r\nPUB q 1\r\nx\r\nPING\r\n",
    expect: "MSG q 1 1\r\nx\r\nMSG q 2 1\r\nx\r\nPONG\r\n",
    closes: false,
  },
  {
    name: "echo false suppresses own messages",
    send: 'CONNECT {"verbose":false,"echo":false}\r\nSUB foo 1\r\nPUB foo 1\r\nx\r\nPING\r\n',
    expect: "PONG\r\n",
    closes: false,
  },
  {
    name: "UNSUB with max delivers exactly max",
    send: QUIET +
      "SUB foo 1\r\nUNSUB 1 2\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\n" +
      "PING\r\n",
    expect: "MSG foo 1 1\r\na\r\nMSG foo 1 1\r\nb\r\nPONG\r\n",
    closes: false,
  },
  {
    name: "duplicate sid is ignored",
    send: QUIET + "SUB foo 1\r\nSUB bar 1\r\nPUB bar 1\r\nx\r\nPUB foo 1\r\ny\r\nPING\r\n",
    expect: "MSG foo 1 1\r\ny\r\nPONG\r\n",
    closes: false,
  },
  {
    name: "headers delivered as HMSG",
    send: 'CONNECT {"verbose":false,"headers":true}\r\nSUB h 1\r\n' +
      "HPUB h rep 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\nPING\r\n",
    expect: "HMSG h 1 rep 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\nPONG\r\n",
    closes: false,
  },
  {
    name: "pedantic: invalid publish subject reported and still delivered",
    send:
      'CONNECT {"verbose":false,"pedantic":true}\r\nSUB foo.> 1\r\nPUB foo.* 1\r\nx\r\nPING\r\n',
    expect: "-ERR 'Invalid Publish Subject'\r\nMSG foo.* 1 1\r\nx\r\nPONG\r\n",
    closes: false,
  },
  {
    name: "invalid subscription subject",
    send: QUIET + "SUB foo..bar 1\r\nSUB foo.>.bar 2\r\nPING\r\n",
    expect: "-ERR 'Invalid Subject'\r\n-ERR 'Invalid Subject'\r\nPONG\r\n",
    closes: false,
  },
  {
    name: "no responders status for requests nobody serves",
    send: 'CONNECT {"verbose":false,"headers":true,"no_responders":true}\r\n' +
      "SUB _INBOX.x.* 1\r\nPUB nobody _INBOX.x.1 2\r\nhi\r\nPING\r\n",
    expect: "HMSG _INBOX.x.1 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\nPONG\r\n",
    closes: false,
  },
  { name: "unknown verb", send: "FOO bar\r\n", expect: UNKNOWN, closes: true },
  { name: "verb without arguments", send: "SUB\r\n", expect: UNKNOWN, closes: true },
  { name: "MSG sent by a client", send: "MSG foo 1 1\r\nx\r\n", expect: UNKNOWN, closes: true },
  {
    name: "payload longer than declared",
    send: "PUB foo 2\r\nabc\r\n",
    expect: UNKNOWN,
    closes: true,
  },
  { name: "negative size closes silently", send: "PUB foo -1\r\n", expect: "", closes: true },
  { name: "PUB with one argument closes silently", send: "PUB foo\r\n", expect: "", closes: true },
  { name: "SUB with one argument closes silently", send: "SUB foo\r\n", expect: "", closes: true },
  { name: "bad CONNECT JSON closes silently", send: "CONNECT {bad\r\n", expect: "", closes: true },
  {
    name: "HPUB without headers in CONNECT closes silently",
    send: QUIET + "HPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\n",
    expect: "",
    closes: true,
  },
  {
    name: "invalid client protocol",
    send: 'CONNECT {"protocol":2}\r\n',
    expect: "-ERR 'invalid client protocol'\r\n",
    closes: true,
  },
  {
    name: "no_responders without headers",
    send: 'CONNECT {"no_responders":true}\r\n',
    expect: "-ERR 'no responders requires headers support'\r\n",
    closes: true,
  },
  {
    name: "CONNECT naming an account",
    send: 'CONNECT {"account":"A"}\r\n',
    expect: "-ERR 'Authorization Violation'\r\n",
    closes: true,
  },
  {
    name: "payload over max_payload",
    send: "PUB foo 2000\r\n",
    expect: "-ERR 'Maximum Payload Violation'\r\n",
    closes: true,
    config: "max_payload: 1000",
  },
  {
    name: "control line over max_control_line",
    send: `SUB ${"a".repeat(300)} 1\r\n`,
    expect: "-ERR 'maximum control line exceeded'\r\n",
    closes: true,
    config: "max_control_line: 256",
  },
  {
    name: "max_subscriptions enforced without closing",
    send: QUIET + "SUB a 1\r\nSUB b 2\r\nSUB c 3\r\nPING\r\n",
    expect: "-ERR 'maximum subscriptions exceeded'\r\nPONG\r\n",
    closes: false,
    config: "max_subscriptions: 2",
  },
  { name: "client -ERR closes", send: "-ERR 'oops'\r\n", expect: "", closes: true },
  {
    name: "re-used sid is ignored before its subject is checked",
    send: "SUB foo 1\r\nSUB foo..bar 1\r\nPING\r\n",
    expect: "+OK\r\n+OK\r\nPONG\r\n",
    closes: false,
  },
  {
    name: "subscription limit is checked before a re-used sid",
    send: QUIET + "SUB a 1\r\nSUB b 2\r\nSUB a 1\r\nPING\r\n",
    expect: "-ERR 'maximum subscriptions exceeded'\r\nPONG\r\n",
    closes: false,
    config: "max_subscriptions: 2",
  },
  // Found by the protocol fuzzer (tests/fuzz_test.ts):
  {
    name: "+OK queued before a silent close is still sent",
    send: "PUB foo 1\r\nx\r\nSUB foo\r\n",
    expect: "+OK\r\n",
    closes: true,
  },
  {
    name: "+OK queued before a client -ERR is still sent",
    send: "PUB foo 1\r\nx\r\n-ERR 'x'\r\n",
    expect: "+OK\r\n",
    closes: true,
  },
  {
    name: "pedantic subject error is sent before the payload is checked",
    send: "PUB foo.* 2\r\nabc\r\n",
    expect: "-ERR 'Invalid Publish Subject'\r\n" + UNKNOWN,
    closes: true,
  },
  {
    name: "verbose +OK comes before the publisher's own message",
    send: "SUB foo 1\r\nPUB foo 1\r\nx\r\nPING\r\n",
    expect: "+OK\r\n+OK\r\nMSG foo 1 1\r\nx\r\nPONG\r\n",
    closes: false,
  },
  {
    name: "CONNECT needs no space; its keys match case-insensitively",
    send: 'CONNECT{"VERBOSE":false}\r\nPING\r\n',
    expect: "PONG\r\n",
    closes: false,
  },
  {
    name: "CONNECT null is an empty CONNECT",
    send: "CONNECT null\r\nPING\r\n",
    expect: "+OK\r\nPONG\r\n",
    closes: false,
  },
  {
    name: "CONNECT with a null account is no account",
    send: 'CONNECT {"account":null,"verbose":false}\r\nPING\r\n',
    expect: "PONG\r\n",
    closes: false,
  },
  {
    name: "CONNECT option of the wrong type closes silently",
    send: 'CONNECT {"verbose":"false"}\r\n',
    expect: "",
    closes: true,
  },
  {
    name: "CONNECT protocol that is not an integer closes silently",
    send: 'CONNECT {"protocol":1.0}\r\n',
    expect: "",
    closes: true,
  },
  {
    name: "CONNECT protocol beyond 64 bits closes silently",
    send: 'CONNECT {"protocol":99999999999999999999}\r\n',
    expect: "",
    closes: true,
  },
  {
    name: "CONNECT without argument closes silently",
    send: "CONNECT\r\n",
    expect: "",
    closes: true,
  },
  {
    name: "client INFO that is a JSON object is ignored",
    send: 'INFO {"a":1}\r\nINFO null\r\nPING\r\n',
    expect: "PONG\r\n",
    closes: false,
  },
  {
    name: "client INFO that is not an object closes silently",
    send: "INFO [1]\r\n",
    expect: "",
    closes: true,
  },
  {
    name: "CONNECT argument may start on the next line",
    send: 'CONNECT\n{"verbose":false}\r\nPING\r\n',
    expect: "PONG\r\n",
    closes: false,
  },
  {
    name: "SUB arguments are split at CR too",
    send: "SUB foo 1\r\r\nPUB foo 1\r\nx\r\nPING\r\n",
    expect: "+OK\r\n+OK\r\nMSG foo 1 1\r\nx\r\nPONG\r\n",
    closes: false,
  },
  {
    name: "UNSUB max that is not a plain number unsubscribes at once",
    send: "SUB foo 1\r\nUNSUB 1 5.0\r\nPUB foo 1\r\nx\r\nPING\r\n",
    expect: "+OK\r\n+OK\r\n+OK\r\nPONG\r\n",
    closes: false,
  },
  {
    name: "UNSUB max over nine digits unsubscribes at once",
    send: "SUB foo 1\r\nUNSUB 1 1000000000\r\nPUB foo 1\r\nx\r\nPING\r\n",
    expect: "+OK\r\n+OK\r\n+OK\r\nPONG\r\n",
    closes: false,
  },
  { name: "UNSUB with only a CR closes silently", send: "UNSUB \r\n", expect: "", closes: true },
  {
    name: "HPUB with a zero header size is delivered as MSG",
    send: 'CONNECT {"verbose":false,"headers":true}\r\nSUB h 1\r\nHPUB h 0 2\r\nhi\r\nPING\r\n',
    expect: "MSG h 1 2\r\nhi\r\nPONG\r\n",
    closes: false,
  },
];

async function runCase(server: ServerProcess, c: Case): Promise<{ text: string; closed: boolean }> {
  const raw = await RawClient.connect(server.port);
  try {
    await raw.expect(/^INFO \{.*\} \r\n/);
    const info = raw.received;
    await raw.send(c.send);
    if (c.closes) {
      await raw.expectClosed();
    } else {
      await raw.expect(/PONG\r\n$/);
    }
    return { text: raw.received.slice(info.length), closed: raw.closed };
  } finally {
    await raw.close();
  }
}

/** Without nats-server the comparison steps are reported as ignored. */
const NO_NATS_SERVER = missing("nats-server");

async function withServers(
  config: string | undefined,
  fn: (dnatsd: ServerProcess, reference: ServerProcess | null) => Promise<void>,
) {
  const dnatsd = await ServerProcess.start({ config });
  const reference = NO_NATS_SERVER ? null : await ServerProcess.start({ config, reference: true });
  try {
    await fn(dnatsd, reference);
  } finally {
    await dnatsd.stop();
    await reference?.stop();
  }
}

const configs = [...new Set(CASES.map((c) => c.config))];

for (const config of configs) {
  Deno.test(`protocol cases match nats-server byte for byte (config: ${config ?? "default"})`, async (t) => {
    await withServers(config, async (dnatsd, reference) => {
      for (const c of CASES.filter((x) => x.config === config)) {
        await t.step(c.name, async (t) => {
          const ours = await runCase(dnatsd, c);
          equal(ours.text, c.expect, "dnatsd bytes");
          equal(ours.closed, c.closes, "dnatsd close");
          await t.step({
            name: "same as nats-server",
            ignore: reference === null,
            fn: async () => deepStrictEqual(ours, await runCase(reference!, c)),
          });
        });
      }
    });
  });
}

Deno.test("INFO fields and order match nats-server", async (t) => {
  await withServers(undefined, async (dnatsd, reference) => {
    const keysOf = async (s: ServerProcess) => {
      const raw = await RawClient.connect(s.port);
      const m = await raw.expect(/^INFO (\{.*\}) \r\n/);
      await raw.close();
      return JSON.parse(m[1]) as Record<string, unknown>;
    };
    const ours = await keysOf(dnatsd);
    equal(typeof ours.server_id, "string");
    equal((ours.server_id as string).length, 56);
    equal(ours.headers, true);
    equal(ours.max_payload, 1048576);
    equal(ours.proto, 1);
    equal(ours.client_ip, "127.0.0.1");
    await t.step({
      name: "same keys in the same order as nats-server",
      ignore: reference === null,
      fn: async () => deepStrictEqual(Object.keys(ours), Object.keys(await keysOf(reference!))),
    });
  });
});
