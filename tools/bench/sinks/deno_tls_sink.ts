/**
 * TLS sink for the `tlsceiling` bench workload on Deno's native TLS
 * (`Deno.listenTls`): the same behaviour as node_tls_sink.ts (handshake
 * first, INFO, read and discard, PONG for a PING that ends a read), reading
 * into one reused 64 KiB buffer per connection.
 *
 * Usage: deno run -A deno_tls_sink.ts <port> <cert.pem> <key.pem> [echo]
 *
 * `echo` writes every chunk back before the next read.
 *
 * @module
 */
import { endsWithPing, INFO, PONG } from "./sink_protocol.ts";

const [portText, certFile, keyFile, mode] = Deno.args;
const echo = mode === "echo";
if (portText === undefined || certFile === undefined || keyFile === undefined) {
  console.error("usage: deno_tls_sink.ts <port> <cert.pem> <key.pem>");
  Deno.exit(2);
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

async function serve(conn: Deno.TlsConn): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  let tail: Uint8Array = new Uint8Array(0);
  try {
    await writeAll(conn, INFO);
    while (true) {
      const n = await conn.read(buf);
      if (n === null) break;
      if (echo) {
        await writeAll(conn, buf.subarray(0, n));
        continue;
      }
      const r = endsWithPing(tail, buf.subarray(0, n));
      tail = r.tail;
      if (r.ping) await writeAll(conn, PONG);
    }
  } catch {
    // the client went away
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

const listener = Deno.listenTls({
  hostname: "127.0.0.1",
  port: Number(portText),
  cert: Deno.readTextFileSync(certFile),
  key: Deno.readTextFileSync(keyFile),
});
console.log(`listening on ${portText}`);
for await (const conn of listener) serve(conn);
