/**
 * Seeded differential fuzz of the run fast path (lib/delivery/deliver.ts
 * `fanOutRun`, docs/performance.md "Runs of identical lines"): publishers send
 * runs of identical PUB lines of random length, cut into random chunks (inside
 * lines, payloads and CR LF), mixed with other operations (PING, the
 * publisher's own SUB/UNSUB mid-run, PUB with a reply, HPUB, other sizes, a
 * lower-case or tab-separated line, a denied subject), to dnatsd and to
 * nats-server. Every subscriber (plain, same and other sid, wildcards, queue
 * groups, two subscriptions on one connection, auto-unsubscribe, a deny
 * permission, echo off with its own subscription) must receive nats-server's
 * bytes, and /varz and /connz message and byte counts must be equal. A second
 * case runs the same flow across a route (dnatsd to dnatsd against nats-server
 * to nats-server); a third cuts a non-reading subscriber as a slow consumer
 * (see that test for what is compared there and why).
 *
 * Each test runs one seed (random unless `RUNFUZZ_SEED` is set) and
 * `RUNFUZZ_ITERATIONS` scripts (default 1); a failure names its seed.
 *
 * @module
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { RawClient } from "./helpers/raw.ts";
import { missing } from "./helpers/requires.ts";
import { ServerProcess, waitFor } from "./helpers/server.ts";
// mulberry32, so a failing script replays from its seed.
import { prng } from "../lib/router/_test_util.ts";

const ITERATIONS = Number(Deno.env.get("RUNFUZZ_ITERATIONS") ?? "1");
const SEED_ENV = Deno.env.get("RUNFUZZ_SEED");

class Rand {
  readonly next: () => number;
  /** Numbers the payloads, so a reordering shows. */
  serial = 0;
  constructor(seed: number) {
    this.next = prng(seed);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789";

/** A payload of `size` bytes: a serial number first (so order shows), sometimes a CR LF or a PUB line inside. */
function payload(r: Rand, size: number): string {
  let s = (r.serial++).toString(36);
  if (r.chance(0.1)) s += "\r\nPUB f.a 3\r\n";
  while (s.length < size) s += LETTERS[r.int(0, LETTERS.length - 1)];
  return s.slice(0, size);
}

/**
 * Subjects the publishers use. Only plain subscribers match r.* and g.x, so
 * their runs take the fast path (until an auto-unsubscribe, a mid-run SUB or a
 * full buffer says otherwise); f.* subjects reach the subscribers that make a
 * run fall back (queue groups, two sids on one connection, auto-unsubscribe,
 * a deny permission). f.nope is denied to the publishers.
 */
const SUBJECTS = ["r.a", "r.a", "r.b", "r.b", "f.a", "f.b", "f.c", "g.x", "f.nope"];
const SIZES = [0, 1, 3, 8, 64, 300];

/**
 * A publisher's script: runs of one PUB line with other operations between.
 * `ownSid` is a sid the publisher may subscribe and unsubscribe mid-run.
 */
function publisherScript(r: Rand, ops: number, ownSid: number): string {
  let text = "";
  let subscribed = false;
  for (let i = 0; i < ops; i++) {
    const kind = r.int(0, 19);
    if (kind < 11) {
      // A run of one line (the line sometimes spelled another way for the first PUB).
      const subject = r.pick(SUBJECTS);
      const size = r.pick(SIZES);
      const count = r.chance(0.2) ? r.int(100, 400) : r.int(1, 40);
      for (let m = 0; m < count; m++) {
        const line = m === 0 && r.chance(0.15)
          ? r.pick([`pub ${subject} ${size}`, `PUB ${subject}\t${size}`, `PUB  ${subject} ${size}`])
          : `PUB ${subject} ${size}`;
        text += `${line}\r\n${payload(r, size)}\r\n`;
      }
    } else if (kind < 13) {
      text += "PING\r\n";
    } else if (kind < 15) {
      text += subscribed
        ? `UNSUB ${ownSid}\r\n`
        : `SUB ${r.pick(["f.a", "f.*", "f.c", "r.a", "r.*", "r.b"])} ${ownSid}\r\n`;
      subscribed = !subscribed;
    } else if (kind < 17) {
      const size = r.pick(SIZES);
      text += `PUB ${r.pick(SUBJECTS)} reply.${r.int(0, 9)} ${size}\r\n${payload(r, size)}\r\n`;
    } else if (kind < 19) {
      const hdr = `NATS/1.0\r\nK: ${r.int(0, 99)}\r\n\r\n`;
      const body = payload(r, r.pick(SIZES));
      text += `HPUB ${r.pick(SUBJECTS)} ${hdr.length} ${
        hdr.length + body.length
      }\r\n${hdr}${body}\r\n`;
    } else {
      // An auto-unsubscribe of the publisher's own sid, mid-flow.
      if (subscribed) text += `UNSUB ${ownSid} ${r.int(1, 30)}\r\n`;
    }
  }
  return text + "PING\r\n";
}

/** Writes `text` in chunks of random size (cut anywhere), yielding between some of them. */
async function sendChunked(c: RawClient, r: Rand, text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  while (at < bytes.length) {
    const n = r.pick([1, 2, 7, 13, 100, 1000, 4096, 20000, 65536]) + r.int(0, 50);
    await c.send(bytes.subarray(at, at + n));
    at += n;
    if (r.chance(0.3)) await new Promise((res) => setTimeout(res, 0));
  }
}

const USERS = `authorization {
  users = [
    { user: pub, password: p, permissions: { publish: { deny: ["f.nope"] } } }
    { user: sub, password: p }
    { user: deny, password: p, permissions: { subscribe: { allow: [">"], deny: ["f.b"] } } }
  ]
}
`;

function connect(name: string, user = "sub", echo = true): string {
  return `CONNECT ${
    JSON.stringify({ verbose: false, pedantic: false, headers: true, user, pass: "p", name, echo })
  }\r\n`;
}

/** A subscriber: its connection's user and echo, and its SUB/UNSUB lines (`$N` is a random max). */
interface SubSpec {
  name: string;
  subs: string;
  user?: string;
  /** Compared as a group with the others of the same `group` (queue members). */
  group?: string;
}

function subscribers(r: Rand, clustered: boolean): SubSpec[] {
  return [
    { name: "plain", subs: "SUB r.a 1\r\n" },
    { name: "sameSid", subs: "SUB r.a 1\r\n" },
    { name: "otherSid", subs: "SUB r.a 77\r\n" },
    { name: "wildR", subs: "SUB r.* 2\r\n" },
    // Across the route the probe subject must reach only the probe.
    { name: "full", subs: clustered ? "SUB r.> 3\r\nSUB f.> 16\r\nSUB g.* 17\r\n" : "SUB > 3\r\n" },
    { name: "cappedR", subs: `SUB r.a 15\r\nUNSUB 15 ${r.int(1, 60)}\r\n` },
    { name: "queueOne", subs: "SUB f.a grp 4\r\n" },
    { name: "twice", subs: "SUB f.a 5\r\nSUB f.* 6\r\n" },
    { name: "capped", subs: `SUB f.a 7\r\nUNSUB 7 ${r.int(1, 400)}\r\n` },
    { name: "cappedWild", subs: `SUB f.* 13\r\nUNSUB 13 ${r.int(1, 60)}\r\n` },
    { name: "denied", subs: "SUB f.* 8\r\nSUB f.b 14\r\n", user: "deny" },
    { name: "qa", subs: "SUB f.* two 11\r\n", group: "two" },
    { name: "qb", subs: "SUB f.* two 11\r\n", group: "two" },
  ];
}

/** What one server gave: every client's bytes after INFO, without PONGs. */
type Bytes = Record<string, string>;

function strip(s: string): string {
  return s.replace(/INFO [^\n]*\n/g, "").replaceAll("PONG\r\n", "");
}

/** The MSG frames of a stream, whole (line and payload), for comparing queue members as a set. */
function frames(s: string): string[] {
  const out: string[] = [];
  const re = /(MSG|HMSG) [^\r]*\r\n/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    const args = m[0].trim().split(" ");
    const size = Number(args.at(-1));
    out.push(s.slice(m.index, re.lastIndex + size + 2));
    re.lastIndex += size + 2;
  }
  return out;
}

