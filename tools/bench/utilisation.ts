/**
 * Where a server's thread spends a publish flow: CPU, waiting for a CPU, or
 * idle. Starts the server, opens a raw subscriber (the wildcard workload's
 * 10,000 subscriptions for `miss`, one `SUB bench.x` for `pubsub`, none for
 * `pub`), publishes N 128 B messages in 128 KiB writes (non-matching subjects
 * for `miss`) and reads `/proc/<pid>/task/* /schedstat` around it, up to the
 * PONG after the last. Prints one JSON line. See docs/performance.md ("Where
 * the server thread waits").
 *
 * Usage: `deno run -A tools/bench/utilisation.ts <dnatsd|nats-server|path/to/main.ts>
 * <miss|pub|pubsub> [count]`
 *
 * @module
 */
import { readTextUntil, threadSchedstat, totalCpuNs } from "./proc_probe.ts";
import { freePort } from "./servers.ts";

const [which = "dnatsd", flow = "miss", countArg] = Deno.args;
const count = Number(countArg ?? 3_000_000);
const enc = new TextEncoder();

const port = freePort();
const main = which === "dnatsd" ? new URL("../../main.ts", import.meta.url).pathname : which;
const [cmd, args] = which === "nats-server"
  ? ["nats-server", [] as string[]]
  : [Deno.execPath(), ["run", "-A", "--no-check", main]];
const child = new Deno.Command(cmd, {
  args: [...args, "-a", "127.0.0.1", "-p", String(port)],
  stdout: "null",
  stderr: "null",
}).spawn();
try {
  let sub: Deno.TcpConn | null = null;
  for (let i = 0; i < 200 && sub === null; i++) {
    sub = await Deno.connect({ hostname: "127.0.0.1", port }).catch(() => null);
    if (sub === null) await new Promise((r) => setTimeout(r, 50));
  }
  if (sub === null) throw new Error("server did not start");
  let subs = 'CONNECT {"verbose":false,"pedantic":false}\r\n';
  if (flow === "miss") {
    for (let i = 0; i < 5000; i++) subs += `SUB bench.${i}.* ${i}\r\n`;
    for (let i = 0; i < 4990; i++) subs += `SUB bench.*.${i} ${5000 + i}\r\n`;
    for (let i = 0; i < 10; i++) subs += `SUB bench.${i}.> ${9990 + i}\r\n`;
  } else if (flow === "pubsub") {
    subs += "SUB bench.x 1\r\n";
  }
  if (flow === "pub") {
    sub.close();
    sub = null;
  } else {
    await sub.write(enc.encode(subs + "PING\r\n"));
    await readTextUntil(sub, "PONG\r\n");
  }
  const subjects = flow === "miss"
    ? Array.from({ length: 100 }, (_, k) => `bench.${20_000 + k}.${20_000 + k}`)
    : ["bench.x"];
  const cycle = subjects.map((s) => `PUB ${s} 128\r\n${"x".repeat(128)}\r\n`).join("");
  const batch = enc.encode(cycle.repeat(Math.ceil(128 * 1024 / cycle.length)));
  const perBatch = Math.ceil(128 * 1024 / cycle.length) * subjects.length;
  const pub = await Deno.connect({ hostname: "127.0.0.1", port });
  await pub.write(enc.encode('CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n'));
  await readTextUntil(pub, "PONG\r\n");
  const drain = (async (conn: Deno.Conn | null) => {
    const buf = new Uint8Array(256 * 1024);
    while (conn !== null && await conn.read(buf).catch(() => null) !== null) {
      // deliveries are not counted here
    }
  })(sub);

  const srv0 = threadSchedstat(child.pid);
  const self0 = totalCpuNs(threadSchedstat("self"));
  const t0 = performance.now();
  let sent = 0;
  while (sent < count) {
    let off = 0;
    while (off < batch.length) off += await pub.write(batch.subarray(off));
    sent += perBatch;
  }
  await pub.write(enc.encode("PING\r\n"));
  await readTextUntil(pub, "PONG\r\n");
  const wall = (performance.now() - t0) * 1e6;
  const srv1 = threadSchedstat(child.pid);
  const self1 = totalCpuNs(threadSchedstat("self"));

  let busiest = [0, 0];
  for (const [tid, [cpu, wait]] of srv1) {
    const [cpu0, wait0] = srv0.get(tid) ?? [0, 0];
    if (cpu - cpu0 > busiest[0]!) busiest = [cpu - cpu0, wait - wait0];
  }
  const srvCpu = totalCpuNs(srv1) - totalCpuNs(srv0);
  const r = (x: number) => Math.round(x * 1000) / 1000;
  console.log(JSON.stringify({
    server: which,
    flow,
    sent,
    msgsPerS: Math.round(sent / (wall / 1e9)),
    processCpu: r(srvCpu / wall),
    threadCpu: r(busiest[0]! / wall),
    threadRunQueue: r(busiest[1]! / wall),
    threadIdle: r(1 - (busiest[0]! + busiest[1]!) / wall),
    nsPerMsg: Math.round(srvCpu / sent),
    publisherCpu: r((self1 - self0) / wall),
    load: Deno.loadavg()[0],
  }));
  pub.close();
  sub?.close();
  await drain;
} finally {
  child.kill("SIGKILL");
  await child.status;
}
