/**
 * Client TLS against real clients: CA verification, mutual TLS, verify_and_map,
 * handshake timeout, plain clients on a TLS port, allow_non_tls, start-up
 * errors, back-pressure, and the same client variants against Debian's
 * nats-server (same accept/refuse outcome).
 */
import { equal, match, ok, rejects } from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import { Server } from "../lib/server.ts";
import { defaultOptions, type Options } from "../lib/config/options.ts";
import { loadConfigFile } from "../lib/config/load.ts";
import { optionsFromConfig } from "../lib/config/from_config.ts";
import { MemoryLogger } from "../lib/ops/logger.ts";
import { missing } from "./helpers/requires.ts";
import { ServerProcess, waitFor } from "./helpers/server.ts";
import { RawClient } from "./helpers/raw.ts";
import { CA, CERTS, clientTls, outcome } from "./helpers/tls_client.ts";

const SERVER_TLS = `cert_file: "${CERTS}server-cert.pem"
  key_file: "${CERTS}server-key.pem"
  ca_file: "${CA}"`;

/** Loads config text into Options (the server runs in-process). */
async function optionsOf(config: string): Promise<Options> {
  const file = await Deno.makeTempFile({ suffix: ".conf" });
  try {
    await Deno.writeTextFile(file, config);
    const r = optionsFromConfig(await loadConfigFile(file), defaultOptions());
    if (r.errors.length > 0) throw new Error(JSON.stringify(r.errors));
    return { ...r.options, host: "127.0.0.1", port: -1 };
  } finally {
    await Deno.remove(file);
  }
}

interface Running {
  port: number;
  log: MemoryLogger;
  server: Server;
  stop(): Promise<void>;
}

async function startDnatsd(config: string): Promise<Running> {
  const log = new MemoryLogger({ debug: true });
  const server = new Server(await optionsOf(config), log);
  await server.start();
  return { port: server.clientPort, log, server, stop: () => server.shutdown() };
}

/** A raw client that reads INFO in plain text, then upgrades (the NATS way). */
class RawTls {
  received = "";
  closed = false;
  socket!: tls.TLSSocket;
  info = "";

  static async connect(port: number, certName?: string): Promise<RawTls> {
    const c = new RawTls();
    const raw = net.connect(port, "127.0.0.1");
    c.info = await new Promise<string>((resolve, reject) => {
      raw.once("data", (d) => resolve(String(d)));
      raw.once("error", reject);
    });
    const key = certName
      ? { cert: pem(`${certName}-cert.pem`), key: pem(`${certName}-key.pem`) }
      : {};
    c.socket = tls.connect({ socket: raw, ca: pem("ca.pem"), servername: "localhost", ...key });
    c.socket.on("data", (d) => c.received += String(d));
    c.socket.on("error", () => {});
    c.socket.on("close", () => c.closed = true);
    await new Promise<void>((resolve, reject) => {
      c.socket.once("secureConnect", () => resolve());
      c.socket.once("error", reject);
    });
    return c;
  }

  send(s: string): void {
    this.socket.write(s);
  }

  async expect(re: RegExp, ms = 3000): Promise<void> {
    await waitFor(() => re.test(this.received), ms, `${re} in ${JSON.stringify(this.received)}`);
  }

  close(): void {
    this.socket.destroy();
  }
}

function pem(f: string): string {
  return Deno.readTextFileSync(CERTS + f);
}

// ------------------------------------------------------------------ basics

Deno.test("TLS: a client verifying the CA connects with tls:// and round-trips", async () => {
  const s = await startDnatsd(`tls { ${SERVER_TLS} }`);
  try {
    equal(await outcome(s.port, { tls: clientTls() }), "ok");
    equal(await outcome(s.port, { tls: clientTls(), url: `127.0.0.1:${s.port}` }), "ok");
    ok(s.log.find(/cid:\d+ - TLS version 1\.[23], cipher suite TLS_/).length > 0);
    ok(s.log.find("Starting TLS client connection handshake").length > 0);
    ok(s.log.find("TLS handshake complete").length > 0);
  } finally {
    await s.stop();
  }
});

Deno.test("TLS: INFO says tls_required and carries no tls_verify without verify", async () => {
  const s = await startDnatsd(`tls { ${SERVER_TLS} }`);
  try {
    const c = await RawClient.connect(s.port);
    const m = await c.expect(/^INFO (\{.*\}) \r\n/);
    const info = JSON.parse(m[1]!);
    equal(info.tls_required, true);
    equal(info.tls_verify, undefined);
    c.conn.close();
  } finally {
    await s.stop();
  }
});