interface Stats {
  varz: Record<string, number>;
  conns: Record<string, Record<string, number>>;
}

const COUNTERS = ["in_msgs", "out_msgs", "in_bytes", "out_bytes"] as const;

async function stats(monitor: number): Promise<Stats> {
  const v = await (await fetch(`http://127.0.0.1:${monitor}/varz`)).json();
  const c = await (await fetch(`http://127.0.0.1:${monitor}/connz?limit=1024`)).json();
  const varz: Record<string, number> = {};
  for (const k of COUNTERS) varz[k] = v[k];
  varz.slow_consumers = v.slow_consumers;
  const conns: Record<string, Record<string, number>> = {};
  for (const conn of c.connections ?? []) {
    if (!conn.name) continue;
    const row: Record<string, number> = {};
    for (const k of COUNTERS) row[k] = conn[k];
    conns[conn.name] = row;
  }
  return { varz, conns };
}

function minus(after: Stats, before: Stats): Stats {
  const varz: Record<string, number> = {};
  for (const k of Object.keys(after.varz)) varz[k] = after.varz[k] - (before.varz[k] ?? 0);
  return { varz, conns: after.conns };
}

function monitorOf(s: ServerProcess): number {
  const m = /Starting http monitor on \S+:(\d+)/.exec(s.logs.text);
  ok(m, `no monitor line in:\n${s.logs.text}`);
  return Number(m[1]);
}

