/**
 * Keeps a `node:net` server (the TLS client listener, route TLS, the HTTPS
 * monitor) accepting after the process ran out of file descriptors.
 *
 * Deno 2.9's native `node:net` listener stops accepting for good the first
 * time `accept` fails with EMFILE: no `error` event, no callback, the port
 * stays bound and connections pile up in the kernel's queue (measured: the
 * plain `net.createServer` in a process with `ulimit -n 40` never accepted
 * again once 60 connections had exhausted it). Calling `listen` on its handle
 * again re-arms it and is idempotent while it accepts (a million calls
 * changed neither the accepted connections nor the memory held), so the
 * listener is re-armed once per {@linkcode ACCEPT_MAX_SLEEP_MS}, the longest
 * pause nats-server takes between accept retries after EMFILE.
 *
 * @module
 */
import type * as net from "node:net";
import { ACCEPT_MAX_SLEEP_MS } from "./accept_loop.ts";

/** The backlog `net.Server.listen` uses when none is given. */
const NODE_DEFAULT_BACKLOG = 511;

interface ListenHandle {
  listen?: (backlog: number) => number;
}

/**
 * Starts re-arming `server`'s listening handle; returns the function that
 * stops it (call it when the server is closed). A no-op where the runtime has
 * no such handle.
 */
export function keepAccepting(server: net.Server, everyMs = ACCEPT_MAX_SLEEP_MS): () => void {
  const timer = setInterval(() => {
    // Node-compat internals: the listening handle is not part of the typed API.
    const handle = (server as unknown as { _handle?: ListenHandle | null })._handle;
    if (!server.listening || typeof handle?.listen !== "function") return;
    try {
      handle.listen(NODE_DEFAULT_BACKLOG);
    } catch { /* closing meanwhile */ }
  }, everyMs);
  Deno.unrefTimer(Number(timer));
  return () => clearInterval(timer);
}

/**
 * Binds `server` and keeps it accepting: resolves once it listens (rejects
 * with the bind error), then hands later accept errors to `onAcceptError`
 * (they must not end the process) and re-arms it with
 * {@linkcode keepAccepting}.
 *
 * @returns The function that stops the re-arming (call it when the server is closed).
 */
export async function listenAndKeepAccepting(
  server: net.Server,
  where: { port: number; host: string; backlog: number },
  onAcceptError: (e: Error) => void,
): Promise<() => void> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(where.port, where.host, where.backlog, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", onAcceptError);
  return keepAccepting(server);
}
