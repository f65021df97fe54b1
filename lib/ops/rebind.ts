/**
 * Binding a listener on the port another listener just released (config
 * reload turning TLS on or off). The runtime frees a closed listener's socket
 * only once its pending accept has been cancelled, a turn or two of the event
 * loop later, so an immediate bind can still see the port in use.
 *
 * @module
 */

/** Attempts after the first, and the pause before each (ms, growing). */
const RETRIES = 5;
const PAUSE_MS = 20;

/**
 * Runs `bind`, trying again a few times (about 300 ms in all) while the port
 * is still reported in use.
 *
 * @param bind Binds the listener; throws when it cannot.
 * @returns What `bind` returned.
 * @throws {Error} The last error, when the port stays taken or another error occurs.
 */
export async function bindReleasedPort<T>(bind: () => Promise<T> | T): Promise<T> {
  for (let attempt = 0;; attempt++) {
    try {
      return await bind();
    } catch (e) {
      if (attempt >= RETRIES || !addressInUse(e)) throw e;
      await new Promise((r) => setTimeout(r, PAUSE_MS * (attempt + 1)));
    }
  }
}

function addressInUse(e: unknown): boolean {
  if (e instanceof Deno.errors.AddrInUse) return true;
  if ((e as { code?: unknown } | null)?.code === "EADDRINUSE") return true;
  // The client listener words its bind failure as nats-server; the cause is the runtime's.
  const cause = (e as { cause?: unknown } | null)?.cause;
  return cause !== undefined && cause !== e && addressInUse(cause);
}
