/**
 * The runtime's ceiling for the subscribe burst (the `wildcard` workload's
 * "subscribe burst: 10k subs, SUB..PONG" row): a stand-alone Deno TCP server
 * that does the least a NATS server must do for that burst and nothing else.
 * It sends an INFO line, splits what it reads into lines, and for each
 * `SUB <subject> <sid>` keeps the subject and the sid as strings (cut from
 * the read decoded once) in a subscription object, inserts it into a trie (a
 * `Map` of literal tokens per level, `*` and `>` children apart) and into a
 * `Map` by sid; it answers `PING` with `PONG` and ignores every other line
 * (CONNECT, PUB lines, and anything a PUB's payload holds, so it delivers
 * nothing). No validation, no queue groups, no permissions, no limits, no
 * interest propagation, no cache. `SUB_CEILING` and `SUB_CEILING_STRINGS` in
 * the environment take parts out or put dnatsd's in, to see what each costs
 * (below).
 *
 * It starts as dnatsd does (main.ts): the same V8 young-generation cap
 * (lib/ops/heap_flags.ts) and `DENO_TOKIO_EVENT_INTERVAL=1`
 * (lib/ops/event_interval.ts), carried through the same re-execution at
 * start (lib/ops/sigusr1_mask.ts). So its cold burst is what the runtime
 * costs to run any such code for the first time in a fresh process; what
 * dnatsd's burst costs beyond it is dnatsd's own work. Measured in
 * docs/performance/subjects.md ("sixth round").
 *
 * Usage: `deno run -A tools/bench/sub_ceiling.ts -a 127.0.0.1 -p <port>`
 * (other flags are ignored, so the bench and tools/bench/wildcard_cpu.ts can
 * start it like a server: `wildcard_cpu.ts tools/bench/sub_ceiling.ts 0 0`).
 *
 * @module
 */
import { readUntilClosed, startLikeDnatsd } from "./ceiling_start.ts";
import { Sublist } from "../../lib/router/sublist.ts";

/** One subscription: what a server must keep of a SUB to deliver to it and to UNSUB it. */
class Sub {
  readonly queue = null;
  constructor(readonly subject: string, readonly sid: string) {}
}

/**
 * A trie level: children by literal token, the `*` and `>` children apart (a
 * `Map` per level just for them would double the heap a wildcard SUB keeps),
 * and the subscriptions ending here: the first one held directly, as most
 * subjects have one.
 */
class Node {
  literal: Map<string, Node> | null = null;
  star: Node | null = null;
  full: Node | null = null;
  one: Sub | null = null;
  more: Sub[] | null = null;
}

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const DOT = 0x2e;
const STAR = 0x2a;
const GT = 0x3e;

/** The bytes `buf[start..end)` as a string, one char per byte (the bench's lines are ASCII). */
function latin1(buf: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!);
  return s;
}

/** Inserts `sub` under its subject's tokens. */
function insert(root: Node, sub: Sub): void {
  const subject = sub.subject;
  let node = root;
  let from = 0;
  for (;;) {
    let to = from;
    while (to < subject.length && subject.charCodeAt(to) !== DOT) to++;
    const c = to - from === 1 ? subject.charCodeAt(from) : 0;
    let child: Node | undefined;
    if (c === STAR) child = node.star ??= new Node();
    else if (c === GT) child = node.full ??= new Node();
    else {
      const literal = node.literal ??= new Map();
      const token = subject.slice(from, to);
      child = literal.get(token);
      if (child === undefined) {
        child = new Node();
        literal.set(token, child);
      }
    }
    node = child;
    if (to === subject.length) break;
    from = to + 1;
  }
  if (node.one === null) node.one = sub;
  else (node.more ??= []).push(sub);
}

const INFO = new TextEncoder().encode(
  'INFO {"server_id":"subceiling","version":"0.0.0","max_payload":1048576}\r\n',
);
const PONG = new TextEncoder().encode("PONG\r\n");
/**
 * `SUB_CEILING` in the environment leaves parts out, to see what each costs:
 * `lines` splits lines and answers PING only; `sids` also makes the two
 * strings and keeps the subscription by sid; `trie` (the default) is all;
 * `sublist` puts dnatsd's own `Sublist` (lib/router/sublist.ts) in place of
 * the minimal trie.
 */
const LEVEL = Deno.env.get("SUB_CEILING") ?? "trie";
/**
 * The subject and sid strings are cut from the whole read decoded once
 * (cheaper than building them a character at a time: docs/performance/subjects.md,
 * "sixth round"; the bench's are ASCII and shorter than 13 characters, which V8
 * copies rather than keep the read's text alive). `SUB_CEILING_STRINGS=bytes`
 * builds them from the bytes instead, as dnatsd does.
 */
const BYTE_STRINGS = Deno.env.get("SUB_CEILING_STRINGS") === "bytes";
const LATIN1 = new TextDecoder("latin1");
/** One trie for every connection, as one account's sublist. */
const root = new Node();
/** dnatsd's sublist, for `SUB_CEILING=sublist`. */
const sublist = new Sublist<Sub>();

/** Handles the lines of one connection until it closes. */
function serve(conn: Deno.Conn): Promise<void> {
  const sids = new Map<string, Sub>();
  return readUntilClosed(conn, INFO, 256 * 1024, (buf, len) => {
    const text = BYTE_STRINGS ? null : LATIN1.decode(buf.subarray(0, len));
    let start = 0;
    let pong = false;
    for (;;) {
      let lf = start;
      while (lf < len && buf[lf] !== LF) lf++;
      if (lf === len) break;
      let end = lf;
      if (end > start && buf[end - 1] === CR) end--;
      const c0 = buf[start]! | 0x20;
      if (c0 === 0x73 && (buf[start + 1]! | 0x20) === 0x75) {
        // SUB <subject> <sid>
        const a = start + 4;
        let b = a;
        while (b < end && buf[b] !== SPACE) b++;
        if (LEVEL !== "lines") {
          const sub = text === null
            ? new Sub(latin1(buf, a, b), latin1(buf, b + 1, end))
            : new Sub(text.slice(a, b), text.slice(b + 1, end));
          if (LEVEL === "trie") insert(root, sub);
          else if (LEVEL === "sublist") sublist.insert(sub);
          sids.set(sub.sid, sub);
        }
      } else if (c0 === 0x70 && (buf[start + 1]! | 0x20) === 0x69) {
        pong = true; // PING
      }
      start = lf + 1;
    }
    // One write per read, after the read's lines, as a server coalescing its output.
    return pong ? conn.write(PONG).then(() => start) : start;
  });
}

if (import.meta.main) await startLikeDnatsd(serve);
