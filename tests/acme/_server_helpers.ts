// deno-lint-ignore-file no-import-prefix -- tests pin the real NATS client by explicit npm specifier
/**
 * Shared by the end-to-end ACME tests (tests/acme_*_test.ts): a fresh pebble
 * and challtestsrv per test, pebble's issuing root, the serial a new TLS
 * handshake gets, NATS clients trusting pebble, and the config block.
 *
 * @module
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import { connect, type NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { ChallTestSrv, Pebble, type PebbleOptions } from "./_harness.ts";
import type { ServerProcess } from "../helpers/server.ts";

/** Obtaining at start takes a few seconds against pebble; leave room on a slow box. */
export const START_MS = 60_000;

export interface Env {
  dir: string;
  chall: ChallTestSrv;
  pebble: Pebble;
  /** Pebble's issuing root (PEM), which clients trust. */
  root: string;
}

export async function withPebble(
  popts: Partial<Omit<PebbleOptions, "dnsServer">>,
  fn: (env: Env) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dnatsd-acme-srv-" });
  const chall = new ChallTestSrv();
  await chall.start();
  const pebble = new Pebble(dir, { ...popts, dnsServer: chall.dns });
  try {
    await pebble.start();
    const root = await pebbleRoot(pebble);
    await fn({ dir, chall, pebble, root });
  } finally {
    await pebble.close();
    await chall.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Pebble's root from its management API (`/roots/0`), a fresh one per pebble run. */
export async function pebbleRoot(pebble: Pebble): Promise<string> {
  const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(pebble.caFile)] });
  try {
    const res = await fetch(`https://127.0.0.1:${pebble.mgmtPort}/roots/0`, { client });
    const pem = await res.text();
    assert.ok(res.ok && pem.includes("BEGIN CERTIFICATE"), `roots/0: HTTP ${res.status}`);
    return pem;
  } finally {
    client.close();
  }
}

/** Serial numbers compare as upper-case hex without leading zeros. */
export function norm(serial: string): string {
  return serial.toUpperCase().replace(/^0+/, "");
}

/**
 * The serial of the certificate a new TLS handshake gets. For the NATS port
 * the plain-text INFO is read first, then the socket is upgraded, as clients do.
 */
export async function peerSerial(
  port: number,
  o: { ca: string; servername: string; natsInfo: boolean },
): Promise<string> {
  const socket = net.connect({ host: "127.0.0.1", port });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no TLS handshake on ${port}`)), 5000);
    });
    await Promise.race([
      timeout,
      new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        if (!o.natsInfo) return socket.once("connect", () => resolve());
        let seen = "";
        const onData = (d: Uint8Array) => {
          seen += new TextDecoder().decode(d);
          if (!seen.includes("\r\n")) return;
          socket.off("data", onData);
          assert.match(seen, /^INFO \{.*"tls_required":true/);
          resolve();
        };
        socket.on("data", onData);
      }),
    ]);
    const ts = tls.connect({ socket, ca: o.ca, servername: o.servername });
    try {
      await Promise.race([
        timeout,
        new Promise<void>((resolve, reject) => {
          ts.once("secureConnect", () => resolve());
          ts.once("error", reject);
        }),
      ]);
      return norm(ts.getPeerCertificate().serialNumber);
    } finally {
      ts.destroy();
    }
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}

export function natsTls(root: string, servername: string) {
  // `servername` is passed through to node:tls: the certificate names a DNS name,
  // while the test dials 127.0.0.1.
  const t = { ca: root, servername };
  return t;
}

export async function natsConnect(
  port: number,
  root: string,
  name: string,
): Promise<NatsConnection> {
  return await connect({
    servers: `tls://127.0.0.1:${port}`,
    tls: natsTls(root, name),
    reconnect: false,
  });
}

/** Subscribes on `a`, publishes on `b`, expects the message on `a`. */
export async function roundTrip(
  a: NatsConnection,
  b: NatsConnection,
  subject: string,
  data: string,
) {
  const sub = a.subscribe(subject, { max: 1 });
  await a.flush();
  b.publish(subject, data);
  await b.flush();
  let got: string | undefined;
  const timer = setTimeout(() => sub.unsubscribe(), 5000);
  for await (const m of sub) got = m.string();
  clearTimeout(timer);
  assert.equal(got, data, `no message on ${subject}`);
}

export function monitorPort(s: ServerProcess, scheme: "http" | "https"): number {
  const m = new RegExp(`Starting ${scheme} monitor on \\S+:(\\d+)`).exec(s.logs.text);
  assert.ok(m, `no ${scheme} monitor in the log`);
  return Number(m[1]);
}

export async function varz(s: ServerProcess): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${monitorPort(s, "http")}/varz`);
  return await res.json() as Record<string, unknown>;
}

/** Serials the server logged as served or renewed, in order. */
export function loggedSerials(s: ServerProcess): string[] {
  return [...s.logs.text.matchAll(/ACME: (?:serving|renewed) certificate .*?serial (\w+)/g)]
    .map((m) => norm(m[1]!));
}

export function acmeBlock(env: Env, fields: string): string {
  return `tls {
  acme {
    email: "ops@example.com"
    ca: "${env.pebble.directoryUrl}"
    agree_tos: true
    key_type: ec256
    ca_roots: ["${env.pebble.caFile}"]
    dns_propagation_timeout: 10
    poll_timeout: 30
${fields}
  }
}
`;
}
