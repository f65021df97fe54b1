/**
 * Log lines of connection events, compared with Debian's nats-server on the
 * same input: the client tag after CONNECT, `Client connection created/closed`
 * at debug, protocol errors with the offending input, authentication errors,
 * traces (`-DV`), TLS handshake failures, and the cluster-name conflict on
 * routes. Pids, times, ports and connection ids are normalised away; the
 * remaining differences are listed in docs/nats-server-differences.md.
 *
 * @module
 */
import { deepStrictEqual, ok } from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import { ServerProcess, waitFor } from "./helpers/server.ts";
import { RawClient } from "./helpers/raw.ts";
import { missing } from "./helpers/requires.ts";
import { CERTS } from "./helpers/tls_client.ts";

/** Lines between "Server is ready" and the shutdown, normalised; cids renumbered in order. */
function eventLines(log: string, drop: RegExp = /$^/): string[] {
  const out: string[] = [];
  const cids = new Map<string, number>();
  let ready = false;
  for (const raw of log.split("\n")) {
    const line = raw.replace(/^\[\d+\] \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d{6} /, "");
    if (!ready) {
      ready = /Server is ready/.test(line);
      continue;
    }
    if (/Trapped "terminated" signal/.test(line)) break;
    // nats-server only: its system account and Go runtime.
    if (/^\[DBG\] (maxprocs:|SYSTEM - )/.test(line) || line === "" || drop.test(line)) continue;
    out.push(
      line
        .replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:<port>")
        .replace(/\b([cr]id):(\d+)/g, (_m, kind: string, id: string) => {
          const key = kind + id;
          if (!cids.has(key)) cids.set(key, cids.size + 1);
          return `${kind}:<${cids.get(key)}>`;
        }),
    );
  }
  return out;
}

function closedCount(s: ServerProcess): number {
  return (s.logs.text.match(/ - (Client|Router) connection closed: /g) ?? []).length;
}

const AUTH = '"user":"app","pass":"secret"';

/** Raw client inputs, each on its own connection; auth is on (user app). */
const CLIENT_CASES: Array<[name: string, input: string]> = [
  [
    "named client",
    `CONNECT {"verbose":false,${AUTH},"name":"svc","lang":"go","version":"1.2.3"}\r\nPING\r\n`,
  ],
  ["lang only", `CONNECT {"verbose":false,${AUTH},"lang":"nats.js"}\r\nPING\r\n`],
  ["name only, verbose", `CONNECT {${AUTH},"name":"a \\"b\\""}\r\nPING\r\n`],
  ["wrong password", 'CONNECT {"verbose":false,"user":"app","pass":"nope"}\r\nPING\r\n'],
  ["unknown user", 'CONNECT {"verbose":false,"user":"bob","pass":"nope"}\r\nPING\r\n'],
  ["no credentials", 'CONNECT {"verbose":false}\r\nPING\r\n'],
  ["unknown operation", `CONNECT {"verbose":false,${AUTH}}\r\nPING\r\nFOO BAR\r\n`],
  ["bad letter in a verb", `CONNECT {${AUTH}}\r\nPUX a 1\r\n`],
  ["no space after a verb", `CONNECT {${AUTH}}\r\nSUBa 1\r\n`],
  ["PUB with too many arguments", `CONNECT {"verbose":false,${AUTH}}\r\nPUB a b c d\r\n`],
  ["PUB with a bad size", `CONNECT {${AUTH}}\r\nPUB a x\r\n`],
  ["SUB without sid", `CONNECT {${AUTH}}\r\nSUB a\r\n`],
  ["UNSUB without sid", `CONNECT {${AUTH}}\r\nUNSUB \r\n`],
  ["HPUB without headers", `CONNECT {${AUTH}}\r\nHPUB a 1 2\r\n`],
  ["HPUB header larger than total", `CONNECT {${AUTH},"headers":true}\r\nHPUB a 3 2\r\n`],
  ["HPUB missing total", `CONNECT {${AUTH},"headers":true}\r\nHPUB a 3\r\n`],
  ["HPUB bad header size", `CONNECT {${AUTH},"headers":true}\r\nHPUB a x 3\r\n`],
  ["payload too big", `CONNECT {${AUTH}}\r\nPUB a 99999999\r\n`],
  ["payload without CRLF", `CONNECT {${AUTH}}\r\nPUB a 1\r\nxyz\r\n`],
  ["client -ERR", `CONNECT {${AUTH}}\r\n-ERR 'boom'\r\n`],
  ["bad CONNECT JSON", "CONNECT {x\r\n"],
  ["pedantic bad subject", `CONNECT {${AUTH},"pedantic":true}\r\nPUB a..b 2\r\n\x01"\r\nPING\r\n`],
  ["control line too long", `CONNECT {${AUTH}}\r\nSUB ${"x".repeat(300)} 1\r\n`],
];

