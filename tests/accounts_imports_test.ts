/**
 * Black-box tests of account exports and imports (docs/accounts.md): the same
 * configuration and the same protocol bytes go to dnatsd and to Debian's
 * nats-server, and each client must see the same messages, errors and
 * permission violations on both (reply subjects `_R_.<id>.<id>` and the
 * measured `rtt` are normalised). Also: a requester and a responder on two
 * servers joined by a route, and the start-up errors for bad links.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { RawClient } from "./helpers/raw.ts";
import { ServerProcess, waitFor } from "./helpers/server.ts";
import { reload, routePortOf } from "./helpers/reload.ts";
import { missing } from "./helpers/requires.ts";
import { eachFlavor, type Flavor, runToExit } from "./auth_helpers.ts";
import { startMonitored } from "./monitor_helpers.ts";

const CONFIG = `
accounts {
  A: {
    users: [{user: a, password: a}]
    exports: [
      {stream: "pub.>"}
      {stream: "priv.>", accounts: [B]}
      {service: "svc.single"}
      {service: "svc.stream", response_type: stream}
      {service: "svc.chunk", response_type: chunked}
      {service: "svc.*.wild"}
    ]
  }
  B: {
    users: [{user: b, password: b, permissions: {
      publish: {deny: ["svc.denied"]}
      subscribe: {deny: ["in.priv.secret"]}
    }}]
    imports: [
      {stream: {account: A, subject: "pub.>"}, prefix: "in"}
      {stream: {account: A, subject: "priv.>"}, to: "in.priv.>"}
      {service: {account: A, subject: "svc.single"}, to: "req.single"}
      {service: {account: A, subject: "svc.stream"}}
      {service: {account: A, subject: "svc.chunk"}}
      {service: {account: A, subject: "svc.*.wild"}, to: "w.*"}
      {service: {account: A, subject: "svc.single"}, to: "svc.denied"}
    ]
  }
  C: {
    users: [{user: c, password: c}]
    imports: [{stream: {account: A, subject: "pub.>"}}]
  }
}
`;

async function login(port: number, user: string): Promise<RawClient> {
  const c = await RawClient.connect(port);
  await c.expect(/^INFO .*\r\n/);
  await c.send(
    `CONNECT {"verbose":false,"pedantic":false,"headers":true,"user":"${user}","pass":"${user}"}\r\n`,
  );
  await c.roundTrip();
  c.received = "";
  return c;
}

/** What a client saw, with the parts that differ by design (random ids, measured rtt) normalised. */
function normalise(text: string): string {
  return text
    .replace(/_R_\.[0-9A-Za-z]{6}\.[0-9A-Za-z]{6}/g, "_R_.<id>")
    .replace(/,"rtt":\d+/g, "")
    .replace(/^(HMSG \S+ \S+ (?:\S+ )?)\d+ \d+\r\n/gm, "$1<hdr> <total>\r\n")
    .replace(/PONG\r\n/g, "");
}

/** The reply subject of the last message on `subject` that `c` received. */
async function replyOf(c: RawClient, subject: string): Promise<string> {
  const re = new RegExp(`H?MSG ${subject.replaceAll(".", "\\.")} \\S+ (\\S+) \\d+`, "g");
  let last = "";
  await waitFor(
    () => {
      const all = [...c.received.matchAll(re)];
      if (all.length === 0) return false;
      last = all[all.length - 1][1];
      return true;
    },
    3000,
    `a request on ${subject} in ${JSON.stringify(c.received)}`,
  );
  return last;
}

