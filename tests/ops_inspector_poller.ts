/**
 * Watches for a debugger while tests/ops_inspector_test.ts sends SIGUSR1s: a
 * separate process (as a local attacker would be) that, until its stdin closes
 * (or `maxMs` passes),
 * - connects to 127.0.0.1:9229 in a tight loop, and for every connection that
 *   succeeds asks `/json/list` whose debugger it is (Deno's target titles end
 *   in `[pid: N]`);
 * - samples the TCP ports the watched process listens on (its socket inodes in
 *   /proc/<pid>/fd against /proc/<pid>/net/tcp{,6}), to see a debugger on any
 *   port, also when 9229 belongs to another process.
 *
 * Usage: `deno run -A tests/ops_inspector_poller.ts <pid> <maxMs>`. Prints
 * `polling` once the first sample is taken, then one JSON {@link PollResult}
 * line at the end.
 *
 * @module
 */

/** What the poller saw. */
export interface PollResult {
  /** Connection attempts to 127.0.0.1:9229. */
  attempts: number;
  /** Attempts that connected. */
  connected: number;
  /** pid of each debugger that answered `/json/list` (0: no answer, or no pid in it). */
  owners: number[];
  /** Samples of the watched process's listening ports. */
  samples: number;
  /** Listening ports seen in some sample. */
  ports: number[];
}

const INSPECTOR_PORT = 9229;

/** TCP ports `pid` listens on, from its file descriptors and its network namespace. */
export function listeningPorts(pid: number): Set<number> {
  const inodes = new Set<string>();
  for (const fd of Deno.readDirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`));
      if (m) inodes.add(m[1]);
    } catch { /* closed meanwhile */ }
  }
  const ports = new Set<number>();
  for (const table of ["tcp", "tcp6"]) {
    let text = "";
    try {
      text = Deno.readTextFileSync(`/proc/${pid}/net/${table}`);
    } catch {
      continue; // no IPv6
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT, st 0A is LISTEN, the inode is field 9.
      if (f.length > 9 && f[3] === "0A" && inodes.has(f[9])) {
        ports.add(parseInt(f[1].split(":")[1], 16));
      }
    }
  }
  return ports;
}

/** The libc calls of the connect loop: synchronous, so that it runs as fast as C would. */
function openLibc() {
  return Deno.dlopen("libc.so.6", {
    socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
    connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
    setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
    send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
    recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
    close: { parameters: ["i32"], result: "i32" },
  }).symbols;
}
type Libc = ReturnType<typeof openLibc>;

const AF_INET = 2, SOCK_STREAM = 1, SOL_SOCKET = 1, SO_RCVTIMEO = 20, SO_SNDTIMEO = 21;

/** struct sockaddr_in for 127.0.0.1:`port`. */
function loopback(port: number): Uint8Array<ArrayBuffer> {
  const addr = new Uint8Array(16);
  const view = new DataView(addr.buffer);
  view.setUint16(0, AF_INET, true);
  view.setUint16(2, port, false);
  addr.set([127, 0, 0, 1], 4);
  return addr;
}

/** Asks the debugger connected on `fd` whose it is: the pid in its `/json/list`, or 0. */
function ownerOf(c: Libc, fd: number): number {
  const timeout = new Uint8Array(16); // struct timeval: 0 s, 500,000 us
  new DataView(timeout.buffer).setBigInt64(8, 500_000n, true);
  c.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeout, 16);
  c.setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, timeout, 16);
  const req = new TextEncoder().encode(
    `GET /json/list HTTP/1.1\r\nHost: 127.0.0.1:${INSPECTOR_PORT}\r\nConnection: close\r\n\r\n`,
  );
  if (Number(c.send(fd, req, BigInt(req.length), 0)) !== req.length) return 0;
  const buf = new Uint8Array(16 * 1024);
  let text = "";
  for (;;) {
    const n = Number(c.recv(fd, buf, BigInt(buf.length), 0));
    if (n <= 0) return 0; // closed, or no answer within the timeout
    text += new TextDecoder().decode(buf.subarray(0, n));
    const m = /\[pid: (\d+)\]/.exec(text);
    if (m) return Number(m[1]);
  }
}

if (import.meta.main) {
  const pid = Number(Deno.args[0]);
  const maxMs = Number(Deno.args[1] ?? 60_000);
  const result: PollResult = { attempts: 0, connected: 0, owners: [], samples: 0, ports: [] };
  const ports = new Set<number>();
  let done = false;
  (async () => {
    for await (const _ of Deno.stdin.readable) { /* until closed */ }
  })().finally(() => done = true);
  const deadline = Date.now() + maxMs;
  const sample = () => {
    try {
      for (const p of listeningPorts(pid)) ports.add(p);
      result.samples++;
    } catch { /* the process is gone: the test sees that itself */ }
  };
  sample();
  console.log("polling");
  const c = openLibc();
  const addr = loopback(INSPECTOR_PORT);
  while (!done && Date.now() < deadline) {
    for (let i = 0; i < 500; i++) {
      result.attempts++;
      const fd = c.socket(AF_INET, SOCK_STREAM, 0);
      if (fd < 0) continue;
      if (c.connect(fd, addr, addr.length) === 0) {
        result.connected++;
        result.owners.push(ownerOf(c, fd));
      }
      c.close(fd);
    }
    sample();
    // Let the stdin reader run: the loop above never yields.
    await new Promise((r) => setTimeout(r, 0));
  }
  result.ports = [...ports].sort((a, b) => a - b);
  console.log(JSON.stringify(result));
  Deno.exit(0);
}