function routePortOf(s: ServerProcess): number {
  const m = /Listening for route connections on \S+:(\d+)/.exec(s.logs.text);
  ok(m, `no route line in:\n${s.logs.text}`);
  return Number(m[1]);
}

async function open(port: number, hello: string, clients: RawClient[]): Promise<RawClient> {
  const c = await RawClient.connect(port);
  clients.push(c);
  await c.send(hello);
  await c.roundTrip();
  return c;
}

/**
 * One script against one deployment: subscribers on `subPort`, publishers on
 * `pubPort` (the same server, or the other node of a cluster). Returns every
 * client's bytes and the counters of each monitored server (deltas for /varz).
 */
async function flow(
  seed: number,
  pubPort: number,
  subPort: number,
  monitors: number[],
  clustered: boolean,
): Promise<{ bytes: Bytes; stats: Stats[] }> {
  const r = new Rand(seed);
  const clients: RawClient[] = [];
  try {
    const specs = subscribers(r, clustered);
    const subs: Record<string, RawClient> = {};
    for (const s of specs) {
      subs[s.name] = await open(subPort, connect(s.name, s.user) + s.subs, clients);
    }
    // Publishers: echo off with its own subscriptions, and echo on.
    const quiet = await open(
      pubPort,
      connect("quiet", "pub", false) + "SUB f.a 9\r\nSUB f.* 10\r\n",
      clients,
    );
    const loud = await open(pubPort, connect("loud", "pub", true) + "SUB r.b 12\r\n", clients);
    if (clustered) {
      // Interest travels over the route in order: once the probe's arrives, every earlier one has.
      const probe = await open(subPort, connect("probe") + "SUB probe 1\r\n", clients);
      const prober = await open(pubPort, connect("prober", "pub"), clients);
      await waitFor(
        async () => {
          await prober.send("PUB probe 0\r\n\r\n");
          await prober.roundTrip();
          await new Promise((res) => setTimeout(res, 20));
          return probe.received.includes("MSG probe 1 0");
        },
        5000,
        "interest across the route",
      );
    }
    const before = await Promise.all(monitors.map(stats));
    for (const [c, sid] of [[quiet, 20], [loud, 21]] as const) {
      const script = publisherScript(r, r.int(20, 45), sid);
      const pongs = (script.match(/PING\r\n/g) ?? []).length + 1;
      await sendChunked(c, r, script);
      await waitFor(
        () => (c.received.match(/PONG\r\n/g) ?? []).length >= pongs,
        10_000,
        `${pongs} PONGs for the publisher (seed ${seed})`,
      );
    }
    if (clustered) {
      // The route delivers after the publisher's PONG: wait until the counters settle.
      let last = "";
      await waitFor(
        async () => {
          const now = JSON.stringify(await Promise.all(monitors.map(stats)));
          const same = now === last;
          last = now;
          if (!same) await new Promise((res) => setTimeout(res, 100));
          return same;
        },
        10_000,
        "counters settle",
      );
    }
    for (const c of clients) await c.roundTrip();
    const after = await Promise.all(monitors.map(stats));
    const bytes: Bytes = {};
    for (const s of specs) bytes[s.name] = strip(subs[s.name].received);
    bytes.quiet = strip(quiet.received);
    bytes.loud = strip(loud.received);
    return { bytes, stats: after.map((a, i) => minus(a, before[i])) };
  } finally {
    for (const c of clients) await c.close();
  }
}

