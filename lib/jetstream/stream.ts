/**
 * A stream: its configuration (normalised as nats-server 2.9 does), its
 * messages (memory storage) and the publish path with nats-server's checks in
 * nats-server's order: expected stream, duplicate `Nats-Msg-Id`, expected last
 * sequence per subject, expected last sequence, expected last message id,
 * message size, then the limits (discard old or new).
 *
 * @module
 */
import {
  classifySubject,
  isValidSubject,
  SubjectKind,
  subjectMatchesPattern,
} from "../router/subject.ts";
import { ApiError, JSErr } from "./errors.ts";
import { getHeader } from "./headers.ts";
import { goJson } from "./json.ts";
import { writeDecimal } from "../protocol/bytes.ts";
import { formatNs, nowNs } from "./time.ts";
import type { StreamFiles } from "./filestore.ts";
import type { LogRecord } from "./log_records.ts";
import type { Retention } from "./retention.ts";
import { readSource, type StreamSource } from "./source_config.ts";

const NS_PER_MS = 1_000_000;
/** nats-server's default duplicate window: two minutes, in nanoseconds. */
const DEFAULT_DUPLICATES_NS = 120_000_000_000;
const MAX_NAME_LEN = 255;

/** A stream configuration as JSON carries it (durations in nanoseconds). */
export interface StreamConfig {
  name: string;
  description?: string;
  subjects?: string[];
  retention: "limits" | "interest" | "workqueue";
  max_consumers: number;
  max_msgs: number;
  max_bytes: number;
  max_age: number;
  max_msgs_per_subject: number;
  max_msg_size?: number;
  discard: "old" | "new";
  storage: "file" | "memory";
  num_replicas: number;
  no_ack?: boolean;
  duplicate_window?: number;
  allow_direct: boolean;
  mirror_direct: boolean;
  /** Discard new per subject: a subject at max_msgs_per_subject refuses more. */
  discard_new_per_subject?: boolean;
  sealed: boolean;
  deny_delete: boolean;
  deny_purge: boolean;
  allow_rollup_hdrs: boolean;
  /** A mirror or sources (lib/jetstream/mirror.ts). */
  mirror?: StreamSource;
  sources?: StreamSource[];
}

/** One stored message. */
export interface StoredMsg {
  subject: string;
  seq: number;
  hdr: Uint8Array | null;
  data: Uint8Array;
  ts: bigint;
}

/** The stream state of STREAM.INFO. */
export interface StreamState {
  messages: number;
  bytes: number;
  first_seq: number;
  first_ts: string;
  last_seq: number;
  last_ts: string;
  num_subjects?: number;
  num_deleted?: number;
  consumer_count: number;
}

/**
 * The result of a publish into the stream: the ack JSON text to send back
 * (null: no answer); `seq` is the stored message's sequence when the ack is
 * the plain one (see {@linkcode Stream.ackBytes}).
 */
export type PublishResult = { ack: string | null; stored: boolean; seq?: number };

const RETENTIONS = ["limits", "interest", "workqueue"];
const DISCARDS = ["old", "new"];
const STORAGES = ["file", "memory"];

/**
 * Checks and fills in a requested configuration as nats-server's
 * checkStreamCfg does (defaults -1 for unlimited, file storage, a duplicate
 * window of two minutes or max_age if shorter). Throws an ApiError.
 */