async function runClientCases(reference: boolean): Promise<string[]> {
  const s = await ServerProcess.start({
    reference,
    args: ["-DV"],
    config:
      "max_control_line: 256\nauthorization { users = [ { user: app, password: secret } ] }\n",
  });
  try {
    for (const [name, input] of CLIENT_CASES) {
      const before = closedCount(s);
      const c = await RawClient.connect(s.port);
      try {
        await c.expect(/^INFO .*\r\n/);
        await c.send(input);
        // Either the server closes, or it answers the PING: then we close.
        await waitFor(() => c.closed || /PONG\r\n/.test(c.received), 5000, name);
      } finally {
        await c.close();
      }
      await waitFor(() => closedCount(s) > before, 5000, `${name}: closed line`);
    }
  } finally {
    await s.stop();
  }
  // "Buffer len" counts what the server had read of the line: it depends on read sizes.
  return eventLines(s.logs.text).map((l) => l.replace(/Buffer len \d+/, "Buffer len <n>"));
}

Deno.test({
  name: "client event log lines (-DV) match nats-server: tag, created/closed, errors",
  ignore: missing("nats-server"),
  async fn() {
    const theirs = await runClientCases(true);
    const ours = await runClientCases(false);
    deepStrictEqual(ours, theirs);
    // What the comparison is about, so that it cannot pass on two empty logs.
    for (
      const re of [
        /cid:<1> - "v1\.2\.3:go:svc" - Client connection closed: Client Closed$/,
        /"nats\.js" - Client connection closed/,
        /"a \\"b\\"" - Client connection closed/,
        /\[ERR\] .* - authentication error - User "app"$/,
        /\[ERR\] .* - Client parser ERROR, state=0, i=\d+: proto='"FOO BAR\\r"\.\.\.'$/,
        /\[ERR\] .* - processPub Parse Error: "a b c d"$/,
        /\[ERR\] .* - maximum payload exceeded: 99999999 vs 1048576$/,
        /\[ERR\] .* - Client Error 'boom'$/,
        /\[TRC\] .* - <<- MSG_PAYLOAD: \["\\x01\\""\]$/,
      ]
    ) ok(ours.some((l) => re.test(l)), `${re}`);
  },
});

/** A node:tls client: what it saw (secure, PONG, error) until the server closed. */
async function tlsProbe(port: number, certName?: string): Promise<string> {
  const sock = net.connect(port, "127.0.0.1");
  await new Promise((r) => sock.once("data", r)); // INFO, in plain text
  const ts = tls.connect({
    socket: sock,
    servername: "localhost",
    ca: Deno.readTextFileSync(`${CERTS}ca.pem`),
    ...(certName === undefined ? {} : {
      cert: Deno.readTextFileSync(`${CERTS}${certName}-cert.pem`),
      key: Deno.readTextFileSync(`${CERTS}${certName}-key.pem`),
    }),
  });
  const seen: string[] = [];
  return await new Promise((resolve) => {
    const timer = setTimeout(() => ts.destroy(), 3000);
    ts.on("secureConnect", () => ts.write("CONNECT {}\r\nPING\r\n"));
    ts.on("data", (d: Uint8Array) => {
      if (new TextDecoder().decode(d).includes("PONG")) {
        seen.push("PONG");
        ts.end();
      }
    });
    ts.on("error", (e: Error) => seen.push(e.message));
    ts.on("close", () => {
      clearTimeout(timer);
      resolve(seen.join(", "));
    });
  });
}

async function runTlsCases(reference: boolean): Promise<string[]> {
  const s = await ServerProcess.start({
    reference,
    args: [
      "-DV",
      "--tlsverify",
      ...["--tlscert", `${CERTS}server-cert.pem`, "--tlskey", `${CERTS}server-key.pem`],
      ...["--tlscacert", `${CERTS}ca.pem`],
    ],
  });
  const cases: Array<[string, () => Promise<unknown>]> = [
    ["trusted client", () => tlsProbe(s.port, "client")],
    ["untrusted client certificate", () => tlsProbe(s.port, "untrusted-client")],
    ["no client certificate", () => tlsProbe(s.port)],
    ["plain text on the TLS port", async () => {
      const c = await RawClient.connect(s.port);
      await c.expect(/^INFO /);
      await c.send("CONNECT {}\r\n");
      await c.expectClosed(5000);
    }],
    ["gone before the handshake", async () => {
      const c = await RawClient.connect(s.port);
      await c.expect(/^INFO /);
      await c.close();
    }],
  ];
  try {
    for (const [name, run] of cases) {
      const before = closedCount(s);
      await run();
      await waitFor(() => closedCount(s) > before, 5000, `${name}: closed line`);
    }
  } finally {
    await s.stop();
  }
  // The cipher suite is each TLS stack's own choice.
  return eventLines(s.logs.text).map((l) => l.replace(/cipher suite \S+/, "cipher suite <suite>"));
}

Deno.test({
  name: "TLS handshake log lines match nats-server",
  ignore: missing("nats-server"),
  async fn() {
    const theirs = await runTlsCases(true);
    const ours = await runTlsCases(false);
    deepStrictEqual(ours, theirs);
    for (
      const re of [
        /TLS handshake error: tls: failed to verify client certificate: x509: certificate signed by unknown authority$/,
        /TLS handshake error: tls: client didn't provide a certificate$/,
        /\[ERR\] .* - TLS handshake error: EOF$/,
        /Client connection closed: TLS Handshake Failure$/,
      ]
    ) ok(ours.some((l) => re.test(l)), `${re}`);
  },
});

async function runClusterConflict(reference: boolean): Promise<string[]> {
  const a = await ServerProcess.start({
    reference,
    args: ["-D", "--cluster_name", "alpha", "--cluster", "nats://127.0.0.1:-1"],
  });
  let b: ServerProcess | undefined;
  try {
    const route = /Listening for route connections on 127\.0\.0\.1:(\d+)/;
    await a.waitForLog(route);
    const port = route.exec(a.logs.text)![1];
    b = await ServerProcess.start({
      reference,
      args: [
        ...["-D", "--cluster_name", "beta", "--cluster", "nats://127.0.0.1:-1"],
        ...["--routes", `nats://127.0.0.1:${port}`],
      ],
    });
    await a.waitForLog(/cluster name from remote server conflicts/, 8000);
  } finally {
    await b?.stop();
    await a.stop();
  }
  // The accepting side's lines for the first attempt (the dialer retries every second).
  const lines = eventLines(a.logs.text, /accept loop exiting/);
  const end = lines.findIndex((l) => /cluster name from remote server conflicts/.test(l));
  return lines.slice(0, end + 1);
}

Deno.test({
  name: "route cluster-name conflict log lines match nats-server",
  ignore: missing("nats-server"),
  async fn() {
    const theirs = await runClusterConflict(true);
    const ours = await runClusterConflict(false);
    deepStrictEqual(ours, theirs);
    ok(
      ours.some((l) => /Rejecting connection, cluster name "beta" does not match "alpha"/.test(l)),
    );
  },
});

async function runDeadRoute(reference: boolean): Promise<string[]> {
  // A port that was just free: nothing listens there.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dead = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const s = await ServerProcess.start({
    reference,
    args: ["--cluster", "nats://127.0.0.1:-1", "--routes", `nats://127.0.0.1:${dead}`],
  });
  try {
    await s.waitForLog(/Error trying to connect to route \(attempt 1\)/, 8000);
  } finally {
    await s.stop();
  }
  return eventLines(s.logs.text).filter((l) => /Error trying to connect to route/.test(l));
}

