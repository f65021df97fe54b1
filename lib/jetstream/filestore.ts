/**
 * The file store: each stream's messages in a log cut into segments
 * (`msgs.<n>.log`) next to its configuration (`meta.json`), under
 * `<store_dir>/jetstream/$G/streams/<name>/`. The format is dnatsd's own
 * (docs/jetstream.md), not nats-server's.
 *
 * Sync policy: every record is written and `fdatasync`ed before the publish
 * is acknowledged, so an acknowledged message survives kill -9 and power
 * loss. Messages that arrive together are synced together (one
 * `fdatasync` for all the publishes of one read, then their acks). Recovery
 * reads records until the first one that is short or whose CRC-32 does not
 * match (a torn last write), truncates the segment there, and replays the rest.
 *
 * Compaction: appends go to the last segment, which is sealed once it holds
 * {@linkcode segmentBytes}. A sealed segment whose records are all dead
 * (messages deleted, purged, expired or removed by a limit, and the delete
 * records nobody needs any more) is unlinked; one that is more than half dead
 * is rewritten with its live records (temp file, fsync, rename, fsync of the
 * directory), so a crash at any moment leaves the old or the new segment
 * whole. One segment is handled per event-loop turn: the pause it costs is
 * bounded by the segment size, whatever the stream's size.
 *
 * @module
 */
import type { StoredMsg } from "./stream.ts";
import {
  crc32,
  decodeRecord,
  DELETE,
  FRAME,
  frame,
  type LogRecord,
  MARK_RECORD,
  markRecord,
  MSG,
  MSG_FIXED,
  PURGE,
  SEQ_RECORD,
  seqBody,
} from "./log_records.ts";

/** Segment size when nothing else is asked for (see docs/jetstream.md for the choice). */
const DEFAULT_SEGMENT_BYTES = 2 * 1024 * 1024;
/** How long compaction waits after a failed step (a full disk) before it tries again. */
const RETRY_MS = 5_000;

const encoder = new TextEncoder();

function envNumber(name: string): number | undefined {
  try {
    const v = Deno.env.get(name);
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
  } catch {
    return undefined; // No --allow-env: the defaults.
  }
}