export function normaliseConfig(raw: unknown): StreamConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw JSErr.streamInvalidConfig("stream configuration invalid");
  }
  const r = raw as Record<string, unknown>;
  const name = typeof r.name === "string" ? r.name : "";
  if (!isValidName(name)) {
    throw JSErr.streamInvalidConfig("stream name is required and can not contain '.', '*', '>'");
  }
  if (name.length > MAX_NAME_LEN) {
    throw JSErr.streamInvalidConfig(`stream name is too long, maximum allowed is ${MAX_NAME_LEN}`);
  }
  for (const key of ["republish", "placement", "template_owner"]) {
    const v = r[key];
    if (v !== undefined && v !== null && v !== "" && !(Array.isArray(v) && v.length === 0)) {
      throw JSErr.notSupported(`stream ${key}`);
    }
  }
  const num = (key: string): number => {
    const v = r[key];
    if (v === undefined || v === null) return 0;
    if (typeof v !== "number" || !Number.isInteger(v)) throw JSErr.invalidJson();
    return v;
  };
  const bool = (key: string): boolean => r[key] === true;
  const pick = (key: string, values: string[], dflt: string): string => {
    const v = r[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== "string" || !values.includes(v)) throw JSErr.invalidJson();
    return v;
  };
  const orUnlimited = (n: number) => n === 0 ? -1 : n;
  const cfg: StreamConfig = {
    name,
    retention: pick("retention", RETENTIONS, "limits") as StreamConfig["retention"],
    max_consumers: orUnlimited(num("max_consumers")),
    max_msgs: orUnlimited(num("max_msgs")),
    max_bytes: orUnlimited(num("max_bytes")),
    max_age: num("max_age"),
    max_msgs_per_subject: orUnlimited(num("max_msgs_per_subject")),
    max_msg_size: orUnlimited(num("max_msg_size")),
    discard: pick("discard", DISCARDS, "old") as StreamConfig["discard"],
    storage: pick("storage", STORAGES, "file") as StreamConfig["storage"],
    num_replicas: num("num_replicas") || 1,
    allow_direct: bool("allow_direct"),
    mirror_direct: bool("mirror_direct"),
    sealed: bool("sealed"),
    deny_delete: bool("deny_delete"),
    deny_purge: bool("deny_purge"),
    allow_rollup_hdrs: bool("allow_rollup_hdrs"),
  };
  if (typeof r.description === "string" && r.description !== "") {
    cfg.description = r.description;
  }
  if (r.no_ack === true) cfg.no_ack = true;
  if (r.mirror !== undefined && r.mirror !== null) cfg.mirror = readSource(r.mirror);
  if (r.sources !== undefined && r.sources !== null) {
    if (!Array.isArray(r.sources)) throw JSErr.invalidJson();
    if (r.sources.length > 0) cfg.sources = r.sources.map(readSource);
  }
  if (cfg.num_replicas > 5) throw JSErr.streamInvalidConfig("maximum replicas is 5");
  if (cfg.num_replicas < 0) throw new ApiError(400, 10133, "replicas count cannot be negative");
  let dup = num("duplicate_window");
  if (dup === 0 && !cfg.mirror) {
    dup = cfg.max_age !== 0 && cfg.max_age < DEFAULT_DUPLICATES_NS
      ? cfg.max_age
      : DEFAULT_DUPLICATES_NS;
  }
  if (cfg.max_age > 0 && cfg.max_age < 100 * NS_PER_MS) {
    throw JSErr.streamInvalidConfig("max age needs to be >= 100ms");
  }
  if (dup < 0) throw JSErr.streamInvalidConfig("duplicates window can not be negative");
  if (cfg.max_age !== 0 && dup > cfg.max_age) {
    throw JSErr.streamInvalidConfig("duplicates window can not be larger then max age");
  }
  if (dup > 0 && dup < 100 * NS_PER_MS) {
    throw JSErr.streamInvalidConfig("duplicates window needs to be >= 100ms");
  }
  cfg.duplicate_window = dup;
  if (cfg.deny_purge && cfg.allow_rollup_hdrs) {
    throw JSErr.streamInvalidConfig("roll-ups require the purge permission");
  }
  if (r.discard_new_per_subject === true) {
    if (cfg.discard !== "new") {
      throw JSErr.streamInvalidConfig(
        "discard new per subject requires discard new policy to be set",
      );
    }
    if (cfg.max_msgs_per_subject <= 0) {
      throw JSErr.streamInvalidConfig("discard new per subject requires max msgs per subject > 0");
    }
    cfg.discard_new_per_subject = true;
  }
  let subjects: string[] = [];
  if (r.subjects !== undefined && r.subjects !== null) {
    if (!Array.isArray(r.subjects) || r.subjects.some((s) => typeof s !== "string")) {
      throw JSErr.invalidJson();
    }
    subjects = r.subjects as string[];
  }
  if (subjects.length === 0 && !cfg.mirror && !cfg.sources) subjects = [name];
  const seen = new Set<string>();
  for (const s of subjects) {
    if (!isValidSubject(s)) throw JSErr.streamInvalidConfig("invalid subject");
    if (seen.has(s)) throw JSErr.streamInvalidConfig("duplicate subjects detected");
    seen.add(s);
    if (s.startsWith("$JS.API") || subjectsOverlap(s, "$JS.API.>")) {
      throw JSErr.streamInvalidConfig("subjects overlap with jetstream api");
    }
  }
  cfg.subjects = subjects;
  // Key order of nats-server's StreamConfig JSON.
  return reorder(cfg);
}