/** Runs the scenario and returns what each client saw. */
async function scenario(port: number): Promise<Record<string, string>> {
  const a = await login(port, "a");
  const b = await login(port, "b");
  const c = await login(port, "c");
  try {
    await b.send("SUB in.> 1\r\nSUB _INBOX.> 2\r\n");
    // `*.one` only partly overlaps the import `pub.>`: it must get `pub.one` and nothing else.
    await c.send("SUB pub.> 1\r\nSUB priv.> 2\r\nSUB in.> 3\r\nSUB *.one 4\r\n");
    await a.send(
      "SUB svc.single 10\r\nSUB svc.stream 11\r\nSUB svc.chunk 12\r\nSUB svc.x.wild 13\r\n",
    );
    await Promise.all([a.roundTrip(), b.roundTrip(), c.roundTrip()]);
    // Streams: public, private to B, and a subject B's permissions deny.
    await a.send(
      "PUB pub.one 2\r\np1\r\nPUB priv.two 2\r\np2\r\nPUB priv.secret 6\r\nsecret\r\nPUB pub.end 3\r\nend\r\n",
    );
    await b.expect(/MSG in\.pub\.end /);
    await c.expect(/MSG pub\.end /);
    // Singleton service: the second response is dropped.
    await b.send("PUB req.single _INBOX.1 2\r\nq1\r\n");
    let reply = await replyOf(a, "svc.single");
    await a.send(`PUB ${reply} 2\r\nr1\r\nPUB ${reply} 2\r\nr2\r\n`);
    await a.roundTrip();
    await b.expect(/MSG _INBOX\.1 2 2\r\nr1\r\n/);
    // Stream service: every response arrives.
    await b.send("PUB svc.stream _INBOX.2 2\r\nq2\r\n");
    reply = await replyOf(a, "svc.stream");
    await a.send(`PUB ${reply} 2\r\ns1\r\nPUB ${reply} 2\r\ns2\r\nPUB ${reply} 2\r\ns3\r\n`);
    await b.expect(/s3\r\n/);
    // Chunked: an empty response ends it.
    await b.send("PUB svc.chunk _INBOX.3 2\r\nq3\r\n");
    reply = await replyOf(a, "svc.chunk");
    await a.send(`PUB ${reply} 2\r\nc1\r\nPUB ${reply} 0\r\n\r\nPUB ${reply} 2\r\nc3\r\n`);
    await a.roundTrip();
    await b.expect(/MSG _INBOX\.3 2 0\r\n/);
    // Wildcard service import with a renamed subject, headers kept.
    await b.send("HPUB w.x _INBOX.4 21 23\r\nNATS/1.0\r\nX-Id: 7\r\n\r\nq4\r\n");
    await replyOf(a, "svc.x.wild");
    // Publish permissions apply before any import; the client cannot spoof the reply space.
    await b.send("PUB svc.denied _INBOX.5 2\r\nq5\r\nPUB svc.stream _R_.x 2\r\nq6\r\n");
    await b.expect(/Permissions Violation for Publish to "svc\.denied"/);
    await b.expect(/Permissions Violation for Publish with Reply of "_R_\.x"/);
    // A response for an entry already consumed, sent after the rest, reaches nobody.
    await Promise.all([a.roundTrip(), b.roundTrip(), c.roundTrip()]);
    return { a: normalise(a.received), b: normalise(b.received), c: normalise(c.received) };
  } finally {
    await Promise.all([a.close(), b.close(), c.close()]);
  }
}

Deno.test("accounts: stream and service imports deliver as nats-server does", async (t) => {
  const seen: Partial<Record<Flavor, Record<string, string>>> = {};
  await eachFlavor(t, "scenario", async (flavor) => {
    const s = await ServerProcess.start({ config: CONFIG, reference: flavor === "nats-server" });
    try {
      seen[flavor] = await scenario(s.port);
    } finally {
      await s.stop();
    }
  });
  const d = seen.dnatsd!;
  // What dnatsd must show whether or not nats-server is here to compare with.
  match(d.b, /MSG in\.pub\.one 1 2\r\np1\r\n/);
  match(d.b, /MSG in\.priv\.two 1 2\r\np2\r\n/);
  ok(!d.b.includes("secret"), `B's subscribe deny leaked through the import:\n${d.b}`);
  ok(!d.c.includes("priv"), `C imported a stream exported to B only:\n${d.c}`);
  ok(!/MSG in\./.test(d.c), `C saw B's renamed subjects:\n${d.c}`);
  match(d.c, /MSG pub\.one 4 2\r\n/);
  ok(
    !/MSG pub\.end 4 /.test(d.c),
    `a partly overlapping subscription got the whole import:\n${d.c}`,
  );
  ok(!d.b.includes("r2"), "a singleton service delivered a second response");
  ok(!d.b.includes("c3"), "a chunked service delivered after its empty chunk");
  match(
    d.a,
    /HMSG svc\.single 10 _R_\.<id> <hdr> <total>\r\nNATS\/1\.0\r\nNats-Request-Info: \{"acc":"B"\}\r\n\r\nq1\r\n/,
  );
  match(
    d.a,
    /HMSG svc\.x\.wild 13 _R_\.<id> <hdr> <total>\r\nNATS\/1\.0\r\nX-Id: 7\r\nNats-Request-Info: \{"acc":"B"\}\r\n\r\nq4\r\n/,
  );
  ok(!d.a.includes("q5") && !d.a.includes("q6"), "a refused publish reached the service");
  if (seen["nats-server"] !== undefined) deepEqual(d, seen["nats-server"]);
});

