// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * Defect: a node being stopped closed its routes first and told its clients,
 * in an INFO whose connect_urls no longer held the peer, to forget the rest of
 * the cluster; then it closed them and they had nowhere to go. nats-server
 * sends no INFO once shutdown began. Here real clients (nats.js in process,
 * nats.go and the C client as processes) connect to node A of a two-node
 * cluster, learn node B from connect_urls, and must be on B within 2 s of A
 * receiving SIGTERM or SIGINT: without credentials, with credentials in the
 * URL (reused for discovered servers) and with accounts plus no_auth_user;
 * also after SIGKILL, which is what `-sl stop` sends.
 * The same runs against a pair of Debian nats-servers.
 */
import { connect, type NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { equal, ok } from "node:assert/strict";
import { has, missing } from "../helpers/requires.ts";
import { RawClient } from "../helpers/raw.ts";
import { waitFor } from "../helpers/server.ts";
import { type ClientKind, runnerBinary, runScenario } from "./runners.ts";
import { type Pair, SERVER_KINDS, type ServerKind, startNode, startPair } from "./servers.ts";

interface Variant {
  name: string;
  config: string;
  /** Credentials in the URL the clients are given for node A. */
  creds: string;
}

const VARIANTS: Variant[] = [
  { name: "no auth", config: "", creds: "" },
  {
    name: "credentials in the URL",
    config: "authorization { user: a, password: pwd }",
    creds: "a:pwd@",
  },
  {
    name: "accounts with no_auth_user",
    config: "accounts { APP: { users: [ { user: a, password: pwd } ] } }\nno_auth_user: a",
    creds: "",
  },
];

interface Outcome {
  client: string;
  reconnected: boolean;
  port: number;
  ms: number;
  roundtrip: boolean;
}

/** nats.js: waits for B in a cluster update, then for a reconnect after `stopped`. */
async function natsJs(
  url: string,
  bPort: number,
  discovered: () => void,
  stopped: Promise<number>,
): Promise<Outcome> {
  // nats.js takes credentials as options, not from the URL; it reuses them
  // for discovered servers as the other clients reuse the URL's.
  const u = new URL(url);
  const nc: NatsConnection = await connect({
    servers: `${u.hostname}:${u.port}`,
    ...(u.username === "" ? {} : { user: u.username, pass: u.password }),
    reconnectTimeWait: 100,
    reconnectJitter: 0,
    maxReconnectAttempts: -1,
  });
  let reconnectedAt = 0;
  (async () => {
    for await (const s of nc.status()) {
      if (s.type === "reconnect") reconnectedAt = performance.now();
    }
  })().catch(() => {});
  try {
    // A learns B's URLs over the route; an INFO puts them in the client's pool.
    await waitFor(
      () => nc.getServers().some((s) => s.listen.endsWith(`:${bPort}`)),
      10_000,
      "nats.js told of node B",
    );
    discovered();
    const t0 = await stopped;
    await waitFor(() => reconnectedAt > 0, 10_000, "nats.js reconnected").catch(() => {});
    const port = Number(nc.getServer().split(":").at(-1));
    let roundtrip = false;
    if (reconnectedAt > 0) {
      const sub = nc.subscribe("failover.after", { max: 1 });
      nc.publish("failover.after", "x");
      const got = (async () => {
        for await (const _ of sub) return true;
        return false;
      })();
      roundtrip = await Promise.race([
        got,
        new Promise<boolean>((r) => setTimeout(() => r(false), 5000)),
      ]);
    }
    return {
      client: "nats.js",
      reconnected: reconnectedAt > 0,
      port,
      ms: reconnectedAt > 0 ? reconnectedAt - t0 : Infinity,
      roundtrip,
    };
  } finally {
    await nc.close();
  }
}

/** A runner process: its "discovered" step holds until node A has been signalled. */
async function runner(
  kind: ClientKind,
  url: string,
  discovered: () => void,
  stopped: Promise<number>,
): Promise<Outcome> {
  const r = await runScenario(kind, "failover", url, async (step) => {
    if (step !== "discovered") throw new Error(`unexpected step ${step}`);
    discovered();
    await stopped;
  });
  return {
    client: String(r.client),
    reconnected: r.reconnected === true,
    port: Number(r.port),
    ms: r.reconnected === true ? Number(r.measured?.failover_ms) : Infinity,
    roundtrip: r.roundtrip === true,
  };
}

/**
 * Every available client connects to A; once all know B, A gets `signal`;
 * each must be connected to B, within 2 s, and get a message through it.
 */
async function failoverAll(
  kind: ServerKind,
  variant: Variant,
  signal: "SIGTERM" | "SIGINT" | "SIGKILL",
): Promise<Outcome[]> {
  // Built first: a cold build must not eat the time allowed for discovery.
  if (has("go")) await runnerBinary("go");
  if (has("libnats-dev")) await runnerBinary("c");
  const pair: Pair = await startPair(kind, variant.config);
  try {
    const url = `nats://${variant.creds}127.0.0.1:${pair.a.port}`;
    const clients: ((d: () => void, s: Promise<number>) => Promise<Outcome>)[] = [
      (d, s) => natsJs(url, pair.b.port, d, s),
    ];
    if (has("go")) clients.push((d, s) => runner("go", url, d, s));
    if (has("libnats-dev")) clients.push((d, s) => runner("c", url, d, s));
    let known = 0;
    let stop!: (t: number) => void;
    const stopped = new Promise<number>((r) => stop = r);
    const runs = clients.map((c) => c(() => known++, stopped));
    const failed = Promise.all(runs).then(() => "ended early", (e) => e);
    await Promise.race([
      waitFor(() => known === clients.length, 20_000, "every client told of node B"),
      failed.then((e) => {
        throw e;
      }),
    ]);
    const t0 = performance.now();
    pair.a.signal(signal);
    stop(t0);
    const outcomes = await Promise.all(runs);
    console.error(
      `failover via ${kind} (${variant.name}, ${signal}): ` +
        outcomes.map((o) => `${o.client} ${Math.round(o.ms)} ms`).join(", "),
    );
    for (const o of outcomes) {
      const what = `${o.client} via ${kind} (${variant.name}, ${signal}): ${JSON.stringify(o)}`;
      ok(o.reconnected, `no reconnect: ${what}`);
      equal(o.port, pair.b.port, `not on node B: ${what}`);
      ok(o.ms < 2000, `failover took ${Math.round(o.ms)} ms: ${what}`);
      ok(o.roundtrip, `no message through node B: ${what}`);
    }
    await pair.a.exited;
    return outcomes;
  } finally {
    await pair.stop();
  }
}

for (const kind of SERVER_KINDS) {
  for (const variant of VARIANTS) {
    Deno.test({
      name:
        `failover: ${kind} node stopped by SIGTERM, clients move to the discovered node (${variant.name})`,
      ignore: kind === "nats-server" && missing("nats-server"),
      fn: async () => {
        await failoverAll(kind, variant, "SIGTERM");
      },
    });
  }
  Deno.test({
    name: `failover: ${kind} node stopped by SIGINT, clients move to the discovered node`,
    ignore: kind === "nats-server" && missing("nats-server"),
    fn: async () => {
      await failoverAll(kind, VARIANTS[1], "SIGINT");
    },
  });
  // `-sl stop` sends SIGKILL (as nats-server's --signal stop): nothing is said.
  Deno.test({
    name:
      `failover: ${kind} node killed (SIGKILL, as -sl stop), clients move to the discovered node`,
    ignore: kind === "nats-server" && missing("nats-server"),
    fn: async () => {
      await failoverAll(kind, VARIANTS[2], "SIGKILL");
    },
  });
}

/** The connect_urls ports of every INFO in `text`. */
function infoPorts(text: string): number[][] {
  return [...text.matchAll(/INFO (\{.*?\}) ?\r\n/g)].map((m) =>
    ((JSON.parse(m[1]).connect_urls ?? []) as string[]).map((u) => Number(u.split(":").at(-1)))
  );
}

for (const kind of SERVER_KINDS) {
  Deno.test({
    name: `failover: ${kind} being stopped sends its clients no INFO (raw client on node A)`,
    ignore: kind === "nats-server" && missing("nats-server"),
    fn: async () => {
      const pair = await startPair(kind);
      const raw = await RawClient.connect(pair.a.port);
      try {
        await raw.send('CONNECT {"protocol":1,"verbose":false}\r\nPING\r\n');
        await raw.expect(/PONG\r\n/);
        // The peer's URLs arrive in the first INFO or in an async one.
        await waitFor(
          () => infoPorts(raw.received).some((p) => p.includes(pair.b.port)),
          10_000,
          "node B in connect_urls",
        );
        const before = raw.received.length;
        pair.a.signal("SIGTERM");
        await raw.expectClosed(10_000);
        equal(raw.received.slice(before), "", "bytes sent to the client during shutdown");
      } finally {
        await raw.close();
        await pair.stop();
      }
    },
  });

  Deno.test({
    name:
      `failover: ${kind} answers a first PING with PONG then an INFO when a route came up after the client's INFO`,
    ignore: kind === "nats-server" && missing("nats-server"),
    fn: async () => {
      const a = await startNode(kind);
      let b: Awaited<ReturnType<typeof startNode>> | null = null;
      const raw = await RawClient.connect(a.proc.port);
      try {
        await raw.expect(/^INFO .*\r\n/);
        b = await startNode(kind, "", a.routePort);
        const bPort = b.proc.port;
        ok(!infoPorts(raw.received)[0].includes(bPort), "node B is not in the first INFO");
        // Node A knows B once a fresh client's INFO lists it.
        await waitFor(
          async () => {
            const probe = await RawClient.connect(a.proc.port);
            try {
              await probe.expect(/^INFO .*\r\n/);
              return infoPorts(probe.received)[0].includes(bPort);
            } finally {
              await probe.close();
            }
          },
          10_000,
          "node A told of node B",
        );
        await raw.send('CONNECT {"protocol":1,"verbose":false}\r\nPING\r\n');
        await raw.expect(/PONG\r\nINFO .*\r\n/);
        const infos = infoPorts(raw.received);
        equal(infos.length, 2);
        ok(infos[1].includes(bPort), `second INFO lists node B: ${raw.received}`);
      } finally {
        await raw.close();
        await a.proc.stop();
        await b?.proc.stop();
      }
    },
  });
}
