import assert from "node:assert/strict";
import { join } from "node:path";
import {
  createLogger,
  FileLogger,
  formatLogLine,
  formatLogTime,
  LOG_FILE_MODE,
  type LoggerConfig,
  LogLevel,
  MemoryLogger,
  preciseNow,
  rotatedLogName,
  StderrLogger,
} from "./logger.ts";
import { SyslogLogger } from "./syslog.ts";

const BASE_CONFIG: LoggerConfig = {
  debug: false,
  trace: false,
  logtime: false,
  syslog: false,
  logSizeLimit: 0,
  logMaxFiles: 0,
  pid: 4242,
};

// 2026-11-23 10:00:00.123 local time, plus 456789 ns below the millisecond.
const FIXED_TIME = {
  epochMs: new Date(2026, 10, 23, 10, 0, 0, 123).getTime(),
  nanosOfSecond: 123_456_789,
};

function readLines(path: string): string[] {
  const text = Deno.readTextFileSync(path);
  return text === "" ? [] : text.replace(/\n$/, "").split("\n");
}

/** Runs a script that imports logger.ts and returns its stderr. */
async function runScript(body: string): Promise<{ stderr: string; code: number }> {
  const dir = Deno.makeTempDirSync();
  try {
    const script = join(dir, "script.ts");
    const loggerUrl = new URL("./logger.ts", import.meta.url).href;
    Deno.writeTextFileSync(script, `import * as L from ${JSON.stringify(loggerUrl)};\n${body}\n`);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", script],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    return { stderr: new TextDecoder().decode(out.stderr), code: out.code };
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("formatLogLine() with time: pid, local date, microseconds, label", () => {
  const line = formatLogLine(LogLevel.Notice, "Starting nats-server", {
    pid: 4242,
    logtime: true,
    now: FIXED_TIME,
  });
  assert.equal(line, "[4242] 2026/11/23 10:00:00.123456 [INF] Starting nats-server");
});

Deno.test("formatLogLine() without time: pid and label only", () => {
  const opts = { pid: 7, logtime: false };
  assert.equal(formatLogLine(LogLevel.Notice, "a", opts), "[7] [INF] a");
  assert.equal(formatLogLine(LogLevel.Warn, "b", opts), "[7] [WRN] b");
  assert.equal(formatLogLine(LogLevel.Error, "c", opts), "[7] [ERR] c");
  assert.equal(formatLogLine(LogLevel.Fatal, "d", opts), "[7] [FTL] d");
  assert.equal(formatLogLine(LogLevel.Debug, "e", opts), "[7] [DBG] e");
  assert.equal(formatLogLine(LogLevel.Trace, "f", opts), "[7] [TRC] f");
});

Deno.test("formatLogLine() colours labels like nats-server on a terminal", () => {
  const opts = { pid: 1, logtime: false, colors: true };
  assert.equal(formatLogLine(LogLevel.Notice, "x", opts), "[1] [\x1b[32mINF\x1b[0m] x");
  assert.equal(formatLogLine(LogLevel.Warn, "x", opts), "[1] [\x1b[0;93mWRN\x1b[0m] x");
  assert.equal(formatLogLine(LogLevel.Debug, "x", opts), "[1] [\x1b[36mDBG\x1b[0m] x");
  assert.equal(formatLogLine(LogLevel.Trace, "x", opts), "[1] [\x1b[33mTRC\x1b[0m] x");
});

Deno.test("formatLogTime() pads every field", () => {
  const time = { epochMs: new Date(2027, 0, 2, 3, 4, 5, 6).getTime(), nanosOfSecond: 6_000_999 };
  assert.equal(formatLogTime(time), "2027/01/02 03:04:05.006000");
  // The cached date part must follow a change of second.
  const next = { epochMs: time.epochMs + 1000, nanosOfSecond: 999_999_999 };
  assert.equal(formatLogTime(next), "2027/01/02 03:04:06.999999");
});

Deno.test("preciseNow() follows the wall clock with sub-millisecond digits", () => {
  for (let i = 0; i < 1000; i++) {
    const before = Date.now();
    const now = preciseNow();
    const after = Date.now();
    assert.ok(now.epochMs >= before && now.epochMs <= after, `${now.epochMs} ${before}`);
    assert.equal(Math.floor(now.nanosOfSecond / 1e6), now.epochMs % 1000);
    assert.ok(now.nanosOfSecond >= 0 && now.nanosOfSecond < 1e9);
  }
});

Deno.test("rotatedLogName() is <file>.YYYY.MM.DD.hh.mm.ss.nnnnnnnnn", () => {
  assert.equal(rotatedLogName("/x/d.log", FIXED_TIME), "/x/d.log.2026.11.23.10.00.00.123456789");
  const early = { epochMs: new Date(2026, 0, 1, 0, 0, 0, 0).getTime(), nanosOfSecond: 5 };
  assert.equal(rotatedLogName("d.log", early), "d.log.2026.01.01.00.00.00.000000005");
});

Deno.test("FileLogger gates debug and trace and says so", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = join(dir, "d.log");
    const quiet = new FileLogger(path, { debug: false, trace: false, logtime: false, pid: 1 });
    assert.equal(quiet.debugEnabled, false);
    assert.equal(quiet.traceEnabled, false);
    quiet.debug("no debug");
    quiet.trace("no trace");
    quiet.notice("n");
    quiet.warn("w");
    quiet.error("e");
    quiet.fatal("f");
    quiet.close();
    assert.deepEqual(readLines(path), ["[1] [INF] n", "[1] [WRN] w", "[1] [ERR] e", "[1] [FTL] f"]);

    const loud = new FileLogger(path, { debug: true, trace: true, logtime: false, pid: 1 });
    assert.equal(loud.debugEnabled, true);
    assert.equal(loud.traceEnabled, true);
    loud.debug("d");
    loud.trace("t");
    loud.close();
    assert.deepEqual(readLines(path).slice(4), ["[1] [DBG] d", "[1] [TRC] t"]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("FileLogger writes timestamps and appends to an existing file", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = join(dir, "d.log");
    Deno.writeTextFileSync(path, "old line\n");
    const log = new FileLogger(path, { debug: false, trace: false, logtime: true, pid: 99 });
    log.notice("hello");
    log.close();
    const lines = readLines(path);
    assert.equal(lines[0], "old line");
    assert.match(
      lines[1] ?? "",
      /^\[99\] \d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}\.\d{6} \[INF\] hello$/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("FileLogger creates the file with at most mode 0660", {
  ignore: Deno.build.os === "windows",
}, () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = join(dir, "d.log");
    const log = new FileLogger(path, { debug: false, trace: false, logtime: false });
    log.close();
    const mode = (Deno.statSync(path).mode ?? 0) & 0o777;
    assert.equal(mode & ~LOG_FILE_MODE, 0, mode.toString(8));
    assert.equal(mode & 0o600, 0o600, mode.toString(8));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("FileLogger.reopen() after the file was moved: nothing lost, nothing doubled", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = join(dir, "d.log");
    const moved = join(dir, "d.log.1");
    const log = new FileLogger(path, { debug: false, trace: false, logtime: false, pid: 5 });
    log.notice("one");
    log.notice("two");
    Deno.renameSync(path, moved);
    // Until reopen the logger keeps writing to the moved file, as with nats-server.
    log.notice("three");
    log.reopen();
    log.notice("four");
    log.warn("five");
    log.close();
    assert.deepEqual(readLines(moved), ["[5] [INF] one", "[5] [INF] two", "[5] [INF] three"]);
    assert.deepEqual(readLines(path), ["[5] [INF] four", "[5] [WRN] five"]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("FileLogger.reopen() failing keeps the old file", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const sub = join(dir, "sub");
    Deno.mkdirSync(sub);
    const path = join(sub, "d.log");
    const log = new FileLogger(path, { debug: false, trace: false, logtime: false, pid: 5 });
    log.notice("before");
    Deno.renameSync(sub, join(dir, "gone"));
    assert.throws(() => log.reopen(), Deno.errors.NotFound);
    log.notice("after");
    log.close();
    assert.deepEqual(readLines(join(dir, "gone", "d.log")), [
      "[5] [INF] before",
      "[5] [INF] after",
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

function backupsOf(dir: string, base: string): string[] {
  return [...Deno.readDirSync(dir)]
    .map((e) => e.name)
    .filter((n) => n.startsWith(base + "."))
    .sort();
}

Deno.test("FileLogger rotates past the size limit and keeps every line once", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = join(dir, "d.log");
    const log = new FileLogger(path, {
      debug: false,
      trace: false,
      logtime: false,
      pid: 3,
      sizeLimit: 100,
    });
    const expected: string[] = [];
    for (let i = 0; i < 40; i++) {
      const msg = `message number ${String(i).padStart(2, "0")}`;
      expected.push(`[3] [INF] ${msg}`);
      log.notice(msg);
    }
    log.close();
    const backups = backupsOf(dir, "d.log");
    assert.ok(backups.length >= 10, `only ${backups.length} backups`);
    for (const name of backups) assert.match(name, /^d\.log\.\d{4}(\.\d{2}){5}\.\d{9}$/);

    // Each new file starts by naming the backup it follows; backups are in order.
    const files = [...backups.map((b) => join(dir, b)), path];
    const seen: string[] = [];
    for (let i = 0; i < files.length; i++) {
      const lines = readLines(files[i] ?? "");
      if (i > 0) {
        assert.equal(
          lines[0],
          `[3] [INF] Rotated log, backup saved as ${JSON.stringify(files[i - 1])}`,
        );
        lines.shift();
      }
      // A backup holds the line that took it past the limit, and nothing after.
      if (i < files.length - 1) {
        const size = Deno.statSync(files[i] ?? "").size;
        const lastLine = (lines.at(-1)?.length ?? 0) + 1;
        assert.ok(size > 100 && size - lastLine <= 100, `size ${size}`);
      }
      seen.push(...lines);
    }
    assert.deepEqual(seen, expected);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("FileLogger keeps only the newest logMaxFiles backups", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = join(dir, "d.log");
    // A file that only looks similar must survive the purge.
    Deno.writeTextFileSync(join(dir, "d.log.keep-me"), "x");
    const log = createLogger({
      ...BASE_CONFIG,
      pid: 3,
      logFile: path,
      // Above the length of a "Rotated log" line, so each file holds a few lines.
      logSizeLimit: 200,
      logMaxFiles: 2,
    });
    assert.ok(log instanceof FileLogger);
    const expected: string[] = [];
    for (let i = 0; i < 60; i++) {
      expected.push(`[3] [INF] line ${i}`);
      log.notice(`line ${i}`);
    }
    log.close();
    const backups = backupsOf(dir, "d.log").filter((n) => n !== "d.log.keep-me");
    assert.equal(backups.length, 2, backups.join());
    assert.ok(Deno.statSync(join(dir, "d.log.keep-me")).isFile);
    // The survivors are the newest: together with the live file they end the log.
    const tail = [...backups.map((b) => join(dir, b)), path]
      .flatMap((f) => readLines(f))
      .filter((l) => !l.includes("Rotated log"));
    assert.deepEqual(tail, expected.slice(expected.length - tail.length));
    assert.ok(tail.length >= 3);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("FileLogger rotates at once when an existing file already passed the limit", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = join(dir, "d.log");
    Deno.writeTextFileSync(path, "x".repeat(500) + "\n");
    const log = new FileLogger(path, {
      debug: false,
      trace: false,
      logtime: false,
      pid: 1,
      sizeLimit: 300,
    });
    log.notice("first");
    log.notice("second");
    log.close();
    const [backup] = backupsOf(dir, "d.log");
    assert.ok(backup);
    assert.deepEqual(readLines(join(dir, backup)).slice(1), ["[1] [INF] first"]);
    assert.deepEqual(readLines(path), [
      `[1] [INF] Rotated log, backup saved as ${JSON.stringify(join(dir, backup))}`,
      "[1] [INF] second",
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("trace() redacts CONNECT credentials", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = join(dir, "d.log");
    const log = new FileLogger(path, { debug: false, trace: true, logtime: false, pid: 1 });
    log.trace('127.0.0.1:5 - cid:1 - <<- [CONNECT {"user":"u","pass":"pw","auth_token":"t"}]');
    log.trace('<<- [PUB a 5] "pass":"not a connect"');
    log.close();
    assert.deepEqual(readLines(path), [
      '[1] [TRC] 127.0.0.1:5 - cid:1 - <<- [CONNECT {"user":"u","pass":"[REDACTED]","auth_token":"[REDACTED]"}]',
      '[1] [TRC] <<- [PUB a 5] "pass":"not a connect"',
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("createLogger() picks file, remote syslog, or stderr", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const file = createLogger({
      ...BASE_CONFIG,
      logFile: join(dir, "d.log"),
      remoteSyslog: "udp://127.0.0.1:9",
    });
    assert.ok(file instanceof FileLogger);
    file.close();
    const remote = createLogger({
      ...BASE_CONFIG,
      remoteSyslog: "udp://127.0.0.1:9",
      syslog: true,
    });
    assert.ok(remote instanceof SyslogLogger);
    remote.close();
    const stderr = createLogger({ ...BASE_CONFIG, debug: true });
    assert.ok(stderr instanceof StderrLogger);
    assert.equal(stderr.debugEnabled, true);
    assert.equal(stderr.traceEnabled, false);
    stderr.close();
    assert.throws(() => createLogger({ ...BASE_CONFIG, remoteSyslog: "http://x" }), TypeError);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("StderrLogger writes formatted lines to stderr, synchronously before exit", async () => {
  const { stderr, code } = await runScript(`
    const log = L.createLogger({ debug: true, trace: false, logtime: false, syslog: false,
      logSizeLimit: 0, logMaxFiles: 0, pid: 777, colors: false });
    log.notice("Starting nats-server");
    log.debug("shown");
    log.trace("hidden");
    log.error("bye");
    Deno.exit(3);
  `);
  assert.equal(code, 3);
  assert.equal(stderr, "[777] [INF] Starting nats-server\n[777] [DBG] shown\n[777] [ERR] bye\n");
});

Deno.test("StderrLogger with logtime: nats-server's time format", async () => {
  const { stderr } = await runScript(`
    const log = new L.StderrLogger({ debug: false, trace: false, logtime: true, pid: 12 }, false);
    log.warn("careful");
  `);
  assert.match(stderr, /^\[12\] \d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}\.\d{6} \[WRN\] careful\n$/);
});

Deno.test("createLogger() falls back to stderr with one warning when syslog is absent", async () => {
  const { stderr } = await runScript(`
    const log = L.createLogger({ debug: false, trace: false, logtime: false, syslog: true,
      logSizeLimit: 0, logMaxFiles: 0, pid: 8, colors: false,
      syslogSocketPaths: ["/nonexistent/dnatsd-test.sock"] });
    log.notice("still logged");
    log.notice("again");
  `);
  assert.equal(
    stderr,
    "[8] [WRN] No syslog socket found (tried /nonexistent/dnatsd-test.sock): " +
      "logging to stderr instead\n[8] [INF] still logged\n[8] [INF] again\n",
  );
});

Deno.test("FileLogger.close(): later lines go to stderr rather than being lost", async () => {
  const { stderr } = await runScript(`
    const path = Deno.makeTempFileSync();
    const log = new L.FileLogger(path, { debug: false, trace: false, logtime: false, pid: 9 });
    log.notice("in file");
    log.close();
    log.notice("after close");
    Deno.removeSync(path);
  `);
  assert.equal(stderr, "[9] [INF] after close\n");
});

Deno.test(
  "FileLogger: a failing write goes to stderr, reported once",
  { ignore: Deno.build.os !== "linux" },
  async () => {
    // Writes to /dev/full fail with ENOSPC, like a full disk.
    const { stderr } = await runScript(`
      const log = new L.FileLogger("/dev/full", { debug: false, trace: false, logtime: false, pid: 6 });
      log.notice("one");
      log.notice("two");
      log.close();
    `);
    const lines = stderr.trimEnd().split("\n");
    assert.equal(lines.length, 3, stderr);
    assert.match(lines[0] ?? "", /^\[6\] \[ERR\] Unable to write log file "\/dev\/full": /);
    assert.deepEqual(lines.slice(1), ["[6] [INF] one", "[6] [INF] two"]);
  },
);

Deno.test("MemoryLogger records labelled lines and honours its flags", () => {
  const log = new MemoryLogger();
  log.notice("n");
  log.debug("d0");
  log.trace("t0");
  log.debugEnabled = true;
  log.traceEnabled = true;
  log.warn("w");
  log.error("e");
  log.fatal("f");
  log.debug("d1");
  log.trace('CONNECT {"pass":"pw"}');
  assert.deepEqual(log.lines, [
    "[INF] n",
    "[WRN] w",
    "[ERR] e",
    "[FTL] f",
    "[DBG] d1",
    '[TRC] CONNECT {"pass":"[REDACTED]"}',
  ]);
  assert.deepEqual(log.find("[ERR]"), ["[ERR] e"]);
  assert.deepEqual(log.find(/^\[(DBG|FTL)\]/), ["[FTL] f", "[DBG] d1"]);
  log.reopen();
  log.close();
  assert.equal(log.reopenCount, 1);
  assert.equal(log.closed, true);
  log.clear();
  assert.deepEqual(log.lines, []);
  assert.equal(new MemoryLogger({ debug: true }).debugEnabled, true);
});

Deno.test("preciseNow() has real microsecond digits from the first line, not padded milliseconds", async () => {
  // A fresh process each time: the start-up lines are the ones that came out as .xxx000.
  const url = new URL("./logger.ts", import.meta.url).href;
  const code = `import { preciseNow } from "${url}";
    let padded = 0;
    for (let i = 0; i < 30; i++) {
      if (Math.floor(preciseNow().nanosOfSecond / 1000) % 1000 === 0) padded++;
      await new Promise((r) => setTimeout(r, 1));
    }
    console.log(padded);`;
  let padded = 0;
  for (let run = 0; run < 3; run++) {
    const out = await new Deno.Command(Deno.execPath(), { args: ["eval", code], stderr: "inherit" })
      .output();
    assert.ok(out.success);
    padded += Number(new TextDecoder().decode(out.stdout).trim());
  }
  // A real timestamp ends in 000 one time in a thousand: 90 samples allow 2 by chance.
  assert.ok(padded <= 2, `${padded} of 90 timestamps end in 000`);
});
