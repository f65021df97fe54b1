/**
 * TLS sink for the `tlsceiling` workload with TLS off the main thread: a
 * Worker owns the `node:tls` listener and sockets and decrypts
 * (tls_worker.ts); the main thread receives the plaintext and runs dnatsd's
 * real client parser on it (parse_sink.ts), as a dnatsd with TLS in Workers
 * would. At the client's PINGs it prints its threads' CPU (thread_cpu.ts),
 * so the workload can split the sink's CPU between the parsing main thread
 * and the TLS Worker.
 *
 * Usage: deno run -A worker_tls_sink.ts <port> <cert.pem> <key.pem> [ring|post|none|echo]
 *
 * `ring` (default): a 4 MiB SharedArrayBuffer ring (sab_ring.ts), the main
 * thread woken by `Atomics.waitAsync`; `post`: each chunk copied into a new
 * ArrayBuffer and transferred with `postMessage`, acknowledged per MiB
 * parsed; `none`: no hand-over and no parsing (the Worker finds the PINGs):
 * `node:tls` in a Worker alone; `echo`: no parsing, the main thread copies
 * every byte read into a second ring and the Worker encrypts and writes it
 * back (the threads line is printed at the first byte and when the bytes
 * relayed pass each power of two from 1 MiB; the echo client sends a power of
 * two, so the last line comes with its last byte).
 *
 * @module
 */
import { sinkParser } from "./parse_sink.ts";
import { SabRing } from "./sab_ring.ts";
import { printThreadCpu } from "./thread_cpu.ts";

const [portText, certFile, keyFile, modeArg = "ring"] = Deno.args;
if (portText === undefined || certFile === undefined || keyFile === undefined) {
  console.error("usage: worker_tls_sink.ts <port> <cert.pem> <key.pem> [ring|post|none|echo]");
  Deno.exit(2);
}
const MODES = ["ring", "post", "none", "echo"] as const;
const mode = MODES.find((m) => m === modeArg) ?? "ring";
const RING = 4 * 1024 * 1024;
/** `post` mode acknowledges parsed bytes in steps of this much. */
const ACK_STEP = 1024 * 1024;
/** `echo` prints the threads line when the bytes relayed pass each power of two from this on. */
const ECHO_MARK = 1024 * 1024;

const worker = new Worker(new URL("./tls_worker.ts", import.meta.url).href, { type: "module" });
const { parser } = sinkParser(() => {
  printThreadCpu();
  worker.postMessage({ type: "pong" });
});
const inBuffers = SabRing.buffers(RING);
const outBuffers = SabRing.buffers(RING);

let unacked = 0;
worker.onmessage = (e: MessageEvent) => {
  const m = e.data;
  if (m.type === "listening") console.log(`listening on ${portText}`);
  else if (m.type === "ping") {
    printThreadCpu();
    worker.postMessage({ type: "pong" });
  } else if (m.type === "error") {
    console.error(m.message);
    Deno.exit(1);
  } else if (m.type === "data") {
    const chunk = new Uint8Array(m.buf as ArrayBuffer);
    if (parser.parse(chunk) < 0) Deno.exit(1);
    unacked += chunk.length;
    if (unacked >= ACK_STEP) {
      worker.postMessage({ type: "ack", bytes: unacked });
      unacked = 0;
    }
  }
};
worker.onerror = (e) => {
  console.error(`worker: ${e.message}`);
  Deno.exit(1);
};

/** `ring` mode: parse whatever the Worker wrote, wait for more, forever. */
async function consumeRing(): Promise<void> {
  const ring = new SabRing(inBuffers.ctl, inBuffers.data);
  for (;;) {
    const views = ring.readable();
    if (views.length === 0) {
      await ring.dataAfter();
      continue;
    }
    let n = 0;
    for (const v of views) {
      if (parser.parse(v) < 0) Deno.exit(1);
      n += v.length;
    }
    ring.consume(n);
  }
}

/** `echo` mode: copy what the Worker read into the ring it writes from. */
async function relayRing(): Promise<void> {
  const from = new SabRing(inBuffers.ctl, inBuffers.data);
  const to = new SabRing(outBuffers.ctl, outBuffers.data);
  let relayed = 0;
  let mark = ECHO_MARK;
  let marked = false;
  for (;;) {
    const views = from.readable();
    if (views.length === 0) {
      await from.dataAfter();
      continue;
    }
    if (!marked) {
      printThreadCpu();
      marked = true;
    }
    const r = to.readPos();
    let n = 0;
    for (const v of views) {
      const k = to.push(v, r);
      n += k;
      if (k < v.length) break;
    }
    if (n === 0) {
      await to.spaceFrom(r);
      continue;
    }
    from.consume(n);
    relayed += n;
    // The echo client sends a power of two: the last line comes when the last byte is relayed.
    if (relayed >= mark) {
      printThreadCpu();
      while (mark <= relayed) mark *= 2;
    }
  }
}

worker.postMessage({
  type: "start",
  port: Number(portText),
  cert: Deno.readTextFileSync(certFile),
  key: Deno.readTextFileSync(keyFile),
  mode,
  inRing: inBuffers,
  outRing: outBuffers,
});
if (mode === "ring") consumeRing();
else if (mode === "echo") relayRing();
