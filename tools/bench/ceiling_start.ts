/**
 * How the bench's minimal ceiling servers (tools/bench/sub_ceiling.ts,
 * tools/bench/rr_ceiling.ts) start: as dnatsd does (main.ts), with the same
 * V8 young-generation cap (lib/ops/heap_flags.ts) and
 * `DENO_TOKIO_EVENT_INTERVAL=1` (lib/ops/event_interval.ts), through the same
 * re-execution at start (lib/ops/sigusr1_mask.ts), so that what they cost is
 * what the runtime costs dnatsd. They take `-a <host> -p <port>` and ignore
 * other flags, so the bench starts them like a server. Both also read their
 * connections with the same loop ({@link readUntilClosed}).
 *
 * @module
 */
import { applyEventInterval } from "../../lib/ops/event_interval.ts";
import { applyHeapDefaults } from "../../lib/ops/heap_flags.ts";
import { maskSigusr1 } from "../../lib/ops/sigusr1_mask.ts";

/** Applies dnatsd's runtime settings, listens on `-a`/`-p` and hands every connection to `serve`. */
export async function startLikeDnatsd(serve: (conn: Deno.TcpConn) => unknown): Promise<void> {
  applyHeapDefaults();
  applyEventInterval();
  maskSigusr1();
  const args = Deno.args;
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const listener = Deno.listen({
    hostname: flag("-a") ?? "127.0.0.1",
    port: Number(flag("-p") ?? 4222),
  });
  for await (const conn of listener) {
    conn.setNoDelay(true);
    serve(conn);
  }
}

/**
 * Writes `info`, then reads `conn` until it ends into one buffer (starting at
 * `size` bytes, doubled when an unfinished line fills it) and closes it.
 * After each read, `handle(buf, len)` gets what the last call left unconsumed
 * followed by the new bytes, `buf[0..len)`, and returns how many bytes from
 * the start it consumed, or a promise of that count when it must wait first
 * (a write): only then does the loop await before the next read. The rest is
 * kept for the next call. `onEnd` runs once the connection is done.
 */
export async function readUntilClosed(
  conn: Deno.Conn,
  info: Uint8Array,
  size: number,
  handle: (buf: Uint8Array, len: number) => number | Promise<number>,
  onEnd?: () => void,
): Promise<void> {
  let buf = new Uint8Array(size);
  /** Bytes left unconsumed by the last call, kept at the start of `buf`. */
  let kept = 0;
  try {
    await conn.write(info);
    for (;;) {
      if (kept === buf.length) {
        const bigger = new Uint8Array(buf.length * 2);
        bigger.set(buf);
        buf = bigger;
      }
      const n = await conn.read(buf.subarray(kept));
      if (n === null) return;
      const len = kept + n;
      let consumed = handle(buf, len);
      if (typeof consumed !== "number") consumed = await consumed;
      buf.copyWithin(0, consumed, len);
      kept = len - consumed;
    }
  } catch {
    // the peer went away
  } finally {
    onEnd?.();
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}
