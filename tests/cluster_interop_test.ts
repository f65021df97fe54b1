// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * Mixed clusters of dnatsd and Debian's nats-server 2.9 (spawned processes):
 * either kind as seed, full mesh in both directions (checked on /routez),
 * pub/sub between every pair, request/reply, queue groups exactly once and
 * headers across servers of both kinds, with route authorization and route
 * TLS. Reported as ignored when nats-server is not installed.
 */
import { connect, headers, type NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { missing } from "./helpers/requires.ts";
import { ServerProcess, waitFor } from "./helpers/server.ts";

const NO_NATS_SERVER = missing("nats-server");

const CERTS = new URL("../certs/", import.meta.url).pathname;

type Kind = "dnatsd" | "nats-server";

interface Member {
  kind: Kind;
  proc: ServerProcess;
  routePort: number;
  httpPort: number;
}

interface ClusterSetup {
  auth?: boolean;
  tls?: boolean;
}

function clusterConf(setup: ClusterSetup, seedPort: number | null): string {
  const routeCreds = setup.auth ? "ruser:rpass@" : "";
  const lines = [
    "cluster {",
    "  name: mixed",
    "  listen: 127.0.0.1:-1",
  ];
  if (setup.auth) lines.push("  authorization { user: ruser, password: rpass, timeout: 2 }");
  if (setup.tls) {
    lines.push(
      "  tls {",
      `    cert_file: "${CERTS}route-cert.pem"`,
      `    key_file: "${CERTS}route-key.pem"`,
      `    ca_file: "${CERTS}ca.pem"`,
      "    verify: true",
      "    timeout: 2",
      "  }",
    );
  }
  if (seedPort !== null) {
    lines.push(`  routes: [ "nats-route://${routeCreds}127.0.0.1:${seedPort}" ]`);
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}

async function startMember(kind: Kind, setup: ClusterSetup, seed: Member | null): Promise<Member> {
  const proc = await ServerProcess.start({
    reference: kind === "nats-server",
    config: clusterConf(setup, seed?.routePort ?? null),
    args: ["-m", "-1"],
  });
  const routeRe = /Listening for route connections on [^\s]*:(\d+)/;
  const httpRe = /Starting http monitor on [^\s]*:(\d+)/;
  await proc.waitForLog(routeRe);
  await proc.waitForLog(httpRe);
  return {
    kind,
    proc,
    routePort: Number(routeRe.exec(proc.logs.text)![1]),
    httpPort: Number(httpRe.exec(proc.logs.text)![1]),
  };
}

async function routez(m: Member): Promise<{ num_routes: number; routes: { remote_id: string }[] }> {
  const res = await fetch(`http://127.0.0.1:${m.httpPort}/routez`);
  return await res.json();
}

async function serverId(m: Member): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${m.httpPort}/varz`);
  return (await res.json()).server_id;
}

/** Every member reports a route to every other member on /routez. */
async function waitForMesh(members: Member[]): Promise<void> {
  const ids = await Promise.all(members.map(serverId));
  let last = "";
  await waitFor(
    async () => {
      const all = await Promise.all(members.map(routez));
      last = all.map((r, i) => `${members[i].kind}:${r.num_routes}`).join(" ");
      return all.every((r, i) => {
        const remotes = new Set(r.routes.map((x) => x.remote_id));
        return r.num_routes === members.length - 1 &&
          ids.every((id, j) => j === i || remotes.has(id));
      });
    },
    15_000,
    `full mesh (${last})`,
  ).catch((e) => {
    throw new Error(
      `${e.message}; last ${last}\n` + members.map((m) => m.proc.logs.text).join("\n----\n"),
    );
  });
}

async function clientOf(m: Member): Promise<NatsConnection> {
  return await connect({ servers: m.proc.url, reconnect: false });
}

/** Publishes until `cond` holds: interest may still be travelling on fresh routes. */
async function publishUntil(
  nc: NatsConnection,
  subject: string,
  cond: () => boolean,
  what: string,
): Promise<void> {
  await waitFor(
    async () => {
      nc.publish(subject, "probe");
      await nc.flush();
      await new Promise((r) => setTimeout(r, 20));
      return cond();
    },
    8000,
    what,
  );
}

async function exercise(members: Member[]): Promise<void> {
  const ncs = await Promise.all(members.map(clientOf));
  try {
    // pub/sub between every ordered pair, across kinds.
    for (let to = 0; to < ncs.length; to++) {
      const got: string[] = [];
      const sub = ncs[to].subscribe(`pair.${to}`, {
        callback: (_e, m) => {
          got.push(m.string());
        },
      });
      await ncs[to].flush();
      for (let from = 0; from < ncs.length; from++) {
        if (from === to) continue;
        await publishUntil(ncs[from], `pair.${to}`, () => got.length > 0, `probe ${from}->${to}`);
        got.length = 0;
        ncs[from].publish(`pair.${to}`, `from ${from}`);
        await ncs[from].flush();
        await waitFor(() => got.includes(`from ${from}`), 5000, `${from}->${to}`);
      }
      sub.unsubscribe();
    }

    // Request/reply with headers: the responder on each server kind, the requester elsewhere.
    for (let r = 0; r < ncs.length; r++) {
      const svc = ncs[r].subscribe(`svc.${r}`, {
        callback: (_e, m) => {
          const h = headers();
          h.set("X-Served-By", members[r].kind);
          h.set("X-Echo", m.headers?.get("X-Req") ?? "none");
          m.respond(m.data, { headers: h });
        },
      });
      await ncs[r].flush();
      const q = (r + 1) % ncs.length;
      const h = headers();
      h.set("X-Req", `req-${q}`);
      let reply = null;
      await waitFor(
        async () => {
          try {
            reply = await ncs[q].request(`svc.${r}`, `hello ${q}`, { timeout: 500, headers: h });
            return true;
          } catch {
            return false;
          }
        },
        8000,
        `request ${q}->${r}`,
      );
      const msg = reply as unknown as { string(): string; headers?: { get(k: string): string } };
      equal(msg.string(), `hello ${q}`);
      equal(msg.headers?.get("X-Served-By"), members[r].kind);
      equal(msg.headers?.get("X-Echo"), `req-${q}`);
      svc.unsubscribe();
    }

    // A queue group with members on every server gets each message exactly once.
    const got: string[][] = ncs.map(() => []);
    for (let i = 0; i < ncs.length; i++) {
      for (let k = 0; k < 2; k++) {
        ncs[i].subscribe("jobs", {
          queue: "workers",
          callback: (_e, m) => {
            got[i].push(m.string());
          },
        });
      }
      await ncs[i].flush();
    }
    // Wait until every server routes to the group (a probe seen at least twice per publisher).
    for (let p = 0; p < ncs.length; p++) {
      await publishUntil(ncs[p], "jobs", () => got.flat().length > 0, `queue probe from ${p}`);
    }
    // Late probes may still arrive: the counts below ignore them instead of waiting them out.
    const real = () => got.flat().filter((m) => m !== "probe");
    const n = 200;
    for (let p = 0; p < ncs.length; p++) {
      for (let i = 0; i < n; i++) ncs[p].publish("jobs", `${p}:${i}`);
      await ncs[p].flush();
    }
    await waitFor(() => real().length >= n * ncs.length, 8000, "queue messages");
    await Promise.all(ncs.map((nc) => nc.flush()));
    const all = real();
    equal(all.length, n * ncs.length, "each message delivered once in total");
    equal(new Set(all).size, n * ncs.length, "no duplicates");
  } finally {
    await Promise.all(ncs.map((nc) => nc.close().catch(() => {})));
  }
}

async function withMembers(
  kinds: Kind[],
  setup: ClusterSetup,
  fn: (members: Member[]) => Promise<void>,
): Promise<void> {
  const members: Member[] = [];
  try {
    const seed = await startMember(kinds[0], setup, null);
    members.push(seed);
    for (const kind of kinds.slice(1)) members.push(await startMember(kind, setup, seed));
    await fn(members);
  } finally {
    await Promise.all(members.map((m) => m.proc.stop()));
  }
}

Deno.test({
  name: "interop: dnatsd seed with nats-server and dnatsd members, route auth",
  ignore: NO_NATS_SERVER,
  fn: () =>
    withMembers(["dnatsd", "nats-server", "dnatsd"], { auth: true }, async (members) => {
      await waitForMesh(members);
      await exercise(members);
    }),
});

Deno.test({
  name: "interop: nats-server seed with dnatsd and nats-server members, route auth",
  ignore: NO_NATS_SERVER,
  fn: () =>
    withMembers(
      ["nats-server", "dnatsd", "nats-server", "dnatsd"],
      { auth: true },
      async (members) => {
        await waitForMesh(members);
        await exercise(members);
      },
    ),
});

Deno.test({
  name: "interop: route TLS between dnatsd and nats-server, both directions",
  ignore: NO_NATS_SERVER,
  fn: async () => {
    await withMembers(["dnatsd", "nats-server", "dnatsd"], { tls: true, auth: true }, async (m) => {
      await waitForMesh(m);
      await exercise(m);
    });
    await withMembers(["nats-server", "dnatsd"], { tls: true }, async (m) => {
      await waitForMesh(m);
      await exercise(m);
    });
  },
});

Deno.test({
  name: "interop: nats-server refuses a dnatsd route with a wrong password, and vice versa",
  ignore: NO_NATS_SERVER,
  fn: async () => {
    for (const seedKind of ["nats-server", "dnatsd"] as Kind[]) {
      const seed = await startMember(seedKind, { auth: true }, null);
      const other: Kind = seedKind === "dnatsd" ? "nats-server" : "dnatsd";
      const bad = await ServerProcess.start({
        reference: other === "nats-server",
        config: clusterConf({}, null).replace(
          "}\n",
          `  routes: [ "nats-route://ruser:wrong@127.0.0.1:${seed.routePort}" ]\n}\n`,
        ),
      });
      try {
        await seed.proc.waitForLog(/authentication error/, 8000);
        await seed.proc.waitForLog(/Router connection closed: Authentication Failure/, 8000);
        await bad.waitForLog(/Route Error 'Authorization Violation'/, 8000);
        deepStrictEqual((await routez(seed)).num_routes, 0);
      } finally {
        await bad.stop();
        await seed.proc.stop();
      }
    }
  },
});

Deno.test("cluster: the seed document's three-server example (localhost URLs, -D) forms a full mesh", async () => {
  // Same shape as the documented commands, with -1 for the fixed ports of the example.
  const procs: ServerProcess[] = [];
  const httpRe = /Starting http monitor on [^\s]*:(\d+)/;
  const numRoutes = async (p: ServerProcess) => {
    const port = httpRe.exec(p.logs.text)![1];
    return (await (await fetch(`http://127.0.0.1:${port}/routez`)).json()).num_routes;
  };
  try {
    procs.push(
      await ServerProcess.start({ args: ["-cluster", "nats://localhost:-1", "-D", "-m", "-1"] }),
    );
    const routeRe = /Listening for route connections on localhost:(\d+)/;
    await procs[0].waitForLog(routeRe);
    const seedRoute = `nats://localhost:${routeRe.exec(procs[0].logs.text)![1]}`;
    for (let i = 0; i < 2; i++) {
      procs.push(
        await ServerProcess.start({
          args: ["-cluster", "nats://localhost:-1", "-routes", seedRoute, "-D", "-m", "-1"],
        }),
      );
    }
    for (const p of procs) await p.waitForLog(httpRe);
    let last: number[] = [];
    await waitFor(
      async () => {
        last = await Promise.all(procs.map(numRoutes));
        return last.every((n) => n === 2);
      },
      10_000,
      "full mesh on /routez",
    ).catch((e) => {
      throw new Error(`${e.message} (${last})\n${procs.map((p) => p.logs.text).join("\n---\n")}`);
    });
    for (const p of procs) {
      ok(/Registering remote route/.test(p.logs.text));
      ok(/Sent local subscriptions to route/.test(p.logs.text));
    }
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
});
