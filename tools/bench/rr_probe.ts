/**
 * A bare request/reply loop for comparing servers by hand: one Deno process
 * holds a requester and a responder on raw sockets (no client library), sends
 * sequential requests of 16 B and prints the round trip's p50, p99 and p99.9 in µs.
 * With `MSG` it writes ready-made `MSG` frames, for
 * tools/bench/relay_server.ts `--pairs` (docs/performance/request-reply.md,
 * "Where the relay's lead goes").
 *
 * With `--tls <ca.pem>` both clients upgrade to TLS after the plain INFO (a
 * dnatsd or nats-server with a `tls` block), with `--tls-first <ca.pem>`
 * they handshake first (tools/bench/sinks/node_tls_pair_relay.ts).
 *
 * Usage: `deno run -A tools/bench/rr_probe.ts <port> [requests=5000] [PUB|MSG]
 * [--tls|--tls-first <ca.pem>]`
 *
 * @module
 */

const tlsAt = Deno.args.findIndex((a) => a === "--tls" || a === "--tls-first");
const tlsFirst = tlsAt >= 0 && Deno.args[tlsAt] === "--tls-first";
const ca = tlsAt >= 0 ? Deno.readTextFileSync(Deno.args[tlsAt + 1]!) : undefined;
const positional = tlsAt >= 0 ? Deno.args.slice(0, tlsAt) : Deno.args;
const port = Number(positional[0]);
const count = Number(positional[1] ?? 5000);
const verb = positional[2] ?? "PUB";
const WARMUP = 200;
const enc = new TextEncoder();
const scratch = new Uint8Array(65536);

/** Connects and subscribes in one write (the TLS pair relay joins a client that does). */
async function open(subject: string): Promise<Deno.Conn> {
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
  tcp.setNoDelay(true);
  if (!tlsFirst) await tcp.read(scratch); // INFO
  const c = ca === undefined ? tcp : await Deno.startTls(tcp, {
    hostname: "localhost",
    caCerts: [ca],
  });
  if (tlsFirst) await c.read(scratch); // INFO, over TLS
  await c.write(
    enc.encode(`CONNECT {"verbose":false,"pedantic":false}\r\nSUB ${subject} 1\r\nPING\r\n`),
  );
  await c.read(scratch); // PONG
  return c;
}

const requester = await open("bench.inbox");
const responder = await open("bench.req");
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
console.log(`p50 ${at(0.5).toFixed(0)} p99 ${at(0.99).toFixed(0)} p999 ${at(0.999).toFixed(0)}`);
Deno.exit(0);
