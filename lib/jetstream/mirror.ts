/**
 * Mirrors and sources within one account, as nats-server 2.9 keeps them on
 * one server (docs/jetstream.md). A mirror copies its origin's messages at
 * the origin's sequences and times (gaps stay gaps), from the start, an
 * `opt_start_seq` or an `opt_start_time`, optionally one `filter_subject`;
 * a stream with `sources` stores each copied message as a new publish with a
 * `Nats-Stream-Source: <origin> <origin seq>` header. nats-server does this
 * with a consumer on the origin; here a follower reads the origin stream
 * directly: after each store on the origin, once a second (its heartbeat),
 * and when the origin is created. A restart resumes from what the copy holds
 * (a mirror's last sequence, a source's last `Nats-Stream-Source` header).
 * Streams of other accounts or domains (`external`) are refused.
 *
 * @module
 */
import { subjectMatchesPattern } from "../router/subject.ts";
import { subjectsOverlap } from "./stream.ts";
import type { StoredMsg, Stream, StreamConfig } from "./stream.ts";
import type { StreamSource } from "./source_config.ts";
import { ApiError, JSErr } from "./errors.ts";
import { getHeader } from "./headers.ts";

const HEARTBEAT_MS = 1000;
const SOURCE_HEADER = "Nats-Stream-Source";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * nats-server's checks of a mirror or sources against the streams it can
 * see: subjects on a mirror (10034), a mirror with sources (10031), a
 * maximum message size below the origin's (10030, 10046), a filter that
 * matches none of the origin's subjects, and cycles (its own walk, which
 * also refuses two paths to one stream).
 */
export function checkSourcing(
  cfg: StreamConfig,
  lookup: (name: string) => StreamConfig | undefined,
): void {
  const subjectsGiven = (cfg.subjects ?? []).length > 0;
  const mirror = cfg.mirror;
  const sources = cfg.sources ?? [];
  const fits = (origin: StreamConfig | undefined) =>
    !(origin && (cfg.max_msg_size ?? -1) > 0 && (origin.max_msg_size ?? -1) > 0 &&
      cfg.max_msg_size! < origin.max_msg_size!);
  const overlaps = (filter: string | undefined, subjects: string[]) =>
    !filter || subjects.length === 0 || subjects.some((s) => subjectsOverlap(s, filter));
  let seen: string[] = [];
  if (mirror) {
    if (subjectsGiven) throw new ApiError(400, 10034, "stream mirrors can not contain subjects");
    if (sources.length > 0) {
      throw new ApiError(400, 10031, "stream mirrors can not also contain other sources");
    }
    const origin = lookup(mirror.name);
    if (origin) {
      seen = origin.subjects ?? [];
      if (!fits(origin)) {
        throw new ApiError(400, 10030, "stream mirror must have max message size >= source");
      }
      if (!overlaps(mirror.filter_subject, seen)) {
        throw JSErr.streamInvalidConfig(
          `mirror '${mirror.name}' filter subject '${mirror.filter_subject}' does not overlap with any origin stream subject`,
        );
      }
    }
  }
  for (const src of sources) {
    const origin = lookup(src.name);
    if (!origin) continue;
    seen = seen.concat(origin.subjects ?? []);
    if (!fits(origin)) {
      throw new ApiError(400, 10046, "stream source must have max message size >= target");
    }
    if (!overlaps(src.filter_subject, seen)) {
      throw JSErr.streamInvalidConfig(
        `source '${src.name}' filter subject '${src.filter_subject}' does not overlap with any origin stream subject`,
      );
    }
  }
  const toVisit: StreamConfig[] = [cfg];
  const visited = new Set<string>();
  while (toVisit.length > 0) {
    const c = toVisit.shift()!;
    visited.add(c.name);
    const next = [...(c.sources ?? []), ...(c.mirror ? [c.mirror] : [])];
    for (const s of next) {
      if (visited.has(s.name)) throw JSErr.streamInvalidConfig("detected cycle");
      const o = lookup(s.name);
      if (o) toVisit.push(o);
    }
  }
}

