/**
 * Heap bytes a SUB allocates and keeps: bursts of the wildcard workload's
 * 10,000 SUBs (`deno task bench --only wildcard`), each on a new in-process
 * `ClientConnection` (as tools/hotpath.ts), under its own first token.
 * `heapUsed` is read after two forced collections, right after the burst
 * (everything allocated, with a young generation large enough that no
 * scavenge runs during it) and after two more collections (what the burst
 * kept). A scavenge during a burst copies what survives it; the allocated
 * figure is how often it runs. See docs/performance.md ("Wildcard workload,
 * fourth round").
 *
 * Usage: `deno run -A --v8-flags=--expose-gc,--min-semi-space-size=64,--max-semi-space-size=64
 * tools/bench/sub_alloc.ts [root]`, where `root` is another checkout to
 * measure.
 *
 * @module
 */
import type { ClientConnection } from "../../lib/client/connection.ts";
import type { Transport } from "../../lib/conn/transport.ts";
import type { Account } from "../../lib/server/account.ts";
import type { ServerCore } from "../../lib/server/core.ts";

const BURSTS = 6;

/** Writes complete at once. */
class InstantTransport implements Transport {
  readonly remoteAddress = "127.0.0.1";
  readonly remotePort = 1;
  onData: (chunk: Uint8Array) => void = () => {};
  start(onData: (chunk: Uint8Array) => void): void {
    this.onData = onData;
  }
  write(_data: Uint8Array): Promise<void> {
    return Promise.resolve();
  }
  pause(): void {}
  resume(): void {}
  close(): void {}
}

/** The wildcard workload's 10,000 SUBs under `root`. */
function wildcardSubs(root: string): string {
  let subs = "";
  for (let i = 0; i < 5000; i++) subs += `SUB ${root}.${i}.* ${i + 1}\r\n`;
  for (let i = 0; i < 4990; i++) subs += `SUB ${root}.*.${i} ${5001 + i}\r\n`;
  for (let i = 0; i < 10; i++) subs += `SUB ${root}.${i}.> ${9991 + i}\r\n`;
  return subs;
}

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error("run with --v8-flags=--expose-gc (see the module comment)");
  Deno.exit(2);
}
const root = Deno.args[0] === undefined
  ? new URL("../../", import.meta.url)
  : new URL(`file://${Deno.args[0].replace(/\/?$/, "/")}`);
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
  slowConsumer: () => {},
  clientClosed: () => {},
  redact: (text: string) => text,
};
const enc = new TextEncoder();
const clients: ClientConnection[] = [];
for (let k = 0; k < BURSTS; k++) {
  const transport = new InstantTransport();
  const client: ClientConnection = new Client(server, transport, k + 2, account);
  client.begin(enc.encode("INFO {} \r\n"));
  transport.onData(enc.encode(`CONNECT {"verbose":false,"pedantic":false}\r\n`));
  clients.push(client);
  const chunk = enc.encode(wildcardSubs(`r${k}`));
  gc();
  gc();
  const before = Deno.memoryUsage().heapUsed;
  transport.onData(chunk);
  const after = Deno.memoryUsage().heapUsed;
  gc();
  gc();
  const kept = Deno.memoryUsage().heapUsed;
  if (client.subs.size !== 10_000) throw new Error(`${client.subs.size} subscriptions`);
  console.log(
    `burst ${k + 1}: allocated ${Math.round((after - before) / 10_000)} B per SUB, kept ${
      Math.round((kept - before) / 10_000)
    } B per SUB`,
  );
  await new Promise((resolve) => setTimeout(resolve, 0));
}