Deno.test("accounts: service and stream imports reach across a route (mixed with nats-server)", async (t) => {
  const config = (routes: string) => `
cluster { name: acc, listen: "127.0.0.1:-1", ${routes} }
${CONFIG}`;
  for (
    const [first, second] of [
      ["dnatsd", "dnatsd"],
      ["dnatsd", "nats-server"],
      ["nats-server", "dnatsd"],
    ] as const
  ) {
    await t.step({
      name: `requester on ${first}, responder on ${second}`,
      ignore: (first === "nats-server" || second === "nats-server") && missing("nats-server"),
      fn: async () => {
        const s1 = await ServerProcess.start({
          config: config(""),
          reference: first === "nats-server",
        });
        const rport = await routePortOf(s1);
        const s2 = await ServerProcess.start({
          config: config(`routes: ["nats-route://127.0.0.1:${rport}"]`),
          reference: second === "nats-server",
        });
        const requester = await login(s1.port, "b");
        const responder = await login(s2.port, "a");
        const streamer = await login(s2.port, "a");
        try {
          await responder.send("SUB svc.single 1\r\nSUB svc.stream 2\r\n");
          await responder.roundTrip();
          await requester.send("SUB _INBOX.> 1\r\nSUB in.> 2\r\n");
          await requester.roundTrip();
          // Requests until the responder's interest has crossed the route.
          let n = 0;
          await waitFor(
            async () => {
              await requester.send(`PUB req.single _INBOX.${++n} 1\r\nq\r\n`);
              await requester.roundTrip();
              return /HMSG svc\.single 1 _R_\./.test(responder.received);
            },
            8000,
            "request across the route",
          );
          const reply = await replyOf(responder, "svc.single");
          await responder.send(`PUB ${reply} 2\r\nr1\r\nPUB ${reply} 2\r\nr2\r\n`);
          await requester.expect(/MSG _INBOX\.\d+ 1 2\r\nr1\r\n/, 5000);
          // Stream responses keep coming back across the route.
          await requester.send("PUB svc.stream _INBOX.s 1\r\nq\r\n");
          const sreply = await replyOf(responder, "svc.stream");
          await responder.send(`PUB ${sreply} 2\r\ns1\r\nPUB ${sreply} 2\r\ns2\r\n`);
          await requester.expect(/MSG _INBOX\.s 1 2\r\ns2\r\n/, 5000);
          // A stream import's interest crosses too: A publishes on s2, B's subscriber on s1 gets it.
          await waitFor(
            async () => {
              await streamer.send("PUB pub.x 1\r\nx\r\n");
              await streamer.roundTrip();
              return /MSG in\.pub\.x 2 1\r\n/.test(requester.received);
            },
            8000,
            "stream import across the route",
          );
          await requester.roundTrip();
          ok(!requester.received.includes("r2"), "a singleton delivered twice across the route");
        } finally {
          await Promise.all([requester.close(), responder.close(), streamer.close()]);
          await s2.stop();
          await s1.stop();
        }
      },
    });
  }
});

interface BadLink {
  name: string;
  config: string;
  /** After `<file>:`. */
  message: string;
}

const BAD_LINKS: BadLink[] = [
  {
    name: "stream import of a subject not exported",
    config:
      'accounts {\n  A: { exports: [{stream: "foo.>"}] }\n  B: { imports: [{stream: {account: A, subject: "bar"}}] }\n}\n',
    message: '1:0: Error adding stream import "bar": stream import not authorized',
  },
  {
    name: "service import by an account the export does not list",
    config:
      'accounts {\n  A: { exports: [{service: "q", accounts: [C]}] }\n  B: { imports: [{service: {account: A, subject: "q"}}] }\n  C: {}\n}\n',
    message: '1:0: Error adding service import "q": service import not authorized',
  },
  {
    name: "import from an unknown account",
    config: 'accounts {\n  B: { imports: [{service: {account: Z, subject: "q"}}] }\n}\n',
    message: '1:0: "Z" account not defined for service import',
  },
  {
    name: "service imports forming a cycle",
    config:
      'accounts {\n  A: { exports: [{service: "x"}], imports: [{service: {account: B, subject: "x"}}] }\n  B: { exports: [{service: "x"}], imports: [{service: {account: A, subject: "x"}}] }\n}\n',
    message: '1:0: Error adding service import "x": import forms a cycle',
  },
  {
    name: "stream import prefix with a wildcard",
    config:
      'accounts {\n  A: { exports: [{stream: "foo.>"}] }\n  B: { imports: [{stream: {account: A, subject: "foo.>"}, prefix: "p.*"}] }\n}\n',
    message:
      '1:0: Error adding stream import "foo.>": stream import prefix can not contain wildcard tokens',
  },
  {
    name: "wildcard service import that cannot be mapped",
    config:
      'accounts {\n  A: { exports: [{service: "foo.*"}] }\n  B: { imports: [{service: {account: A, subject: "foo.*"}, to: "bar.>"}] }\n}\n',
    message:
      '1:0: Error adding service import "foo.*": failed to create mapping transform for service import subject "bar.>" to "foo.*": invalid subject',
  },
  {
    name: "response type on a stream export",
    config: "accounts {\n  A: { exports: [{stream: x, response: single}] }\n}\n",
    message: "2:30: Detected response directive on non-service",
  },
  {
    name: "mapping that drops a wildcard",
    config: 'mappings {\n  "foo.*": "bar"\n}\n',
    message:
      '2:4: Error adding mapping for "foo.*" to "bar" : invalid mapping destination: not using all of the token wildcard(s) in bar',
  },
  {
    name: "mapping with an unknown function",
    config: 'accounts {\n  A: { mappings: { "x": "{{nope(1)}}" } }\n}\n',
    message:
      '2:21: Error adding mapping for "x" to "{{nope(1)}}" : invalid mapping destination: unknown function in {{nope(1)}}',
  },
];

