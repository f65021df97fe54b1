/**
 * Monitoring of WebSocket clients, side by side with Debian's nats-server:
 * the `/varz` `websocket` object (same keys and values but the bound port),
 * and `/connz` entries of WebSocket clients, open and closed (same fields,
 * `type: "websocket"`).
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { missing } from "./helpers/requires.ts";
import { waitFor } from "./helpers/server.ts";
import { startWithWebSocket, WsPeer } from "./helpers/ws.ts";
import { type Monitored, shapeDiff, startMonitored } from "./monitor_helpers.ts";

const CONFIG = `
authorization { users: [{user: a, password: b}, {user: c, password: d}] }
websocket {
  listen: "127.0.0.1:-1"
  no_tls: true
  compression: true
  same_origin: true
  allowed_origins: ["http://x.example", "https://y.example:8443"]
  handshake_timeout: "3s"
  no_auth_user: a
  authorization { timeout: 3 }
  advertise: "ws.example:443"
}
`;

function wsPort(m: Monitored): number {
  const r = /Listening for websocket clients on ws:\/\/\S+:(\d+)/.exec(m.proc.logs.text);
  return Number(r![1]);
}

async function withBoth<T>(fn: (m: Monitored, reference: boolean) => Promise<T>): Promise<T[]> {
  const mine = await startMonitored({ config: CONFIG });
  const theirs = await startMonitored({ config: CONFIG, reference: true });
  try {
    return await Promise.all([fn(mine, false), fn(theirs, true)]);
  } finally {
    await mine.stop();
    await theirs.stop();
  }
}

Deno.test({
  name: "websocket monitor: /varz websocket as nats-server shows it",
  ignore: missing("nats-server"),
  async fn() {
    const [a, b] = await withBoth(async (m) => {
      const v = await m.json("/varz");
      const ws = v.websocket as Record<string, unknown>;
      equal(ws.port, wsPort(m));
      return { ...ws, port: "bound" };
    });
    ok(Object.keys(b).length > 8, JSON.stringify(b));
    deepEqual(a, b);
  },
});

Deno.test({
  name: "websocket monitor: /connz entries of WebSocket clients (open and closed) as nats-server's",
  ignore: missing("nats-server"),
  async fn() {
    const [a, b] = await withBoth(async (m) => {
      const peer = await WsPeer.connect(wsPort(m), { headers: ["User-Agent: Mozilla/5.0 test"] });
      await peer.nextText();
      await peer.sendFrame(
        2,
        'CONNECT {"name":"wsc","lang":"raw","version":"1"}\r\nSUB x.> 1\r\nPING\r\n',
      );
      await peer.collectUntil((t) => t.includes("PONG"));
      const open = await m.json("/connz?subs=detail&auth=1");
      const conns = open.connections as Array<Record<string, unknown>>;
      equal(conns.length, 1);
      const entry = conns[0];
      equal(entry.type, "websocket");
      equal(entry.kind, "Client");
      equal(entry.authorized_user, "a"); // the websocket no_auth_user
      await peer.close();
      let closed: Array<Record<string, unknown>> = [];
      await waitFor(
        async () => {
          const c = await m.json("/connz?state=closed&subs=1");
          closed = c.connections as Array<Record<string, unknown>>;
          return closed.length === 1;
        },
        5000,
        "closed entry",
      );
      equal(closed[0].type, "websocket");
      return { open: entry, closed: closed[0] };
    });
    deepEqual(shapeDiff(a.open, b.open), []);
    deepEqual(shapeDiff(a.closed, b.closed), []);
    ok(a.closed.reason === b.closed.reason, `${a.closed.reason} vs ${b.closed.reason}`);
  },
});

Deno.test({
  name: "websocket monitor: the ports file lists the WebSocket listener as nats-server's does",
  ignore: missing("nats-server"),
  async fn() {
    const shapes: string[][] = [];
    for (const reference of [false, true]) {
      const dir = await Deno.makeTempDir({ prefix: "dnatsd-ws-ports-" });
      const { server, wsPort } = await startWithWebSocket(
        reference,
        "no_tls: true",
        `ports_file_dir: "${dir}"`,
      );
      try {
        let ports: Record<string, string[]> = {};
        await waitFor(
          async () => {
            for await (const e of Deno.readDir(dir)) {
              if (e.name.endsWith(".ports")) {
                ports = JSON.parse(await Deno.readTextFile(`${dir}/${e.name}`));
                return ports.websocket !== undefined;
              }
            }
            return false;
          },
          10_000,
          "ports file with websocket",
        );
        equal(ports.websocket.length, 1);
        equal(ports.websocket[0], `ws://127.0.0.1:${wsPort}`);
        shapes.push(Object.keys(ports));
      } finally {
        await server.stop();
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    }
    deepEqual(shapes[0], shapes[1]);
  },
});

Deno.test({
  name: "websocket: a shared service import reports client_type websocket, as nats-server",
  ignore: missing("nats-server"),
  async fn() {
    const extra = `
accounts {
  A: { users: [{user: a, password: a}], exports: [{service: "who"}] }
  B: { users: [{user: b, password: b}], imports: [{service: {account: A, subject: "who"}, share: true}] }
}`;
    const seen: Record<string, unknown>[] = [];
    for (const reference of [false, true]) {
      const { server, wsPort } = await startWithWebSocket(reference, "no_tls: true", extra);
      const responder = await WsPeer.connect(wsPort);
      const asker = await WsPeer.connect(wsPort);
      try {
        await responder.nextText();
        await asker.nextText();
        await responder.sendFrame(
          2,
          'CONNECT {"verbose":false,"user":"a","pass":"a","headers":true}\r\nSUB who 1\r\nPING\r\n',
        );
        await responder.collectUntil((t) => t.includes("PONG"));
        await asker.sendFrame(
          2,
          'CONNECT {"verbose":false,"user":"b","pass":"b","name":"ws-asker"}\r\nPING\r\n',
        );
        await asker.collectUntil((t) => t.includes("PONG"));
        await asker.sendFrame(2, "PUB who _INBOX.w 1\r\nq\r\n");
        const text = (await responder.collectUntil((t) => t.includes("Nats-Request-Info"))).map((
          f,
        ) => f.text).join("");
        const info = JSON.parse(/Nats-Request-Info: (.*)\r\n/.exec(text)![1]);
        seen.push({ kind: info.kind, client_type: info.client_type, name: info.name });
      } finally {
        await responder.close();
        await asker.close();
        await server.stop();
      }
    }
    deepEqual(seen[0], { kind: "Client", client_type: "websocket", name: "ws-asker" });
    deepEqual(seen[0], seen[1]);
  },
});
