// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * Helpers for the leaf node tests: start a hub (leaf port) or a leaf (a
 * remote) of either kind, and check delivery across the link with real
 * clients, polling (never sleeping) until interest has crossed.
 *
 * @module
 */
import { connect, headers, type Msg, type NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { ServerProcess, waitFor } from "./helpers/server.ts";

export type Kind = "dnatsd" | "nats-server";

export const CERTS = new URL("../certs/", import.meta.url).pathname;

export interface Node {
  kind: Kind;
  proc: ServerProcess;
  leafPort: number;
  httpPort: number;
}

/** Starts a server; `conf` is the config text (a leafnodes block and more). */
export async function startNode(kind: Kind, conf: string): Promise<Node> {
  const proc = await ServerProcess.start({
    reference: kind === "nats-server",
    config: conf,
    args: ["-m", "-1"],
  });
  const httpRe = /Starting http monitor on [^\s]*:(\d+)/;
  const leafRe = /Listening for leafnode connections on [^\s]*:(\d+)/;
  try {
    await proc.waitForLog(httpRe);
    if (/leafnodes\s*\{\s*listen/.test(conf)) await proc.waitForLog(leafRe);
  } catch (e) {
    // The log says why (a port taken by another test shows as "address already in use").
    await proc.stop();
    throw new Error(`${e instanceof Error ? e.message : e}; the server's log:\n${proc.logs.text}`);
  }
  const leaf = leafRe.exec(proc.logs.text);
  return {
    kind,
    proc,
    leafPort: leaf ? Number(leaf[1]) : 0,
    httpPort: Number(httpRe.exec(proc.logs.text)![1]),
  };
}

export function hubConf(extra = ""): string {
  return `leafnodes { listen: 127.0.0.1:-1\n${extra} }\n`;
}

export function leafConf(hubPort: number, extra = "", top = ""): string {
  return `${top}\nleafnodes { reconnect: 1\n remotes [ { url: "nats-leaf://127.0.0.1:${hubPort}" ${extra} } ] }\n`;
}

/** /leafz of a node. */
export async function leafz(n: Node, query = ""): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${n.httpPort}/leafz${query}`);
  return await res.json();
}

/** Waits until the node counts `count` leaf connections on /varz. */
export async function waitLeafCount(n: Node, count: number, timeoutMs = 10_000): Promise<void> {
  await waitFor(
    async () => {
      const res = await fetch(`http://127.0.0.1:${n.httpPort}/varz`);
      const v = await res.json();
      return v.leafnodes === count;
    },
    timeoutMs,
    `${n.kind} with ${count} leaf connection(s)`,
  );
}

export async function client(n: Node): Promise<NatsConnection> {
  return await connect({ servers: n.proc.url, reconnect: false });
}

/**
 * A barrier: subscribes `sub` to a fresh subject and publishes on it from
 * `pub` until one arrives. Interest crosses a link in order, so every
 * subscription `sub` made before this call has crossed too.
 */
export async function waitInterest(
  pub: NatsConnection,
  sub: NatsConnection,
  timeoutMs = 10_000,
): Promise<void> {
  const subject = `barrier.${crypto.randomUUID()}`;
  let seen = false;
  const s = sub.subscribe(subject, {
    callback: () => {
      seen = true;
    },
  });
  await sub.flush();
  try {
    await waitFor(
      async () => {
        pub.publish(subject, "probe");
        await pub.flush();
        await new Promise((r) => setTimeout(r, 25));
        return seen;
      },
      timeoutMs,
      "interest across the leaf link",
    );
  } finally {
    s.unsubscribe();
  }
}

/** Collects `n` messages (or what arrives until `quietMs` passes with nothing new). */
export async function collect(
  msgs: AsyncIterable<Msg>,
  n: number,
  timeoutMs = 5000,
): Promise<Msg[]> {
  const out: Msg[] = [];
  const it = msgs[Symbol.asyncIterator]();
  const deadline = Date.now() + timeoutMs;
  while (out.length < n && Date.now() < deadline) {
    const next = await Promise.race([
      it.next(),
      new Promise<null>((r) => setTimeout(() => r(null), Math.max(1, deadline - Date.now()))),
    ]);
    if (next === null || next.done) break;
    out.push(next.value);
  }
  return out;
}

/**
 * Pub/sub, request/reply, headers and a queue group from `a`'s clients to
 * `b`'s, each exactly once.
 */
