/**
 * A bare request/reply loop for comparing servers by hand: one Deno process
 * holds a requester and a responder on raw sockets (no client library), sends
 * sequential requests of 16 B and prints the round trip's p50 and p99 in µs.
 * With `MSG` it writes ready-made `MSG` frames, for
 * tools/bench/relay_server.ts `--pairs` (docs/performance/fairness-and-latency.md,
 * "Where the relay's lead goes").
 *
 * Usage: `deno run -A tools/bench/rr_probe.ts <port> [requests=5000] [PUB|MSG]`
 *
 * @module
 */

const port = Number(Deno.args[0]);
const count = Number(Deno.args[1] ?? 5000);
const verb = Deno.args[2] ?? "PUB";
const WARMUP = 200;
const enc = new TextEncoder();
const scratch = new Uint8Array(65536);

async function open(): Promise<Deno.TcpConn> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  c.setNoDelay(true);
  await c.read(scratch); // INFO
  await c.write(enc.encode('CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n'));
  await c.read(scratch); // PONG
  return c;
}

async function subscribe(c: Deno.TcpConn, subject: string): Promise<void> {
  await c.write(enc.encode(`SUB ${subject} 1\r\nPING\r\n`));
  await c.read(scratch);
}

const requester = await open();
const responder = await open();
if (verb === "PUB") {
  await subscribe(responder, "bench.req");
  await subscribe(requester, "bench.inbox");
}
const payload = "x".repeat(16);
const request = enc.encode(
  verb === "PUB"
    ? `PUB bench.req bench.inbox 16\r\n${payload}\r\n`
    : `MSG bench.req 1 bench.inbox 16\r\n${payload}\r\n`,
);
const reply = enc.encode(
  verb === "PUB"
    ? `PUB bench.inbox 16\r\n${payload}\r\n`
    : `MSG bench.inbox 1 16\r\n${payload}\r\n`,
);

(async () => {
  const buf = new Uint8Array(65536);
  while (await responder.read(buf) !== null) await responder.write(reply);
})();

const buf = new Uint8Array(65536);
const micros: number[] = [];
for (let i = 0; i < count + WARMUP; i++) {
  const t = performance.now();
  await requester.write(request);
  await requester.read(buf); // 16 B messages arrive in one read on loopback
  if (i >= WARMUP) micros.push((performance.now() - t) * 1000);
}
micros.sort((a, b) => a - b);
const at = (q: number) => micros[Math.min(micros.length - 1, Math.floor(micros.length * q))]!;
console.log(`p50 ${at(0.5).toFixed(0)} p99 ${at(0.99).toFixed(0)}`);
Deno.exit(0);
