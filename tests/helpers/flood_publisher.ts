/**
 * A publisher that sends 128-byte messages as fast as the server takes them,
 * for a given time, in its own process (so the test runner's event loop is
 * not part of what is measured). Prints `flooding` once connected, then the
 * number of messages sent when done.
 *
 * `deno run -A tests/helpers/flood_publisher.ts <port> <seconds> [<ca.pem>]`:
 * with a CA file it upgrades to TLS after INFO, as a NATS client does.
 *
 * @module
 */

const [portArg, secondsArg, caFile] = Deno.args;
const port = Number(portArg);
const seconds = Number(secondsArg);
const encoder = new TextEncoder();

const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
// INFO comes first, in plain text on a TLS port too.
const first = new Uint8Array(4096);
await tcp.read(first);
const conn: Deno.Conn = caFile
  ? await Deno.startTls(tcp, { hostname: "localhost", caCerts: [await Deno.readTextFile(caFile)] })
  : tcp;
// Drain what the server sends (PING, +OK) so its writes never block.
(async () => {
  const sink = new Uint8Array(4096);
  try {
    while (await conn.read(sink) !== null) { /* discard */ }
  } catch { /* closed */ }
})();

const payload = "x".repeat(128);
const one = `PUB flood ${payload.length}\r\n${payload}\r\n`;
const PER_BLOCK = 512;
const block = encoder.encode(one.repeat(PER_BLOCK));
await write(encoder.encode(`CONNECT {"verbose":false,"pedantic":false}\r\n`));
console.log("flooding");
let sent = 0;
const end = Date.now() + seconds * 1000;
while (Date.now() < end) {
  await write(block);
  sent += PER_BLOCK;
}
console.log(String(sent));
conn.close();

async function write(bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}