// ------------------------------------------------------------- mutual TLS

const VERIFY_CASES: Array<[string, string | undefined, "ok" | "refused"]> = [
  ["trusted client certificate", "client", "ok"],
  ["client-auth-only certificate", "client-auth-only", "ok"],
  ["no client certificate", undefined, "refused"],
  ["certificate from an untrusted CA", "untrusted-client", "refused"],
  ["expired client certificate", "expired-client", "refused"],
  ["server-only certificate (wrong purpose)", "server-only", "refused"],
];

Deno.test("TLS verify: client certificates accepted and refused", async (t) => {
  const s = await startDnatsd(`tls { ${SERVER_TLS}\n verify: true }`);
  try {
    for (const [name, cert, want] of VERIFY_CASES) {
      await t.step(name, async () => equal(await outcome(s.port, { tls: clientTls(cert) }), want));
    }
    await waitFor(
      () => s.log.find(/\[ERR\] 127\.0\.0\.1:\d+ - cid:\d+ - TLS handshake error: /).length >= 4,
      2000,
      `handshake error lines in ${s.log.lines.join("\n")}`,
    );
    const closed = s.server.closedClients.list().filter((c) =>
      c.reason === "TLS Handshake Failure"
    );
    ok(closed.length >= 4, `closed: ${closed.length}`);
  } finally {
    await s.stop();
  }
});

Deno.test({
  name: "TLS verify: the same outcomes as nats-server for each client variant",
  ignore: missing("nats-server"),
}, async (t) => {
  const ref = await ServerProcess.start({
    reference: true,
    config: `tls { ${SERVER_TLS}\n verify: true }`,
  });
  // With TLS 1.3 Go refuses the client certificate after the client thinks the
  // handshake is done; the npm client then lets the socket's alert escape.
  const swallowAlert = (e: ErrorEvent) => {
    if (/fatal alert/.test(String(e.message))) e.preventDefault();
  };
  globalThis.addEventListener("error", swallowAlert);
  try {
    for (const [name, cert, want] of VERIFY_CASES) {
      await t.step(
        name,
        async () => equal(await outcome(ref.port, { tls: clientTls(cert) }), want),
      );
    }
    await t.step("plain client without tls options", async () => {
      equal(await outcome(ref.port, { url: `nats://127.0.0.1:${ref.port}` }), "refused");
    });
  } finally {
    globalThis.removeEventListener("error", swallowAlert);
    await ref.stop();
  }
});

// ---------------------------------------------------------- verify_and_map

const MAP_CONFIG = `tls { ${SERVER_TLS}\n verify_and_map: true }
authorization {
  users = [
    { user: "derek@nats.io", permissions: { publish: "email.>", subscribe: ">" } }
    { user: "CN=example.com,OU=CNCF", permissions: { publish: "dn.>", subscribe: ">" } }
  ]
}`;

for (const reference of [false, true]) {
  const who = reference ? "nats-server" : "dnatsd";
  Deno.test({
    name: `TLS verify_and_map (${who}): e-mail SAN and DN map to users`,
    ignore: reference && missing("nats-server"),
  }, async () => {
    const ref = reference
      ? await ServerProcess.start({ reference: true, config: MAP_CONFIG })
      : null;
    const s = ref ? null : await startDnatsd(MAP_CONFIG);
    const port = ref?.port ?? s!.port;
    try {
      for (
        const [cert, ok1, bad] of [["client-email", "email.a", "dn.a"], [
          "client-dn",
          "dn.a",
          "email.a",
        ]]
      ) {
        const c = await RawTls.connect(port, cert);
        match(c.info, /"tls_verify":true/);
        c.send(`CONNECT {"verbose":false}\r\nPUB ${ok1} 1\r\nx\r\nPING\r\n`);
        await c.expect(/^PONG\r\n$/);
        c.send(`PUB ${bad} 1\r\nx\r\nPING\r\n`);
        await c.expect(
          new RegExp(`-ERR 'Permissions Violation for Publish to "${bad}"'\\r\\nPONG`),
        );
        c.close();
      }
      const u = await RawTls.connect(port, "client");
      u.send(`CONNECT {"verbose":false}\r\nPING\r\n`);
      await u.expect(/-ERR 'Authorization Violation'\r\n/);
      await waitFor(() => u.closed, 3000, "close after Authorization Violation");
    } finally {
      await (ref ? ref.stop() : s!.stop());
    }
  });
}

