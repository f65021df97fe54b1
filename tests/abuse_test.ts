// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * Resource bounds under abuse. Each case runs against a fresh dnatsd process
 * (and, when installed, a fresh Debian nats-server on the same input), reads the
 * server's peak RSS (VmHWM in /proc/<pid>/status), prints both figures and
 * bounds dnatsd's by a fixed ceiling (the figures behind each ceiling are next
 * to it), then checks the server still serves a normal client.
 *
 * - 10,000 connections opened at once, each gets INFO, all close;
 * - a client publishing with no subscribers (DNATSD_ABUSE_PUBLISH_S seconds, default 12);
 * - one client with 100,000 subscriptions: delivery, unsubscribe all, close;
 * - a slowloris on the monitoring port while request/reply keeps working.
 *
 * The connection storm runs in a child process (tests/helpers/conn_storm.ts)
 * under `ulimit -n`, as does the server, so the test needs a hard fd limit
 * above 10,000 (the test is ignored otherwise).
 */
import { connect, type NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { equal, ok } from "node:assert/strict";
import { has } from "./helpers/requires.ts";
import {
  type Kind,
  memoryOf,
  mib,
  monitor,
  type NodeProcess,
  startNode,
} from "./helpers/node_process.ts";
import { waitFor } from "./helpers/server.ts";
import { RawClient } from "./helpers/raw.ts";

const STORM = 10_000;
const FD_LIMIT = STORM + 2000;
const PUBLISH_S = Number(Deno.env.get("DNATSD_ABUSE_PUBLISH_S") ?? 12);
const SUBS = 100_000;
const SLOWLORIS_CONNS = 500;
const SLOWLORIS_S = 10;

const STORM_SCRIPT = new URL("./helpers/conn_storm.ts", import.meta.url).pathname;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The hard fd limit a child shell can raise itself to. */
function hardFdLimit(): number {
  const out = new Deno.Command("sh", { args: ["-c", "ulimit -Hn"] }).outputSync();
  const text = decoder.decode(out.stdout).trim();
  return text === "unlimited" ? Infinity : Number(text);
}
const FD_TOO_LOW = hardFdLimit() < FD_LIMIT;
if (FD_TOO_LOW) console.error(`ignored: abuse storm tests need ulimit -Hn >= ${FD_LIMIT}`);

const KINDS: Kind[] = has("nats-server") ? ["nats-server", "dnatsd"] : ["dnatsd"];

/** Runs `body` against a fresh server of each kind; returns the peak RSS per kind (KiB). */
async function onEachServer(
  what: string,
  body: (node: NodeProcess, kind: Kind) => Promise<string | void>,
): Promise<Map<Kind, number>> {
  const peaks = new Map<Kind, number>();
  for (const kind of KINDS) {
    const node = await startNode({ kind, noCluster: true, fdLimit: FD_LIMIT });
    try {
      const note = await body(node, kind);
      await serverStillWorks(node);
      const { peakKiB } = memoryOf(node.proc.pid);
      peaks.set(kind, peakKiB);
      console.log(`abuse ${what}: ${kind} peak RSS ${mib(peakKiB)}${note ? ` (${note})` : ""}`);
    } catch (e) {
      throw new Error(`${kind}: ${(e as Error).message}\n${node.proc.logs.text.slice(-3000)}`);
    } finally {
      await node.proc.stop();
    }
  }
  return peaks;
}

function assertCeiling(what: string, peaks: Map<Kind, number>, ceilingMiB: number): void {
  const peak = peaks.get("dnatsd")!;
  const ref = peaks.get("nats-server");
  ok(
    peak <= ceilingMiB * 1024,
    `${what}: dnatsd peak RSS ${mib(peak)} over the ${ceilingMiB} MiB ceiling` +
      (ref ? ` (nats-server ${mib(ref)})` : ""),
  );
}

/** A normal client connects, gets its own message back and a reply. */
async function serverStillWorks(node: NodeProcess): Promise<void> {
  const nc = await connect({ servers: node.url, reconnect: false, timeout: 10_000 });
  try {
    const got: string[] = [];
    nc.subscribe("after.abuse", { callback: (_e, m) => void got.push(m.string()) });
    nc.subscribe("after.svc", { callback: (_e, m) => void m.respond("pong") });
    await nc.flush();
    nc.publish("after.abuse", "still here");
    const reply = await nc.request("after.svc", "ping", { timeout: 5000 });
    equal(reply.string(), "pong");
    await waitFor(() => got.length === 1, 5000, "own message after abuse");
    equal(got[0], "still here");
  } finally {
    await nc.close();
  }
}

interface StormResult {
  opened: number;
  info: number;
  failed: number;
  ms: number;
  firstError: string;
}

async function storm(port: number, deadlineMs: number): Promise<StormResult> {
  const out = await new Deno.Command("sh", {
    args: [
      "-c",
      `ulimit -n ${FD_LIMIT} && exec "$0" "$@"`,
      Deno.execPath(),
      "run",
      "-A",
      STORM_SCRIPT,
      String(port),
      String(STORM),
      String(deadlineMs),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = decoder.decode(out.stdout).trim();
  if (!out.success || !text) {
    throw new Error(`storm failed (${out.code}): ${decoder.decode(out.stderr).slice(0, 2000)}`);
  }
  return JSON.parse(text) as StormResult;
}

async function waitForVarz(node: NodeProcess, field: string, want: number, ms: number) {
  let last: unknown;
  await waitFor(
    async () => {
      last = (await monitor(node.httpPort, "/varz"))[field];
      return last === want;
    },
    ms,
    `/varz ${field} == ${want}`,
  ).catch((e) => {
    throw new Error(`${(e as Error).message} (last ${last})`);
  });
}

Deno.test({
  name: "abuse: 10,000 connections opened at once each get INFO, then all close",
  ignore: FD_TOO_LOW,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    // Regression: dnatsd listened with Deno's default accept queue of 511 (Go
    // uses somaxconn); in such a burst the kernel then drops the handshake's
    // last ACK (SYN cookies) and ~500 clients waited for an INFO that never came.
    const peaks = await onEachServer("10,000 connections", async (node) => {
      const r = await storm(node.clientPort, 30_000);
      equal(r.opened, STORM, `opened ${r.opened}: ${r.firstError}`);
      equal(r.info, STORM, `${STORM - r.info} connections got no INFO: ${r.firstError}`);
      await waitForVarz(node, "connections", 0, 30_000);
      return `all ${STORM} had INFO after ${r.ms} ms`;
    });
    // Measured on the 2-core dev box: dnatsd 245-273 MiB, nats-server 160-166 MiB;
    // the ceiling is ~2.3x dnatsd's figure (a 35 KiB per-connection leak crosses it).
    assertCeiling("10,000 connections", peaks, 600);
  },
});

Deno.test({
  name: `abuse: a client publishing for ${PUBLISH_S} s with no subscribers`,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const payload = "x".repeat(100);
    const one = `PUB nobody.listens ${payload.length}\r\n${payload}\r\n`;
    const perChunk = Math.floor(64 * 1024 / one.length);
    const chunk = encoder.encode(one.repeat(perChunk));
    const peaks = await onEachServer(`publishing ${PUBLISH_S} s, no subscribers`, async (node) => {
      const raw = await RawClient.connect(node.clientPort);
      try {
        await raw.expect(/^INFO .*\r\n/);
        await raw.send('CONNECT {"verbose":false,"pedantic":false}\r\n');
        let sent = 0;
        const end = Date.now() + PUBLISH_S * 1000;
        while (Date.now() < end) {
          await raw.send(chunk);
          sent += perChunk;
        }
        await raw.roundTrip(30_000);
        equal(raw.received.includes("-ERR"), false, raw.received.slice(-200));
        const varz = await monitor(node.httpPort, "/varz");
        equal(varz.in_msgs, sent, "every published message was read");
        return `${sent} messages, ${Math.round(sent / PUBLISH_S)} msg/s`;
      } finally {
        await raw.close();
      }
    });
    // Measured: dnatsd 73 MiB, nats-server 12 MiB (12 s; 60 s gives the same).
    // An idle dnatsd is ~70 MiB (the runtime), so growth per message shows at once.
    assertCeiling("publishing with no subscribers", peaks, 200);
  },
});

Deno.test({
  name: "abuse: one client with 100,000 subscriptions; delivery, unsubscribe all, close",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const subs = (from: number, to: number, verb: "SUB" | "UNSUB") => {
      const lines: string[] = [];
      for (let i = from; i < to; i++) {
        lines.push(verb === "SUB" ? `SUB many.${i} ${i}\r\n` : `UNSUB ${i}\r\n`);
      }
      return lines.join("");
    };
    const sendAll = async (raw: RawClient, verb: "SUB" | "UNSUB") => {
      for (let i = 0; i < SUBS; i += 10_000) await raw.send(subs(i, i + 10_000, verb));
      await raw.roundTrip(60_000);
    };
    const peaks = await onEachServer("100,000 subscriptions", async (node) => {
      const raw = await RawClient.connect(node.clientPort);
      const pub = await RawClient.connect(node.clientPort);
      try {
        await raw.expect(/^INFO .*\r\n/);
        await pub.expect(/^INFO .*\r\n/);
        await raw.send('CONNECT {"verbose":false}\r\n');
        await pub.send('CONNECT {"verbose":false}\r\n');
        // nats-server counts its system account's own subscriptions too.
        const base = (await monitor(node.httpPort, "/varz")).subscriptions as number;
        await sendAll(raw, "SUB");
        await waitForVarz(node, "subscriptions", base + SUBS, 10_000);
        await pub.send("PUB many.77777 5\r\nhello\r\n");
        await pub.roundTrip();
        await raw.expect(/MSG many\.77777 77777 5\r\nhello\r\n/, 10_000);
        await sendAll(raw, "UNSUB");
        await waitForVarz(node, "subscriptions", base, 10_000);
        // Subscribe again, then close: closing frees them all.
        await sendAll(raw, "SUB");
        await waitForVarz(node, "subscriptions", base + SUBS, 10_000);
        equal(raw.received.includes("-ERR"), false, raw.received.slice(-200));
        await raw.close();
        await waitForVarz(node, "subscriptions", base, 20_000);
      } finally {
        await raw.close();
        await pub.close();
      }
    });
    // Measured: dnatsd 250 MiB, nats-server 95 MiB: the ceiling is 5x nats-server.
    assertCeiling("100,000 subscriptions", peaks, 500);
  },
});

Deno.test({
  name: "abuse: a slowloris on the monitoring port; request/reply and /varz keep working",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const peaks = await onEachServer(`slowloris ×${SLOWLORIS_CONNS}`, async (node) => {
      const lorises: Deno.Conn[] = [];
      let responder: NatsConnection | undefined;
      let requester: NatsConnection | undefined;
      let ticker: ReturnType<typeof setInterval> | undefined;
      try {
        for (let i = 0; i < SLOWLORIS_CONNS; i++) {
          const c = await Deno.connect({ hostname: "127.0.0.1", port: node.httpPort });
          await c.write(encoder.encode("GET /varz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
          lorises.push(c);
        }
        // One more header byte per connection per second, never the blank line.
        const dropped = new Set<Deno.Conn>();
        ticker = setInterval(() => {
          for (const c of lorises) {
            if (!dropped.has(c)) c.write(encoder.encode("a")).catch(() => dropped.add(c));
          }
        }, 1000);
        responder = await connect({ servers: node.url, reconnect: false });
        requester = await connect({ servers: node.url, reconnect: false });
        responder.subscribe("svc.echo", { callback: (_e, m) => void m.respond(m.data) });
        await responder.flush();
        const latencies: number[] = [];
        let varzMs = -1;
        const end = Date.now() + SLOWLORIS_S * 1000;
        while (Date.now() < end) {
          const t = performance.now();
          const r = await requester.request("svc.echo", "ping", { timeout: 5000 });
          latencies.push(performance.now() - t);
          equal(r.string(), "ping");
          if (varzMs < 0 && Date.now() > end - SLOWLORIS_S * 500) {
            const t2 = performance.now();
            const v = await monitor(node.httpPort, "/varz");
            varzMs = performance.now() - t2;
            ok(typeof v.server_id === "string");
          }
          await new Promise((r) => setTimeout(r, 20));
        }
        latencies.sort((a, b) => a - b);
        const p99 = latencies[Math.floor(latencies.length * 0.99)];
        const max = latencies[latencies.length - 1];
        ok(varzMs >= 0 && varzMs < 2000, `/varz took ${varzMs.toFixed(0)} ms during the slowloris`);
        // Generous: the box is shared; an idle round trip is well under 5 ms.
        ok(p99 < 250, `request p99 ${p99.toFixed(1)} ms during the slowloris`);
        return `${latencies.length} requests, p99 ${p99.toFixed(1)} ms, max ${
          max.toFixed(1)
        } ms, ` +
          `/varz ${varzMs.toFixed(0)} ms, ${
            lorises.length - dropped.size
          } slow connections still open`;
      } finally {
        clearInterval(ticker);
        for (const c of lorises) {
          try {
            c.close();
          } catch { /* closed by the server */ }
        }
        await requester?.close();
        await responder?.close();
      }
    });
    // Measured: dnatsd 73 MiB, nats-server 22 MiB (an idle dnatsd is ~70 MiB).
    assertCeiling("slowloris", peaks, 200);
  },
});
