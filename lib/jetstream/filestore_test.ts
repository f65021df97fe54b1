/**
 * File store compaction: a stream driven through publishes, deletes, limits
 * and purges with small segments, compacted, and read back from disk after a
 * stop at each fault point (the disk as kill -9 would leave it: whatever was
 * written is there). Every acknowledged live message must come back once, no
 * deleted one may come back, and the sequence goes on where it was.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { FaultCrash, setFaultHook, setSegmentBytes, StreamFiles } from "./filestore.ts";
import { normaliseConfig, Stream } from "./stream.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function open(dir: string, extra: Record<string, unknown> = {}): Stream {
  const files = new StreamFiles(dir);
  const st = new Stream(normaliseConfig({ name: "S", subjects: ["s.>"], ...extra }), "t");
  const { records } = files.recover();
  st.restore(records);
  st.files = files;
  return st;
}

/** What must survive: every message, the sequences and times of the state. */
function snapshot(st: Stream): string {
  const msgs = [...st.msgs.values()].sort((a, b) => a.seq - b.seq)
    .map((m) => `${m.seq} ${m.subject} ${dec.decode(m.data)} ${m.ts}`);
  const { first_seq, last_seq, messages, bytes, num_deleted, last_ts } = st.state(0);
  return JSON.stringify({ msgs, first_seq, last_seq, messages, bytes, num_deleted, last_ts });
}

/**
 * A publish; synced by the caller's `sync()` where it matters (a stop at a
 * fault point is kill -9: what was written is in the page cache and stays).
 */
function publish(st: Stream, subject: string, body: string): boolean {
  return st.publish(subject, null, enc.encode(body)).stored;
}

function compactAll(st: Stream): number {
  let steps = 0;
  while (st.files!.compactStep()) steps++;
  return steps;
}

/** A small deterministic random sequence (the same run every time). */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

/** Random publishes (with a per-subject limit), deletes and purges; compaction as it goes. */
function churn(st: Stream, rand: () => number, ops: number): void {
  for (let i = 0; i < ops; i++) {
    const r = rand();
    if (r < 0.6) publish(st, `s.${Math.floor(rand() * 12)}`, `m${i}-${"x".repeat(rand() * 40)}`);
    else if (r < 0.9 && st.msgs.size > 0) {
      const seqs = [...st.msgs.keys()];
      st.removeMsg(seqs[Math.floor(rand() * seqs.length)]);
    } else if (r < 0.93) st.purge();
    else if (r < 0.96) st.purge(`s.${Math.floor(rand() * 12)}`);
    else compactAll(st);
  }
  st.files!.sync();
}

