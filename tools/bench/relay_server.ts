/**
 * The runtime's ceiling for a relay, used by the `relay` bench workload: a
 * Deno TCP server that forwards a publisher's bytes, unparsed, to every
 * subscriber. It is not a NATS server: it answers the load generator's
 * handshake (INFO, then PONG to the PING after CONNECT and SUBs), and then
 * copies each chunk read from a publisher to every subscriber, and what a
 * subscriber sends (its PONGs) back to the publishers. The publisher writes
 * ready-made `MSG` frames (`pubVerb: "MSG"`), so the subscribers count them
 * as deliveries. One chunk is written while the next is read (two buffers),
 * as a server coalescing its writes per read would.
 *
 * With `--pairs` (the request/reply ceiling), every connection's bytes go to
 * every other connection instead: with a requester and a responder, each
 * request (written as a ready-made `MSG` with its reply subject) reaches the
 * responder and each reply (also a `MSG`) the requester, one read and one
 * write per hop, nothing parsed.
 *
 * Usage: `deno run -A tools/bench/relay_server.ts [--pairs] -a 127.0.0.1 -p <port>`
 * (other flags are ignored, so the bench can start it like a server).
 *
 * @module
 */

const CHUNK = 256 * 1024;
const INFO = new TextEncoder().encode(
  'INFO {"server_id":"relay","version":"0.0.0","max_payload":1048576}\r\n',
);
const PONG = new TextEncoder().encode("PONG\r\n");

const subscribers = new Set<Deno.Conn>();
const publishers = new Set<Deno.Conn>();
/** `--pairs`: each connection writes to all the others (request/reply). */
const PAIRS = Deno.args.includes("--pairs");
const everyone = new Set<Deno.Conn>();

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/** Writes `data` to every connection of `to` but `from`; a failed one is dropped. */
function forward(to: Set<Deno.Conn>, data: Uint8Array, from: Deno.Conn): Promise<unknown> {
  const writes: Promise<void>[] = [];
  for (const c of to) {
    if (c !== from) writes.push(writeAll(c, data).catch(() => void to.delete(c)));
  }
  return Promise.all(writes);
}

/** Reads until the handshake's PING; returns whether the client subscribed, or null on EOF. */
async function handshake(conn: Deno.Conn): Promise<boolean | null> {
  const buf = new Uint8Array(64 * 1024);
  let text = "";
  while (!text.includes("PING\r\n")) {
    const n = await conn.read(buf);
    if (n === null) return null;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return /(^|\n)SUB /.test(text);
}

async function serve(conn: Deno.Conn): Promise<void> {
  (conn as Deno.TcpConn).setNoDelay(true);
  await writeAll(conn, INFO);
  const subscriber = await handshake(conn);
  if (subscriber === null) return;
  await writeAll(conn, PONG);
  const own = PAIRS ? everyone : subscriber ? subscribers : publishers;
  const to = PAIRS ? everyone : subscriber ? publishers : subscribers;
  own.add(conn);
  const bufs = [new Uint8Array(CHUNK), new Uint8Array(CHUNK)];
  let which = 0;
  let inflight: Promise<unknown> = Promise.resolve();
  try {
    while (true) {
      const buf = bufs[which]!;
      const n = await conn.read(buf);
      if (n === null) break;
      await inflight; // the other buffer's writes are done: it may be read into next
      inflight = forward(to, buf.subarray(0, n), conn);
      which ^= 1;
    }
    await inflight;
  } finally {
    own.delete(conn);
  }
}

function portArg(args: string[]): number {
  const i = args.indexOf("-p");
  const port = i < 0 ? NaN : Number(args[i + 1]);
  if (!Number.isInteger(port)) throw new TypeError("usage: relay_server.ts -p <port>");
  return port;
}

if (import.meta.main) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: portArg(Deno.args) });
  for await (const conn of listener) {
    serve(conn).catch(() => {}).finally(() => {
      try {
        conn.close();
      } catch {
        // already closed
      }
    });
  }
}