function compare(seed: number, ours: { bytes: Bytes; stats: Stats[] }, ref: typeof ours): void {
  const at = `(seed ${seed}; replay with RUNFUZZ_SEED=${seed})`;
  const groups: Record<string, { ours: string[]; ref: string[] }> = {};
  for (const spec of subscribers(new Rand(0), false)) {
    if (spec.group !== undefined) {
      const g = groups[spec.group] ??= { ours: [], ref: [] };
      g.ours.push(...frames(ours.bytes[spec.name]));
      g.ref.push(...frames(ref.bytes[spec.name]));
      continue;
    }
  }
  for (const name of ["quiet", "loud"]) {
    // A publisher subscribes mid-flow, after nats-server cached matches: it
    // appends a new subscription to a cached result, so the order of one
    // connection's sids depends on history (and on Go map order for two on
    // one pattern). Compare each sid's messages, and everything else in order.
    const bySid = (s: string) => {
      const sids: Record<string, string[]> = {};
      for (const f of frames(s)) (sids[f.split(" ")[2]] ??= []).push(f);
      return sids;
    };
    const rest = (s: string) => {
      let t = s;
      for (const f of frames(s)) t = t.replace(f, "");
      return t;
    };
    deepEqual(bySid(ours.bytes[name]), bySid(ref.bytes[name]), `${name}'s messages by sid ${at}`);
    equal(rest(ours.bytes[name]), rest(ref.bytes[name]), `${name}'s other lines ${at}`);
  }
  for (const name of Object.keys(ref.bytes)) {
    if (name === "qa" || name === "qb" || name === "quiet" || name === "loud") continue;
    const x = ours.bytes[name];
    const y = ref.bytes[name];
    if (x === y) continue;
    let i = 0;
    while (i < x.length && x[i] === y[i]) i++;
    const show = (t: string) => JSON.stringify(t.slice(Math.max(0, i - 150), i + 150));
    equal(
      x,
      y,
      `${name}'s bytes differ from nats-server at ${i} of ${y.length} ${at}:\n` +
        `dnatsd:      ${show(x)}\nnats-server: ${show(y)}`,
    );
  }
  for (const [name, g] of Object.entries(groups)) {
    // Which member gets a message is random in nats-server: compare the group's messages.
    const norm = (l: string[]) => l.map((f) => f.replace(/^MSG (\S+) \S+/, "MSG $1 _")).sort();
    deepEqual(norm(g.ours), norm(g.ref), `queue group ${name} differs ${at}`);
  }
  for (let i = 0; i < ref.stats.length; i++) {
    const conns = ref.stats[i].conns;
    for (const name of Object.keys(conns)) {
      if (name === "qa" || name === "qb" || name === "probe" || name === "prober") continue;
      deepEqual(
        ours.stats[i].conns[name],
        conns[name],
        `/connz ${name} on server ${i} ${at}: ${
          JSON.stringify(ours.stats[i].conns[name])
        } against ${JSON.stringify(conns[name])}`,
      );
    }
    deepEqual(
      ours.stats[i].varz,
      ref.stats[i].varz,
      `/varz of server ${i} ${at}: ${JSON.stringify(ours.stats[i].varz)} against ${
        JSON.stringify(ref.stats[i].varz)
      }`,
    );
  }
}

