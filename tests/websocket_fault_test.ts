/**
 * Faults on the WebSocket port, against dnatsd and (where installed)
 * nats-server with the same assertions: connections reset before and after
 * accept and in the middle of a handshake,, and a process out of file
 * descriptors; afterwards a WebSocket client still gets INFO and a PONG.
 */
import { deepEqual, ok } from "node:assert/strict";
import { missing } from "./helpers/requires.ts";
import { hasLibc, resetStorm, ResettableSocket } from "./helpers/fault.ts";
import { startWithWebSocket, WsPeer } from "./helpers/ws.ts";
import { ServerProcess } from "./helpers/server.ts";

const IMPLS = [
  { name: "dnatsd", reference: false, ignore: !hasLibc() },
  { name: "nats-server", reference: true, ignore: !hasLibc() || missing("nats-server") },
] as const;

async function stillServes(port: number): Promise<void> {
  const peer = await WsPeer.connect(port);
  try {
    ok((await peer.nextText()).startsWith("INFO {"));
    await peer.sendFrame(2, "CONNECT {}\r\nPING\r\n");
    await peer.collectUntil((t) => t.includes("PONG\r\n"), 10_000);
  } finally {
    await peer.close();
  }
}

const errorLines = (text: string) => text.split("\n").filter((l) => l.includes("[ERR]"));

for (const impl of IMPLS) {
  Deno.test({
    name: `websocket fault ${impl.name}: resets before, after accept and mid-handshake`,
    ignore: impl.ignore,
    async fn() {
      const { server, wsPort } = await startWithWebSocket(impl.reference, "no_tls: true");
      try {
        await resetStorm(wsPort, 30);
        // After accept, the server waits for the request (it sends first on the client port).
        for (let i = 0; i < 5; i++) {
          const s = await ResettableSocket.connect(wsPort, "127.0.0.1", 200);
          await new Promise((r) => setTimeout(r, 20));
          s.reset();
        }
        for (let i = 0; i < 5; i++) {
          const s = await ResettableSocket.connect(wsPort, "127.0.0.1", 200);
          await s.send("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: webs");
          s.reset();
        }
        await stillServes(wsPort);
        // A reset is the peer's business: no error lines, as nats-server.
        deepEqual(errorLines(server.logs.text), []);
      } finally {
        await server.stop();
      }
    },
  });

  Deno.test({
    name:
      `websocket fault ${impl.name}: out of file descriptors on the WebSocket port, then recovery`,
    ignore: impl.ignore,
    async fn() {
      const server = await ServerProcess.start({
        reference: impl.reference,
        fdLimit: 48,
        config: 'websocket { listen: "127.0.0.1:-1", no_tls: true }',
      });
      const m = /Listening for websocket clients on ws:\/\/\S+:(\d+)/.exec(server.logs.text);
      const wsPort = Number(m![1]);
      const held: Deno.Conn[] = [];
      try {
        for (let i = 0; i < 80; i++) {
          held.push(await Deno.connect({ hostname: "127.0.0.1", port: wsPort }));
        }
        // Both log the accept failure (in their own words) and keep trying.
        await server.waitForLog(/too many open files/, 10_000);
        for (const c of held.splice(0)) c.close();
        await stillServes(wsPort);
      } finally {
        for (const c of held) c.close();
        await server.stop();
      }
    },
  });
}
