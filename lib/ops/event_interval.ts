/**
 * How often the runtime looks for socket readiness while JavaScript always
 * has work: dnatsd runs with `DENO_TOKIO_EVENT_INTERVAL=1`.
 *
 * Why: Deno runs JavaScript's event loop as one task of a single-threaded
 * tokio scheduler, which polls the operating system for I/O readiness
 * (`epoll_wait`) when it runs out of tasks, or else only once every
 * "event interval" task polls (tokio's default: 61). While one client
 * publishes flat out the event loop never runs out of work: each turn
 * parses up to 64 KiB of the flood (`READ_TURN_BUDGET` in
 * lib/conn/transport.ts), so another client's request that arrived meanwhile
 * was noticed only every 61 turns (6-30 ms) or at the next idle wait of
 * `nextTurn()`. With an interval of 1 the scheduler looks after every turn,
 * an `epoll_wait` with a zero timeout (a few microseconds against a turn of
 * 100-500 µs). Measured (docs/performance.md, "Noticing other sockets"):
 * `deno task bench --only bystander` round-trip median 0.3-4.4 ms (over 1 ms
 * whenever the flood saturated the server) -> 0.3-1.1 ms, and twice as many
 * round trips in the same 5 s, the flood's rate within the noise; the first
 * PING after 300 ms of silence under a flood 10-23 ms -> 1.2-2.4 ms.
 *
 * The runtime reads the variable when it starts, so the setting travels
 * through the re-execution lib/ops/sigusr1_mask.ts does at start (same
 * environment), as lib/ops/heap_flags.ts does for V8. An operator's own value
 * wins; where the process is not re-executed (not Linux, no FFI) the
 * runtime's default stays.
 *
 * Imports only the import-free env_default.ts: main.ts loads it before the
 * rest of the server.
 *
 * @module
 */
import { applyEnvDefault } from "./env_default.ts";

/** The environment variable the Deno runtime reads at start. */
export const EVENT_INTERVAL_VAR = "DENO_TOKIO_EVENT_INTERVAL";

/** The value dnatsd sets unless the operator set one. */
export const EVENT_INTERVAL = "1";

/**
 * The value for {@link EVENT_INTERVAL_VAR}: the operator's, when set and not
 * empty, else {@link EVENT_INTERVAL}.
 *
 * @param current The variable's value, or undefined when unset.
 */
export function withEventInterval(current: string | undefined): string {
  if (current === undefined || current.trim() === "") return EVENT_INTERVAL;
  return current;
}

/** Puts {@link withEventInterval} into this process's environment (for the re-execution). */
export function applyEventInterval(): void {
  applyEnvDefault(EVENT_INTERVAL_VAR, withEventInterval);
}