function envText(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * Bytes after which the last segment is sealed and a new one started.
 * `DNATSD_JS_SEGMENT_BYTES` overrides it (tests use small segments).
 */
export let segmentBytes = envNumber("DNATSD_JS_SEGMENT_BYTES") ?? DEFAULT_SEGMENT_BYTES;

/** Sets the segment size of stores opened from now on (tests); returns the old one. */
export function setSegmentBytes(n: number): number {
  const old = segmentBytes;
  segmentBytes = n;
  return old;
}

/**
 * Fault points for crash tests: named places in compaction, rotation and
 * purge where a test stops the store as kill -9 would. A hook set here is
 * called at each point (a unit test throws from it); with
 * `DNATSD_JS_FAULT=<point>` in the environment the server kills itself with
 * SIGKILL at that point (the black-box crash test).
 */
let faultHook: ((point: string) => void) | null = null;
const envFault = envText("DNATSD_JS_FAULT");
if (envFault) {
  faultHook = (point) => {
    if (point === envFault) Deno.kill(Deno.pid, "SIGKILL");
  };
}

/** Installs (or with null removes) the fault hook; returns the previous one. */
export function setFaultHook(
  hook: ((point: string) => void) | null,
): ((point: string) => void) | null {
  const old = faultHook;
  faultHook = hook;
  return old;
}

/** What a test's fault hook throws: a stop, which nothing in the store may catch. */
export class FaultCrash extends Error {
  constructor(point: string) {
    super(`stopped at fault point ${point}`);
  }
}

function fault(point: string): void {
  if (faultHook !== null) faultHook(point);
}

/** One file of the log. */
interface Segment {
  n: number;
  path: string;
  /** Bytes in the file. */
  size: number;
  /** Bytes of records still needed: live messages, needed delete and purge records. */
  live: number;
  /** Bytes of mark records (needed or not, never counted as dead). */
  marks: number;
  /** The highest sequence the file speaks of (message, mark, or purge - 1), and its time. */
  maxSeq: number;
  maxTs: bigint;
  /** Sequences of the message records in the file, in order (live or dead). */
  seqs: number[];
  /** Messages of other segments whose delete records this file holds (needed ones). */
  dels: number[];
}

/** A message record on disk: where, how long, whether it is still in the stream. */
interface Entry {
  seg: Segment;
  len: number;
  live: boolean;
  /** The segment holding this (dead) message's delete record, when it is another one. */
  delSeg: Segment | null;
}

/** What compaction has done since the store was opened (for /metrics and the docs' figures). */
export interface CompactionStats {
  /** Segments rewritten with their live records. */
  rewritten: number;
  /** Segments unlinked because nothing in them was needed. */
  removed: number;
  /** Bytes given back to the file system. */
  reclaimedBytes: number;
  /** The longest single compaction step (one segment), in milliseconds. */
  maxPauseMs: number;
  /** Steps that failed (left the old segment in place). */
  errors: number;
}

/** Totals over every open store of this process. */
export const compactionTotals: CompactionStats = {
  rewritten: 0,
  removed: 0,
  reclaimedBytes: 0,
  maxPauseMs: 0,
  errors: 0,
};

const SEGMENT_NAME = /^msgs\.(\d+)\.log$/;

/** A stream's directory: configuration and message log. */
export class StreamFiles {
  readonly dir: string;
  #file: Deno.FsFile | null = null;
  /** The segments in order; the last one takes the appends. */
  #segments: Segment[] = [];
  /** Every message record on disk, by sequence. */
  readonly #entries = new Map<number, Entry>();
  #lastSeq = 0;
  #lastTs = 0n;
  readonly #segmentBytes = segmentBytes;
  #compactTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /** When the last compaction step failed (no new attempt for a while). */
  #failedAt = -Infinity;
  /** This store's compaction figures. */
  readonly stats: CompactionStats = {
    rewritten: 0,
    removed: 0,
    reclaimedBytes: 0,
    maxPauseMs: 0,
    errors: 0,
  };
  /** Told about a compaction step that failed (the server logs it). */
  onError: ((e: Error) => void) | null = null;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Writes the configuration and creation time (write to a temp file, sync, rename). */
  writeMeta(meta: unknown): void {
    Deno.mkdirSync(this.dir, { recursive: true });
    const tmp = `${this.dir}/meta.json.tmp`;
    const f = Deno.openSync(tmp, { write: true, create: true, truncate: true });
    try {
      writeAll(f, encoder.encode(JSON.stringify(meta)));
      f.syncSync();
    } finally {
      f.close();
    }
    Deno.renameSync(tmp, `${this.dir}/meta.json`);
    syncDir(this.dir);
  }

  /** Saves a durable consumer's configuration and state (`obs/<name>.json`). */
  writeConsumer(name: string, record: unknown): void {
    const dir = `${this.dir}/obs`;
    Deno.mkdirSync(dir, { recursive: true });
    const tmp = `${dir}/${name}.json.tmp`;
    const f = Deno.openSync(tmp, { write: true, create: true, truncate: true });
    try {
      writeAll(f, encoder.encode(JSON.stringify(record)));
      f.syncDataSync();
    } finally {
      f.close();
    }
    Deno.renameSync(tmp, `${dir}/${name}.json`);
  }

  removeConsumer(name: string): void {
    try {
      Deno.removeSync(`${this.dir}/obs/${name}.json`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }

  /** The saved consumers, by name. */
  readConsumers(): Array<[string, unknown]> {
    const out: Array<[string, unknown]> = [];
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(`${this.dir}/obs`)];
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return out;
      throw e;
    }
    for (const e of entries) {
      if (!e.isFile || !e.name.endsWith(".json")) continue;
      out.push([
        e.name.slice(0, -5),
        JSON.parse(Deno.readTextFileSync(`${this.dir}/obs/${e.name}`)),
      ]);
    }
    return out.sort((a, b) => a[0] < b[0] ? -1 : 1);
  }

  readMeta(): unknown {
    return JSON.parse(Deno.readTextFileSync(`${this.dir}/meta.json`));
  }

  /** Bytes of the message log on disk (every segment). */
  get diskBytes(): number {
    let n = 0;
    for (const s of this.#segments) n += s.size;
    return n;
  }

  /** Number of segment files. */
  get segmentCount(): number {
    return this.#segments.length;
  }

  /**
   * Reads every segment in order, cuts a torn tail, removes a compaction's
   * leftover temp file, and opens the last segment for appending.
   */
  recover(): { records: LogRecord[]; truncatedBytes: number } {
    Deno.mkdirSync(this.dir, { recursive: true });
    const names: Array<[number, string]> = [];
    let legacy = false;
    for (const e of Deno.readDirSync(this.dir)) {
      if (!e.isFile) continue;
      if (e.name.endsWith(".log.tmp")) {
        Deno.removeSync(`${this.dir}/${e.name}`); // A compaction that did not finish.
        continue;
      }
      if (e.name === "msgs.log") legacy = true;
      const m = SEGMENT_NAME.exec(e.name);
      if (m) names.push([Number(m[1]), e.name]);
    }
    if (legacy) {
      // The single log of earlier versions becomes the first segment.
      Deno.renameSync(`${this.dir}/msgs.log`, `${this.dir}/msgs.0.log`);
      syncDir(this.dir);
      names.push([0, "msgs.0.log"]);
    }
    names.sort((a, b) => a[0] - b[0]);
    const records: LogRecord[] = [];
    let truncatedBytes = 0;
    this.#segments = [];
    this.#entries.clear();
    for (const [n] of names) {
      const seg = this.#newSegment(n);
      const data = Deno.readFileSync(seg.path);
      const good = this.#replay(seg, data, records);
      seg.size = good;
      if (good < data.length) {
        truncatedBytes += data.length - good;
        const f = Deno.openSync(seg.path, { read: true, write: true });
        try {
          f.truncateSync(good);
          f.syncSync();
        } finally {
          f.close();
        }
      }
      this.#segments.push(seg);
    }
    if (this.#segments.length === 0) {
      this.#segments.push(this.#newSegment(1));
    }
    const last = this.#segments[this.#segments.length - 1];
    this.#file = Deno.openSync(last.path, { read: true, write: true, create: true });
    if (last.size === 0) syncDir(this.dir);
    this.#file.seekSync(last.size, Deno.SeekMode.Start);
    this.#closed = false;
    this.#scheduleCompaction();
    return { records, truncatedBytes };
  }

  #newSegment(n: number): Segment {
    return {
      n,
      path: `${this.dir}/msgs.${n}.log`,
      size: 0,
      live: 0,
      marks: 0,
      maxSeq: 0,
      maxTs: 0n,
      seqs: [],
      dels: [],
    };
  }

  /**
   * Decodes one segment's records into `records`, keeping the bookkeeping as
   * Stream.restore will replay them; returns the length of the good prefix.
   */
  #replay(seg: Segment, data: Uint8Array, records: LogRecord[]): number {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let p = 0;
    while (p + FRAME <= data.length) {
      const kind = data[p];
      const len = view.getUint32(p + 1);
      const end = p + 5 + len;
      if (end + 4 > data.length) break;
      if (view.getUint32(end) !== crc32(data, p, end)) break;
      const rec = decodeRecord(kind, data, view, p + 5, end);
      if (rec === null) break;
      records.push(rec);
      const size = end + 4 - p;
      seg.size += size;
      this.#account(seg, rec, size);
      p = end + 4;
    }
    return p;
  }

  /** Bookkeeping of one record read back (recovery) or kept (rewrite). */
  #account(seg: Segment, rec: LogRecord, size: number): void {
    if (rec.kind === "msg") {
      const { seq, ts } = rec.msg;
      this.#raise(seg, seq, ts);
      if (seq <= this.#lastSeq) return; // Replay skips it too: dead bytes.
      this.#lastSeq = seq;
      this.#lastTs = ts;
      this.#entries.set(seq, { seg, len: size, live: true, delSeg: null });
      seg.seqs.push(seq);
      seg.live += size;
    } else if (rec.kind === "delete") {
      this.#noteDelete(seg, rec.seq);
    } else if (rec.kind === "purge") {
      this.#raise(seg, rec.firstSeq - 1, this.#lastTs);
      if (rec.firstSeq - 1 > this.#lastSeq) this.#lastSeq = rec.firstSeq - 1;
      for (const e of this.#entries.values()) this.#kill(e);
      seg.live += SEQ_RECORD;
    } else {
      this.#raise(seg, rec.seq, rec.ts);
      if (rec.seq > this.#lastSeq) {
        this.#lastSeq = rec.seq;
        this.#lastTs = rec.ts;
      }
      seg.marks += MARK_RECORD;
    }
  }

  #raise(seg: Segment, seq: number, ts: bigint): void {
    if (seq >= seg.maxSeq) {
      seg.maxSeq = seq;
      seg.maxTs = ts;
    }
  }

  /** A message is dead; its record stays on disk until its segment is compacted. */
  #kill(e: Entry): void {
    if (!e.live) return;
    e.live = false;
    e.seg.live -= e.len;
  }

  /** A delete record for `seq` was written to `seg`. */
  #noteDelete(seg: Segment, seq: number): void {
    const e = this.#entries.get(seq);
    if (e === undefined || !e.live) return;
    this.#kill(e);
    if (e.seg !== seg) {
      // Needed as long as the message's own segment still holds it.
      e.delSeg = seg;
      seg.dels.push(seq);
      seg.live += SEQ_RECORD;
    }
  }

  /** Written but not yet synced (messages wait for {@linkcode sync}: a group commit). */
  dirty = false;

  /** Syncs what appendMsg wrote; the acks of those messages go out after this. */
  sync(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.#file!.syncDataSync();
  }

  appendMsg(m: StoredMsg): void {
    const subj = encoder.encode(m.subject);
    const hlen = m.hdr?.length ?? 0;
    const bodyLen = MSG_FIXED + subj.length + hlen + m.data.length;
    // The record is built in place (frame, body, CRC): one buffer per message.
    const rec = new Uint8Array(FRAME + bodyLen);
    const v = new DataView(rec.buffer);
    rec[0] = MSG;
    v.setUint32(1, bodyLen);
    v.setBigUint64(5, BigInt(m.seq));
    v.setBigUint64(13, m.ts);
    v.setUint16(21, subj.length);
    v.setUint32(23, hlen);
    v.setUint32(27, m.data.length);
    rec.set(subj, 5 + MSG_FIXED);
    if (m.hdr) rec.set(m.hdr, 5 + MSG_FIXED + subj.length);
    rec.set(m.data, 5 + MSG_FIXED + subj.length + hlen);
    v.setUint32(5 + bodyLen, crc32(rec, 0, 5 + bodyLen));
    const seg = this.#write(rec, false);
    this.dirty = true;
    const len = rec.length;
    this.#entries.set(m.seq, { seg, len, live: true, delSeg: null });
    seg.seqs.push(m.seq);
    seg.live += len;
    this.#raise(seg, m.seq, m.ts);
    this.#lastSeq = m.seq;
    this.#lastTs = m.ts;
  }

  /**
   * While true, delete records are not synced on their own: they ride with
   * the sync of the publish that caused them (a limit removing the oldest
   * message), which the group commit does before that publish's ack. They
   * come after the new message in the log, so a crash keeps either both or
   * the old message.
   */
  deferSync = false;

  appendDelete(seq: number): void {
    const seg = this.#append(DELETE, seqBody(seq), !this.deferSync);
    if (this.deferSync) this.dirty = true;
    this.#noteDelete(seg, seq);
    this.#scheduleCompaction();
  }

  appendPurge(firstSeq: number): void {
    const purge = frame(PURGE, seqBody(firstSeq));
    let seg: Segment;
    if (this.#segments.length > 1 || this.#segments[0].size >= this.#segmentBytes) {
      // The older segments go below, and with them the last message's time: a
      // mark in the same write keeps it.
      const mark = markRecord(this.#lastSeq, this.#lastTs);
      const both = new Uint8Array(mark.length + purge.length);
      both.set(mark);
      both.set(purge, mark.length);
      seg = this.#write(both, true);
      this.#raise(seg, this.#lastSeq, this.#lastTs);
      seg.marks += MARK_RECORD;
    } else seg = this.#write(purge, true);
    if (firstSeq - 1 > this.#lastSeq) this.#lastSeq = firstSeq - 1;
    this.#raise(seg, firstSeq - 1, this.#lastTs);
    seg.live += SEQ_RECORD;
    // The purge record is on disk: every older segment is dead as a whole.
    for (const e of this.#entries.values()) this.#kill(e);
    const older = new Set(this.#segments.slice(0, -1));
    if (older.size > 0) {
      this.#unlink(older);
      syncDir(this.dir);
    }
    this.#scheduleCompaction();
  }

  #append(kind: number, body: Uint8Array, sync = true): Segment {
    return this.#write(frame(kind, body), sync);
  }

  /** Writes records to the last segment (a new one if it is full). */
  #write(rec: Uint8Array, sync: boolean): Segment {
    let seg = this.#segments[this.#segments.length - 1];
    if (seg.size >= this.#segmentBytes) seg = this.#rotate();
    try {
      writeAll(this.#file!, rec);
    } catch (e) {
      // A full disk can take part of the record: cut it off, so the next write does not land
      // behind a torn record (recovery stops at the first one and would drop what follows).
      this.#file!.truncateSync(seg.size);
      this.#file!.seekSync(seg.size, Deno.SeekMode.Start);
      throw e;
    }
    seg.size += rec.length;
    if (sync) {
      this.#file!.syncDataSync();
      this.dirty = false;
    }
    return seg;
  }

  /** Seals the last segment (synced, since its acks may still wait) and starts the next. */
  #rotate(): Segment {
    const old = this.#segments[this.#segments.length - 1];
    if (this.dirty) this.#file!.syncDataSync();
    this.dirty = false;
    const seg = this.#newSegment(old.n + 1);
    const f = Deno.openSync(seg.path, { read: true, write: true, create: true, truncate: true });
    this.#file!.close();
    this.#file = f;
    fault("rotate-created");
    syncDir(this.dir);
    this.#segments.push(seg);
    this.#scheduleCompaction();
    return seg;
  }

  /** Whether a sealed segment has work for compaction: all dead, or more than half. */
  #due(s: Segment): boolean {
    const dead = s.size - s.live - s.marks;
    if (s.live === 0 && this.#laterCovers(s)) return true;
    return dead > 0 && dead * 2 > s.size;
  }

  /** Whether a later segment speaks of a sequence at least as high as this one's highest. */
  #laterCovers(s: Segment): boolean {
    const at = this.#segments.indexOf(s);
    for (let i = at + 1; i < this.#segments.length; i++) {
      if (this.#segments[i].maxSeq >= s.maxSeq) return true;
    }
    return false;
  }

  #scheduleCompaction(): void {
    if (this.#compactTimer !== undefined || this.#closed) return;
    if (performance.now() - this.#failedAt < RETRY_MS) return;
    const sealed = this.#segments.length - 1;
    let any = false;
    for (let i = 0; i < sealed && !any; i++) any = this.#due(this.#segments[i]);
    if (!any) return;
    this.#compactTimer = setTimeout(() => {
      this.#compactTimer = undefined;
      this.compactStep();
    }, 0);
    Deno.unrefTimer(this.#compactTimer);
  }

  /**
   * Compacts one sealed segment that is due (unlinks or rewrites it), then
   * schedules the next step if more are due; false when nothing was due.
   */
  compactStep(): boolean {
    if (this.#closed) return false;
    const sealed = this.#segments.slice(0, -1);
    const s = sealed.find((x) => this.#due(x));
    if (s === undefined) return false;
    const started = performance.now();
    // Drop nothing on the strength of a delete record that is not on disk yet.
    this.sync();
    const before = s.size;
    try {
      if (s.live === 0 && this.#laterCovers(s)) {
        this.#unlink(new Set([s]));
        syncDir(this.dir);
        this.stats.removed++;
        compactionTotals.removed++;
      } else {
        this.#rewrite(s);
        this.stats.rewritten++;
        compactionTotals.rewritten++;
      }
      const gained = before - (this.#segments.includes(s) ? s.size : 0);
      this.stats.reclaimedBytes += gained;
      compactionTotals.reclaimedBytes += gained;
    } catch (e) {
      if (e instanceof FaultCrash) throw e;
      this.stats.errors++;
      compactionTotals.errors++;
      try {
        Deno.removeSync(`${s.path}.tmp`);
      } catch {
        // Not made, or already gone.
      }
      // Retried after RETRY_MS, at the next change to the store.
      this.#failedAt = performance.now();
      this.onError?.(e as Error);
      return true;
    }
    const ms = performance.now() - started;
    if (ms > this.stats.maxPauseMs) this.stats.maxPauseMs = ms;
    if (ms > compactionTotals.maxPauseMs) compactionTotals.maxPauseMs = ms;
    this.#scheduleCompaction();
    return true;
  }

  /** Forgets segments and removes their files (the caller syncs the directory). */
  #unlink(gone: Set<Segment>): void {
    for (const s of gone) {
      for (const seq of s.seqs) {
        const e = this.#entries.get(seq);
        if (e === undefined || e.seg !== s) continue;
        this.#entries.delete(seq);
        if (e.delSeg !== null && !gone.has(e.delSeg)) e.delSeg.live -= SEQ_RECORD;
      }
      for (const seq of s.dels) {
        const e = this.#entries.get(seq);
        if (e !== undefined && e.delSeg === s) e.delSeg = null;
      }
    }
    this.#segments = this.#segments.filter((x) => !gone.has(x));
    for (const s of gone) {
      fault("unlink");
      Deno.removeSync(s.path);
    }
  }

  /** Writes a segment's needed records to a temp file and renames it over the segment. */
  #rewrite(s: Segment): void {
    const data = Deno.readFileSync(s.path);
    if (data.length !== s.size) throw new Error(`${s.path} changed size under the store`);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    // Kept records as [start, end) pairs; only the kind and sequence are read
    // (every record passed its CRC when it was written or recovered).
    const keep: number[] = [];
    const dropped: number[] = [];
    const seqs: number[] = [];
    const dels: number[] = [];
    const index = this.#segments.indexOf(s);
    let keptMax = 0;
    let keptMaxTs = 0n;
    let live = 0;
    let p = 0;
    while (p + FRAME <= data.length) {
      const kind = data[p];
      const end = p + FRAME + view.getUint32(p + 1);
      if (end > data.length || view.getUint32(p + 1) < 8) {
        throw new Error(`bad record in ${s.path}`);
      }
      const seq = Number(view.getBigUint64(p + 5));
      let needed = false;
      if (kind === MSG) {
        const e = this.#entries.get(seq);
        needed = e !== undefined && e.seg === s && e.live;
        if (needed) seqs.push(seq);
        if (needed && seq > keptMax) {
          keptMax = seq;
          keptMaxTs = view.getBigUint64(p + 13);
        } else if (!needed && e !== undefined && e.seg === s) dropped.push(seq);
      } else if (kind === DELETE) {
        // Needed while an earlier segment still holds the message.
        const e = this.#entries.get(seq);
        needed = e !== undefined && e.seg !== s && e.delSeg === s;
        if (needed) dels.push(seq);
      } else if (kind === PURGE) {
        needed = index > 0; // Older segments may still hold what it purged.
        if (needed && seq - 1 > keptMax) keptMax = seq - 1;
      } // Marks: one new mark below replaces them.
      if (needed) {
        keep.push(p, end);
        live += kind === MSG ? end - p : SEQ_RECORD;
      }
      p = end;
    }
    let markLen = 0;
    if (s.maxSeq > keptMax && !this.#laterCovers(s)) {
      // The highest sequence this segment spoke of must survive it.
      markLen = MARK_RECORD;
    }
    let total = markLen;
    for (let i = 0; i < keep.length; i += 2) total += keep[i + 1] - keep[i];
    const out = new Uint8Array(total);
    let o = 0;
    for (let i = 0; i < keep.length; i += 2) {
      out.set(data.subarray(keep[i], keep[i + 1]), o);
      o += keep[i + 1] - keep[i];
    }
    if (markLen > 0) out.set(markRecord(s.maxSeq, s.maxTs), o);
    const tmp = `${s.path}.tmp`;
    const f = Deno.openSync(tmp, { write: true, create: true, truncate: true });
    try {
      const half = out.subarray(0, out.length >> 1);
      writeAll(f, half);
      fault("compact-torn");
      writeAll(f, out.subarray(half.length));
      fault("compact-written");
      f.syncDataSync();
    } finally {
      f.close();
    }
    fault("compact-synced");
    Deno.renameSync(tmp, s.path);
    fault("compact-renamed");
    syncDir(this.dir);
    // The new file is the segment now.
    for (const seq of dropped) {
      const e = this.#entries.get(seq)!;
      this.#entries.delete(seq);
      if (e.delSeg !== null && e.delSeg !== s) e.delSeg.live -= SEQ_RECORD;
    }
    s.size = total;
    s.marks = markLen;
    s.live = live;
    s.seqs = seqs;
    s.dels = dels;
    if (markLen === 0) {
      s.maxSeq = keptMax;
      s.maxTs = keptMaxTs;
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#compactTimer !== undefined) clearTimeout(this.#compactTimer);
    this.#compactTimer = undefined;
    this.#file?.close();
    this.#file = null;
  }

  /** Removes the stream's files (stream deleted). */
  remove(): void {
    this.close();
    Deno.removeSync(this.dir, { recursive: true });
  }
}

function writeAll(f: Deno.FsFile, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += f.writeSync(bytes.subarray(off));
}

/** Makes a rename durable (the directory entry). */
function syncDir(dir: string): void {
  try {
    const d = Deno.openSync(dir, { read: true });
    try {
      d.syncSync();
    } finally {
      d.close();
    }
  } catch {
    // Some systems cannot open a directory for sync; the rename still happened.
  }
}