// --------------------------------------------------------- timeouts, plain

Deno.test("TLS: a client that never starts the handshake is dropped after tls.timeout", async () => {
  const s = await startDnatsd(`tls { ${SERVER_TLS}\n timeout: 0.5 }`);
  try {
    const c = await RawClient.connect(s.port);
    await c.expect(/^INFO .*"tls_required":true.* \r\n/);
    const t0 = Date.now();
    await c.expectClosed(2500);
    const took = Date.now() - t0;
    ok(took >= 300 && took < 2500, `closed after ${took} ms`);
    await waitFor(
      () => s.log.find(/\[ERR\] 127\.0\.0\.1:\d+ - cid:\d+ - TLS handshake timeout/).length === 1,
      1000,
      "timeout log line",
    );
  } finally {
    await s.stop();
  }
});

Deno.test("TLS: plain-text clients on a TLS-required port are dropped", async () => {
  const s = await startDnatsd(`tls { ${SERVER_TLS}\n timeout: 1 }`);
  try {
    const c = await RawClient.connect(s.port);
    await c.expect(/^INFO .*"tls_required":true/);
    await c.send("CONNECT {}\r\nPING\r\n");
    await c.expectClosed(3000);
    ok(!c.received.includes("PONG"));
    equal(await outcome(s.port, { url: `nats://127.0.0.1:${s.port}` }), "refused");
    await waitFor(() => s.log.find("TLS handshake error").length > 0, 2000, "handshake error");
  } finally {
    await s.stop();
  }
});

Deno.test("TLS: user and password over TLS", async () => {
  const s = await startDnatsd(`tls { ${SERVER_TLS} }\nauthorization { user: a, password: b }`);
  try {
    equal(await outcome(s.port, { tls: clientTls(), user: "a", pass: "b" }), "ok");
    equal(await outcome(s.port, { tls: clientTls(), user: "a", pass: "x" }), "refused");
  } finally {
    await s.stop();
  }
});

Deno.test("TLS allow_non_tls: plain and TLS clients both connect", async () => {
  const s = await startDnatsd(`tls { ${SERVER_TLS} }\nallow_non_tls: true`);
  try {
    const c = await RawClient.connect(s.port);
    const m = await c.expect(/^INFO (\{.*\}) \r\n/);
    equal(JSON.parse(m[1]!).tls_available, true);
    equal(JSON.parse(m[1]!).tls_required, undefined);
    await c.send("PING\r\n");
    await c.expect(/PONG\r\n/);
    c.conn.close();
    // nats.js upgrades when tls_available unless told `tls: null`.
    equal(await outcome(s.port, { url: `nats://127.0.0.1:${s.port}`, tls: null }), "ok");
    equal(await outcome(s.port, { tls: clientTls() }), "ok");
    const t = await RawTls.connect(s.port);
    t.send("PING\r\n");
    await t.expect(/PONG\r\n/);
    const states = [...s.server.clients.values()].map((cl) => cl.tls?.version ?? "plain");
    ok(states.some((v) => v.startsWith("1.")), JSON.stringify(states));
    t.close();
  } finally {
    await s.stop();
  }
});

Deno.test("TLS handshake_first: TLS before INFO", async () => {
  const s = await startDnatsd(`tls { ${SERVER_TLS}\n handshake_first: true }`);
  try {
    const sock = tls.connect({
      port: s.port,
      host: "127.0.0.1",
      ca: pem("ca.pem"),
      servername: "localhost",
    });
    let text = "";
    sock.on("data", (d) => text += String(d));
    await waitFor(() => /^INFO .*"tls_required":true/.test(text), 3000, "INFO over TLS");
    sock.destroy();
  } finally {
    await s.stop();
  }
});

// ---------------------------------------------------------------- start-up

