/**
 * Differential testing against Debian's nats-server: the same raw protocol
 * bytes go to dnatsd and to nats-server started with the same flags and
 * config, and what each client can observe is compared: the exact bytes after
 * INFO, whether the server closed the connection, and the error/warning lines
 * the server logged for that connection (matched through INFO `client_id`).
 *
 * @module
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { RawClient } from "./raw.ts";
import { REPO_ROOT, ServerProcess, type ServerProcessOptions, waitFor } from "./server.ts";

/** One raw connection's script. */
export interface DiffCase {
  name: string;
  /**
   * Bytes to send once INFO has arrived (it gets the INFO JSON, for the nonce).
   * A string is sent as is; an array is sent one element per write, each after
   * the replies to the previous one arrived (every element must end in PING).
   */
  send: string | string[] | ((info: Record<string, unknown>) => string | string[]);
  /** With no PING in the script: how long to wait for the server to close (ms). */
  closeWithinMs?: number;
  /**
   * Upgrade to TLS after INFO (test PKI in certs/), presenting `<name>-cert.pem`;
   * null: TLS without a client certificate; absent: plain TCP.
   */
  tlsCert?: string | null;
}

/** What {@link observe} needs from a connection, plain or TLS. */
interface Wire {
  received: string;
  readonly closed: boolean;
  send(text: string): Promise<void>;
  close(): Promise<void>;
}

const certs = `${REPO_ROOT}certs/`;

/** A raw client connection upgraded to TLS after the server's plain INFO. */
class TlsWire implements Wire {
  received = "";
  closed = false;
  readonly #socket: tls.TLSSocket;

  private constructor(socket: tls.TLSSocket) {
    this.#socket = socket;
    socket.on("data", (d) => this.received += String(d));
    socket.on("error", () => {});
    socket.on("close", () => this.closed = true);
  }

  /** Connects, reads the INFO line, upgrades; returns the wire and the INFO line. */
  static async connect(port: number, cert: string | null): Promise<[TlsWire, string]> {
    const raw = net.connect(port, "127.0.0.1");
    let info = "";
    await new Promise<void>((resolve, reject) => {
      const onData = (d: unknown) => {
        info += String(d);
        if (info.includes("\r\n")) {
          raw.off("data", onData);
          resolve();
        }
      };
      raw.on("data", onData);
      raw.once("error", reject);
    });
    const read = (f: string) => Deno.readTextFileSync(certs + f);
    const key = cert ? { cert: read(`${cert}-cert.pem`), key: read(`${cert}-key.pem`) } : {};
    const socket = tls.connect({
      socket: raw,
      ca: read("ca.pem"),
      servername: "localhost",
      ...key,
    });
    const wire = new TlsWire(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", () => resolve());
      socket.once("error", reject);
      socket.once("close", () => resolve());
    });
    return [wire, info];
  }

  send(text: string): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      this.#socket.write(text, () => resolve());
    });
  }

  close(): Promise<void> {
    this.#socket.destroy();
    return Promise.resolve();
  }
}

/** What a client (and the server log) showed for one case. */
export interface Observation {
  reply: string;
  closed: boolean;
  log: string[];
}

/** One difference between the two servers. */
export interface Mismatch {
  scenario: string;
  name: string;
  sent: string;
  dnatsd: Observation;
  natsServer: Observation;
}

const PING = "PING\r\n";

function count(text: string, what: string): number {
  let n = 0;
  for (let i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + what.length)) n++;
  return n;
}

/** Server-sent PINGs (keep-alive) depend on timing, not on the input: drop them. */
function withoutServerPings(reply: string): string {
  return reply.split("\r\n").filter((l) => l !== "PING").join("\r\n");
}

/**
 * Runs one case on one server.
 * @returns the observation (log lines filled in later) and the connection's cid
 */
async function observe(
  s: ServerProcess,
  c: DiffCase,
): Promise<{ obs: Observation; cid: number; sent: string }> {
  let raw: Wire;
  let info: Record<string, unknown>;
  let start: number;
  if (c.tlsCert !== undefined) {
    const [wire, line] = await TlsWire.connect(s.port, c.tlsCert);
    raw = wire;
    info = JSON.parse(/^INFO (\{.*\}) \r\n/.exec(line)![1]!);
    start = 0;
  } else {
    const plain = await RawClient.connect(s.port);
    const m = await plain.expect(/^INFO (\{.*\}) \r\n/);
    raw = plain;
    info = JSON.parse(m[1]!);
    start = m[0].length;
  }
  try {
    const script = typeof c.send === "function" ? c.send(info) : c.send;
    const parts = typeof script === "string" ? [script] : script;
    let pings = 0;
    for (const part of parts) {
      pings += count(part, PING);
      if (part !== "") await raw.send(part).catch(() => {/* closed: seen below */});
      if (pings === 0) {
        await waitFor(() => raw.closed, c.closeWithinMs ?? 3000, "close").catch(() => {});
      } else {
        await waitFor(
          () => raw.closed || count(raw.received.slice(start), "PONG\r\n") >= pings,
          8000,
          `${pings} PONG or close`,
        ).catch(() => {});
      }
      if (raw.closed) break;
    }
    const reply = withoutServerPings(raw.received.slice(start));
    const done = raw.closed || count(reply, "PONG\r\n") >= pings;
    return {
      obs: { reply: done ? reply : reply + "<no answer>", closed: raw.closed, log: [] },
      cid: Number(info.client_id),
      sent: parts.join(""),
    };
  } finally {
    await raw.close();
  }
}

