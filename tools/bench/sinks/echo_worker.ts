/**
 * Client of the `tlsceiling` echo measure, in its own Worker thread: connects
 * to a sink in echo mode (TLS first, trusting the given CA), skips the INFO
 * line, then writes `bytes` in 64 KiB blocks while it reads the echo back,
 * and reports when every byte came back.
 *
 * Messages: in `{ port, ca, bytes }`; out `{ type: "done", seconds, cpuPct }`
 * or `{ type: "error", message }`.
 *
 * @module
 */
/// <reference lib="deno.worker" />

interface EchoTask {
  port: number;
  ca: string;
  bytes: number;
}

function threadCpuMs(): number {
  try {
    const stat = Deno.readTextFileSync("/proc/thread-self/stat");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

async function run(task: EchoTask): Promise<void> {
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: task.port });
  tcp.setNoDelay(true);
  const conn = await Deno.startTls(tcp, { hostname: "localhost", caCerts: [task.ca] });
  const buf = new Uint8Array(64 * 1024);
  // INFO: everything up to the first LF.
  let rest = 0;
  while (true) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("sink closed before INFO");
    const lf = buf.subarray(0, n).indexOf(10);
    if (lf >= 0) {
      rest = n - lf - 1;
      break;
    }
  }
  if (rest !== 0) throw new Error("unexpected bytes after INFO");
  const block = new Uint8Array(64 * 1024).fill(120);
  const start = performance.now();
  const cpu0 = threadCpuMs();
  const writer = (async () => {
    let sent = 0;
    while (sent < task.bytes) {
      const n = Math.min(block.length, task.bytes - sent);
      let off = 0;
      while (off < n) off += await conn.write(block.subarray(off, n));
      sent += n;
    }
  })();
  let got = 0;
  while (got < task.bytes) {
    const n = await conn.read(buf);
    if (n === null) throw new Error(`sink closed after ${got} of ${task.bytes} bytes`);
    got += n;
  }
  await writer;
  const ms = performance.now() - start;
  const cpuPct = (threadCpuMs() - cpu0) / ms * 100;
  conn.close();
  self.postMessage({ type: "done", seconds: ms / 1000, cpuPct });
}

self.onmessage = (e: MessageEvent<EchoTask>) => {
  run(e.data).catch((err) =>
    self.postMessage({ type: "error", message: err instanceof Error ? err.message : String(err) })
  );
};
