// deno-lint-ignore-file no-import-prefix -- tests use npm packages (clients) directly
/**
 * Slow WebSocket readers get the rules of every client: one that stops
 * reading is cut as a slow consumer (with nats-server's log line), one that
 * reads slowly holds back a fast TCP publisher and loses nothing.
 */
import { equal, ok } from "node:assert/strict";
import { connect } from "npm:@nats-io/transport-node@3.4.0";
import { waitFor } from "./helpers/server.ts";
import { startWithWebSocket, WsPeer } from "./helpers/ws.ts";

const encoder = new TextEncoder();

/** Upgrades and subscribes over a raw socket, then returns it without reading any more. */
async function silentSubscriber(port: number, subject: string): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(encoder.encode(
    `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      "Sec-WebSocket-Key: c2xvdy1yZWFkZXItdGVzdA==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  ));
  // The 101 first: frames sent before it would be refused, as nats-server does.
  const buf = new Uint8Array(4096);
  let seen = "";
  const deadline = Date.now() + 5000;
  while (!seen.includes("\r\n\r\n") && Date.now() < deadline) {
    const n = await conn.read(buf);
    if (n === null) break;
    seen += new TextDecoder("latin1").decode(buf.subarray(0, n));
  }
  const sub = encoder.encode(`CONNECT {"verbose":false}\r\nSUB ${subject} 1\r\nPING\r\n`);
  const frame = new Uint8Array(6 + sub.length);
  frame.set([0x82, 0x80 | sub.length, 0, 0, 0, 0]); // zero mask key: payload unchanged
  frame.set(sub, 6);
  await conn.write(frame);
  // Read up to the PONG (the SUB is in force), then nothing more.
  while (!seen.includes("PONG\r\n") && Date.now() < deadline) {
    const n = await conn.read(buf);
    if (n === null) break;
    seen += new TextDecoder("latin1").decode(buf.subarray(0, n));
  }
  if (!seen.includes("PONG\r\n")) throw new Error(`no PONG: ${seen}`);
  return conn;
}

Deno.test("websocket flow: a reader that stops is cut as a slow consumer, the server stays up", async () => {
  const { server, wsPort } = await startWithWebSocket(false, "no_tls: true", "max_pending: 1MB");
  const conn = await silentSubscriber(wsPort, "flood");
  const tcp = await connect({ servers: server.url });
  try {
    const payload = new Uint8Array(8192);
    for (let i = 0; i < 6000 && !/Slow Consumer Detected/.test(server.logs.text); i++) {
      tcp.publish("flood", payload);
      if (i % 200 === 0) await tcp.flush();
    }
    await server.waitForLog(
      /\[INF\] 127\.0\.0\.1:\d+ - wid:\d+ - Slow Consumer Detected: MaxPending of 1048576 Exceeded/,
      10_000,
    );
    // Still serving WebSocket clients.
    const peer = await WsPeer.connect(wsPort);
    ok((await peer.nextText()).startsWith("INFO "));
    await peer.close();
  } finally {
    conn.close();
    await tcp.close();
    await server.stop();
  }
});

Deno.test("websocket flow: a slow reader holds back a fast TCP publisher, nothing lost", async () => {
  const { server, wsPort } = await startWithWebSocket(false, "no_tls: true", "max_pending: 2MB");
  const tcp = await connect({ servers: server.url });
  const conn = await silentSubscriber(wsPort, "paced");
  try {
    const count = 12_000;
    const payload = new Uint8Array(1024).fill(0x61);
    const msgLen = "MSG paced 1 1024\r\n".length + 1024 + 2;
    // Read ~64 KiB every 5 ms (about 12 MB/s) while 12 MB are published as fast as possible.
    let received = 0;
    let reading = true;
    const reader = (async () => {
      const buf = new Uint8Array(64 * 1024);
      while (reading) {
        const n = await conn.read(buf).catch(() => null);
        if (n === null) return;
        received += n;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    for (let i = 0; i < count; i++) {
      tcp.publish("paced", payload);
      if (i % 500 === 0) await tcp.flush();
    }
    await tcp.flush();
    // Frame headers and INFO/PONG come on top of the MSG bytes.
    await waitFor(() => received >= count * msgLen, 30_000, "every message at the slow reader");
    reading = false;
    conn.close();
    await reader;
    equal(/Slow Consumer/.test(server.logs.text), false, "no slow consumer");
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
    await tcp.close();
    await server.stop();
  }
});
