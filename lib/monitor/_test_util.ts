/**
 * Helpers for the monitoring unit tests: an in-process server on random
 * ports, a raw protocol client, and direct calls into the request handler.
 *
 * @module
 */
import { Server } from "../server.ts";
import { defaultOptions, type Options } from "../config/options.ts";
import { MemoryLogger } from "../ops/logger.ts";
import { createMonitorHandler, type MonitorHandler } from "./http_handler.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A started server plus a socket-less monitoring handler for it. */
export interface TestServer {
  server: Server;
  log: MemoryLogger;
  handler: MonitorHandler;
  /** Calls the handler for `path` (with query) and returns the response. */
  get(path: string): Response;
  /** GET `path` and parse the JSON body (asserting a 200). */
  json(path: string): Promise<Record<string, unknown>>;
  connect(connect?: Record<string, unknown>): Promise<TestClient>;
  close(): Promise<void>;
}

/** A raw client that has sent CONNECT; `send` waits for the PONG of a trailing PING. */
export interface TestClient {
  conn: Deno.Conn;
  send(text: string): Promise<void>;
  close(): void;
}

/** Starts a server on 127.0.0.1 with random ports; `patch` edits the options first. */
export async function startTestServer(patch: (o: Options) => void = () => {}): Promise<TestServer> {
  const o = defaultOptions();
  o.host = "127.0.0.1";
  o.port = -1;
  patch(o);
  const log = new MemoryLogger();
  const server = new Server(o, log);
  await server.start();
  const handler = createMonitorHandler(server, { httpPort: 8222, httpsPort: 0 });
  const clients: TestClient[] = [];
  const get = (path: string) => handler(new Request(`http://monitor${path}`));
  return {
    server,
    log,
    handler,
    get,
    async json(path) {
      const res = get(path);
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${text}`);
      return JSON.parse(text);
    },
    async connect(connect = {}) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.clientPort });
      let received = "";
      const buf = new Uint8Array(65536);
      const readUntilPong = async (count: number) => {
        const deadline = Date.now() + 3000;
        while ((received.match(/PONG\r\n/g) ?? []).length < count) {
          if (Date.now() > deadline) throw new Error(`no PONG: ${received}`);
          const n = await conn.read(buf);
          if (n === null) throw new Error(`closed: ${received}`);
          received += decoder.decode(buf.subarray(0, n));
        }
      };
      let pongs = 0;
      const client: TestClient = {
        conn,
        async send(text: string) {
          await conn.write(encoder.encode(text + "PING\r\n"));
          await readUntilPong(++pongs);
        },
        close() {
          try {
            conn.close();
          } catch { /* already closed */ }
        },
      };
      clients.push(client);
      await client.send(`CONNECT ${JSON.stringify({ verbose: false, ...connect })}\r\n`);
      return client;
    },
    async close() {
      for (const c of clients) c.close();
      await server.shutdown();
    },
  };
}

/** Polls `check` every 10 ms until true, or throws after `ms`. */
export async function until(check: () => boolean, ms = 3000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
