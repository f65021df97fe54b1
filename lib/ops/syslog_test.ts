import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import { join } from "node:path";
import { createLogger } from "./logger.ts";
import {
  formatSyslogMessage,
  formatSyslogTimestamp,
  openLocalSyslog,
  openRemoteSyslog,
  parseRemoteSyslogUrl,
  SyslogFacility,
  type SyslogLogger,
  SyslogSeverity,
  SyslogUnavailableError,
} from "./syslog.ts";

const UNIX = Deno.build.os === "linux" || Deno.build.os === "darwin";

/** Polls until `done()` or the deadline; fails with `what` on timeout. */
async function waitFor(done: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Sends one message at each level through `log`. */
function logEveryLevel(log: SyslogLogger): void {
  log.notice("notice line");
  log.warn("warn line");
  log.error("error line");
  log.fatal("fatal line");
  log.debug("debug line");
  log.trace('trace CONNECT {"pass":"pw"}');
}

// Daemon facility (3 * 8) plus each level's severity.
const EXPECTED_PRIORITIES_AND_TEXT = [
  [29, "notice line"],
  [28, "warn line"],
  [27, "error line"],
  [26, "fatal line"],
  [31, "debug line"],
  [31, 'trace CONNECT {"pass":"[REDACTED]"}'],
] as const;

Deno.test("formatSyslogTimestamp() local style: RFC 3164, day padded with a space", () => {
  assert.equal(formatSyslogTimestamp(new Date(2026, 10, 3, 9, 5, 7), "local"), "Nov  3 09:05:07");
  assert.equal(formatSyslogTimestamp(new Date(2026, 0, 23, 23, 0, 0), "local"), "Jan 23 23:00:00");
});

Deno.test("formatSyslogTimestamp() network style: RFC 3339 with the local offset", () => {
  const date = new Date(2026, 10, 23, 10, 0, 0);
  const offset = -date.getTimezoneOffset();
  const zone = offset === 0
    ? "Z"
    : `${offset < 0 ? "-" : "+"}${String(Math.floor(Math.abs(offset) / 60)).padStart(2, "0")}:${
      String(Math.abs(offset) % 60).padStart(2, "0")
    }`;
  assert.equal(formatSyslogTimestamp(date, "network"), `2026-11-23T10:00:00${zone}`);
});

Deno.test("formatSyslogMessage() writes Go log/syslog's header", () => {
  const date = new Date(2026, 10, 23, 10, 0, 0);
  const base = {
    facility: SyslogFacility.Daemon,
    severity: SyslogSeverity.Notice,
    tag: "dnatsd",
    pid: 42,
    hostname: "box",
    date,
  };
  assert.equal(
    formatSyslogMessage({ ...base, style: "local" }, "hello"),
    "<29>Nov 23 10:00:00 dnatsd[42]: hello\n",
  );
  const network = formatSyslogMessage({ ...base, style: "network" }, "hello\n");
  assert.equal(network, `<29>${formatSyslogTimestamp(date, "network")} box dnatsd[42]: hello\n`);
  const kernel = formatSyslogMessage({
    ...base,
    facility: SyslogFacility.Kernel,
    severity: SyslogSeverity.Debug,
    style: "local",
  }, "x");
  assert.match(kernel, /^<7>/);
});

Deno.test("parseRemoteSyslogUrl() accepts udp, tcp and unix URLs", () => {
  assert.deepEqual(parseRemoteSyslogUrl("udp://127.0.0.1:1514"), {
    network: "udp",
    host: "127.0.0.1",
    port: 1514,
  });
  assert.deepEqual(parseRemoteSyslogUrl("udp://logs.example"), {
    network: "udp",
    host: "logs.example",
    port: 514,
  });
  assert.deepEqual(parseRemoteSyslogUrl("tcp://[::1]:601"), {
    network: "tcp",
    host: "::1",
    port: 601,
  });
  assert.deepEqual(parseRemoteSyslogUrl("unix:///dev/log"), { network: "unix", path: "/dev/log" });
  assert.throws(
    () => parseRemoteSyslogUrl("http://host:514"),
    /invalid remote syslog network type "http"/,
  );
  assert.throws(() => parseRemoteSyslogUrl("localhost:514"), TypeError);
  assert.throws(() => parseRemoteSyslogUrl("not a url"), /invalid remote syslog URL/);
  assert.throws(() => parseRemoteSyslogUrl("udp://:514"), TypeError);
});

Deno.test("remote syslog over UDP keeps the order lines were logged in", async () => {
  for (const host of ["127.0.0.1", "localhost"]) {
    const receiver = createSocket("udp4");
    const got: number[] = [];
    receiver.on("message", (msg) => {
      const m = /line (\d+)/.exec(new TextDecoder().decode(msg));
      if (m) got.push(Number(m[1]));
    });
    await new Promise<void>((resolve) => receiver.bind(0, "127.0.0.1", resolve));
    const log = openRemoteSyslog(`udp://${host}:${receiver.address().port}`, {
      debug: false,
      trace: false,
      pid: 1,
    });
    try {
      // 200 lines: the runtime's datagram receive queue in this process holds 256.
      for (let i = 0; i < 200; i++) log.notice(`line ${i}`);
      await waitFor(() => got.length === 200, "all 200 lines");
      const inversions = got.filter((n, i) => i > 0 && n < got[i - 1]!).length;
      assert.equal(inversions, 0, `${host}: ${got.join(",")}`);
    } finally {
      log.close();
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  }
});

Deno.test("remote syslog over UDP: one datagram per line, severities mapped", async () => {
  const receiver = createSocket("udp4");
  const received: string[] = [];
  receiver.on("message", (msg) => received.push(new TextDecoder().decode(msg)));
  await new Promise<void>((resolve) => receiver.bind(0, "127.0.0.1", resolve));
  const { port } = receiver.address();
  const errors: string[] = [];
  const log = openRemoteSyslog(`udp://127.0.0.1:${port}`, {
    debug: true,
    trace: true,
    pid: 4321,
    hostname: "testhost",
    onTransportError: (m) => errors.push(m),
  });
  try {
    assert.equal(log.debugEnabled, true);
    logEveryLevel(log);
    await waitFor(() => received.length >= 6, "6 datagrams");
    const byText = new Map(received.map((d) => [d.replace(/^.*?: /, "").trimEnd(), d]));
    for (const [priority, text] of EXPECTED_PRIORITIES_AND_TEXT) {
      const datagram = byText.get(text);
      assert.ok(datagram, `missing ${text} in ${received.join("|")}`);
      assert.match(
        datagram,
        new RegExp(
          `^<${priority}>\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(Z|[+-]\\d{2}:\\d{2}) testhost dnatsd\\[4321\\]: `,
        ),
      );
      assert.ok(datagram.endsWith("\n"));
    }
    assert.deepEqual(errors, []);
  } finally {
    log.close();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  }
});

Deno.test("remote syslog over UDP: debug and trace off send nothing", async () => {
  const receiver = createSocket("udp4");
  const received: string[] = [];
  receiver.on("message", (msg) => received.push(new TextDecoder().decode(msg)));
  await new Promise<void>((resolve) => receiver.bind(0, "127.0.0.1", resolve));
  const log = createLogger({
    debug: false,
    trace: false,
    logtime: true,
    syslog: false,
    remoteSyslog: `udp://127.0.0.1:${receiver.address().port}`,
    logSizeLimit: 0,
    logMaxFiles: 0,
    pid: 11,
  });
  try {
    assert.equal(log.debugEnabled, false);
    assert.equal(log.traceEnabled, false);
    log.debug("no");
    log.trace("no");
    log.notice("last");
    await waitFor(() => received.length >= 1, "the notice");
    // Datagrams on loopback keep their order: had debug/trace been sent, they came first.
    assert.equal(received.length, 1);
    assert.match(received[0] ?? "", /dnatsd\[11\]: last\n$/);
  } finally {
    log.close();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  }
});

Deno.test("remote syslog over TCP: newline-framed messages on one connection", async () => {
  let data = "";
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.on("data", (chunk) => data += chunk.toString());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === "object");
  const log = openRemoteSyslog(`tcp://127.0.0.1:${address.port}`, {
    debug: true,
    trace: true,
    pid: 5,
    hostname: "h",
  });
  try {
    logEveryLevel(log);
    await waitFor(() => data.split("\n").length > 6, "6 lines over TCP");
    const lines = data.trimEnd().split("\n");
    assert.equal(lines.length, 6);
    lines.forEach((line, i) => {
      const [priority, text] = EXPECTED_PRIORITIES_AND_TEXT[i] ?? [];
      assert.ok(line.startsWith(`<${priority}>`), line);
      assert.ok(line.endsWith(` h dnatsd[5]: ${text}`), line);
    });
    assert.equal(connections, 1);
  } finally {
    log.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

Deno.test("remote syslog over TCP: refused connection is reported once", async () => {
  // Find a port nobody listens on: bind, note it, close.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const address = probe.address();
  assert.ok(address !== null && typeof address === "object");
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const errors: string[] = [];
  const log = openRemoteSyslog(`tcp://127.0.0.1:${address.port}`, {
    debug: false,
    trace: false,
    onTransportError: (m) => errors.push(m),
  });
  try {
    log.notice("lost 1");
    await waitFor(() => errors.length > 0, "the error report");
    log.notice("lost 2");
    log.notice("lost 3");
    assert.equal(errors.length, 1);
    assert.match(errors[0] ?? "", /Remote syslog 127\.0\.0\.1:\d+: .*dropped until it recovers/);
  } finally {
    log.close();
  }
});

/**
 * A Unix datagram receiver in a child Deno with --unstable-net (the only way Deno
 * binds one without FFI): an independent check of what our FFI sender puts on the
 * wire. Prints READY, then each datagram as a JSON string on its own line.
 */
async function withUnixReceiver(
  fn: (socketPath: string, received: string[]) => Promise<void>,
): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "dnl" });
  const socketPath = join(dir, "log.sock");
  const script = join(dir, "receiver.ts");
  Deno.writeTextFileSync(
    script,
    `const conn = Deno.listenDatagram({ transport: "unixpacket", path: Deno.args[0] });
console.log("READY");
const dec = new TextDecoder();
for await (const [data] of conn) console.log(JSON.stringify(dec.decode(data)));
`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--unstable-net", "-A", "--no-check", script, socketPath],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const received: string[] = [];
  let ready = false;
  const reading = (async () => {
    let buffered = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line === "READY") ready = true;
        else received.push(JSON.parse(line));
      }
    }
  })();
  try {
    await waitFor(() => ready, "the unix datagram receiver", 15_000);
    await fn(socketPath, received);
  } finally {
    child.kill();
    await child.status;
    await reading;
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test(
  "local syslog: datagrams to the socket with the local header",
  { ignore: !UNIX },
  async () => {
    await withUnixReceiver(async (socketPath, received) => {
      const errors: string[] = [];
      const log = openLocalSyslog({
        debug: true,
        trace: true,
        pid: 999,
        socketPaths: ["/nonexistent/first.sock", socketPath],
        onTransportError: (m) => errors.push(m),
      });
      try {
        logEveryLevel(log);
        await waitFor(() => received.length >= 6, "6 datagrams");
        received.forEach((datagram, i) => {
          const [priority, text] = EXPECTED_PRIORITIES_AND_TEXT[i] ?? [];
          assert.match(
            datagram,
            new RegExp(
              `^<${priority}>[A-Z][a-z]{2} [ \\d]\\d \\d{2}:\\d{2}:\\d{2} dnatsd\\[999\\]: `,
            ),
          );
          assert.ok(datagram.endsWith(`: ${text}\n`), datagram);
        });
        assert.deepEqual(errors, []);
      } finally {
        log.close();
      }
    });
  },
);

Deno.test("remote syslog unix:// URL uses the datagram sender", { ignore: !UNIX }, async () => {
  await withUnixReceiver(async (socketPath, received) => {
    const log = openRemoteSyslog(`unix://${socketPath}`, { debug: false, trace: false, pid: 1 });
    try {
      log.error("over unix");
      await waitFor(() => received.length >= 1, "1 datagram");
      assert.match(received[0] ?? "", /^<27>.* dnatsd\[1\]: over unix\n$/);
    } finally {
      log.close();
    }
  });
});

Deno.test(
  "local syslog: a receiver that went away is reported once",
  { ignore: !UNIX },
  async () => {
    const errors: string[] = [];
    let log: SyslogLogger | undefined;
    await withUnixReceiver((socketPath) => {
      log = openLocalSyslog({
        debug: false,
        trace: false,
        socketPaths: [socketPath],
        onTransportError: (m) => errors.push(m),
      });
      return Promise.resolve();
    });
    // The receiver is gone and its socket file deleted.
    try {
      log?.notice("dropped 1");
      log?.notice("dropped 2");
      assert.equal(errors.length, 1);
      assert.match(errors[0] ?? "", /Unable to send to syslog socket .* \(errno \d+\)/);
    } finally {
      log?.close();
    }
  },
);

Deno.test("openLocalSyslog() without a socket throws SyslogUnavailableError", () => {
  const dir = Deno.makeTempDirSync();
  try {
    // A regular file is not a socket either.
    const notSocket = join(dir, "log");
    Deno.writeTextFileSync(notSocket, "");
    assert.throws(
      () =>
        openLocalSyslog({
          debug: false,
          trace: false,
          socketPaths: ["/nonexistent/log", notSocket],
        }),
      (err: unknown) =>
        err instanceof SyslogUnavailableError &&
        err.message === `No syslog socket found (tried /nonexistent/log, ${notSocket})`,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
