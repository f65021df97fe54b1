// deno-lint-ignore-file no-import-prefix -- tests pin the real NATS client by explicit npm specifier
/**
 * Fault injection on every listener (client, TLS client, route, HTTP and
 * HTTPS monitoring): connections reset before and after accept, half-open
 * peers, peers that send nothing, garbage instead of a TLS ClientHello, and a
 * process that runs out of file descriptors. After each fault a normal client
 * connects and gets its messages. Every case runs against dnatsd and, where
 * installed, Debian's nats-server, with the same assertions.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { connect, type ConnectionOptions } from "npm:@nats-io/transport-node@3.4.0";
import { ServerProcess, waitFor } from "./helpers/server.ts";
import { missing } from "./helpers/requires.ts";
import { RawClient } from "./helpers/raw.ts";
import { CA, CERTS, clientTls } from "./helpers/tls_client.ts";
import { routePortOf, waitForFlow } from "./helpers/reload.ts";
import { exists, runSl, spawnDnatsd, tempDir, waitForLog } from "./ops_helpers.ts";
import { join } from "node:path";
import {
  FreezingProxy,
  hasLibc,
  resetAfterAccept,
  resetStorm,
  ResettableSocket,
  waitForHttpOk,
} from "./helpers/fault.ts";

const SERVER_TLS = `cert_file: "${CERTS}server-cert.pem"
  key_file: "${CERTS}server-key.pem"
  ca_file: "${CA}"`;
const ROUTE_TLS = `cert_file: "${CERTS}route-cert.pem"
  key_file: "${CERTS}route-key.pem"
  ca_file: "${CA}"`;

/** Both servers: the assertions are the same for each. */
const IMPLS = [
  { name: "dnatsd", reference: false, ignore: !hasLibc() },
  { name: "nats-server", reference: true, ignore: !hasLibc() || missing("nats-server") },
] as const;

/** A real client connects, subscribes, publishes 20 messages and gets all 20 (within 20 s). */
async function clientGetsMessages(opts: ConnectionOptions): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("client round trip took over 20 s")), 20_000);
  });
  try {
    await Promise.race([roundTrip(opts), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function roundTrip(opts: ConnectionOptions): Promise<void> {
  const nc = await connect({ reconnect: false, timeout: 5000, ...opts });
  try {
    const sub = nc.subscribe("fault.check", { max: 20 });
    const got: string[] = [];
    const done = (async () => {
      for await (const m of sub) got.push(m.string());
    })();
    for (let i = 0; i < 20; i++) nc.publish("fault.check", `m${i}`);
    await nc.flush();
    await Promise.race([
      done,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`got ${got.length}`)), 5000)),
    ]);
    deepEqual(got, Array.from({ length: 20 }, (_, i) => `m${i}`));
  } finally {
    await nc.close();
  }
}

/** The monitoring port from the log ("Starting http(s) monitor on host:port"). */
function monitorPort(s: ServerProcess): number {
  const m = /Starting https? monitor on \S+:(\d+)/.exec(s.logs.text);
  ok(m, `no monitor line in:\n${s.logs.text}`);
  return Number(m[1]);
}

/** Closed connections from /connz?state=closed. */
async function closedConns(
  monitor: number,
): Promise<{ cid: number; port: number; reason: string }[]> {
  const r = await fetch(`http://127.0.0.1:${monitor}/connz?state=closed&limit=1024`, {
    signal: AbortSignal.timeout(3000),
  });
  return (await r.json()).connections ?? [];
}

/** Lines at [ERR] or [FTL] level. */
function errorLines(log: string): string[] {
  return log.split("\n").filter((l) => /\[(ERR|FTL)\]/.test(l));
}

