import { equal, ok } from "node:assert/strict";
import {
  DenoTransport,
  noteRead,
  READ_TURN_BUDGET,
  resetTurnBookkeeping,
  turnWaits,
} from "./transport.ts";

/**
 * Counts zero-delay timers, the idle wait `nextTurn()` takes when a
 * connection owes the others a turn (two connections are open in these tests).
 */
function countZeroTimers(): { count: () => number; restore: () => void } {
  const original = globalThis.setTimeout;
  let zero = 0;
  globalThis.setTimeout = ((fn: () => void, ms?: number) => {
    if (ms === 0) zero++;
    return original(fn, ms);
  }) as typeof setTimeout;
  return { count: () => zero, restore: () => void (globalThis.setTimeout = original) };
}

/** A loopback pair: the server side under a DenoTransport, the client side raw. */
async function pair(): Promise<{ client: Deno.TcpConn; server: Deno.TcpConn }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const [client, server] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port }),
    listener.accept(),
  ]);
  listener.close();
  return { client, server: server as Deno.TcpConn };
}

/**
 * A loopback pair for the transport under test, and a second connection open
 * under an idle DenoTransport, so that nextTurn() has someone to be fair to.
 */
async function pairWithIdleNeighbour(): Promise<
  { a: { client: Deno.TcpConn; server: Deno.TcpConn }; close: () => void }
> {
  const a = await pair();
  const b = await pair();
  const idle = new DenoTransport(b.server);
  idle.start(() => {}, () => {});
  return {
    a,
    close: () => {
      idle.close();
      a.client.close();
      b.client.close();
    },
  };
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

Deno.test("transport: request/reply traffic past the read budget takes no idle wait", async () => {
  const { a, close } = await pairWithIdleNeighbour();
  const t = new DenoTransport(a.server);
  let got = 0;
  let wake: (() => void) | null = null;
  t.start((chunk) => {
    got += chunk.length;
    wake?.();
  }, () => {});
  const timers = countZeroTimers();
  try {
    // 48 B per request, each read waiting for the next: twice the budget in all.
    const request = new Uint8Array(48);
    const rounds = Math.ceil((2 * READ_TURN_BUDGET) / request.length);
    for (let i = 1; i <= rounds; i++) {
      const arrived = new Promise<void>((r) => wake = r);
      await writeAll(a.client, request);
      while (got < i * request.length) await arrived;
    }
    equal(got, rounds * request.length);
    equal(timers.count(), 0, "an idle wait was taken though every read waited for the loop");
  } finally {
    timers.restore();
    t.close();
    close();
  }
});

Deno.test("transport: a connection reading flat out still yields past the budget", async () => {
  // The rule under test: a connection that used up its read budget without
  // the event loop turning takes a turn, here an idle wait (a zero timer).
  // Writing everything before the reads start makes that likely, not certain:
  // the first read, or one that finds the socket drained while loopback still
  // moves the rest, waits for the loop, and then that budget owes nobody a
  // turn. So the test follows the transport's budget windows with its own
  // immediate, queued just before the transport's own marker at each window's
  // start, and counts an attempt only if some window saw no turn; attempts
  // are bounded.
  const attempts = 6;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const { a, close } = await pairWithIdleNeighbour();
    const t = new DenoTransport(a.server);
    const total = 4 * READ_TURN_BUDGET;
    let got = 0;
    let windowStart = 0;
    let loopTurned = false;
    const armTurnWatch = () => {
      loopTurned = false;
      setImmediate(() => loopTurned = true);
    };
    /** Whether some budget window ended with no turn of the loop in it. */
    let budgetWithoutTurn = false;
    let done: () => void = () => {};
    const all = new Promise<void>((r) => done = r);
    await writeAll(a.client, new Uint8Array(total));
    resetTurnBookkeeping();
    const timers = countZeroTimers();
    try {
      armTurnWatch();
      t.start((chunk) => {
        got += chunk.length;
        if (got - windowStart >= READ_TURN_BUDGET) {
          // The read loop ends this window right after this callback: it
          // yields if it saw no turn, then starts the next window. Ours is
          // armed first, so while it has not run, neither has the transport's.
          if (!loopTurned) budgetWithoutTurn = true;
          windowStart = got;
          armTurnWatch();
        }
        if (got >= total) done();
      }, () => {});
      await all;
      if (budgetWithoutTurn) {
        ok(timers.count() >= 1, "no idle wait after a read budget used up without a turn");
        return;
      }
    } finally {
      timers.restore();
      t.close();
      close();
    }
  }
  throw new Error(
    `the event loop turned within every read budget in all ${attempts} attempts; ` +
      "the rule was never exercised",
  );
});

// The turnWaits() tests below drive the module's bookkeeping with made-up
// times far after the real clock; each starts from a reset (as the read test
// above does), so none depends on what ran before it.
const base = Math.ceil(performance.now()) + 10_000_000;

/** Idle waits `transport` takes when it yields every ms from `from` to `to` (ms, inclusive). */
function waitsBetween(transport: object, from: number, to: number): number {
  let waits = 0;
  for (let t = from; t <= to; t++) if (turnWaits(transport, t)) waits++;
  return waits;
}

Deno.test("turnWaits: a new publisher's own first reads do not put it on the short interval", () => {
  resetTurnBookkeeping();
  const previous = {};
  const publisher = {};
  // An earlier flood that ended, then a new client's CONNECT and PING.
  noteRead(previous);
  turnWaits(previous, base + 1_000);
  noteRead(publisher);
  noteRead(publisher);
  // Nobody else talks for 200 ms: the long interval (80 ms) applies, so 3 waits, not 41.
  equal(waitsBetween(publisher, base + 2_000, base + 2_200), 3);
});

Deno.test("turnWaits: a bystander's read brings the short interval back", () => {
  resetTurnBookkeeping();
  const flood = {};
  const bystander = {};
  turnWaits(flood, base + 10_000);
  waitsBetween(flood, base + 10_001, base + 10_200);
  noteRead(bystander);
  // 5 ms interval for the 250 ms after the read was seen: 21 waits in 100 ms.
  equal(waitsBetween(flood, base + 10_300, base + 10_400), 21);
});

Deno.test("turnWaits: two floods taking turns count each other's reads", () => {
  resetTurnBookkeeping();
  const a = {};
  const b = {};
  turnWaits(a, base + 20_000);
  waitsBetween(a, base + 20_001, base + 20_400);
  let waits = 0;
  for (let t = base + 20_500; t <= base + 20_600; t++) {
    const who = (t - base) % 2 === 0 ? a : b;
    noteRead(who);
    if (turnWaits(who, t)) waits++;
  }
  equal(waits, 21);
});