for (const c of BAD_LINKS) {
  Deno.test(`accounts: start-up refuses ${c.name} with nats-server's message`, async (t) => {
    const file = await Deno.makeTempFile({ suffix: ".conf" });
    try {
      await Deno.writeTextFile(file, c.config);
      await eachFlavor(t, c.name, async (flavor) => {
        const r = await runToExit(flavor, ["-a", "127.0.0.1", "-p", "-1", "-c", file]);
        equal(r.code, 1, `[${flavor}] exit code; output:\n${r.stderr}`);
        ok(
          r.stderr.includes(`${flavor}: ${file}:${c.message}\n`),
          `[${flavor}] output:\n${r.stderr}`,
        );
      });
    } finally {
      await Deno.remove(file);
    }
  });
}

Deno.test("accounts: a reload that adds a bad import is refused and the old links stay", async () => {
  const good =
    'accounts {\n  A: { users: [{user: a, password: a}], exports: [{stream: "foo.>"}] }\n  B: { users: [{user: b, password: b}], imports: [{stream: {account: A, subject: "foo.>"}, prefix: "in"}] }\n}\n';
  const s = await ServerProcess.start({ config: good });
  const a = await login(s.port, "a");
  const b = await login(s.port, "b");
  try {
    await b.send("SUB in.> 1\r\n");
    await b.roundTrip();
    const bad = good.replace('subject: "foo.>"}, prefix', 'subject: "bar"}, prefix');
    const log = await reload(s, bad);
    match(log, /Error adding stream import "bar": stream import not authorized/);
    await a.send("PUB foo.x 1\r\nx\r\n");
    await b.expect(/MSG in\.foo\.x 1 1\r\nx\r\n/);
  } finally {
    await Promise.all([a.close(), b.close()]);
    await s.stop();
  }
});

Deno.test("accounts: /accountz shows exports, imports and mappings as nats-server does", async (t) => {
  const config = `${CONFIG}\nmappings { "foo": [{dest: "bar", weight: 40%}], "x.*": "y.$1" }\n`;
  const seen: Partial<Record<Flavor, unknown>> = {};
  await eachFlavor(t, "accountz", async (flavor) => {
    const m = await startMonitored({ config, reference: flavor === "nats-server" });
    try {
      const out: Record<string, unknown> = {};
      for (const acc of ["A", "B", "C", "$G"]) {
        const d = (await m.json(`/accountz?acc=${encodeURIComponent(acc)}`))
          .account_detail as Record<string, unknown>;
        // nats-server's own system-account imports are another part's work (the system account).
        const imports = ((d.imports ?? []) as Array<Record<string, unknown>>)
          .filter((i) => i.account !== "$SYS");
        // Go lists exports and service imports in map order: compare them sorted.
        const sorted = (list: unknown) =>
          ((list ?? []) as unknown[]).map((x) => JSON.stringify(x)).sort();
        out[acc] = {
          mappings: d.mappings ?? null,
          exports: sorted(d.exports),
          imports: sorted(imports),
        };
      }
      seen[flavor] = out;
    } finally {
      await m.stop();
    }
  });
  const d = seen.dnatsd as Record<string, { exports: string[]; imports: string[] }>;
  equal(d.A.exports.length, 6);
  equal(d.B.imports.length, 7);
  if (seen["nats-server"] !== undefined) deepEqual(seen.dnatsd, seen["nats-server"]);
});

