/**
 * Servers for the client lifecycle tests: dnatsd or Debian's nats-server as
 * real processes, restarted on the same port, or paired in a two-node cluster.
 *
 * @module
 */
import { ServerProcess } from "../helpers/server.ts";

export type ServerKind = "dnatsd" | "nats-server";
export const SERVER_KINDS: readonly ServerKind[] = ["dnatsd", "nats-server"];

/** Starts `kind` with `config` (may be empty) on a free port, or on `port`. */
export async function startServer(
  kind: ServerKind,
  config = "",
  port?: number,
): Promise<ServerProcess> {
  return await ServerProcess.start({
    reference: kind === "nats-server",
    config: config === "" ? undefined : config,
    ...(port === undefined ? {} : {
      noDefaultListen: true,
      args: ["-a", "127.0.0.1", "-p", String(port)],
    }),
  });
}

/**
 * Stops `s` (SIGTERM) and starts the same kind with the same config on the
 * same port. The port was free a moment ago; a few retries cover a slow
 * release.
 */
export async function restartSamePort(
  kind: ServerKind,
  s: ServerProcess,
  config = "",
): Promise<ServerProcess> {
  await s.stop();
  let last: unknown;
  for (let i = 0; i < 5; i++) {
    try {
      return await startServer(kind, config, s.port);
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw last;
}

export interface Pair {
  a: ServerProcess;
  b: ServerProcess;
  stop(): Promise<void>;
}

const ROUTE_RE = /Listening for route connections on \S*:(\d+)/;

/** One cluster node; with `seedRoutePort` it solicits a route to that port. */
export async function startNode(
  kind: ServerKind,
  extra = "",
  seedRoutePort?: number,
): Promise<{ proc: ServerProcess; routePort: number }> {
  const routes = seedRoutePort === undefined
    ? ""
    : `  routes: ["nats-route://127.0.0.1:${seedRoutePort}"]\n`;
  const proc = await startServer(
    kind,
    `${extra}\ncluster {\n  name: pair\n  listen: 127.0.0.1:-1\n${routes}}\n`,
  );
  try {
    await proc.waitForLog(ROUTE_RE);
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return { proc, routePort: Number(ROUTE_RE.exec(proc.logs.text)![1]) };
}

/**
 * Two nodes of one cluster: B solicits a route to A. `extra` (auth, accounts)
 * goes into both configs.
 */
export async function startPair(kind: ServerKind, extra = ""): Promise<Pair> {
  const a = await startNode(kind, extra);
  try {
    const b = (await startNode(kind, extra, a.routePort)).proc;
    return {
      a: a.proc,
      b,
      stop: async () => {
        await Promise.all([a.proc.stop(), b.stop()]);
      },
    };
  } catch (e) {
    await a.proc.stop();
    throw e;
  }
}