function reorder(c: StreamConfig): StreamConfig {
  const o: Record<string, unknown> = { name: c.name };
  if (c.description !== undefined) o.description = c.description;
  if (c.subjects!.length > 0) o.subjects = c.subjects;
  else hideSubjects(o as unknown as StreamConfig);
  for (
    const k of [
      "retention",
      "max_consumers",
      "max_msgs",
      "max_bytes",
      "max_age",
      "max_msgs_per_subject",
      "max_msg_size",
      "discard",
      "storage",
      "num_replicas",
    ] as const
  ) o[k] = c[k];
  if (c.no_ack) o.no_ack = true;
  if (c.duplicate_window) o.duplicate_window = c.duplicate_window;
  if (c.mirror) o.mirror = c.mirror;
  if (c.sources) o.sources = c.sources;
  o.allow_direct = c.allow_direct;
  o.mirror_direct = c.mirror_direct;
  if (c.discard_new_per_subject) o.discard_new_per_subject = true;
  for (const k of ["sealed", "deny_delete", "deny_purge", "allow_rollup_hdrs"] as const) {
    o[k] = c[k];
  }
  return o as unknown as StreamConfig;
}

/**
 * A mirror, or a stream with only sources, has no subjects and its JSON none;
 * the code reads `subjects` as an empty list, kept out of the JSON.
 */
export function hideSubjects(cfg: StreamConfig): StreamConfig {
  if (cfg.subjects === undefined || cfg.subjects.length === 0) {
    Object.defineProperty(cfg, "subjects", { value: [], enumerable: false, writable: true });
  }
  return cfg;
}

/** Stream and consumer names: not empty, no `.`, `*`, `>`, no white space. */
export function isValidName(name: string): boolean {
  return name !== "" && !/[.*>\s]/.test(name);
}

/** Whether two subject patterns can both match some subject. */
export function subjectsOverlap(a: string, b: string): boolean {
  const ta = a.split(".");
  const tb = b.split(".");
  for (let i = 0; i < ta.length && i < tb.length; i++) {
    const x = ta[i];
    const y = tb[i];
    if (x === ">" || y === ">") return true;
    if (x === "*" || y === "*" || x === y) continue;
    return false;
  }
  return ta.length === tb.length;
}

/** Bytes a message counts for in the stream state (nats-server's record sizes). */
export function msgSize(
  storage: "file" | "memory",
  subject: string,
  hdr: Uint8Array | null,
  data: Uint8Array,
): number {
  const h = hdr === null ? 0 : hdr.length;
  if (storage === "memory") return subject.length + h + data.length + 16;
  return h === 0 ? 30 + subject.length + data.length : 34 + subject.length + h + data.length;
}