Deno.test("accounts: a reload that adds an import reaches subscriptions made before it", async () => {
  const before =
    'accounts {\n  A: { users: [{user: a, password: a}], exports: [{stream: "foo.>"}] }\n  B: { users: [{user: b, password: b}] }\n}\n';
  const after = before.replace(
    "B: { users: [{user: b, password: b}] }",
    'B: { users: [{user: b, password: b}], imports: [{stream: {account: A, subject: "foo.>"}, prefix: "in"}] }',
  );
  const s = await ServerProcess.start({ config: before });
  const a = await login(s.port, "a");
  const b = await login(s.port, "b");
  try {
    await b.send("SUB in.> 1\r\n");
    await b.roundTrip();
    await a.send("PUB foo.x 2\r\nno\r\n");
    await a.roundTrip();
    await b.roundTrip();
    ok(!b.received.includes("MSG"), `delivered before the import existed: ${b.received}`);
    match(await reload(s, after), /Reloaded: accounts/);
    await a.send("PUB foo.y 3\r\nyes\r\n");
    await b.expect(/MSG in\.foo\.y 1 3\r\nyes\r\n/);
    // And a reload that takes it away stops the flow.
    await reload(s, before);
    await a.send("PUB foo.z 4\r\ngone\r\n");
    await a.roundTrip();
    await b.roundTrip();
    ok(!b.received.includes("gone"), `delivered after the import was removed: ${b.received}`);
  } finally {
    await Promise.all([a.close(), b.close()]);
    await s.stop();
  }
});

Deno.test("accounts: a response route goes when the requester stops listening", async (t) => {
  const seen: Partial<Record<Flavor, string>> = {};
  await eachFlavor(t, "interest lost", async (flavor) => {
    const s = await ServerProcess.start({ config: CONFIG, reference: flavor === "nats-server" });
    const a = await login(s.port, "a");
    const b = await login(s.port, "b");
    try {
      await a.send("SUB svc.stream 1\r\n");
      await a.roundTrip();
      await b.send("SUB rep.1 5\r\nPUB svc.stream rep.1 1\r\nq\r\n");
      const reply = await replyOf(a, "svc.stream");
      await a.send(`PUB ${reply} 5\r\nfirst\r\n`);
      await b.expect(/MSG rep\.1 5 5\r\nfirst\r\n/);
      // Unsubscribing drops the route; a new subscription on the same subject does not revive it.
      await b.send("UNSUB 5\r\nSUB rep.1 6\r\n");
      await b.roundTrip();
      await a.send(`PUB ${reply} 4\r\nlate\r\n`);
      await a.roundTrip();
      await b.roundTrip();
      seen[flavor] = normalise(b.received);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await s.stop();
    }
  });
  ok(!seen.dnatsd!.includes("late"), `a response reached a requester that had stopped listening`);
  if (seen["nats-server"] !== undefined) equal(seen.dnatsd, seen["nats-server"]);
});

Deno.test("accounts: a shared service import tells the responder who asked", async (t) => {
  const config = `
accounts {
  A: { users: [{user: a, password: a}], exports: [{service: "who"}] }
  B: {
    users: [{user: b, password: b}]
    imports: [{service: {account: A, subject: "who"}, share: true}]
  }
}`;
  const seen: Partial<Record<Flavor, string>> = {};
  await eachFlavor(t, "share", async (flavor) => {
    const s = await ServerProcess.start({ config, reference: flavor === "nats-server" });
    const a = await login(s.port, "a");
    const b = await RawClient.connect(s.port);
    try {
      await b.expect(/^INFO .*\r\n/);
      await b.send(
        'CONNECT {"verbose":false,"user":"b","pass":"b","name":"asker","lang":"raw","version":"9.9"}\r\n',
      );
      await b.roundTrip();
      await a.send("SUB who 1\r\n");
      await a.roundTrip();
      await b.send("PUB who _INBOX.w 1\r\nq\r\n");
      await a.expect(/Nats-Request-Info: .*\r\n/);
      const info = JSON.parse(/Nats-Request-Info: (.*)\r\n/.exec(a.received)![1]);
      // What differs by design between two servers: times, ids, ports, the random server name.
      for (const k of ["start", "id", "rtt", "server"]) {
        ok(k === "rtt" || k in info, `${k} missing from ${JSON.stringify(info)}`);
        if (k in info) info[k] = typeof info[k];
      }
      seen[flavor] = JSON.stringify(info);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await s.stop();
    }
  });
  match(seen.dnatsd!, /"acc":"B"/);
  match(seen.dnatsd!, /"name":"asker"/);
  if (seen["nats-server"] !== undefined) equal(seen.dnatsd, seen["nats-server"]);
});