function seeds(): number[] {
  const first = SEED_ENV !== undefined ? Number(SEED_ENV) : Math.floor(Math.random() * 2 ** 31);
  return Array.from({ length: ITERATIONS }, (_, i) => first + i);
}

Deno.test({
  name: "run fuzz: one server, every kind of subscriber gets nats-server's bytes and counts",
  ignore: missing("nats-server"),
  fn: async () => {
    const start = (reference: boolean) =>
      ServerProcess.start({ reference, config: USERS, args: ["-m", "-1"] });
    const [ours, ref] = await Promise.all([start(false), start(true)]);
    try {
      for (const seed of seeds()) {
        const [a, b] = await Promise.all([
          flow(seed, ours.port, ours.port, [monitorOf(ours)], false),
          flow(seed, ref.port, ref.port, [monitorOf(ref)], false),
        ]).catch((e) => {
          throw new Error(`seed ${seed}: ${e}`);
        });
        compare(seed, a, b);
      }
    } finally {
      await Promise.all([ours.stop(), ref.stop()]);
    }
  },
});

/** Two nodes of one kind: A solicits B; returns them with their monitor ports. */
async function pair(reference: boolean): Promise<ServerProcess[]> {
  const conf = (routes: string) =>
    // No system account: its events (connection counts sent between nodes at
    // their own times) would move /varz by a message or two.
    `${USERS}no_system_account: true\ncluster { name: fuzz\n listen: 127.0.0.1:-1\n${routes} }\n`;
  const b = await ServerProcess.start({ reference, config: conf(""), args: ["-m", "-1"] });
  await b.waitForLog(/Listening for route connections/);
  const a = await ServerProcess.start({
    reference,
    config: conf(`routes: ["nats-route://127.0.0.1:${routePortOf(b)}"]\n`),
    args: ["-m", "-1"],
  });
  return [a, b];
}

Deno.test({
  name: "run fuzz: publishers on node A, subscribers on node B (route runs), as nats-server",
  ignore: missing("nats-server"),
  fn: async () => {
    const [ours, ref] = await Promise.all([pair(false), pair(true)]);
    try {
      for (const seed of seeds()) {
        const run = (nodes: ServerProcess[]) =>
          flow(seed, nodes[0].port, nodes[1].port, nodes.map(monitorOf), true);
        const [a, b] = await Promise.all([run(ours), run(ref)]).catch((e) => {
          throw new Error(`seed ${seed}: ${e}`);
        });
        compare(seed, a, b);
      }
    } finally {
      await Promise.all([...ours, ...ref].map((s) => s.stop()));
    }
  },
});

/**
 * A subscriber that never reads, with max_pending near a run's size, flooded
 * by runs: it must be cut as a slow consumer on both servers, what it got
 * before the cut must be a prefix of the stream (no message lost or reordered
 * before it), and the reading subscriber and the publisher's counts must be
 * nats-server's. Where the cut falls is not comparable: it depends on how much
 * the kernel's socket buffers took before the server's own buffer passed
 * max_pending, on either server; so the test checks that each server's
 * /varz out_msgs is the reading subscriber's messages plus what /connz says
 * the slow one was counted, and that it received no more than that.
 */
const FLOOD = Number(Deno.env.get("RUNFUZZ_FLOOD") ?? "20000");

