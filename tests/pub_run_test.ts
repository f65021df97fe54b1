/**
 * Runs of identical PUB (and RMSG) lines are delivered in one pass
 * (lib/delivery/deliver.ts `fanOutRun`, docs/performance.md "Runs of identical
 * lines"). What every subscriber receives must stay byte for byte what
 * nats-server sends, in the cases that take the run and in those that fall
 * back to one message at a time (a client with two matching subscriptions,
 * auto-unsubscribe, echo off).
 */
import { equal } from "node:assert/strict";
import { Node, stopAll, waitForMesh, waitForRemoteInterest } from "./helpers/cluster.ts";
import { RawClient } from "./helpers/raw.ts";
import { missing } from "./helpers/requires.ts";
import { ServerProcess, waitFor } from "./helpers/server.ts";

const CONNECT = 'CONNECT {"verbose":false,"pedantic":false}\r\n';

/** `count` PUBs of one line: the payloads differ, the lines do not. */
function batch(subject: string, count: number, from = 0): string {
  let text = "";
  for (let i = from; i < from + count; i++) {
    text += `PUB ${subject} 5\r\nm${String(i).padStart(4, "0")}\r\n`;
  }
  return text;
}

/**
 * The frames of a connection with two subscriptions matching each message, with
 * the two copies of each message put in sid order. nats-server keeps a subject's
 * few subscriptions in a Go map, so which sid comes first is drawn anew whenever
 * it computes the match (about one time in eight it is the later sid): what both
 * servers must agree on is that each message goes to both sids before the next
 * message (a run would send all of one sid's messages first).
 */
function sidsInTurn(text: string): string {
  const frames = text.split(/(?=MSG )/);
  const out: string[] = [];
  for (let i = 0; i < frames.length; i++) {
    const payload = (f: string) => f.slice(f.indexOf("\r\n") + 2);
    if (i + 1 < frames.length && payload(frames[i]) === payload(frames[i + 1])) {
      out.push(...[frames[i], frames[i + 1]].sort());
      i++;
    } else {
      out.push(frames[i]);
    }
  }
  return out.join("");
}

/** What each subscriber received, keyed by name, on one server. */
async function scenario(reference: boolean): Promise<Record<string, string>> {
  const server = await ServerProcess.start({ reference });
  const clients: RawClient[] = [];
  try {
    const open = async (subs: string) => {
      const c = await RawClient.connect(server.port);
      clients.push(c);
      await c.send(CONNECT + subs);
      await c.roundTrip();
      return c;
    };
    const subs = {
      // Take the run: two connections with the same sid, one with another sid.
      one: await open("SUB r.x 1\r\n"),
      sameSid: await open("SUB r.x 1\r\n"),
      otherSid: await open("SUB r.x 77\r\n"),
      // Fall back: two matching subscriptions on one connection, auto-unsubscribe.
      twice: await open("SUB r.y 7\r\nSUB r.y 8\r\n"),
      capped: await open("SUB r.y 5\r\nUNSUB 5 3\r\n"),
    };
    // The publisher does not see its own messages (echo off) but sees the others'.
    const pub = await open("");
    await pub.send('CONNECT {"verbose":false,"pedantic":false,"echo":false}\r\nSUB r.x 9\r\n');
    await pub.roundTrip();
    await pub.send(batch("r.x", 400) + batch("r.y", 200) + batch("r.x", 3, 400) + "PING\r\n");
    await pub.expect(/PONG\r\n(?:.|\r|\n)*PONG\r\n/);
    for (const c of Object.values(subs)) await c.roundTrip();
    const out: Record<string, string> = {};
    for (const [name, c] of Object.entries(subs)) out[name] = c.received;
    out.publisher = pub.received;
    return out;
  } finally {
    for (const c of clients) await c.close();
    await server.stop();
  }
}

Deno.test({
  name: "runs of identical PUB lines: every subscriber gets nats-server's bytes",
  ignore: missing("nats-server"),
  fn: async () => {
    const ours = await scenario(false);
    const theirs = await scenario(true);
    // INFO differs, and a PONG lands wherever the subscriber's PING was read.
    const strip = (s: string) => s.replace(/^INFO [^\n]*\n/, "").replaceAll("PONG\r\n", "");
    for (const name of Object.keys(theirs)) {
      const [a, b] = [strip(ours[name]), strip(theirs[name])];
      if (name === "twice") {
        equal(sidsInTurn(a), sidsInTurn(b), `${name} differs from nats-server`);
      } else {
        equal(a, b, `${name} differs from nats-server`);
      }
    }
    // The run cases got every message (not only the same bytes as a server that lost some).
    equal(ours.one.match(/MSG r\.x 1 5\r\n/g)?.length, 403);
    equal(ours.otherSid.match(/MSG r\.x 77 5\r\n/g)?.length, 403);
    equal(ours.capped.match(/MSG r\.y 5 5\r\n/g)?.length, 3);
  },
});

Deno.test("runs of identical RMSG lines reach a subscriber across a route in order", async () => {
  const a = await Node.start({ name: "runA", clusterName: "runs" });
  const b = await Node.start({ name: "runB", clusterName: "runs", routes: [a.routeUrl] });
  const clients: RawClient[] = [];
  try {
    await waitForMesh([a, b]);
    const sub = await RawClient.connect(b.server.clientPort);
    clients.push(sub);
    await sub.send(CONNECT + "SUB r.z 3\r\n");
    await sub.roundTrip();
    await waitForRemoteInterest(a, "r.z", 1);
    const pub = await RawClient.connect(a.server.clientPort);
    clients.push(pub);
    await pub.send(CONNECT);
    const count = 2000;
    await pub.send(batch("r.z", count) + "PING\r\n");
    await pub.expect(/PONG\r\n/);
    let expected = "";
    for (let i = 0; i < count; i++) {
      expected += `MSG r.z 3 5\r\nm${String(i).padStart(4, "0")}\r\n`;
    }
    await waitFor(() => sub.received.length >= expected.length, 5000, "all deliveries");
    equal(sub.received.slice(sub.received.indexOf("MSG")), expected);
  } finally {
    for (const c of clients) await c.close();
    await stopAll([a, b]);
  }
});