for (const impl of IMPLS) {
  Deno.test({
    name: `fault ${impl.name}: resets before and after accept on the client port`,
    ignore: impl.ignore,
    async fn() {
      const s = await ServerProcess.start({ reference: impl.reference, args: ["-D"] });
      try {
        await resetStorm(s.port, 50);
        for (let i = 0; i < 5; i++) await resetAfterAccept(s.port);
        await clientGetsMessages({ servers: s.url });
        // A reset is the peer's business: debug lines only, as nats-server.
        deepEqual(errorLines(s.logs.text), []);
      } finally {
        await s.stop();
      }
    },
  });

  Deno.test({
    name: `fault ${impl.name}: resets before and after accept on the route port`,
    ignore: impl.ignore,
    async fn() {
      const a = await ServerProcess.start({
        reference: impl.reference,
        config: `cluster { name: faults, listen: "127.0.0.1:-1" }`,
      });
      let b: ServerProcess | undefined;
      try {
        const routePort = await routePortOf(a);
        await resetStorm(routePort, 50);
        for (let i = 0; i < 5; i++) await resetAfterAccept(routePort);
        b = await ServerProcess.start({
          reference: impl.reference,
          config: `cluster {
            name: faults
            listen: "127.0.0.1:-1"
            routes: ["nats-route://127.0.0.1:${routePort}"]
          }`,
        });
        const pub = await connect({ servers: a.url, reconnect: false });
        const sub = await connect({ servers: b.url, reconnect: false });
        try {
          await waitForFlow(pub, sub, "fault.route", 10_000);
        } finally {
          await pub.close();
          await sub.close();
        }
        await clientGetsMessages({ servers: b.url });
      } finally {
        await b?.stop();
        await a.stop();
      }
    },
  });

  Deno.test({
    name:
      `fault ${impl.name}: resets on the TLS client, TLS route and HTTPS monitor ports, garbage on the route port`,
    ignore: impl.ignore,
    async fn() {
      const a = await ServerProcess.start({
        reference: impl.reference,
        config: `tls { ${SERVER_TLS} }
          https: "127.0.0.1:-1"
          cluster { name: faults, listen: "127.0.0.1:-1", tls { ${ROUTE_TLS} } }`,
      });
      let b: ServerProcess | undefined;
      try {
        const routePort = await routePortOf(a);
        const https = monitorPort(a);
        for (const port of [a.port, routePort, https]) await resetStorm(port, 30);
        // The client port sends INFO in plain text first; the route and HTTPS
        // ports wait for a ClientHello, so a partial one is sent before the reset.
        for (let i = 0; i < 3; i++) {
          await resetAfterAccept(a.port);
          for (const port of [routePort, https]) {
            await resetAfterAccept(port, { hello: "\x16\x03\x01\x00", expectBytes: false });
          }
        }
        // Plain text where the route's ClientHello should be: closed, no TLS alert.
        const garbage = await RawClient.connect(routePort);
        await garbage.send("CONNECT {}\r\nPING\r\n");
        await garbage.expectClosed(5000);
        equal(garbage.received, "", "closed without a TLS alert");
        await a.waitForLog(/handshake error: tls: first record does not look like a TLS handshake/);
        await clientGetsMessages({ servers: a.url, tls: clientTls() });
        const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(CA)] });
        try {
          const r = await fetch(`https://localhost:${https}/varz`, {
            client,
            signal: AbortSignal.timeout(5000),
          });
          equal(r.status, 200);
          await r.body?.cancel();
        } finally {
          client.close();
        }
        b = await ServerProcess.start({
          reference: impl.reference,
          config: `tls { ${SERVER_TLS} }
            cluster {
              name: faults
              listen: "127.0.0.1:-1"
              tls { ${ROUTE_TLS} }
              routes: ["nats-route://localhost:${routePort}"]
            }`,
        });
        const pub = await connect({ servers: a.url, tls: clientTls(), reconnect: false });
        const sub = await connect({ servers: b.url, tls: clientTls(), reconnect: false });
        try {
          await waitForFlow(pub, sub, "fault.route.tls", 10_000);
        } finally {
          await pub.close();
          await sub.close();
        }
      } finally {
        await b?.stop();
        await a.stop();
      }
    },
  });

  Deno.test({
    name: `fault ${impl.name}: resets before and after accept on the HTTP monitor port`,
    ignore: impl.ignore,
    async fn() {
      const s = await ServerProcess.start({ reference: impl.reference, args: ["-m", "-1"] });
      try {
        const port = monitorPort(s);
        await resetStorm(port, 50);
        for (let i = 0; i < 5; i++) {
          await resetAfterAccept(port, {
            hello: "GET /varz HTTP/1.1\r\nHost: x\r\n",
            expectBytes: false,
          });
        }
        await waitForHttpOk(`http://127.0.0.1:${port}/varz`);
        await clientGetsMessages({ servers: s.url });
      } finally {
        await s.stop();
      }
    },
  });

  Deno.test({
    name: `fault ${impl.name}: a half-open client is closed as a Stale Connection`,
    ignore: impl.ignore,
    async fn() {
      const s = await ServerProcess.start({
        reference: impl.reference,
        config: `ping_interval: "300ms"\nping_max: 2\nhttp: "127.0.0.1:-1"`,
        args: ["-D"],
      });
      const proxy = new FreezingProxy(s.port);
      let raw: RawClient | undefined;
      try {
        const monitor = monitorPort(s);
        raw = await RawClient.connect(proxy.port);
        await raw.expect(/^INFO .*\r\n/);
        await raw.send('CONNECT {"verbose":false,"pedantic":false}\r\nSUB half.open 1\r\n');
        await raw.roundTrip();
        // The peer vanishes: nothing more reaches either side, no FIN, no RST.
        proxy.freeze();
        await waitFor(
          async () => (await closedConns(monitor)).some((c) => c.reason === "Stale Connection"),
          10_000,
          "a closed connection with reason Stale Connection",
        );
        match(s.logs.text, /\[DBG\] \S+ - cid:\d+ - Stale Client Connection - Closing/);
        equal(raw.closed, false, "the client saw nothing: the proxy was frozen");
        await clientGetsMessages({ servers: s.url });
      } finally {
        await raw?.close();
        await proxy.close();
        await s.stop();
      }
    },
  });

  Deno.test({
    name: `fault ${impl.name}: a half-open route is closed as stale and the route comes back`,
    ignore: impl.ignore,
    async fn() {
      const keepAlive = `ping_interval: "300ms"\nping_max: 2`;
      const a = await ServerProcess.start({
        reference: impl.reference,
        config: `${keepAlive}\ncluster { name: faults, listen: "127.0.0.1:-1" }`,
        args: ["-D"],
      });
      let b: ServerProcess | undefined;
      let proxy: FreezingProxy | undefined;
      try {
        proxy = new FreezingProxy(await routePortOf(a));
        b = await ServerProcess.start({
          reference: impl.reference,
          config: `${keepAlive}
            cluster {
              name: faults
              listen: "127.0.0.1:-1"
              routes: ["nats-route://127.0.0.1:${proxy.port}"]
            }`,
          args: ["-D"],
        });
        await a.waitForLog(/Route connection created/, 10_000);
        await b.waitForLog(/Route connection created/, 10_000);
        const before = { a: a.logs.text.length, b: b.logs.text.length };
        proxy.freeze();
        ok(proxy.frozen > 0, "the route ran through the proxy");
        // Both ends stop hearing PONGs: each closes its side as stale.
        for (const [s, from] of [[a, before.a], [b, before.b]] as const) {
          await waitFor(
            // nats-server says "Client" for a route too.
            () =>
              /\[DBG\] \S+ - rid:\d+ - Stale Client Connection - Closing/.test(
                s.logs.text.slice(from),
              ),
            10_000,
            "a stale route",
          );
        }
        // The soliciting side dials again (through the proxy, now forwarding).
        const pub = await connect({ servers: a.url, reconnect: false });
        const sub = await connect({ servers: b.url, reconnect: false });
        try {
          await waitForFlow(pub, sub, "fault.route.stale", 15_000);
        } finally {
          await pub.close();
          await sub.close();
        }
      } finally {
        await b?.stop();
        await proxy?.close();
        await a.stop();
      }
    },
  });

  Deno.test({
    name: `fault ${impl.name}: a client that sends nothing gets Authentication Timeout`,
    ignore: impl.ignore,
    async fn() {
      const s = await ServerProcess.start({
        reference: impl.reference,
        config: `authorization { user: alice, password: s3cret, timeout: 0.5 }`,
      });
      try {
        const raw = await RawClient.connect(s.port);
        await raw.expect(/^INFO .*\r\n/);
        const started = Date.now();
        await raw.expectClosed(5000);
        const waited = Date.now() - started;
        equal(raw.received.replace(/^INFO .*\r\n/, ""), "-ERR 'Authentication Timeout'\r\n");
        ok(waited >= 300 && waited < 4000, `closed after ${waited} ms (timeout 0.5 s)`);
        await clientGetsMessages({ servers: s.url, user: "alice", pass: "s3cret" });
      } finally {
        await s.stop();
      }
    },
  });

  Deno.test({
    name: `fault ${impl.name}: TLS handshake timeout and garbage instead of a ClientHello`,
    ignore: impl.ignore,
    async fn() {
      const s = await ServerProcess.start({
        reference: impl.reference,
        config: `tls { ${SERVER_TLS}\n timeout: 0.5 }\nhttp: "127.0.0.1:-1"`,
      });
      try {
        const monitor = monitorPort(s);
        // Silent: INFO in plain text, then nothing from the client.
        const silent = await RawClient.connect(s.port);
        await silent.expect(/^INFO .*\r\n/);
        const silentPort = (silent.conn.localAddr as Deno.NetAddr).port;
        await silent.expectClosed(5000);
        // Garbage: a CONNECT where the ClientHello should be.
        const garbage = await RawClient.connect(s.port);
        await garbage.expect(/^INFO .*\r\n/);
        const garbagePort = (garbage.conn.localAddr as Deno.NetAddr).port;
        await garbage.send("CONNECT {}\r\nPING\r\n");
        await garbage.expectClosed(5000);
        equal(garbage.received.includes("PONG"), false, "nothing answered in plain text");
        let closed: { port: number; reason: string }[] = [];
        await waitFor(
          async () => {
            closed = await closedConns(monitor);
            return [silentPort, garbagePort].every((p) => closed.some((c) => c.port === p));
          },
          5000,
          "both connections in closed /connz",
        );
        const reason = (p: number) => closed.find((c) => c.port === p)?.reason;
        equal(reason(silentPort), "TLS Handshake Failure");
        equal(reason(garbagePort), "TLS Handshake Failure");
        // As Go's TLS server: no alert back, the log names the bad first record.
        equal(garbage.received.replace(/^INFO .*\r\n/, ""), "", "closed without a TLS alert");
        match(
          s.logs.text,
          /\[ERR\] 127\.0\.0\.1:\d+ - cid:\d+ - TLS handshake error: tls: first record does not look like a TLS handshake/,
        );
        await silent.close();
        await garbage.close();
        await clientGetsMessages({ servers: s.url, tls: clientTls() });
      } finally {
        await s.stop();
      }
    },
  });

  for (const target of ["client", "TLS client", "HTTPS monitor"] as const) {
    Deno.test({
      name: `fault ${impl.name}: out of file descriptors on the ${target} port, then recovery`,
      ignore: impl.ignore,
      async fn() {
        const tls = target !== "client";
        // 48 descriptors: enough to start (dnatsd holds about 25 when idle),
        // few enough that 80 connections exhaust them.
        const s = await ServerProcess.start({
          reference: impl.reference,
          fdLimit: 48,
          ...(tls ? { config: `tls { ${SERVER_TLS}\n timeout: 5 }` } : {}),
          ...(target === "HTTPS monitor" ? { args: ["-ms", "-1"] } : {}),
        });
        const port = target === "HTTPS monitor" ? monitorPort(s) : s.port;
        const held: Deno.Conn[] = [];
        try {
          for (let i = 0; i < 80; i++) {
            held.push(await Deno.connect({ hostname: "127.0.0.1", port }));
          }
          if (target === "client") {
            // As nats-server: logged, paused 10 ms, doubling.
            await s.waitForLog(
              /\[ERR\] Temporary Client Accept Error\(accept tcp 127\.0\.0\.1:\d+: accept4: too many open files\), sleeping 10ms\n(.*\n)*.*sleeping 20ms/,
              10_000,
            );
          } else {
            // Out of descriptors: a new connection is not served at once.
            const fresh = await ResettableSocket.connect(port, "127.0.0.1", 500);
            try {
              if (target === "HTTPS monitor") await fresh.send("\x16\x03\x01\x00\x05hello");
              equal(await fresh.read(), null, "nothing back while out of descriptors");
            } finally {
              fresh.reset();
            }
          }
          for (const c of held.splice(0)) c.close();
          if (target === "HTTPS monitor") {
            const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(CA)] });
            try {
              await waitFor(
                async () => {
                  const r = await fetch(`https://localhost:${port}/varz`, {
                    client,
                    signal: AbortSignal.timeout(2000),
                  });
                  await r.body?.cancel();
                  return r.ok;
                },
                10_000,
                "/varz over HTTPS",
              );
            } finally {
              client.close();
            }
          }
          await clientGetsMessages({
            servers: s.url,
            timeout: 10_000,
            ...(tls ? { tls: clientTls() } : {}),
          });
        } finally {
          for (const c of held) c.close();
          await s.stop();
        }
      },
    });
  }
}

Deno.test({
  name: "fault dnatsd: resets on the -sl control channel port, then -sl still works",
  ignore: !hasLibc(),
  async fn() {
    const env = { DNATSD_CONTROL_CHANNEL: "1" };
    const dir = tempDir();
    const pidFile = join(dir.path, "d.pid");
    const s = spawnDnatsd(["-a", "127.0.0.1", "-p", "-1", "-D", "-P", pidFile], { env });
    try {
      await waitFor(() => exists(`${pidFile}.ctl`), 10_000, "control file");
      const { port } = JSON.parse(await Deno.readTextFile(`${pidFile}.ctl`));
      await resetStorm(port, 30);
      for (let i = 0; i < 3; i++) {
        await resetAfterAccept(port, { hello: "reo", expectBytes: false });
      }
      const reopen = await runSl(`reopen=${pidFile}`, env);
      equal(reopen.code, 0, reopen.stderr);
      await waitForLog(s, /File log re-open ignored, not a file logger/);
      deepEqual(errorLines(s.logs.text), []);
    } finally {
      await s.kill();
      dir.remove();
    }
  },
});
