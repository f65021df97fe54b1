/**
 * The shared accept loop against a listener whose accept() fails as the
 * kernel makes Deno's fail: per-connection errors are skipped at once,
 * resource errors back off 10 ms doubling to 1 s with nats-server's log line,
 * and closing the handle ends the loop even during a pause.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { acceptLoop, classifyAcceptError, goAcceptError } from "./accept_loop.ts";
import { MemoryLogger } from "../ops/logger.ts";

function osError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

const EMFILE = () => osError("Too many open files (os error 24)", "EMFILE");
const ENOTCONN = () =>
  Object.assign(
    new Deno.errors.NotConnected("Transport endpoint is not connected (os error 107)"),
    {
      code: "ENOTCONN",
    },
  );

/** A listener that plays `script` (errors or connections), then waits until closed. */
function scripted(script: (Error | "conn")[]): Deno.Listener & { calls: number[] } {
  let closed = false;
  let release: (() => void) | null = null;
  const calls: number[] = [];
  const listener = {
    addr: { transport: "tcp", hostname: "127.0.0.1", port: 4222 } as Deno.NetAddr,
    calls,
    accept(): Promise<Deno.Conn> {
      calls.push(performance.now());
      if (closed) return Promise.reject(new Deno.errors.BadResource("Listener has been closed"));
      const next = script.shift();
      if (next === undefined) {
        return new Promise((_, reject) => {
          release = () => reject(new Deno.errors.BadResource("Listener has been closed"));
        });
      }
      if (next === "conn") return Promise.resolve({ close() {} } as unknown as Deno.Conn);
      return Promise.reject(next);
    },
    close() {
      closed = true;
      release?.();
    },
  };
  return listener as unknown as Deno.Listener & { calls: number[] };
}

Deno.test("accept loop: a connection reset before accept is skipped at once, at debug level", async () => {
  const log = new MemoryLogger({ debug: true });
  const listener = scripted([ENOTCONN(), ENOTCONN(), "conn", ENOTCONN(), "conn"]);
  let accepted = 0;
  const loop = acceptLoop(listener, { name: "Client", log: () => log, accepted: () => accepted++ });
  const deadline = Date.now() + 2000;
  while (accepted < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  equal(accepted, 2);
  loop.close();
  await loop.done;
  equal(log.lines.filter((l) => l.startsWith("[ERR]")).length, 0, log.lines.join("\n"));
  equal(log.lines.filter((l) => /^\[DBG\] Client Accept error: /.test(l)).length, 3);
  ok(log.lines.includes("[DBG] Client accept loop exiting.."));
});

Deno.test("accept loop: EMFILE backs off 10, 20, 40 ms with nats-server's line, then resets", async () => {
  const log = new MemoryLogger({ debug: true });
  const listener = scripted([EMFILE(), EMFILE(), EMFILE(), "conn", EMFILE()]);
  let accepted = 0;
  const loop = acceptLoop(listener, { name: "Client", log: () => log, accepted: () => accepted++ });
  const deadline = Date.now() + 3000;
  while (listener.calls.length < 6 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
  loop.close();
  await loop.done;
  equal(accepted, 1);
  const temp = log.lines.filter((l) => l.startsWith("[ERR] Temporary"));
  deepEqual(temp, [
    "[ERR] Temporary Client Accept Error(accept tcp 127.0.0.1:4222: accept4: too many open files), sleeping 10ms",
    "[ERR] Temporary Client Accept Error(accept tcp 127.0.0.1:4222: accept4: too many open files), sleeping 20ms",
    "[ERR] Temporary Client Accept Error(accept tcp 127.0.0.1:4222: accept4: too many open files), sleeping 40ms",
    // A successful accept starts the pause again from 10 ms.
    "[ERR] Temporary Client Accept Error(accept tcp 127.0.0.1:4222: accept4: too many open files), sleeping 10ms",
  ]);
  // The pauses really happened (generous lower bounds: timers never fire early).
  const gaps = listener.calls.slice(1, 4).map((t, i) => t - listener.calls[i]);
  ok(gaps[0] >= 9 && gaps[1] >= 19 && gaps[2] >= 39, `gaps ${gaps.map((g) => g.toFixed(1))}`);
});

Deno.test("accept loop: the pause stops at 1 s and close() ends a pause at once", async () => {
  const log = new MemoryLogger();
  const listener = scripted(Array.from({ length: 10 }, EMFILE));
  const loop = acceptLoop(listener, { name: "Route", log: () => log, accepted: () => {} });
  // 10+20+...+640 = 1270 ms, then a 1000 ms pause begins.
  const deadline = Date.now() + 6000;
  while (!log.lines.some((l) => l.endsWith("sleeping 1000ms")) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const sleeps = log.lines.map((l) => Number(/sleeping (\d+)ms$/.exec(l)?.[1]));
  deepEqual(sleeps, [10, 20, 40, 80, 160, 320, 640, 1000]);
  const t0 = performance.now();
  loop.close();
  await loop.done;
  ok(performance.now() - t0 < 200, `close took ${(performance.now() - t0).toFixed(0)} ms`);
});

Deno.test("accept loop: a handler that throws closes that connection and the loop goes on", async () => {
  const log = new MemoryLogger();
  const listener = scripted(["conn", "conn"]);
  let calls = 0;
  const loop = acceptLoop(listener, {
    name: "Client",
    log: () => log,
    accepted: () => {
      if (calls++ === 0) throw new Error("boom");
    },
  });
  const deadline = Date.now() + 2000;
  while (calls < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  loop.close();
  await loop.done;
  equal(calls, 2);
  deepEqual(log.lines, ["[ERR] Client connection not created: boom"]);
});

Deno.test("accept loop: errors are sorted as Go sorts them", () => {
  equal(classifyAcceptError(ENOTCONN()), "connection");
  equal(classifyAcceptError(new Deno.errors.ConnectionReset("reset")), "connection");
  equal(classifyAcceptError(EMFILE()), "resource");
  equal(classifyAcceptError(osError("Too many open files in system", "ENFILE")), "resource");
  equal(classifyAcceptError(new Deno.errors.BadResource("Listener has been closed")), "closed");
  equal(classifyAcceptError(new Error("something else")), "other");
  equal(
    goAcceptError(EMFILE(), "[::]:4222"),
    "accept tcp [::]:4222: accept4: too many open files",
  );
});