function withDir(fn: (dir: string) => void): void {
  const dir = Deno.makeTempDirSync({ prefix: "js-compact-" });
  const old = setSegmentBytes(600);
  try {
    fn(dir);
  } finally {
    setSegmentBytes(old);
    setFaultHook(null);
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("filestore compaction: restart after random churn gives the same stream", () => {
  withDir((dir) => {
    const rand = rng(7);
    let st = open(dir, { max_msgs_per_subject: 4 });
    for (let round = 0; round < 8; round++) {
      churn(st, rand, 120);
      if (round % 2 === 0) compactAll(st);
      const want = snapshot(st);
      const disk = st.files!.diskBytes;
      st.close();
      st = open(dir, { max_msgs_per_subject: 4 });
      equal(snapshot(st), want, `round ${round}`);
      equal(st.files!.diskBytes, disk);
    }
    // The sequence goes on after the last one ever used, even if it was deleted.
    const last = st.lastSeq;
    st.removeMsg(last);
    compactAll(st);
    ok(publish(st, "s.z", "after"));
    equal(st.lastSeq, last + 1);
    st.close();
  });
});

Deno.test("filestore compaction: space comes back, live records stay", () => {
  withDir((dir) => {
    const st = open(dir);
    for (let i = 0; i < 200; i++) publish(st, `s.${i % 4}`, `payload-${i}-${"y".repeat(20)}`);
    st.files!.sync();
    const full = st.files!.diskBytes;
    const segments = st.files!.segmentCount;
    ok(segments > 10, `${segments} segments`);
    // Delete nine in ten: most segments become mostly dead.
    for (let seq = 1; seq <= 200; seq++) if (seq % 10 !== 0) st.removeMsg(seq);
    compactAll(st);
    const after = st.files!.diskBytes;
    ok(after < full / 3, `${after} bytes of ${full} after compaction`);
    ok(st.files!.stats.rewritten + st.files!.stats.removed > 0);
    const want = snapshot(st);
    st.close();
    const again = open(dir);
    equal(snapshot(again), want);
    equal(again.msgs.size, 20);
    // A full purge drops every older segment at once.
    again.purge();
    compactAll(again);
    ok(again.files!.segmentCount <= 2, `${again.files!.segmentCount} segments after purge`);
    ok(again.files!.diskBytes < 700, `${again.files!.diskBytes} bytes after purge`);
    again.close();
    const empty = open(dir);
    equal(empty.state(0).last_seq, 200);
    equal(empty.state(0).first_seq, 201);
    ok(publish(empty, "s.0", "next"));
    equal(empty.lastSeq, 201);
    empty.close();
  });
});

const POINTS = [
  "rotate-created",
  "compact-torn",
  "compact-written",
  "compact-synced",
  "compact-renamed",
  "unlink",
];

for (const point of POINTS) {
  Deno.test(`filestore compaction: a crash at ${point} loses and revives nothing`, () => {
    withDir((dir) => {
      const rand = rng(point.length * 31 + 5);
      let st = open(dir, { max_msgs_per_subject: 3 });
      let hits = 0;
      for (let round = 0; round < 4; round++) {
        churn(st, rand, 100);
        let crashed = false;
        setFaultHook((p) => {
          if (p !== point) return;
          crashed = true;
          throw new FaultCrash(p);
        });
        try {
          // Work that reaches the point: publishes that rotate, deletes and compaction.
          for (let i = 0; i < 200 && !crashed; i++) {
            if (point === "rotate-created") publish(st, "s.r", `r${i}`);
            else {
              const seqs = [...st.msgs.keys()];
              if (seqs.length > 0) st.removeMsg(seqs[Math.floor(rand() * seqs.length)]);
              compactAll(st);
            }
          }
        } catch (e) {
          if (!(e instanceof FaultCrash)) throw e;
        } finally {
          setFaultHook(null);
        }
        // In memory: what was acknowledged when the store stopped (a publish whose
        // append failed was not stored, a delete whose record was not written did not happen).
        const want = snapshot(st);
        st.close();
        st = open(dir, { max_msgs_per_subject: 3 });
        if (crashed) hits++;
        equal(snapshot(st), want, `round ${round}`);
        ok(publish(st, "s.after", `a${round}`));
      }
      ok(hits > 0, `the fault point ${point} was never reached`);
      st.close();
    });
  });
}

Deno.test("filestore: the single msgs.log of earlier versions is read as the first segment", () => {
  withDir((dir) => {
    let st = open(dir);
    for (let i = 0; i < 3; i++) publish(st, "s.a", `v${i}`);
    const want = snapshot(st);
    st.close();
    Deno.renameSync(`${dir}/msgs.1.log`, `${dir}/msgs.log`);
    st = open(dir);
    equal(snapshot(st), want);
    deepStrictEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith("msgs")).sort(),
      ["msgs.0.log"],
    );
    st.close();
  });
});

Deno.test("filestore: a delete pushed out by a limit waits for its publish's sync", () => {
  withDir((dir) => {
    let st = open(dir, { max_msgs_per_subject: 1 });
    publish(st, "s.k", "old");
    st.publish("s.k", null, enc.encode("new"));
    st.files!.sync();
    st.publish("s.k", null, enc.encode("newer"));
    // One sync (the group commit's) covers the new message and the old one's delete.
    equal(st.files!.dirty, true);
    st.files!.sync();
    equal(st.files!.dirty, false);
    // An API delete is synced before it returns.
    publish(st, "s.j", "x");
    st.removeMsg(st.lastSeq);
    equal(st.files!.dirty, false);
    const want = snapshot(st);
    st.close();
    st = open(dir, { max_msgs_per_subject: 1 });
    equal(snapshot(st), want);
    equal(st.msgs.size, 1);
    st.close();
  });
});

Deno.test("filestore compaction: the last sequence survives when its segment is emptied", () => {
  withDir((dir) => {
    let st = open(dir);
    // Fill the first segment to its size without starting the second.
    while (st.files!.diskBytes < 600) publish(st, "s.a", "0123456789");
    equal(st.files!.segmentCount, 1);
    const last = st.lastSeq;
    // Deleting them all: the delete records start the second segment, which holds no message.
    for (const seq of [...st.msgs.keys()].reverse()) st.removeMsg(seq);
    equal(st.files!.segmentCount as number, 2);
    compactAll(st);
    ok(st.files!.stats.rewritten + st.files!.stats.removed > 0);
    st.close();
    st = open(dir);
    equal(st.state(0).last_seq, last);
    equal(st.state(0).messages, 0);
    ok(publish(st, "s.a", "next"));
    equal(st.lastSeq, last + 1);
    st.close();
  });
});