async function slowFlow(seed: number, server: ServerProcess): Promise<Record<string, unknown>> {
  const r = new Rand(seed);
  const monitor = monitorOf(server);
  const clients: RawClient[] = [];
  const slow = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await slow.write(new TextEncoder().encode(connect("slow") + "SUB r.a 2\r\nPING\r\n"));
    await waitFor(
      async () => {
        const c = await (await fetch(`http://127.0.0.1:${monitor}/connz`)).json();
        return c.connections.some((x: { name?: string; subscriptions: number }) =>
          x.name === "slow" && x.subscriptions === 1
        );
      },
      5000,
      "the slow subscriber's SUB",
    );
    const pub = await open(server.port, connect("pub", "pub"), clients);
    const size = 300;
    let script = "";
    let sent = 0;
    let expected = "";
    while (sent < FLOOD) {
      const count = r.int(1, 400);
      for (let m = 0; m < count; m++, sent++) {
        const body = payload(r, size);
        script += `PUB r.a ${size}\r\n${body}\r\n`;
        expected += `MSG r.a 2 ${size}\r\n${body}\r\n`;
      }
      if (r.chance(0.1)) script += "PING\r\n";
    }
    script += "PING\r\n";
    const pongs = (script.match(/PING\r\n/g) ?? []).length + 1;
    await sendChunked(pub, r, script);
    await waitFor(
      () => (pub.received.match(/PONG\r\n/g) ?? []).length >= pongs,
      20_000,
      `the publisher's PONGs (seed ${seed})`,
    );
    let closed: { name?: string; reason: string; out_msgs: number } | undefined;
    await waitFor(
      async () => {
        const c = await (await fetch(`http://127.0.0.1:${monitor}/connz?state=closed`)).json();
        closed = (c.connections ?? []).find((x: { name?: string }) => x.name === "slow");
        return closed !== undefined;
      },
      10_000,
      `the slow subscriber cut (seed ${seed})`,
    );
    // Whatever reached the socket before the cut.
    let got = "";
    const dec = new TextDecoder();
    const buf = new Uint8Array(1 << 16);
    const deadline = Date.now() + 10_000;
    try {
      while (Date.now() < deadline) {
        const n = await slow.read(buf);
        if (n === null) break;
        got += dec.decode(buf.subarray(0, n), { stream: true });
      }
    } catch { /* reset: what arrived is what counts */ }
    // The servers' own PINGs (RTT, keep-alive) come when they come.
    got = got.replace(/^INFO [^\n]*\n/, "").replaceAll("PONG\r\n", "").replaceAll("PING\r\n", "");
    const v = await (await fetch(`http://127.0.0.1:${monitor}/varz`)).json();
    const at = `(seed ${seed}; ${server.logs.text.includes("dnatsd") ? "dnatsd" : "nats-server"})`;
    if (!expected.startsWith(got)) {
      let i = 0;
      while (i < got.length && got[i] === expected[i]) i++;
      const show = (t: string) => JSON.stringify(t.slice(Math.max(0, i - 100), i + 100));
      ok(
        false,
        `the slow subscriber's bytes leave the stream at ${i} of ${got.length} ${at}:\n` +
          `got:      ${show(got)}\nexpected: ${show(expected)}`,
      );
    }
    const gotMsgs = (got.match(/MSG r\.a 2 /g) ?? []).length;
    ok(gotMsgs < sent, `the slow subscriber got all ${sent} messages: never cut ${at}`);
    ok(gotMsgs <= closed!.out_msgs, `received ${gotMsgs} > counted ${closed!.out_msgs} ${at}`);
    return {
      publisher: strip(pub.received),
      cut: closed!.reason.startsWith("Slow Consumer"),
      sent,
      varz: { in_msgs: v.in_msgs, in_bytes: v.in_bytes, slow_consumers: v.slow_consumers },
    };
  } finally {
    try {
      slow.close();
    } catch { /* closed */ }
    for (const c of clients) await c.close();
  }
}

