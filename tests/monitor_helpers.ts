/**
 * Helpers for the monitoring black-box tests: start dnatsd (or Debian's
 * nats-server) with the monitor on a random port, fetch endpoints, and
 * compare JSON shapes (keys, order, types) between the two servers.
 *
 * @module
 */
import { ServerProcess } from "./helpers/server.ts";

/** A server process with its monitoring base URL. */
export interface Monitored {
  proc: ServerProcess;
  /** e.g. `http://127.0.0.1:34567` (no base path). */
  base: string;
  /** Client URL for NATS clients. */
  natsUrl: string;
  get(path: string): Promise<Response>;
  json(path: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/**
 * Starts a server with `-m -1` (or with `monitorArgs`) and reads the monitoring
 * port from its `Starting http(s) monitor on host:port` log line.
 */
export async function startMonitored(
  opts: {
    config?: string;
    reference?: boolean;
    monitorArgs?: string[];
    /** For HTTPS: a client trusting the test CA. */
    client?: Deno.HttpClient;
  } = {},
): Promise<Monitored> {
  const proc = await ServerProcess.start({
    config: opts.config,
    reference: opts.reference,
    args: opts.monitorArgs ?? ["-m", "-1"],
  });
  const m = /Starting https? monitor on (\S+)/.exec(proc.logs.text);
  if (!m) {
    await proc.stop();
    throw new Error(`no monitor line in log:\n${proc.logs.text}`);
  }
  const port = Number(m[1].slice(m[1].lastIndexOf(":") + 1));
  const base = `${opts.client ? "https://localhost" : "http://127.0.0.1"}:${port}`;
  const get = (path: string) => fetch(base + path, opts.client ? { client: opts.client } : {});
  return {
    proc,
    base,
    natsUrl: proc.url,
    get,
    async json(path) {
      const r = await get(path);
      const text = await r.text();
      if (r.status !== 200) throw new Error(`${path}: ${r.status} ${text}`);
      return JSON.parse(text);
    },
    async stop() {
      await proc.stop();
    },
  };
}

function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

/**
 * Differences in shape between two JSON values: key sets and their order,
 * value types, and for arrays with elements on both sides the shapes of
 * entries paired by `subject`/`name`/`acc` (else the first ones). Values themselves are ignored.
 *
 * @param ignore Paths (like `account_detail.imports`) to skip.
 */
export function shapeDiff(
  ours: unknown,
  theirs: unknown,
  path = "",
  ignore: ReadonlySet<string> = new Set(),
): string[] {
  if (ignore.has(path)) return [];
  const a = kind(ours);
  const b = kind(theirs);
  if (a !== b) return [`${path || "<root>"}: dnatsd ${a}, nats-server ${b}`];
  if (a === "array") {
    const x = ours as unknown[];
    const y = theirs as unknown[];
    if (x.length === 0 || y.length === 0) return [];
    // Entries differ in omitempty fields (a queue group, a name): pair them by identity.
    const id = (e: unknown) => {
      if (kind(e) !== "object") return undefined;
      const o = e as Record<string, unknown>;
      return ["subject", "name", "acc"].map((k) => o[k]).find((v) => v !== undefined);
    };
    const out: string[] = [];
    let paired = 0;
    for (const [i, e] of x.entries()) {
      const key = id(e);
      const match = key === undefined ? undefined : y.find((f) => id(f) === key);
      if (match === undefined) continue;
      paired++;
      out.push(...shapeDiff(e, match, `${path}[${i}]`, ignore));
    }
    if (paired === 0) out.push(...shapeDiff(x[0], y[0], `${path}[0]`, ignore));
    return out;
  }
  if (a !== "object") return [];
  const x = ours as Record<string, unknown>;
  const y = theirs as Record<string, unknown>;
  const out: string[] = [];
  const keysA = Object.keys(x).filter((k) => !ignore.has(path ? `${path}.${k}` : k));
  const keysB = Object.keys(y).filter((k) => !ignore.has(path ? `${path}.${k}` : k));
  for (const k of keysB) {
    if (!(k in x)) out.push(`${path ? path + "." : ""}${k}: missing in dnatsd`);
  }
  for (const k of keysA) if (!(k in y)) out.push(`${path ? path + "." : ""}${k}: extra in dnatsd`);
  const common = keysA.filter((k) => k in y);
  const orderB = keysB.filter((k) => k in x);
  if (out.length === 0 && common.join() !== orderB.join()) {
    out.push(`${path || "<root>"}: key order ${common.join(",")} vs ${orderB.join(",")}`);
  }
  for (const k of common) out.push(...shapeDiff(x[k], y[k], path ? `${path}.${k}` : k, ignore));
  return out;
}