/** A stream with its messages in memory. */
export class Stream {
  config: StreamConfig;
  readonly created: string;
  readonly msgs: Map<number, StoredMsg> = new Map();
  bytes = 0;
  firstSeq = 0;
  lastSeq = 0;
  lastTs = 0n;
  /** Messages per subject: count and the sequences in order. */
  readonly bySubject: Map<string, number[]> = new Map();
  /** Nats-Msg-Id -> sequence and time (ns), within the duplicate window. */
  readonly dedupe: Map<string, { seq: number; ts: bigint }> = new Map();
  lastMsgId = "";
  #ageTimer: ReturnType<typeof setTimeout> | undefined;
  /** Called after a message is stored (consumers deliver it). */
  onStored: ((m: StoredMsg) => void) | null = null;
  /** The stream's files when its storage is "file" (every change is logged before it counts). */
  files: StreamFiles | null = null;
  #restoring = false;
  /** Called when messages went from the front of the stream (consumers move up). */
  onRemoved: (() => void) | null = null;
  /** Interest or work-queue retention (lib/jetstream/retention.ts); null for limits. */
  retention: Retention | null = null;
  /** Account and server limits checked before and after a store (lib/jetstream/limits.ts). */
  guard: { before(): ApiError | null; after(): ApiError | null } | null = null;

  constructor(config: StreamConfig, created: string) {
    this.config = config;
    this.created = created;
  }

  get ackPrefix(): string {
    // Built once per name (the name never changes; checked anyway), not per publish.
    if (this.#ackPrefixOf !== this.config.name) {
      this.#ackPrefixOf = this.config.name;
      this.#ackPrefix = `{"stream":${goJson(this.config.name)}, "seq":`;
    }
    return this.#ackPrefix;
  }

  #ackPrefix = "";
  #ackPrefixOf: string | null = null;
  #ackPrefixBytes = new Uint8Array(0);
  #ackBytesOf: string | null = null;

  /** The plain ack of `seq` as bytes (`ackPrefix`, the sequence, `}`), made without a string. */
  ackBytes(seq: number): Uint8Array {
    if (this.#ackBytesOf !== this.config.name) {
      this.#ackBytesOf = this.config.name;
      this.#ackPrefixBytes = new TextEncoder().encode(this.ackPrefix);
    }
    const prefix = this.#ackPrefixBytes;
    let digits = 1;
    for (let v = seq; v >= 10; v = Math.floor(v / 10)) digits++;
    const b = new Uint8Array(prefix.length + digits + 1);
    b.set(prefix, 0);
    const end = writeDecimal(b, prefix.length, seq);
    b[end] = 0x7d; // }
    return b;
  }

