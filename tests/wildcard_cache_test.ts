/**
 * The match caches (the account's and the publisher's own) never deliver from
 * a stale result: bursts of SUBs and UNSUBs in one write (wildcard, literal and
 * queue subscriptions), each followed by one publish to every subject, all of
 * them cached before the burst. Deliveries are checked against a brute-force
 * matcher, and dnatsd's against nats-server's on the same input.
 *
 * @module
 */
import { deepEqual, ok } from "node:assert/strict";
import { prng } from "../lib/router/_test_util.ts";
import { RawClient } from "./helpers/raw.ts";
import { ServerProcess, waitFor } from "./helpers/server.ts";
import { missing } from "./helpers/requires.ts";

interface LiveSub {
  sid: number;
  pattern: string;
  queue: string | null;
}

const TOKENS = ["a", "b", "ab"];
const SUBJECTS = TOKENS.flatMap((x) => [`c.${x}`, ...TOKENS.map((y) => `c.${x}.${y}`)]);
const ROUNDS = 25;

function matches(subject: string, pattern: string): boolean {
  const s = subject.split(".");
  const p = pattern.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length || (p[i] !== "*" && p[i] !== s[i])) return false;
  }
  return s.length === p.length;
}

/** MSG lines received since `from`: [subject, sid] each, and where the text ends. */
function msgLines(text: string, from: number): string[][] {
  const out: string[][] = [];
  const re = /MSG (\S+) (\S+) (\d+)\r\n/g;
  re.lastIndex = from;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.push([m[1]!, m[2]!]);
  return out;
}

async function pongs(c: RawClient, n: number): Promise<void> {
  await waitFor(() => (c.received.match(/PONG\r\n/g) ?? []).length >= n, 5000, `PONG #${n}`);
}

/** Runs the scenario; returns one sorted transcript line list per round. */
async function scenario(reference: boolean): Promise<string[][]> {
  const server = await ServerProcess.start({ reference });
  const sub = await RawClient.connect(server.port);
  const pub = await RawClient.connect(server.port);
  try {
    const random = prng(0x57A1E);
    const connect = 'CONNECT {"verbose":false,"pedantic":false}\r\n';
    // One subscription from the start, so cached results are not all empty.
    const live: LiveSub[] = [{ sid: 1, pattern: "c.>", queue: null }];
    let nextSid = 2;
    let subPongs = 1;
    let pubPongs = 1;
    await sub.send(`${connect}SUB c.> 1\r\nPING\r\n`);
    await pub.send(`${connect}PING\r\n`);
    await pongs(sub, subPongs);
    await pongs(pub, pubPongs);
    const publishAll = async (round: number) => {
      await pub.send(SUBJECTS.map((s) => `PUB ${s} 2\r\nr${round % 10}\r\n`).join("") + "PING\r\n");
      await pongs(pub, ++pubPongs);
      await sub.send("PING\r\n"); // every MSG of the round is queued before this PONG
      await pongs(sub, ++subPongs);
    };
    await publishAll(0); // fills the caches
    let seen = sub.received.length;
    const transcript: string[][] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      let burst = "";
      // Up to 60 changes: past the sublist's scans before it drops its cache (16).
      const changes = 1 + Math.floor(random() * 60);
      for (let c = 0; c < changes; c++) {
        if (live.length > 1 && random() < 0.35) {
          const [gone] = live.splice(1 + Math.floor(random() * (live.length - 1)), 1);
          burst += `UNSUB ${gone!.sid}\r\n`;
          continue;
        }
        const tok = () => {
          const r = random();
          return r < 0.4 ? "*" : TOKENS[Math.floor(random() * TOKENS.length)]!;
        };
        if (random() < 0.5) {
          // A pattern no published subject matches: it leaves the cached
          // entries in place, so later changes of the same burst meet them.
          const s: LiveSub = { sid: nextSid++, pattern: `n.${nextSid}.*`, queue: null };
          live.push(s);
          burst += `SUB ${s.pattern} ${s.sid}\r\n`;
          continue;
        }
        const shape = random();
        const pattern = shape < 0.15
          ? `c.${tok()}.>`
          : shape < 0.3
          ? `c.${tok()}`
          : `c.${tok()}.${tok()}`;
        const queue = random() < 0.3 ? (random() < 0.5 ? "q" : "r") : null;
        const s: LiveSub = { sid: nextSid++, pattern, queue };
        live.push(s);
        burst += `SUB ${pattern}${queue === null ? "" : " " + queue} ${s.sid}\r\n`;
      }
      await sub.send(burst + "PING\r\n");
      await pongs(sub, ++subPongs);
      seen = sub.received.length;
      await publishAll(round);
      const got = msgLines(sub.received, seen);
      seen = sub.received.length;
      // Expected: every matching plain sub once; one member of each matching group.
      const lines: string[] = [];
      const bySid = new Map(live.map((s) => [String(s.sid), s]));
      const want: string[] = [];
      for (const subject of SUBJECTS) {
        const groups = new Set<string>();
        for (const s of live) {
          if (!matches(subject, s.pattern)) continue;
          if (s.queue === null) want.push(`${subject} ${s.sid}`);
          else groups.add(s.queue);
        }
        for (const g of groups) want.push(`${subject} queue ${g}`);
      }
      for (const [subject, sid] of got) {
        const s = bySid.get(sid);
        ok(s !== undefined, `round ${round}: MSG ${subject} for sid ${sid}, not subscribed`);
        ok(matches(subject, s.pattern), `round ${round}: ${subject} to ${s.pattern} (sid ${sid})`);
        lines.push(s.queue === null ? `${subject} ${sid}` : `${subject} queue ${s.queue}`);
      }
      lines.sort();
      want.sort();
      deepEqual(lines, want, `round ${round} (${reference ? "nats-server" : "dnatsd"})`);
      transcript.push(lines);
    }
    return transcript;
  } finally {
    await sub.close();
    await pub.close();
    await server.stop();
  }
}

Deno.test("bursts of SUB/UNSUB between publishes to cached subjects: no stale delivery (dnatsd)", async () => {
  const rounds = await scenario(false);
  ok(rounds.length === ROUNDS);
});

Deno.test({
  name: "bursts of SUB/UNSUB between publishes to cached subjects: dnatsd delivers as nats-server",
  ignore: missing("nats-server"),
  fn: async () => {
    deepEqual(await scenario(false), await scenario(true));
  },
});
