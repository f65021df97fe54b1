/**
 * In-process cluster nodes for tests: several `Server` instances in one Deno
 * process, each with a MemoryLogger, route port -1 (the bound port is read
 * back from the cluster handle, never fixed).
 *
 * @module
 */
import { type ClusterOptions, defaultOptions, type Options } from "../../lib/config/options.ts";
import { MemoryLogger } from "../../lib/ops/logger.ts";
import { Server } from "../../lib/server.ts";
import type { Cluster } from "../../lib/cluster/cluster.ts";
import { waitFor } from "./server.ts";

export interface NodeOptions {
  name: string;
  /** Route URLs to solicit. */
  routes?: string[];
  /** Cluster name; undefined = dynamic. */
  clusterName?: string;
  cluster?: Partial<ClusterOptions>;
  options?: Partial<Options>;
  debug?: boolean;
}

export class Node {
  readonly server: Server;
  readonly log: MemoryLogger;

  private constructor(server: Server, log: MemoryLogger) {
    this.server = server;
    this.log = log;
  }

  static async start(opts: NodeOptions): Promise<Node> {
    const o: Options = { ...defaultOptions(), host: "127.0.0.1", port: -1, ...opts.options };
    o.serverName = opts.name;
    o.cluster = {
      host: "127.0.0.1",
      port: -1,
      routes: opts.routes ?? [],
      noAdvertise: false,
      connectRetries: 0,
      ...opts.cluster,
    };
    if (opts.clusterName !== undefined) o.cluster.name = opts.clusterName;
    const log = new MemoryLogger({ debug: opts.debug ?? true });
    const server = new Server(o, log);
    await server.start();
    return new Node(server, log);
  }

  get cluster(): Cluster {
    return this.server.cluster as unknown as Cluster;
  }

  /** `nats://127.0.0.1:<client port>` */
  get url(): string {
    return `nats://127.0.0.1:${this.server.clientPort}`;
  }

  /** `nats-route://127.0.0.1:<route port>` */
  get routeUrl(): string {
    return `nats-route://127.0.0.1:${this.cluster.port}`;
  }

  get id(): string {
    return this.server.serverId;
  }

  async stop(): Promise<void> {
    await this.server.shutdown();
  }

  logText(): string {
    return this.log.lines.join("\n");
  }
}

/** Waits until every node has a route to every other node (and no more). */
export async function waitForMesh(nodes: Node[], timeoutMs = 8000): Promise<void> {
  await waitFor(
    () =>
      nodes.every((n) => {
        const remotes = new Set(n.cluster.remotes());
        return remotes.size === nodes.length - 1 &&
          nodes.every((m) => m === n || remotes.has(m.id));
      }),
    timeoutMs,
    `full mesh of ${nodes.length}: ` +
      nodes.map((n) => `${n.server.serverName}=${n.cluster.numRoutes}`).join(" "),
  );
}

/**
 * Waits until `node` knows of remote interest on `subject` from `count`
 * routes (so a publish there will be forwarded).
 */
export async function waitForRemoteInterest(
  node: Node,
  subject: string,
  count: number,
  timeoutMs = 5000,
): Promise<void> {
  await waitFor(
    () => {
      let n = 0;
      for (const route of node.cluster.routes()) {
        for (const { sub } of route.remoteSubs.values()) if (sub.subject === subject) n++;
      }
      return n >= count;
    },
    timeoutMs,
    `${count} remote interest on ${subject} at ${node.server.serverName}`,
  );
}

/** Stops all nodes, ignoring errors of already stopped ones. */
export async function stopAll(nodes: Node[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.stop().catch(() => {})));
}