/** `[ERR]`/`[WRN]` lines of one connection, without time, pid and address. */
function connectionLog(logText: string): Map<number, string[]> {
  const byCid = new Map<number, string[]>();
  const re = /\[(ERR|WRN)\] [^ ]+ - cid:(\d+) - (.*)$/gm;
  for (const m of logText.matchAll(re)) {
    const cid = Number(m[2]);
    const list = byCid.get(cid) ?? [];
    list.push(`[${m[1]}] ${m[3]}`);
    byCid.set(cid, list);
  }
  return byCid;
}

/** A server pair (dnatsd and nats-server) started with the same options. */
export class ServerPair {
  readonly dnatsd: ServerProcess;
  readonly natsServer: ServerProcess;

  private constructor(dnatsd: ServerProcess, natsServer: ServerProcess) {
    this.dnatsd = dnatsd;
    this.natsServer = natsServer;
  }

  static async start(opts: ServerProcessOptions): Promise<ServerPair> {
    const [d, n] = await Promise.allSettled([
      ServerProcess.start(opts),
      ServerProcess.start({ ...opts, reference: true }),
    ]);
    if (d.status === "rejected" || n.status === "rejected") {
      if (d.status === "fulfilled") await d.value.stop();
      if (n.status === "fulfilled") await n.value.stop();
      throw (d.status === "rejected" ? d.reason : (n as PromiseRejectedResult).reason);
    }
    return new ServerPair(d.value, n.value);
  }

  async stop(): Promise<void> {
    await Promise.all([this.dnatsd.stop(), this.natsServer.stop()]);
  }
}

/**
 * Runs every case on both servers of `pair` (each case on both at once,
 * `parallel` cases at a time) and returns the differences.
 */
export async function runDifferential(
  scenario: string,
  pair: ServerPair,
  cases: DiffCase[],
  parallel = 4,
): Promise<{ mismatches: Mismatch[]; count: number }> {
  const results: Array<
    { c: DiffCase; d: Awaited<ReturnType<typeof observe>>; n: Awaited<ReturnType<typeof observe>> }
  > = [];
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const c = cases[next++];
      const [d, n] = await Promise.all([observe(pair.dnatsd, c), observe(pair.natsServer, c)]);
      results.push({ c, d, n });
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, cases.length) }, worker));
  // Log lines of a closed connection are written at close; give the pipes a moment.
  const settle = async (s: ServerProcess) => {
    let last = -1;
    await waitFor(
      () => {
        const same = s.logs.text.length === last;
        last = s.logs.text.length;
        return same;
      },
      2000,
      "quiet log",
    ).catch(() => {});
  };
  await Promise.all([settle(pair.dnatsd), settle(pair.natsServer)]);
  const dLog = connectionLog(pair.dnatsd.logs.text);
  const nLog = connectionLog(pair.natsServer.logs.text);
  const mismatches: Mismatch[] = [];
  for (const { c, d, n } of results) {
    d.obs.log = dLog.get(d.cid) ?? [];
    n.obs.log = nLog.get(n.cid) ?? [];
    if (
      d.obs.reply !== n.obs.reply || d.obs.closed !== n.obs.closed ||
      d.obs.log.join("\n") !== n.obs.log.join("\n")
    ) {
      mismatches.push({ scenario, name: c.name, sent: d.sent, dnatsd: d.obs, natsServer: n.obs });
    }
  }
  return { mismatches, count: results.length };
}

/** A readable report of mismatches (empty string when none). */
export function describeMismatches(list: Mismatch[], max = 40): string {
  const lines: string[] = [];
  for (const m of list.slice(0, max)) {
    lines.push(
      `[${m.scenario}] ${m.name}\n  sent:        ${JSON.stringify(m.sent)}\n` +
        `  nats-server: ${JSON.stringify(m.natsServer.reply)} closed=${m.natsServer.closed} ` +
        `log=${JSON.stringify(m.natsServer.log)}\n` +
        `  dnatsd:      ${JSON.stringify(m.dnatsd.reply)} closed=${m.dnatsd.closed} ` +
        `log=${JSON.stringify(m.dnatsd.log)}`,
    );
  }
  if (list.length > max) lines.push(`... and ${list.length - max} more`);
  return lines.join("\n");
}