const BAD_STARTS: Array<[string, string, RegExp]> = [
  [
    "mismatched key",
    `cert_file: "${CERTS}server-cert.pem"\n key_file: "${CERTS}client-key.pem"`,
    /does not match/,
  ],
  [
    "expired certificate",
    `cert_file: "${CERTS}expired-server-cert.pem"\n key_file: "${CERTS}expired-server-key.pem"`,
    /expired on/,
  ],
  [
    "client-auth-only certificate",
    `cert_file: "${CERTS}client-auth-only-cert.pem"\n key_file: "${CERTS}client-auth-only-key.pem"`,
    /server authentication/,
  ],
  [
    "unenforceable cipher_suites",
    `${SERVER_TLS}\n cipher_suites: ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]`,
    /cipher_suites cannot be enforced/,
  ],
];

Deno.test("TLS start-up: bad material refuses to start (in-process)", async (t) => {
  for (const [name, body, re] of BAD_STARTS) {
    await t.step(name, async () => {
      const s = new Server(await optionsOf(`tls { ${body} }`), new MemoryLogger());
      await rejects(s.start(), re);
      await s.shutdown();
    });
  }
  await t.step("missing certificate file", async () => {
    const o = await optionsOf(`tls { ${SERVER_TLS} }`);
    o.tls!.certFile = CERTS + "missing.pem";
    const s = new Server(o, new MemoryLogger());
    await rejects(s.start(), /open .*missing\.pem: no such file or directory/);
    await s.shutdown();
  });
});

Deno.test("TLS start-up: the process exits non-zero with the reason", async (t) => {
  for (const [name, body, re] of BAD_STARTS) {
    await t.step(name, async () => {
      const err = await rejects(ServerProcess.start({ config: `tls { ${body} }` }), (e: Error) => {
        match(e.message, /"exit":[1-9]/);
        match(e.message, re);
        return true;
      });
      return err;
    });
  }
});

// ------------------------------------------------------------ back-pressure

Deno.test("TLS: a publisher that never stops keeps the server's memory bounded", async () => {
  const s = await startDnatsd(`tls { ${SERVER_TLS} }\nmax_pending: 4MB`);
  // Publisher and stuck subscriber live in a child process so their buffers
  // do not count against this process (which hosts the server).
  const script = `
    const ca = Deno.readTextFileSync(${JSON.stringify(CA)});
    async function open() {
      const tcp = await Deno.connect({ hostname: "127.0.0.1", port: ${s.port} });
      const b = new Uint8Array(4096); await tcp.read(b);
      return await Deno.startTls(tcp, { hostname: "localhost", caCerts: [ca] });
    }
    const sub = await open();
    await sub.write(new TextEncoder().encode('CONNECT {"verbose":false}\\r\\nSUB x 1\\r\\nPING\\r\\n'));
    await sub.read(new Uint8Array(4096)); // PONG (maybe with INFO); then never read again
    const pub = await open();
    const msg = "PUB x 1000\\r\\n" + "x".repeat(1000) + "\\r\\n";
    const chunk = new TextEncoder().encode(msg.repeat(256));
    await pub.write(new TextEncoder().encode('CONNECT {"verbose":false}\\r\\n'));
    for (;;) { let o = 0; while (o < chunk.length) o += await pub.write(chunk.subarray(o)); }
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const base = Deno.memoryUsage().rss;
    // Peaks of the first and second half: bounded means a plateau, not a slope.
    const peaks = [base, base];
    const start = Date.now();
    while (Date.now() - start < 6000) {
      await new Promise((r) => setTimeout(r, 100));
      const half = Date.now() - start < 3000 ? 0 : 1;
      peaks[half] = Math.max(peaks[half]!, Deno.memoryUsage().rss);
    }
    const peak = Math.max(...peaks);
    const slope = (peaks[1]! - peaks[0]!) / 1e6;
    const inBytes = s.server.stats.inBytes;
    await new Promise((r) => setTimeout(r, 300));
    ok(s.server.stats.inBytes > inBytes, "publisher still read");
    ok(s.log.find("Slow Consumer Detected").length === 1, "subscriber cut off");
    ok(s.server.stats.inBytes > 100e6, `only ${s.server.stats.inBytes} bytes published`);
    const grew = (peak - base) / 1e6;
    console.log(
      `published ${(s.server.stats.inBytes / 1e6).toFixed(0)} MB, RSS grew ${grew.toFixed(0)} MB` +
        `, second half ${slope.toFixed(0)} MB above the first`,
    );
    ok(grew < 400, `RSS grew ${grew.toFixed(0)} MB`);
    ok(slope < 150, `RSS still climbing: +${slope.toFixed(0)} MB in the second half`);
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await s.stop();
  }
});