/** `Nats-Stream-Source: <name> <seq>` added to a header block (or a new one). */
function withSourceHeader(hdr: Uint8Array | null, value: string): Uint8Array {
  const line = `${SOURCE_HEADER}: ${value}\r\n\r\n`;
  if (hdr === null || hdr.length <= 2) return encoder.encode(`NATS/1.0\r\n${line}`);
  const head = decoder.decode(hdr.subarray(0, hdr.length - 2));
  return encoder.encode(head + line);
}

/** One mirror or source of one stream: where it is in its origin, and when it last heard from it. */
class Follower {
  readonly target: Stream;
  readonly source: StreamSource;
  readonly mirror: boolean;
  /** Next origin sequence to look at; 0 until the first look. */
  next = 0;
  /** When the origin was last seen (performance.now()); 0 = never. */
  last = 0;
  error: ApiError | null = null;

  constructor(target: Stream, source: StreamSource, mirror: boolean) {
    this.target = target;
    this.source = source;
    this.mirror = mirror;
  }

  /** A mirror that copied from its origin (nats-server then joins the origin's direct gets). */
  copiedOnce = false;

  #matches(m: StoredMsg): boolean {
    const f = this.source.filter_subject;
    return !f || subjectMatchesPattern(m.subject, f);
  }

  /** Where to start in `origin` the first time. */
  #start(origin: Stream): number {
    const t = this.target;
    if (this.mirror && t.lastSeq > 0) return t.lastSeq + 1;
    if (!this.mirror) {
      for (let q = t.lastSeq; q >= t.firstSeq && q > 0; q--) {
        const m = t.msgs.get(q);
        const h = m?.hdr ? getHeader(m.hdr, SOURCE_HEADER) : undefined;
        if (!h) continue;
        const [name, seq] = h.split(" ");
        if (name === this.source.name) return Number(seq) + 1;
      }
    }
    if (this.source.opt_start_seq) return this.source.opt_start_seq;
    if (this.source.opt_start_time) {
      const t0 = BigInt(Date.parse(this.source.opt_start_time)) * 1_000_000n;
      for (let q = origin.firstSeq; q <= origin.lastSeq; q++) {
        const m = origin.msgs.get(q);
        if (m && m.ts >= t0) return q;
      }
      return origin.lastSeq + 1;
    }
    return Math.max(1, origin.firstSeq);
  }

  /** Copies what the origin has beyond the follower's position. */
  catchUp(origin: Stream | undefined): void {
    if (!origin) {
      this.error = JSErr.streamNotFound();
      return;
    }
    this.error = null;
    this.last = performance.now();
    if (this.next === 0) this.next = this.#start(origin);
    const t = this.target;
    let copied = false;
    for (let q = Math.max(this.next, origin.firstSeq); q <= origin.lastSeq; q++) {
      const m = origin.msgs.get(q);
      if (!m || !this.#matches(m)) continue;
      if (this.mirror) t.storeMirrored(m);
      else t.publish(m.subject, withSourceHeader(m.hdr, `${this.source.name} ${q}`), m.data);
      copied = true;
    }
    this.next = Math.max(this.next, origin.lastSeq + 1);
    if (copied && this.mirror) this.copiedOnce = true;
    if (copied) {
      try {
        t.files?.sync();
      } catch {
        // Written; the next sync (or a catch-up after a restart) covers it.
      }
    }
  }

  info(origin: Stream | undefined): Record<string, unknown> {
    // What the origin holds beyond the copy (nothing copied is pending between looks).
    let lag = 0;
    if (origin && this.next > 0) {
      for (let q = Math.max(this.next, origin.firstSeq); q <= origin.lastSeq; q++) {
        const m = origin.msgs.get(q);
        if (m && this.#matches(m)) lag++;
      }
    }
    const out: Record<string, unknown> = {
      name: this.source.name,
      lag,
      active: this.last === 0 ? -1 : Math.round((performance.now() - this.last) * 1e6),
    };
    if (this.error) out.error = this.error;
    return out;
  }
}

/** The mirrors and sources of one account's streams. */
export class Followers {
  readonly #lookup: (name: string) => Stream | undefined;
  readonly #mirrored: (target: Stream) => void;
  readonly #byTarget = new Map<Stream, Follower[]>();
  readonly #due = new Set<Follower>();
  #scheduled = false;
  #timer: ReturnType<typeof setInterval> | undefined;

  /**
   * `mirrored` is called after a mirror copied messages from its origin and
   * is caught up: nats-server lets a mirror with `mirror_direct` join its
   * origin's direct-get queue group from then on.
   */
  constructor(
    lookup: (name: string) => Stream | undefined,
    mirrored: (target: Stream) => void = () => {},
  ) {
    this.#lookup = lookup;
    this.#mirrored = mirrored;
  }

  /** Starts following for `target` if it has a mirror or sources. */
  add(target: Stream): void {
    const cfg = target.config;
    const list: Follower[] = [];
    if (cfg.mirror) list.push(new Follower(target, cfg.mirror, true));
    for (const s of cfg.sources ?? []) list.push(new Follower(target, s, false));
    if (list.length === 0) return;
    this.#byTarget.set(target, list);
    for (const f of list) this.#due.add(f);
    this.#schedule();
    this.#timer ??= setInterval(() => {
      for (const fs of this.#byTarget.values()) for (const f of fs) this.#due.add(f);
      this.#run();
    }, HEARTBEAT_MS);
  }

  remove(target: Stream): void {
    for (const f of this.#byTarget.get(target) ?? []) this.#due.delete(f);
    this.#byTarget.delete(target);
    if (this.#byTarget.size === 0) this.close();
  }

  /** The origin `name` stored a message or was created: its followers catch up soon. */
  changed(name: string): void {
    if (this.#byTarget.size === 0) return;
    for (const fs of this.#byTarget.values()) {
      for (const f of fs) if (f.source.name === name) this.#due.add(f);
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#due.size === 0) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#run());
  }

  #run(): void {
    this.#scheduled = false;
    const due = [...this.#due];
    this.#due.clear();
    for (const f of due) {
      if (!this.#byTarget.has(f.target)) continue;
      f.catchUp(this.#lookup(f.source.name));
      if (f.copiedOnce) this.#mirrored(f.target);
    }
  }

  /** `mirror` or `sources` for STREAM.INFO, nothing for a stream without them. */
  info(target: Stream): Record<string, unknown> {
    const list = this.#byTarget.get(target);
    if (!list) return {};
    const look = (f: Follower) => f.info(this.#lookup(f.source.name));
    if (target.config.mirror) return { mirror: look(list[0]) };
    return { sources: list.map(look) };
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * The subjects a consumer filter of `cfg`'s stream may narrow: its own and,
 * through its mirror or sources, its origins' (nats-server's
 * gatherSourceMirrorSubjects).
 */
export function sourcedSubjects(
  cfg: StreamConfig,
  lookup: (name: string) => StreamConfig | undefined,
  seen = new Set<string>(),
): string[] {
  const out = [...(cfg.subjects ?? [])];
  seen.add(cfg.name);
  for (const s of cfg.mirror ? [cfg.mirror] : cfg.sources ?? []) {
    const o = lookup(s.name);
    if (o && !seen.has(o.name)) out.push(...sourcedSubjects(o, lookup, seen));
  }
  return out;
}

/**
 * `stream` as consumer configuration checks see it: a mirror or a stream
 * with sources shows the subjects it takes from its origins.
 */
export function consumerView(
  stream: Stream,
  lookup: (name: string) => StreamConfig | undefined,
): Stream {
  const cfg = stream.config;
  if (!cfg.mirror && !cfg.sources) return stream;
  const subjects = sourcedSubjects(cfg, lookup);
  return Object.create(stream, { config: { value: { ...cfg, subjects } } });
}
