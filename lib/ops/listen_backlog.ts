/**
 * The accept queue length every listener asks for.
 *
 * Deno and node:net listen with a queue of 511 unless told otherwise; Go's net
 * package (so nats-server) uses the kernel's `net.core.somaxconn` (4096 on
 * current Linux). The difference shows in a burst of connections: when the
 * queue is full and SYN cookies are in play, Linux drops the last ACK of the
 * handshake, the client believes it is connected and waits for an INFO that
 * never comes (10,000 connections opened at once left ~500 such clients).
 *
 * @module
 */

/** Go's fallback when somaxconn cannot be read, and the kernel's default. */
const FALLBACK = 4096;
/** The queue length field is 16 bits on older kernels; Go caps it there too. */
const CEILING = 65535;

const SOMAXCONN = "/proc/sys/net/core/somaxconn";

function readSomaxconn(): number {
  try {
    // Never prompt for the permission: without it, the fallback will do.
    if (Deno.permissions.querySync({ name: "read", path: SOMAXCONN }).state !== "granted") {
      return FALLBACK;
    }
    const n = Number(Deno.readTextFileSync(SOMAXCONN).trim());
    if (Number.isInteger(n) && n > 0) return Math.min(n, CEILING);
  } catch {
    // not Linux, or no read permission for /proc
  }
  return FALLBACK;
}

/** Backlog for `Deno.listen`/`Deno.serve` (`tcpBacklog`) and node's `listen()`. */
export const LISTEN_BACKLOG: number = readSomaxconn();