export async function checkDirection(a: NatsConnection, b: NatsConnection, tag: string) {
  const N = 50;
  // plain subject, after interest crossed
  const sub = b.subscribe(`${tag}.plain.*`);
  await waitInterest(a, b);
  for (let i = 0; i < N; i++) a.publish(`${tag}.plain.${i}`, `m${i}`);
  await a.flush();
  const got = await collect(sub, N + 1, 3000);
  deepStrictEqual(
    got.map((m) => m.string()),
    Array.from({ length: N }, (_, i) => `m${i}`),
    `${tag}: every message once, in order`,
  );
  sub.unsubscribe();

  // request/reply
  const svc = b.subscribe(`${tag}.svc`, {
    callback: (_e, m) => {
      m.respond(`re:${m.string()}`);
    },
  });
  await b.flush();
  await waitFor(
    async () => {
      try {
        const r = await a.request(`${tag}.svc`, "ping", { timeout: 500 });
        return r.string() === "re:ping";
      } catch {
        return false;
      }
    },
    10_000,
    `${tag}: request/reply`,
  );
  for (let i = 0; i < 5; i++) {
    const r = await a.request(`${tag}.svc`, `q${i}`, { timeout: 2000 });
    equal(r.string(), `re:q${i}`);
  }
  svc.unsubscribe();

  // headers
  const hsub = b.subscribe(`${tag}.hdr`);
  await waitInterest(a, b);
  const h = headers();
  h.set("X-Leaf", "yes");
  h.append("X-Multi", "1");
  h.append("X-Multi", "2");
  a.publish(`${tag}.hdr`, "with-headers", { headers: h });
  await a.flush();
  const [hm] = await collect(hsub, 1, 3000);
  ok(hm, `${tag}: header message arrives`);
  equal(hm.string(), "with-headers");
  equal(hm.headers?.get("X-Leaf"), "yes");
  deepStrictEqual(hm.headers?.values("X-Multi"), ["1", "2"]);
  hsub.unsubscribe();
}

/** Queue group members on both sides: each message reaches exactly one member. */
export async function checkQueue(a: NatsConnection, b: NatsConnection, tag: string) {
  const N = 60;
  const counts = new Map<string, number>();
  const seen = new Map<string, number>();
  const subs = [];
  for (const [nc, name] of [[a, "a1"], [a, "a2"], [b, "b1"], [b, "b2"]] as const) {
    subs.push(nc.subscribe(`${tag}.q`, {
      queue: "workers",
      callback: (_e, m) => {
        counts.set(name, (counts.get(name) ?? 0) + 1);
        seen.set(m.string(), (seen.get(m.string()) ?? 0) + 1);
      },
    }));
  }
  await waitInterest(a, b);
  await waitInterest(b, a);
  for (let i = 0; i < N; i++) a.publish(`${tag}.q`, `qa${i}`);
  for (let i = 0; i < N; i++) b.publish(`${tag}.q`, `qb${i}`);
  await a.flush();
  await b.flush();
  await waitFor(
    () => {
      let n = 0;
      for (const v of seen.values()) n += v;
      return n >= 2 * N;
    },
    10_000,
    `${tag}: ${2 * N} queue deliveries`,
  );
  // A barrier both ways, so that a duplicate still in flight would be counted.
  await waitInterest(a, b);
  await waitInterest(b, a);
  for (let i = 0; i < N; i++) {
    equal(seen.get(`qa${i}`), 1, `${tag}: qa${i} delivered once`);
    equal(seen.get(`qb${i}`), 1, `${tag}: qb${i} delivered once`);
  }
  for (const s of subs) s.unsubscribe();
}

/** After the only subscriber across the link unsubscribes, a request gets no responders. */
export async function checkUnsubscribe(a: NatsConnection, b: NatsConnection, tag: string) {
  const svc = b.subscribe(`${tag}.gone`, {
    callback: (_e, m) => {
      m.respond("here");
    },
  });
  await b.flush();
  await waitFor(
    async () => {
      try {
        return (await a.request(`${tag}.gone`, "", { timeout: 500 })).string() === "here";
      } catch {
        return false;
      }
    },
    10_000,
    `${tag}: responder reachable`,
  );
  svc.unsubscribe();
  await b.flush();
  await waitFor(
    async () => {
      try {
        await a.request(`${tag}.gone`, "", { timeout: 500 });
        return false;
      } catch (e) {
        return /503|no responders/i.test(String((e as Error).message ?? e));
      }
    },
    10_000,
    `${tag}: no responders once the subscriber left`,
  );
}
