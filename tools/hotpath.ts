/**
 * The CPU cost of dnatsd's publish path without sockets: one publisher and N
 * subscribers (`ClientConnection`s on transports whose writes complete at
 * once), fed 256 KiB chunks of `PUB bench.ps 128`. Each chunk's parse,
 * delivery and flush is timed on its own and the third shortest of 500 is
 * printed as ns per delivery: the shortest are the chunks no other process
 * interrupted, so the figure holds on a busy machine where the bench's
 * ratios swing by half (docs/performance.md, "Measuring a change").
 *
 * Usage: `deno run -A tools/hotpath.ts [subscribers=1] [root]`, where `root`
 * is another checkout to measure (to alternate two versions of the code).
 *
 * @module
 */
import type { ClientConnection } from "../lib/client/connection.ts";
import type { Transport } from "../lib/conn/transport.ts";
import type { Account } from "../lib/server/account.ts";
import type { ServerCore } from "../lib/server/core.ts";

const CHUNK_BYTES = 256 * 1024;
const WARM_UP = 100;
const TIMED = 500;

/** Writes complete at once; only the byte count is kept. */
class InstantTransport implements Transport {
  readonly remoteAddress = "127.0.0.1";
  readonly remotePort = 1;
  onData: (chunk: Uint8Array) => void = () => {};
  written = 0;
  start(onData: (chunk: Uint8Array) => void): void {
    this.onData = onData;
  }
  write(data: Uint8Array): Promise<void> {
    this.written += data.length;
    return Promise.resolve();
  }
  pause(): void {}
  resume(): void {}
  close(): void {}
}

/** ns per delivery: the third shortest chunk of {@link TIMED}. */
export async function measure(root: URL, subscribers: number): Promise<number> {
  const at = (path: string) => new URL(path, root).href;
  const { defaultOptions } = await import(at("lib/config/options.ts"));
  const { FlushQueue } = await import(at("lib/conn/flush_queue.ts"));
  const { MemoryLogger } = await import(at("lib/ops/logger.ts"));
  const { Account: AccountClass } = await import(at("lib/server/account.ts"));
  const { zeroStats } = await import(at("lib/server/core.ts"));
  const { ClientConnection: Client } = await import(at("lib/client/connection.ts"));
  const account: Account = new AccountClass("$G", { cache: true });
  const writes = new FlushQueue();
  const server: ServerCore = {
    options: defaultOptions(),
    log: new MemoryLogger(),
    stats: zeroStats(),
    authRequired: false,
    authActive: false,
    authTimeoutMs: 2000,
    authenticate: () => ({ ok: true, account: "$G", permissions: null }),
    anonymousLogin: () => null,
    authViolationLine: () => "",
    accountFor: (name: string) => name === "$G" ? account : null,
    maxSubscriptionsFor: () => 0,
    interestChanged: () => {},
    pongSent: () => {},
    queueFlush: (c) => writes.add(c),
    flushPending: () => writes.flush(),
    slowConsumer: () => {
      throw new Error("slow consumer: the transport should never hold bytes back");
    },
    clientClosed: () => {},
    redact: (text: string) => text,
  };
  const enc = new TextEncoder();
  const connect = (cid: number, extra: string) => {
    const transport = new InstantTransport();
    const client: ClientConnection = new Client(server, transport, cid, account);
    client.begin(enc.encode("INFO {} \r\n"));
    transport.onData(enc.encode(`CONNECT {"verbose":false,"pedantic":false}\r\n${extra}`));
    return transport;
  };
  const subs = Array.from({ length: subscribers }, (_, i) => connect(i + 2, "SUB bench.ps 1\r\n"));
  const pub = connect(1, "");
  const turn = () => new Promise((resolve) => setTimeout(resolve, 0));
  await turn();
  const one = enc.encode(`PUB bench.ps 128\r\n${"x".repeat(128)}\r\n`);
  const perChunk = Math.floor(CHUNK_BYTES / one.length);
  const chunk = new Uint8Array(perChunk * one.length);
  for (let i = 0; i < perChunk; i++) chunk.set(one, i * one.length);
  const times: number[] = [];
  for (let k = 0; k < WARM_UP + TIMED; k++) {
    const t0 = performance.now();
    pub.onData(chunk);
    const ms = performance.now() - t0;
    if (k >= WARM_UP) times.push(ms * 1e6 / (perChunk * subscribers));
    await turn(); // the writes complete, the buffers go back to the pool
  }
  const expected = (WARM_UP + TIMED) * perChunk * subscribers;
  const delivered = subs.reduce((sum, t) => sum + t.written, 0);
  if (delivered < expected * (one.length + 2)) {
    throw new Error(`only ${delivered} bytes delivered for ${expected} messages`);
  }
  times.sort((a, b) => a - b);
  return times[2]!;
}

if (import.meta.main) {
  const subscribers = Number(Deno.args[0] ?? 1);
  const root = Deno.args[1] === undefined
    ? new URL("../", import.meta.url)
    : new URL(`file://${Deno.args[1].replace(/\/?$/, "/")}`);
  const ns = await measure(root, subscribers);
  console.log(`1:${subscribers} 128 B: ${ns.toFixed(1)} ns per delivery (${root.pathname})`);
  Deno.exit(0); // the connections' keep-alive timers would keep the process up
}
