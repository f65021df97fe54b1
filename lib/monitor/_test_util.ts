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
import type { RouteInfo } from "./types.ts";

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

/** A route entry as lib/cluster would report it. */
export function fakeRoute(over: Partial<RouteInfo> = {}): RouteInfo {
  return {
    rid: 7,
    remote_id: "NREMOTE",
    did_solicit: true,
    is_configured: true,
    ip: "127.0.0.1",
    port: 6222,
    // Half a second off the boundary: the builder's clock may differ from Date.now() by a few ms.
    start: new Date(Date.now() - 65_500),
    last_activity: new Date(Date.now() - 1_500),
    rtt: 0.5,
    pending_size: 0,
    in_msgs: 4,
    out_msgs: 5,
    in_bytes: 40,
    out_bytes: 50,
    subscriptions: 2,
    subscriptions_list: ["a", "b"],
    ...over,
  };
}

/** Installs a fake cluster handle that reports `routes` (what lib/cluster will provide). */
export function withFakeCluster(server: Server, routes: () => RouteInfo[]): void {
  (server as { cluster: unknown }).cluster = { port: 0, routezInfo: routes };
}

/** One sample of a parsed exposition. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One metric family of a parsed exposition. */
export interface PromFamily {
  help?: string;
  type?: string;
  samples: PromSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;

/**
 * A strict parser of the Prometheus text format 0.0.4, for tests: every line
 * must be a comment, HELP, TYPE or a well-formed sample; HELP/TYPE come before
 * a family's samples, once each; a family's samples are contiguous; values are
 * numeric. Throws with the line number on the first violation.
 */
export function parsePrometheus(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  const closed = new Set<string>();
  let current = "";
  if (!text.endsWith("\n")) throw new Error("exposition must end with a newline");
  const lines = text.slice(0, -1).split("\n");
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, f = { samples: [] });
    return f;
  };
  const enter = (name: string, line: number) => {
    if (name === current) return;
    if (closed.has(name)) throw new Error(`line ${line}: family ${name} is not contiguous`);
    if (current) closed.add(current);
    current = name;
  };
  lines.forEach((line, i) => {
    const n = i + 1;
    if (line === "") return;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // other comments are allowed
      const [, kind, name, rest] = m;
      if (!METRIC_NAME.test(name)) throw new Error(`line ${n}: bad metric name ${name}`);
      enter(name, n);
      const f = family(name);
      if (f.samples.length > 0) throw new Error(`line ${n}: ${kind} after samples of ${name}`);
      if (kind === "HELP") {
        if (f.help !== undefined) throw new Error(`line ${n}: second HELP for ${name}`);
        f.help = rest;
      } else {
        if (f.type !== undefined) throw new Error(`line ${n}: second TYPE for ${name}`);
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest)) {
          throw new Error(`line ${n}: bad type ${rest}`);
        }
        f.type = rest;
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (!m) throw new Error(`line ${n}: not a sample: ${line}`);
    const [, name, , labelText, valueText] = m;
    if (!FLOAT.test(valueText)) throw new Error(`line ${n}: value not numeric: ${valueText}`);
    const labels: Record<string, string> = {};
    if (labelText !== undefined && labelText !== "") {
      const re = /([^=,\s]+)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
      let pos = 0;
      while (pos < labelText.length) {
        re.lastIndex = pos;
        const lm = re.exec(labelText);
        if (!lm) throw new Error(`line ${n}: bad labels: ${labelText}`);
        if (!LABEL_NAME.test(lm[1])) throw new Error(`line ${n}: bad label name ${lm[1]}`);
        if (lm[1] in labels) throw new Error(`line ${n}: duplicate label ${lm[1]}`);
        labels[lm[1]] = lm[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
        pos = re.lastIndex;
      }
    }
    enter(name, n);
    const value = valueText === "NaN" ? NaN : Number(valueText.replace("Inf", "Infinity"));
    family(name).samples.push({ name, labels, value });
  });
  return families;
}