Deno.test({
  name: "run fuzz: a subscriber that stops reading under runs is cut, having lost nothing before",
  ignore: missing("nats-server"),
  fn: async () => {
    const seed = seeds()[0];
    const start = (reference: boolean) =>
      ServerProcess.start({
        reference,
        config: 'max_pending: 65536\nmax_payload: 4096\nwrite_deadline: "1s"\n',
        args: ["-m", "-1"],
      });
    const ours = await start(false);
    try {
      const a = await slowFlow(seed, ours);
      equal(a.cut, true, `seed ${seed}: not cut as a slow consumer`);
      equal((a.varz as Record<string, number>).slow_consumers, 1, `seed ${seed}`);
      equal((a.varz as Record<string, number>).in_msgs, a.sent, `seed ${seed}`);
      if (Deno.env.get("RUNFUZZ_SLOW_REFERENCE") === "1") {
        // nats-server holds the publisher for tens of seconds under this flood
        // (58 s for 5 MB measured), too long for the suite.
        const ref = await start(true);
        try {
          deepEqual(a, await slowFlow(seed, ref), `seed ${seed}: dnatsd and nats-server differ`);
        } finally {
          await ref.stop();
        }
      }
    } finally {
      await ours.stop();
    }
  },
});

Deno.test("a run to a route whose 1 MiB outbound buffer fills arrives whole (peer stopped meanwhile)", async () => {
  // Found by this file's route case: with the peer not reading, the route's
  // buffer reaches 1 MiB and making room seals it; RouteConnection.sendRun
  // then copied the RMSG line from where the old buffer ended (nothing), the
  // peer got payloads without lines and closed the route ('Unknown Protocol
  // Operation'), losing the rest. Failed 5 runs in 5 before the fix.
  const conf = (routes: string) =>
    `no_system_account: true\ncluster { name: full\n listen: 127.0.0.1:-1\n${routes} }\n`;
  const b = await ServerProcess.start({ config: conf("") });
  await b.waitForLog(/Listening for route connections/);
  const a = await ServerProcess.start({
    config: conf(`routes: ["nats-route://127.0.0.1:${routePortOf(b)}"]\n`),
  });
  const clients: RawClient[] = [];
  let stopped = false;
  try {
    const hello = 'CONNECT {"verbose":false,"pedantic":false}\r\n';
    const sub = await open(b.port, hello + "SUB r.z 1\r\n", clients);
    const pub = await open(a.port, hello, clients);
    await waitFor(
      async () => {
        await pub.send("PUB r.z 1\r\np\r\n");
        await new Promise((res) => setTimeout(res, 20));
        return sub.received.includes("MSG r.z 1 1\r\np\r\n");
      },
      8000,
      "interest across the route",
    );
    await sub.roundTrip();
    const from = sub.received.length;
    b.signal("SIGSTOP");
    stopped = true;
    const size = 4000;
    let text = "";
    let expected = "";
    for (let i = 0; i < 3000; i++) {
      const body = String(i).padStart(8, "0").padEnd(size, "x");
      text += `PUB r.z ${size}\r\n${body}\r\n`;
      expected += `MSG r.z 1 ${size}\r\n${body}\r\n`;
    }
    await pub.send(text);
    await pub.roundTrip(20_000);
    b.signal("SIGCONT");
    stopped = false;
    await waitFor(
      () =>
        sub.received.length - from >= expected.length ||
        /Route Error|Parse Error/.test(a.logs.text + b.logs.text),
      20_000,
      "every message at the subscriber",
    );
    const errors = (a.logs.text + b.logs.text).split("\n").filter((l) =>
      /Route Error|Parse Error/.test(l)
    );
    deepEqual(errors, [], "the route broke");
    ok(
      sub.received.slice(from) === expected,
      "the subscriber's bytes differ from what was published",
    );
  } finally {
    if (stopped) b.signal("SIGCONT");
    for (const c of clients) await c.close();
    await Promise.all([a.stop(), b.stop()]);
  }
});
