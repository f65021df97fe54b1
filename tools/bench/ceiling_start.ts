/**
 * How the bench's minimal ceiling servers (tools/bench/sub_ceiling.ts,
 * tools/bench/rr_ceiling.ts) start: as dnatsd does (main.ts), with the same
 * V8 young-generation cap (lib/ops/heap_flags.ts) and
 * `DENO_TOKIO_EVENT_INTERVAL=1` (lib/ops/event_interval.ts), through the same
 * re-execution at start (lib/ops/sigusr1_mask.ts), so that what they cost is
 * what the runtime costs dnatsd. They take `-a <host> -p <port>` and ignore
 * other flags, so the bench starts them like a server.
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