Deno.test({
  name: "route dial failure log line matches nats-server (Go's dial error text)",
  ignore: missing("nats-server"),
  async fn() {
    const theirs = await runDeadRoute(true);
    const ours = await runDeadRoute(false);
    deepStrictEqual(ours.slice(0, 1), theirs.slice(0, 1));
    ok(/: dial tcp 127\.0\.0\.1:<port>: connect: connection refused$/.test(ours[0] ?? ""));
  },
});

/**
 * A client that keeps talking for 3.5 s: PING every 200 ms and PONG to the
 * server's PINGs, with a PUB each time for the first 1.5 s only.
 */
async function runBusyClient(reference: boolean): Promise<string[]> {
  const s = await ServerProcess.start({ reference, args: ["-D"], config: 'ping_interval: "1s"\n' });
  try {
    const c = await RawClient.connect(s.port);
    try {
      await c.expect(/^INFO /);
      await c.send('CONNECT {"verbose":false,"lang":"raw"}\r\n');
      let answered = 0;
      const start = Date.now();
      while (Date.now() < start + 3500 && !c.closed) {
        const pings = (c.received.match(/^PING\r\n/gm) ?? []).length;
        for (; answered < pings; answered++) await c.send("PONG\r\n");
        if (Date.now() < start + 1500) await c.send("PUB busy 1\r\nx\r\n");
        await c.send("PING\r\n");
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await c.close();
    }
    await s.waitForLog(/Client connection closed/);
  } finally {
    await s.stop();
  }
  // How many seconds ago depends on timing (0.5 s rounds to 1s): compare the wording.
  const lines = eventLines(s.logs.text).filter((l) => /Ping Timer|PING/.test(l));
  return [...new Set(lines.map((l) => l.replace(/\d+s ago$/, "<n>s ago")))].sort();
}

Deno.test({
  name: "keep-alive debug lines match nats-server: Ping Timer, Delaying PING for an active client",
  ignore: missing("nats-server"),
  async fn() {
    const theirs = await runBusyClient(true);
    const ours = await runBusyClient(false);
    deepStrictEqual(ours, theirs);
    for (const why of ["client activity", "remote ping"]) {
      const line = `"raw" - Delaying PING due to ${why} <n>s ago`;
      ok(ours.some((l) => l.endsWith(line)), ours.join("\n"));
    }
  },
});