  /** Processes a publish; returns the acknowledgement JSON (sent only when there is a reply). */
  publish(subject: string, hdr: Uint8Array | null, data: Uint8Array): PublishResult {
    const cfg = this.config;
    const fail = (err: ApiError): PublishResult => ({
      ack: goJson({ error: err, stream: cfg.name, seq: 0 }),
      stored: false,
    });
    if (cfg.sealed) return fail(JSErr.streamSealed());
    let msgId = "";
    let rollup = "";
    if (hdr !== null) {
      const expStream = getHeader(hdr, "Nats-Expected-Stream");
      if (expStream !== undefined && expStream !== "" && expStream !== cfg.name) {
        return fail(JSErr.streamNotMatch());
      }
      msgId = getHeader(hdr, "Nats-Msg-Id") ?? "";
      if (msgId !== "") {
        this.#pruneDedupe();
        const seen = this.dedupe.get(msgId);
        if (seen) return { ack: `${this.ackPrefix}${seen.seq},"duplicate": true}`, stored: false };
      }
      const subjSeqText = getHeader(hdr, "Nats-Expected-Last-Subject-Sequence");
      if (subjSeqText !== undefined && subjSeqText !== "") {
        const want = parseSeq(subjSeqText);
        const seqs = this.bySubject.get(subject);
        const have = seqs && seqs.length > 0 ? seqs[seqs.length - 1] : 0;
        if (have !== want) return fail(JSErr.streamWrongLastSequence(have));
      }
      const lastSeqText = getHeader(hdr, "Nats-Expected-Last-Sequence");
      if (lastSeqText !== undefined && lastSeqText !== "") {
        if (parseSeq(lastSeqText) !== this.lastSeq) {
          return fail(JSErr.streamWrongLastSequence(this.lastSeq));
        }
      }
      const lastId = getHeader(hdr, "Nats-Expected-Last-Msg-Id");
      if (lastId !== undefined && lastId !== "" && lastId !== this.lastMsgId) {
        return fail(JSErr.streamWrongLastMsgId(this.lastMsgId));
      }
      const rollupText = getHeader(hdr, "Nats-Rollup");
      if (rollupText !== undefined && rollupText !== "") {
        if (!cfg.allow_rollup_hdrs || cfg.deny_purge) {
          return fail(new ApiError(500, 10111, "rollup not permitted"));
        }
        rollup = rollupText.toLowerCase();
        // nats-server drops a message with another value without an answer.
        if (rollup !== "sub" && rollup !== "all") return { ack: null, stored: false };
      }
    }
    const hlen = hdr === null ? 0 : hdr.length;
    const maxSize = cfg.max_msg_size ?? -1;
    if (maxSize >= 0 && hlen + data.length > maxSize) {
      return fail(JSErr.streamMessageExceedsMaximum());
    }
    if (hlen > 0xffff) return fail(JSErr.streamHeaderExceedsMaximum());
    const refused = this.guard?.before() ?? null;
    if (refused !== null) return fail(refused);
    if (this.retention?.noInterest(subject)) return this.#skip(msgId);
    if (cfg.discard === "new") {
      // As nats-server's stores check it: a subject at its own limit replaces
      // its oldest message, so it may pass a full stream; the byte check adds
      // the new headers and data (not its record size) to the stored bytes, and
      // what goes past max_bytes after all is trimmed from the front below.
      const own = this.bySubject.get(subject);
      const atSubjectLimit = cfg.max_msgs_per_subject > 0 &&
        (own?.length ?? 0) >= cfg.max_msgs_per_subject;
      if (atSubjectLimit && cfg.discard_new_per_subject) {
        return fail(JSErr.streamStoreFailed("maximum messages per subject exceeded"));
      }
      if (cfg.max_msgs > 0 && this.msgs.size >= cfg.max_msgs && !atSubjectLimit) {
        return fail(JSErr.streamStoreFailed("maximum messages exceeded"));
      }
      const incoming = hlen + data.length;
      if (cfg.max_bytes > 0 && this.bytes + incoming >= cfg.max_bytes) {
        const oldest = atSubjectLimit ? this.msgs.get(own![0]) : undefined;
        const freed = oldest ? msgSize(cfg.storage, oldest.subject, oldest.hdr, oldest.data) : 0;
        const enough = cfg.storage === "file" ? freed > incoming : freed >= incoming;
        if (!oldest || !enough) return fail(JSErr.streamStoreFailed("maximum bytes exceeded"));
      }
    }
    const seq = this.lastSeq + 1;
    const ts = nowNs();
    const m: StoredMsg = { subject, seq, hdr, data, ts };
    if (this.files !== null) {
      try {
        this.files.appendMsg(m);
      } catch (e) {
        return fail(JSErr.streamStoreFailed((e as Error).message));
      }
    }
    this.#add(m);
    const lastMsgId = this.lastMsgId;
    this.lastMsgId = msgId;
    if (msgId !== "") this.dedupe.set(msgId, { seq, ts });
    // What the limits remove is synced with this message, before its ack.
    this.#withItsSync(() => this.#enforceLimits(subject));
    const over = this.guard?.after() ?? null;
    if (over !== null) {
      // Taken back; its sequence stays used, as in nats-server.
      this.removeMsg(seq, true);
      this.lastMsgId = lastMsgId;
      this.dedupe.delete(msgId);
      return fail(over);
    }
    // A roll-up: the new message replaces the subject's earlier ones, or all of the stream's.
    this.#withItsSync(() => {
      if (rollup === "sub") this.purge(subject, 1);
      else if (rollup === "all") this.#compact(seq);
    });
    this.#scheduleAge();
    this.onStored?.(m);
    return { ack: `${this.ackPrefix}${seq}}`, stored: true, seq };
  }

  /**
   * Uses up the next sequence without keeping a message (interest retention
   * with nobody interested); the log gets an empty message and its delete.
   */
  #skip(msgId: string): PublishResult {
    const m: StoredMsg = {
      subject: "",
      seq: this.lastSeq + 1,
      hdr: null,
      data: new Uint8Array(0),
      ts: nowNs(),
    };
    try {
      this.files?.appendMsg(m);
    } catch (e) {
      return {
        ack: goJson({
          error: JSErr.streamStoreFailed((e as Error).message),
          stream: this.config.name,
          seq: 0,
        }),
        stored: false,
      };
    }
    this.#add(m);
    this.removeMsg(m.seq, true);
    this.lastMsgId = msgId;
    if (msgId !== "") this.dedupe.set(msgId, { seq: m.seq, ts: m.ts });
    return { ack: `${this.ackPrefix}${m.seq}}`, stored: true, seq: m.seq };
  }

  /**
   * A mirror's copy of its origin's message: stored at the origin's sequence
   * and time (a gap before it stays a gap), without the publish checks.
   */
  storeMirrored(o: StoredMsg): void {
    if (o.seq <= this.lastSeq) return;
    const m: StoredMsg = { ...o };
    try {
      this.files?.appendMsg(m);
    } catch {
      return; // Copied again after a restart, from the last stored sequence.
    }
    this.lastSeq = m.seq - 1;
    this.#add(m);
    this.#enforceLimits(m.subject);
    this.#scheduleAge();
    this.onStored?.(m);
  }

  /**
   * Runs `fn` with the delete records it writes left to the sync of the
   * message just stored (the group commit, before its ack): they come after
   * it in the log, so a crash keeps both or neither.
   */
  #withItsSync(fn: () => void): void {
    if (this.files === null) return fn();
    this.files.deferSync = true;
    try {
      fn();
    } finally {
      this.files.deferSync = false;
    }
  }

  #add(m: StoredMsg): void {
    const { seq, subject, ts } = m;
    const size = msgSize(this.config.storage, subject, m.hdr, m.data);
    this.msgs.set(seq, m);
    this.bytes += size;
    this.lastSeq = seq;
    this.lastTs = ts;
    if (this.firstSeq === 0 || this.msgs.size === 1) this.firstSeq = seq;
    let list = this.bySubject.get(subject);
    if (!list) this.bySubject.set(subject, list = []);
    list.push(seq);
  }

  /** Rebuilds the stream from its log (start-up); nothing is logged again. */
  restore(records: LogRecord[]): void {
    this.#restoring = true;
    try {
      for (const r of records) {
        if (r.kind === "msg") {
          if (r.msg.seq <= this.lastSeq) continue;
          this.#add(r.msg);
        } else if (r.kind === "delete") this.removeMsg(r.seq);
        else if (r.kind === "mark") {
          // Compaction dropped the message(s) up to r.seq: the sequence goes on after it.
          if (r.seq > this.lastSeq) {
            this.lastSeq = r.seq;
            this.lastTs = r.ts;
            if (this.msgs.size === 0) this.firstSeq = r.seq + 1;
          }
        } else {
          this.purge();
          this.firstSeq = Math.max(this.firstSeq, r.firstSeq);
          this.lastSeq = Math.max(this.lastSeq, r.firstSeq - 1);
        }
      }
    } finally {
      this.#restoring = false;
    }
    // Message ids come back from the messages still stored within the
    // duplicate window (as nats-server rebuilds them); the last message's id
    // is the last id.
    const cutoff = nowNs() - BigInt(this.config.duplicate_window ?? 0);
    for (let seq = this.firstSeq; seq <= this.lastSeq; seq++) {
      const m = this.msgs.get(seq);
      if (!m || m.ts < cutoff) continue;
      const id = m.hdr ? getHeader(m.hdr, "Nats-Msg-Id") ?? "" : "";
      if (id !== "") this.dedupe.set(id, { seq, ts: m.ts });
      if (seq === this.lastSeq) this.lastMsgId = id;
    }
    if (this.config.max_age > 0) this.expire();
    // A file stream that never held a message comes back at first_seq 1 in nats-server.
    if (this.lastSeq === 0) this.firstSeq = 1;
  }

  #pruneDedupe(): void {
    const window = BigInt(this.config.duplicate_window ?? 0);
    const cutoff = nowNs() - window;
    for (const [id, e] of this.dedupe) {
      if (e.ts >= cutoff) break; // Inserted in time order.
      this.dedupe.delete(id);
    }
  }

  #enforceLimits(subject: string): void {
    const cfg = this.config;
    if (cfg.max_msgs_per_subject > 0) {
      const list = this.bySubject.get(subject);
      while (list && list.length > cfg.max_msgs_per_subject) this.removeMsg(list[0]);
    }
    if (cfg.max_msgs > 0) {
      while (this.msgs.size > cfg.max_msgs) this.removeMsg(this.firstSeq);
    }
    if (cfg.max_bytes > 0) {
      while (this.bytes > cfg.max_bytes && this.msgs.size > 0) this.removeMsg(this.firstSeq);
    }
  }

  /** Applies the limits to every subject (after a configuration update). */
  enforceLimits(): void {
    for (const subject of [...this.bySubject.keys()]) this.#enforceLimits(subject);
    if (this.config.max_age > 0) this.expire();
  }

  #scheduleAge(): void {
    if (this.config.max_age <= 0 || this.#ageTimer !== undefined) return;
    const first = this.msgs.get(this.firstSeq);
    if (!first) return;
    const dueMs = Number((first.ts + BigInt(this.config.max_age)) / 1_000_000n) - Date.now();
    this.#ageTimer = setTimeout(() => {
      this.#ageTimer = undefined;
      this.expire();
    }, Math.max(1, dueMs + 1));
  }

  /** Removes messages older than max_age. */
  expire(): void {
    const cutoff = nowNs() - BigInt(this.config.max_age);
    while (this.msgs.size > 0) {
      const m = this.msgs.get(this.firstSeq)!;
      if (m.ts > cutoff) break;
      this.removeMsg(m.seq);
    }
    this.#scheduleAge();
  }

  /**
   * Removes one message; false when there is none at `seq`. `quiet` leaves
   * the consumers' positions alone (removal by interest or work-queue retention).
   */
  removeMsg(seq: number, quiet = false): boolean {
    const m = this.msgs.get(seq);
    if (!m) return false;
    if (this.files !== null && !this.#restoring) this.files.appendDelete(seq);
    this.msgs.delete(seq);
    this.bytes -= msgSize(this.config.storage, m.subject, m.hdr, m.data);
    const list = this.bySubject.get(m.subject)!;
    const at = list.indexOf(seq);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) this.bySubject.delete(m.subject);
    if (seq === this.firstSeq) {
      this.#advanceFirst();
      if (!quiet) this.onRemoved?.();
    }
    return true;
  }

  #advanceFirst(): void {
    if (this.msgs.size === 0) {
      this.firstSeq = this.lastSeq + 1;
      return;
    }
    let s = this.firstSeq + 1;
    while (!this.msgs.has(s)) s++;
    this.firstSeq = s;
  }

  /**
   * Purges as nats-server's stores do; returns the count removed. Without a
   * filter (or `>`): everything, or below sequence `upToSeq`, or all but the
   * stream's newest `keep`. With a filter: the messages on matching subjects,
   * oldest first, below `upToSeq`, or all but the newest `keep` of them together.
   */
  purge(filter?: string, keep?: number, upToSeq?: number): number {
    const all = !filter || filter === ">";
    if (all && !keep && (!upToSeq || upToSeq === 1)) {
      const purged = this.msgs.size;
      if (this.files !== null && !this.#restoring) this.files.appendPurge(this.lastSeq + 1);
      this.msgs.clear();
      this.bySubject.clear();
      this.bytes = 0;
      this.firstSeq = this.lastSeq + 1;
      this.onRemoved?.();
      return purged;
    }
    if (all) {
      if (upToSeq) return this.#compact(upToSeq);
      if (keep! >= this.msgs.size) return 0;
      return this.#compact(this.lastSeq - keep! + 1);
    }
    let victims: number[] = [];
    if (!all && classifySubject(filter!) !== SubjectKind.Wildcard) {
      // A literal subject (a key-value purge or roll-up): its own list, already in order.
      victims = [...(this.bySubject.get(filter!) ?? [])];
    } else {
      for (const [subject, seqs] of this.bySubject) {
        if (!all && !subjectMatchesPattern(subject, filter!)) continue;
        for (const s of seqs) victims.push(s);
      }
      victims.sort((a, b) => a - b);
    }
    let n = victims.length;
    if (keep && keep > 0) {
      if (keep >= n) return 0;
      n -= keep;
    }
    let purged = 0;
    for (const s of victims) {
      if (purged >= n || (upToSeq && s >= upToSeq)) break;
      if (this.removeMsg(s)) purged++;
    }
    return purged;
  }

  /**
   * Removes every message below `seq`; returns the count. Past the end, the
   * stream is emptied and the next message gets `seq`. nats-server's memory
   * store refuses a `seq` inside the stream whose message is gone.
   */
  #compact(seq: number): number {
    if (seq > this.lastSeq) {
      const purged = this.msgs.size;
      if (this.files !== null && !this.#restoring) this.files.appendPurge(seq);
      this.msgs.clear();
      this.bySubject.clear();
      this.bytes = 0;
      this.firstSeq = seq;
      this.lastSeq = seq - 1;
      this.onRemoved?.();
      return purged;
    }
    if (this.config.storage === "memory" && !this.msgs.has(seq)) {
      throw JSErr.streamGeneral("no message found");
    }
    let purged = 0;
    while (this.msgs.size > 0 && this.firstSeq < seq) {
      if (this.removeMsg(this.firstSeq)) purged++;
    }
    return purged;
  }

  /** The last message on a subject (literal or wildcard), or undefined. */
  lastBySubject(filter: string): StoredMsg | undefined {
    if (classifySubject(filter) !== SubjectKind.Wildcard) {
      // A literal subject (a key-value get): one lookup, not a walk over every subject.
      const seqs = this.bySubject.get(filter);
      return seqs && seqs.length > 0 ? this.msgs.get(seqs[seqs.length - 1]) : undefined;
    }
    let best: StoredMsg | undefined;
    for (const [subject, seqs] of this.bySubject) {
      if (!subjectMatchesPattern(subject, filter)) continue;
      const m = this.msgs.get(seqs[seqs.length - 1])!;
      if (!best || m.seq > best.seq) best = m;
    }
    return best;
  }

  state(consumers: number): StreamState {
    const empty = this.msgs.size === 0;
    const first = empty ? undefined : this.msgs.get(this.firstSeq);
    const st: StreamState = {
      messages: this.msgs.size,
      bytes: this.bytes,
      first_seq: this.firstSeq === 0 && this.lastSeq === 0 ? 0 : this.firstSeq,
      first_ts: formatNs(first?.ts ?? 0n),
      last_seq: this.lastSeq,
      last_ts: formatNs(this.lastTs),
      consumer_count: consumers,
    };
    if (this.bySubject.size > 0) st.num_subjects = this.bySubject.size;
    const deleted = empty ? 0 : this.lastSeq - this.firstSeq + 1 - this.msgs.size;
    if (deleted > 0) st.num_deleted = deleted;
    // nats-server's key order: num_deleted after num_subjects, consumer_count last.
    const { consumer_count, ...rest } = st;
    return { ...rest, consumer_count } as StreamState;
  }

  close(): void {
    if (this.#ageTimer !== undefined) clearTimeout(this.#ageTimer);
    this.#ageTimer = undefined;
    this.files?.close();
  }
}

function parseSeq(text: string): number {
  // nats-server's parseInt64 gives -1 for non-digits; as uint64 it never matches.
  return /^\d+$/.test(text) ? Number(text) : -1;
}
