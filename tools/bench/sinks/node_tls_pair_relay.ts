/**
 * TLS relay for the `byceiling` bench workload on `node:tls` in Deno (the
 * stack dnatsd's TLS connections use), one thread, no NATS work: accepts TLS
 * connections (handshake first), sends an INFO line, answers the client's
 * first `... PING` with PONG. A client that subscribed in that first write
 * (the bystander's requester and responder) joins the pairs: every chunk it
 * sends is written, unparsed, to every other pair member. A client that did
 * not (the flood publisher) is read and discarded, with PONG for a PING that
 * ends a read. The Go twin is tls_pair_relay.go.
 *
 * Usage: deno run -A node_tls_pair_relay.ts <port> <cert.pem> <key.pem>
 * (the bench runs it with `DENO_TOKIO_EVENT_INTERVAL=1`, as dnatsd runs).
 *
 * @module
 */
import { readFileSync } from "node:fs";
import * as tls from "node:tls";
import { endsWithPing, INFO, PONG } from "./sink_protocol.ts";

const [portText, certFile, keyFile] = Deno.args;
if (portText === undefined || certFile === undefined || keyFile === undefined) {
  console.error("usage: node_tls_pair_relay.ts <port> <cert.pem> <key.pem>");
  Deno.exit(2);
}

const pairs = new Set<tls.TLSSocket>();
const latin1 = new TextDecoder("latin1");

const server = tls.createServer({
  cert: readFileSync(certFile),
  key: readFileSync(keyFile),
  minVersion: "TLSv1.2",
}, (socket) => {
  socket.setNoDelay(true);
  socket.on("error", () => socket.destroy());
  socket.on("close", () => pairs.delete(socket));
  let head = "";
  let tail: Uint8Array = new Uint8Array(0);
  const flood = (chunk: Uint8Array) => {
    const r = endsWithPing(tail, chunk);
    tail = r.tail;
    if (r.ping) socket.write(PONG);
  };
  const relay = (chunk: Uint8Array) => {
    for (const other of pairs) if (other !== socket) other.write(chunk);
  };
  const handshake = (chunk: Uint8Array) => {
    head += latin1.decode(chunk);
    if (!head.includes("PING\r\n")) return;
    socket.off("data", handshake);
    socket.write(PONG);
    if (/(^|\n)SUB /.test(head)) {
      pairs.add(socket);
      socket.on("data", relay);
    } else socket.on("data", flood);
  };
  socket.on("data", handshake);
  socket.write(INFO);
});
server.listen(Number(portText), "127.0.0.1", () => console.log(`listening on ${portText}`));
