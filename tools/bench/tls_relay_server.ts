/**
 * The ceiling of TLS pub/sub and fan-out with TLS off the main thread, used
 * by the `tlsrelay` bench workload: a minimal relay (as relay_server.ts: no
 * parsing, the publisher writes ready-made `MSG` frames) whose client port
 * and TLS sockets are owned by a Worker (sinks/tls_relay_worker.ts). In
 * `ring` mode (default) the Worker decrypts into a SharedArrayBuffer ring,
 * the main thread copies each chunk into one ring per subscriber
 * (sinks/sab_ring.ts), and the Worker encrypts and writes those: the work a
 * dnatsd with TLS in a Worker would split, without its parsing and routing.
 * In `direct` mode the Worker relays itself (TLS and relay on one thread).
 *
 * Usage: `deno run -A tools/bench/tls_relay_server.ts [--direct] -a 127.0.0.1 -p <port>`
 * (other flags are ignored, so the bench can start it like a server; the
 * certificate is certs/server-cert.pem).
 *
 * @module
 */
import { SabRing } from "./sinks/sab_ring.ts";

const RING = 4 * 1024 * 1024;
/** Out rings allocated up front: the most subscribers the relay serves. */
const MAX_SUBS = 8;

function portArg(args: string[]): number {
  const i = args.indexOf("-p");
  const port = i < 0 ? NaN : Number(args[i + 1]);
  if (!Number.isInteger(port)) throw new TypeError("usage: tls_relay_server.ts -p <port>");
  return port;
}

/** Copies the in ring into every subscriber's out ring, forever. */
async function relay(from: SabRing, outs: SabRing[]): Promise<void> {
  for (;;) {
    const views = from.readable();
    if (views.length === 0 || outs.length === 0) {
      await (outs.length === 0 ? new Promise((r) => setTimeout(r, 1)) : from.dataAfter());
      continue;
    }
    // The bytes every out ring can take now (at most what is readable).
    let n = 0;
    for (const v of views) n += v.length;
    const rs = outs.map((o) => o.readPos());
    let room = n;
    for (let i = 0; i < outs.length; i++) {
      room = Math.min(room, outs[i]!.data.length - ((outs[i]!.ctl[0]! - rs[i]!) | 0));
    }
    if (room === 0) {
      await Promise.race(outs.map((o, i) => o.spaceFrom(rs[i]!)));
      continue;
    }
    for (const o of outs) {
      let left = room;
      for (const v of views) {
        if (left === 0) break;
        const part = v.length <= left ? v : v.subarray(0, left);
        o.push(part);
        left -= part.length;
      }
    }
    from.consume(room);
  }
}

if (import.meta.main) {
  const mode = Deno.args.includes("--direct") ? "direct" : "ring";
  const certs = new URL("../../certs/", import.meta.url);
  const inRing = SabRing.buffers(RING);
  const outRings = Array.from({ length: MAX_SUBS }, () => SabRing.buffers(RING));
  const outs: SabRing[] = [];
  const worker = new Worker(new URL("./sinks/tls_relay_worker.ts", import.meta.url).href, {
    type: "module",
  });
  worker.onmessage = (e: MessageEvent) => {
    const m = e.data;
    if (m.type === "listening") console.log("relay listening");
    else if (m.type === "sub") {
      outs.push(new SabRing(outRings[m.index].ctl, outRings[m.index].data));
    } else if (m.type === "error") {
      console.error(m.message);
      Deno.exit(1);
    }
  };
  worker.postMessage({
    type: "start",
    port: portArg(Deno.args),
    cert: Deno.readTextFileSync(new URL("server-cert.pem", certs)),
    key: Deno.readTextFileSync(new URL("server-key.pem", certs)),
    mode,
    inRing,
    outRings,
  });
  if (mode === "ring") relay(new SabRing(inRing.ctl, inRing.data), outs);
}
