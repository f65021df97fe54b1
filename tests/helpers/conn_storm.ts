/**
 * A connection storm, run as its own process so it can get a raised fd limit
 * (`sh -c 'ulimit -n N && exec deno run ...'`): opens `count` TCP connections
 * to 127.0.0.1:`port` all at once, reads the INFO line on each, holds them all
 * open until every one has its INFO (or the deadline passes), closes them all
 * and prints one JSON line: `{"opened":n,"info":n,"failed":n,"ms":t,"firstError":"..."}`.
 * With `inFlight`, at most that many connections are between connect() and
 * their INFO at any time (all of them are still held open together).
 *
 * Usage: `deno run -A tests/helpers/conn_storm.ts <port> <count> [deadlineMs] [inFlight]`
 *
 * @module
 */

const port = Number(Deno.args[0]);
const count = Number(Deno.args[1]);
const deadlineMs = Number(Deno.args[2] ?? 60_000);
const inFlight = Number(Deno.args[3] ?? 0) || Infinity;
if (!Number.isInteger(port) || !Number.isInteger(count)) {
  console.error("usage: conn_storm.ts <port> <count> [deadlineMs] [inFlight]");
  Deno.exit(2);
}

const started = Date.now();
const deadline = started + deadlineMs;
const conns: Deno.Conn[] = [];
let info = 0;
let failed = 0;
let firstError = "";

async function one(): Promise<void> {
  let conn: Deno.Conn;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
  } catch (e) {
    failed++;
    firstError ||= `connect: ${(e as Error).message}`;
    return;
  }
  conns.push(conn);
  const buf = new Uint8Array(4096);
  let text = "";
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch { /* closed */ }
  }, Math.max(0, deadline - Date.now()));
  try {
    while (!text.includes("\r\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
  } catch (e) {
    firstError ||= `read: ${(e as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
  if (text.startsWith("INFO {")) info++;
  else failed++;
}

let next = 0;
async function worker(): Promise<void> {
  while (next < count) {
    next++;
    await one();
  }
}
await Promise.all(Array.from({ length: Math.min(count, inFlight) }, worker));
const ms = Date.now() - started;
for (const c of conns) {
  try {
    c.close();
  } catch { /* closed by the deadline */ }
}
console.log(JSON.stringify({ opened: conns.length, info, failed, ms, firstError }));
