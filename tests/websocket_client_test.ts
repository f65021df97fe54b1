// deno-lint-ignore-file no-import-prefix -- tests use npm packages (clients) directly
/**
 * WebSocket clients against dnatsd (and the same test against Debian's
 * nats-server): the npm NATS client's WebSocket transport (`wsconnect`, Deno's
 * WebSocket) publishes, subscribes and makes requests across to a plain TCP
 * client, over `ws://` and `wss://`; the listener's auth overrides apply to
 * WebSocket clients only; and a frame-level client negotiates
 * permessage-deflate and exchanges compressed messages.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { connect, type NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { wsconnect } from "npm:@nats-io/nats-core@3.4.0";
import { waitFor } from "./helpers/server.ts";
import { missing } from "./helpers/requires.ts";
import { startWithWebSocket, WsPeer } from "./helpers/ws.ts";

const CERTS = new URL("../certs/", import.meta.url).pathname;
const TLS = `tls { cert_file: "${CERTS}server-cert.pem", key_file: "${CERTS}server-key.pem" }`;

const servers: Array<[string, boolean]> = [["dnatsd", false], ["nats-server", true]];

async function pubSubRequest(ws: NatsConnection, tcp: NatsConnection): Promise<void> {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  // TCP -> WebSocket
  const fromTcp: string[] = [];
  const sub = ws.subscribe("to.ws", {
    max: 3,
    callback: (_e, m) => {
      fromTcp.push(dec.decode(m.data));
    },
  });
  await ws.flush();
  for (let i = 0; i < 3; i++) tcp.publish("to.ws", enc.encode(`t${i}`));
  await tcp.flush();
  await waitFor(() => fromTcp.length === 3, 5000, "TCP messages at the WebSocket client");
  deepEqual(fromTcp, ["t0", "t1", "t2"]);
  await sub.closed;
  // WebSocket -> TCP, a payload bigger than a browser frame and than one read
  const big = new Uint8Array(200_000).map((_, i) => 65 + (i % 26));
  const fromWs: Uint8Array[] = [];
  tcp.subscribe("to.tcp", {
    callback: (_e, m) => {
      fromWs.push(m.data);
    },
  });
  await tcp.flush();
  ws.publish("to.tcp", enc.encode("w0"));
  ws.publish("to.tcp", big);
  await ws.flush();
  await waitFor(() => fromWs.length === 2, 5000, "WebSocket messages at the TCP client");
  equal(dec.decode(fromWs[0]), "w0");
  deepEqual(fromWs[1], big);
  // Requests both ways
  tcp.subscribe("svc.tcp", {
    callback: (_e, m) => {
      m.respond(enc.encode(`tcp:${dec.decode(m.data)}`));
    },
  });
  ws.subscribe("svc.ws", {
    callback: (_e, m) => {
      m.respond(enc.encode(`ws:${dec.decode(m.data)}`));
    },
  });
  await tcp.flush();
  await ws.flush();
  const r1 = await ws.request("svc.tcp", enc.encode("q1"), { timeout: 5000 });
  equal(dec.decode(r1.data), "tcp:q1");
  const r2 = await tcp.request("svc.ws", enc.encode("q2"), { timeout: 5000 });
  equal(dec.decode(r2.data), "ws:q2");
}

for (const [name, reference] of servers) {
  Deno.test({
    name: `websocket (${name}): npm client wsconnect pub/sub and request/reply with a TCP client`,
    ignore: reference && missing("nats-server"),
    async fn() {
      const { server, wsPort } = await startWithWebSocket(reference, "no_tls: true");
      const ws = await wsconnect({ servers: `ws://127.0.0.1:${wsPort}`, name: "ws-client" });
      const tcp = await connect({ servers: server.url });
      try {
        equal(ws.info?.client_ip, "127.0.0.1");
        await pubSubRequest(ws, tcp);
      } finally {
        await ws.close();
        await tcp.close();
        await server.stop();
      }
    },
  });
}

Deno.test({
  name: "websocket (dnatsd): wss with the test CA, npm client in a child Deno trusting it",
  async fn() {
    const { server, wsPort } = await startWithWebSocket(false, TLS);
    try {
      // Deno's WebSocket trusts only its root store: the client runs with --cert.
      const script = new URL("./helpers/ws_wss_client.ts", import.meta.url).pathname;
      const tcp = await connect({ servers: server.url });
      const enc = new TextEncoder();
      tcp.subscribe("svc.wss", {
        callback: (_e, m) => {
          m.respond(enc.encode("pong:" + new TextDecoder().decode(m.data)));
        },
      });
      await tcp.flush();
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--no-check",
          "--lock=deno.lock",
          "--cert",
          `${CERTS}ca.pem`,
          script,
          `wss://localhost:${wsPort}`,
        ],
        cwd: new URL("../", import.meta.url).pathname,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      equal(out.code, 0, new TextDecoder().decode(out.stderr));
      equal(text.trim(), "pong:hello tls");
      await tcp.close();
    } finally {
      await server.stop();
    }
  },
});

for (const [name, reference] of servers) {
  Deno.test({
    name: `websocket (${name}): auth override applies to WebSocket clients only`,
    ignore: reference && missing("nats-server"),
    async fn() {
      const { server, wsPort } = await startWithWebSocket(
        reference,
        "no_tls: true, authorization { token: wstoken }",
      );
      try {
        // The TCP port needs no auth at all...
        const tcp = await connect({ servers: server.url });
        await tcp.close();
        // ...the WebSocket port wants the token, and says so in INFO.
        const peer = await WsPeer.connect(wsPort);
        const info = JSON.parse((await peer.nextText()).slice(5));
        equal(info.auth_required, true);
        await peer.close();
        let refused = "";
        await wsconnect({ servers: `ws://127.0.0.1:${wsPort}`, reconnect: false }).then(
          (nc) => nc.close(),
          (e) => refused = String(e),
        );
        ok(/Authorization Violation/i.test(refused), refused);
        const ok2 = await wsconnect({ servers: `ws://127.0.0.1:${wsPort}`, token: "wstoken" });
        await ok2.flush();
        await ok2.close();
      } finally {
        await server.stop();
      }
    },
  });
}

for (const [name, reference] of servers) {
  Deno.test({
    name: `websocket (${name}): permessage-deflate negotiated, compressed frames both ways`,
    ignore: reference && missing("nats-server"),
    async fn() {
      const { server, wsPort } = await startWithWebSocket(
        reference,
        "no_tls: true, compression: true",
      );
      const peer = await WsPeer.connect(wsPort, { deflate: true });
      try {
        ok(
          /Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n/
            .test(peer.response),
          peer.response,
        );
        ok((await peer.nextText()).startsWith("INFO {"));
        // A compressed client message: CONNECT, SUB and a PUB whose reply comes compressed.
        const body = 'CONNECT {"verbose":false}\r\nSUB z 1\r\nPUB z ' + 200 + "\r\n" +
          "x".repeat(200) + "\r\nPING\r\n";
        const z = deflateRawSync(new TextEncoder().encode(body), { finishFlush: 2 });
        await peer.sendFrame(2, z.subarray(0, z.length - 4), { rsv1: true });
        const frames = await peer.collectUntil((t) => t.includes("PONG\r\n"));
        const msg = frames.map((f) => f.text).join("");
        ok(msg.startsWith(`MSG z 1 200\r\n${"x".repeat(200)}\r\n`), msg);
        ok(frames.some((f) => f.rsv1), "a compressed frame from the server");
        // The helper inflated them; check one by hand too.
        const c = frames.find((f) => f.rsv1)!;
        const plain = inflateRawSync(new Uint8Array([...c.raw, 0, 0, 0xff, 0xff]), {
          finishFlush: 2,
        });
        equal(new TextDecoder().decode(plain), c.text);
      } finally {
        await peer.close();
        await server.stop();
      }
    },
  });
}
