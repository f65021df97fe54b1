/**
 * Spawned cluster nodes (dnatsd or Debian's nats-server) whose ports are read
 * back from the log, so a node can be killed and restarted on the same client,
 * route and monitoring ports; plus the process figures the abuse tests and the
 * soak read from /proc (peak and current RSS).
 *
 * @module
 */
import { ServerProcess } from "./server.ts";

export type Kind = "dnatsd" | "nats-server";

export interface NodeSpec {
  kind: Kind;
  /** Cluster name shared by the nodes. */
  clusterName?: string;
  /** Route URLs to solicit (`nats-route://127.0.0.1:<port>`). */
  routes?: string[];
  /** Fixed ports (a restart); -1 (the default) lets the server choose. */
  clientPort?: number;
  routePort?: number;
  httpPort?: number;
  /** No cluster listener at all (a single server). */
  noCluster?: boolean;
  /** Extra flags. */
  args?: string[];
  /** Run the server under `ulimit -n <n>` (a shell wrapper). */
  fdLimit?: number;
}

export interface NodeProcess {
  spec: NodeSpec;
  proc: ServerProcess;
  clientPort: number;
  routePort: number;
  httpPort: number;
  url: string;
  routeUrl: string;
}

const ROUTE_RE = /Listening for route connections on \S*:(\d+)/;
const HTTP_RE = /Starting http monitor on \S*:(\d+)/;

/** Starts a node; with `spec` ports fixed, it binds exactly those. */
export async function startNode(spec: NodeSpec): Promise<NodeProcess> {
  const args = ["-a", "127.0.0.1", "-p", String(spec.clientPort ?? -1)];
  args.push("-m", String(spec.httpPort ?? -1));
  if (!spec.noCluster) {
    args.push("--cluster", `nats://127.0.0.1:${spec.routePort ?? -1}`);
    args.push("--cluster_name", spec.clusterName ?? "chaos");
    if (spec.routes?.length) args.push("--routes", spec.routes.join(","));
  }
  args.push(...(spec.args ?? []));
  const proc = await ServerProcess.start({
    reference: spec.kind === "nats-server",
    noDefaultListen: true,
    args,
    wrapper: spec.fdLimit ? ["sh", "-c", `ulimit -n ${spec.fdLimit} && exec "$0" "$@"`] : undefined,
  });
  if (!spec.noCluster) await proc.waitForLog(ROUTE_RE);
  await proc.waitForLog(HTTP_RE);
  const routePort = spec.noCluster ? 0 : Number(ROUTE_RE.exec(proc.logs.text)![1]);
  const httpPort = Number(HTTP_RE.exec(proc.logs.text)![1]);
  return {
    spec,
    proc,
    clientPort: proc.port,
    routePort,
    httpPort,
    url: proc.url,
    routeUrl: `nats-route://127.0.0.1:${routePort}`,
  };
}

/** Starts the same node again on the ports it had (after a kill). */
export async function restartNode(node: NodeProcess): Promise<NodeProcess> {
  return await startNode({
    ...node.spec,
    clientPort: node.clientPort,
    routePort: node.spec.noCluster ? undefined : node.routePort,
    httpPort: node.httpPort,
  });
}

/** kill -9 and wait for the exit. */
export async function killNode(node: NodeProcess): Promise<void> {
  try {
    node.proc.signal("SIGKILL");
  } catch { /* already gone */ }
  await node.proc.exited;
}

/** GET a monitoring endpoint as JSON. */
export async function monitor<T = Record<string, unknown>>(
  httpPort: number,
  path: string,
): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${httpPort}${path}`);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return await res.json() as T;
}

/** Memory figures of a live process from /proc/<pid>/status, in KiB. */
export interface MemoryFigures {
  /** VmHWM: peak resident set size. */
  peakKiB: number;
  /** VmRSS: resident set size now. */
  rssKiB: number;
}

/** Reads VmHWM and VmRSS of `pid`; throws when the process is gone. */
export function memoryOf(pid: number): MemoryFigures {
  const text = Deno.readTextFileSync(`/proc/${pid}/status`);
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text);
    if (!m) throw new Error(`${name} missing from /proc/${pid}/status`);
    return Number(m[1]);
  };
  return { peakKiB: field("VmHWM"), rssKiB: field("VmRSS") };
}

/** KiB as a short MiB figure for reports. */
export function mib(kib: number): string {
  return `${(kib / 1024).toFixed(1)} MiB`;
}
