/**
 * The interest table: which subscriptions receive a message published on a
 * subject. A trie keyed by subject tokens, with a bounded cache of match results.
 *
 * Layout of one trie node:
 * - `literal`: children by exact token, in a `Map` (`__proto__` and `constructor`
 *   are valid tokens, so plain objects would misbehave),
 * - `star`: the child for a `*` token,
 * - `full`: the node holding subscriptions that end in `>` at this depth,
 * - the subscriptions whose subject ends here, plain ones apart from queue ones,
 *   which are grouped by queue name. A lone plain subscription (the usual case)
 *   is held directly; a `Set` is made only for the second one.
 *
 * Each node keeps immutable array snapshots of its subscriptions, rebuilt lazily
 * after a change. A match that touches one node returns that node's prebuilt result
 * object; a match over several nodes only concatenates snapshots. Results are never
 * mutated afterwards, so the server may keep iterating a result while a delivery
 * removes a subscription (auto-unsubscribe).
 *
 * @module
 */

import {
  classifySubject,
  isValidQueueName,
  SubjectKind,
  subjectMatchesPattern,
} from "./subject.ts";

/** What the sublist needs to know about a subscription. */
export interface SubLike {
  /** Subject or wildcard pattern subscribed to. Must not change while inserted. */
  readonly subject: string;
  /** Queue group name, or `null` for a plain subscription. */
  readonly queue: string | null;
}

/** Subscriptions interested in one published subject. */
export interface MatchResult<T> {
  /** Plain subscriptions: each receives the message. */
  readonly plain: readonly T[];
  /** One inner array per queue group name (members of that group). */
  readonly queues: readonly (readonly T[])[];
}

/** Counters reported by `/subsz`, with the meaning nats-server gives them. */
export interface SublistStats {
  /** Subscriptions currently stored (`num_subscriptions`). */
  numSubscriptions: number;
  /** Entries currently in the match cache (`num_cache`). */
  numCache: number;
  /** Successful inserts since creation (`num_inserts`). */
  numInserts: number;
  /** Successful removes since creation (`num_removes`). */
  numRemoves: number;
  /** Calls to `match()` since creation (`num_matches`). */
  numMatches: number;
  /** Share of `match()` calls answered from the cache, 0..1 (`cache_hit_rate`). */
  cacheHitRate: number;
  /** Largest fanout (plain subs + queue groups) among cached results (`max_fanout`). */
  maxFanout: number;
  /** Mean fanout among cached results (`avg_fanout`). */
  avgFanout: number;
}

/** Options for {@linkcode Sublist}. */
export interface SublistOptions {
  /** Keep a bounded cache of match results (default `true`). */
  cache?: boolean;
}

const STAR = 0x2a;
const GT = 0x3e;
/** What `classifySubject()` refuses in a subject besides its token structure. */
const WHITESPACE = /[ \t\n\r\f]/;

/** Most entries the match cache holds (nats-server `slCacheMax`). */
export const CACHE_MAX = 1024;
/** Size the cache is cut down to when it is full (nats-server `slCacheSweep`). */
export const CACHE_SWEEP_TO = 256;
/**
 * Wildcard changes in a row, with no {@linkcode Sublist.match} between, that
 * scan the cache for the keys they affect; the next one drops the whole cache.
 */
export const SCANS_BEFORE_DROP = 16;

const EMPTY_LIST: readonly never[] = Object.freeze([]);
/**
 * The empty `plain` list of results. Not frozen, and of the elements kind of
 * the non-empty lists (an object array's, made by slicing one): V8 gives a
 * frozen array, or an empty `[]` literal, a map of its own, and code compiled
 * while every result had subscriptions would be deoptimized by the first
 * subject matching none (`readonly` guards it; nothing writes to a shared list).
 */
const EMPTY_PLAIN: readonly never[] = ([{}] as never[]).slice(0, 0);
/** Not frozen either, for the same reason: one shape with the other results. */
const EMPTY_RESULT: MatchResult<never> = { plain: EMPTY_PLAIN, queues: EMPTY_LIST };

/** Members of one queue group at one node, with a lazily built snapshot. */
class QueueGroup<T> {
  readonly members = new Set<T>();
  snapshot: readonly T[] | null = null;

  constructor(readonly name: string) {}

  list(): readonly T[] {
    return this.snapshot ??= Array.from(this.members);
  }
}

/** One trie level; see the module comment for the layout. */
class Node<T extends SubLike> {
  literal: Map<string, Node<T>> | null = null;
  star: Node<T> | null = null;
  full: Node<T> | null = null;
  /** Subscriptions (plain and queue) whose subject ends at this node. */
  subCount = 0;
  /**
   * The plain subscription while it is the only one and `plain` is null: a `Set`
   * per subject costs ~150 B and an allocation, and most subjects have one subscriber.
   */
  one: T | null = null;
  /** Plain subscriptions, from the second one on (then `one` is null). */
  plain: Set<T> | null = null;
  queues: Map<string, QueueGroup<T>> | null = null;
  /**
   * Snapshots, dropped on every change at this node and rebuilt on demand; in
   * one object made by the first match, so the many nodes that are never
   * matched (or hold no subscription) carry one field instead of four.
   */
  #snap: Snapshot<T> | null = null;

  /** The child for the literal `token`, created when missing. */
  literalChild(token: string): Node<T> {
    const literal = this.literal ??= new Map();
    let node = literal.get(token);
    if (node === undefined) {
      node = new Node();
      literal.set(token, node);
    }
    return node;
  }

  /** The child for a `*` token, or for `>` when `full`; created when missing. */
  wildcardChild(full: boolean): Node<T> {
    // Both fields are read, and both written when a child is made, whichever the
    // token: a load or store that only `>` reaches would first run on a burst's
    // first `>` (the bench's last 10 SUBs) and deoptimize the compiled insert().
    const star = this.star;
    const fullChild = this.full;
    const child = full ? fullChild : star;
    if (child !== null) return child;
    const made = new Node<T>();
    this.star = full ? star : made;
    this.full = full ? made : fullChild;
    return made;
  }

  /** Drops the (empty) child reached by `token`. */
  detach(token: string): void {
    if (token === "*") this.star = null;
    else if (token === ">") this.full = null;
    else if (this.literal !== null) {
      this.literal.delete(token);
      if (this.literal.size === 0) this.literal = null;
    }
  }

  /** `true` when the node holds nothing and can be pruned. */
  isEmpty(): boolean {
    return this.subCount === 0 && this.literal === null && this.star === null &&
      this.full === null;
  }

  /** `true` when plain subscriptions end at this node. */
  hasPlain(): boolean {
    return this.one !== null || this.plain !== null;
  }

  /** Adds a subscription; `false` when this very object is already here. */
  add(sub: T): boolean {
    const queue = sub.queue;
    if (queue === null) {
      const plain = this.plain;
      if (plain !== null) {
        if (plain.has(sub)) return false;
        plain.add(sub);
      } else if (this.one === null) {
        this.one = sub;
      } else {
        if (this.one === sub) return false;
        // The first member goes in first: results keep subscription order.
        const set = new Set<T>();
        set.add(this.one);
        set.add(sub);
        this.plain = set;
        this.one = null;
      }
    } else {
      const queues = this.queues ??= new Map();
      let group = queues.get(queue);
      if (group === undefined) {
        group = new QueueGroup(queue);
        queues.set(queue, group);
      } else if (group.members.has(sub)) {
        return false;
      }
      group.members.add(sub);
      group.snapshot = null;
    }
    this.subCount++;
    this.#snap = null;
    return true;
  }

  /** Removes a subscription; `false` when it is not here. */
  delete(sub: T): boolean {
    const queue = sub.queue;
    if (queue === null) {
      if (this.one === sub) {
        this.one = null;
      } else {
        if (this.plain === null || !this.plain.delete(sub)) return false;
        if (this.plain.size === 0) this.plain = null;
      }
    } else {
      const group = this.queues?.get(queue);
      if (group === undefined || !group.members.delete(sub)) return false;
      if (group.members.size === 0) {
        // An empty group must vanish: results promise one non-empty array per group.
        this.queues!.delete(queue);
        if (this.queues!.size === 0) this.queues = null;
      }
      group.snapshot = null;
    }
    this.subCount--;
    this.#snap = null;
    return true;
  }

  #snapshot(): Snapshot<T> {
    return this.#snap ??= new Snapshot(this);
  }

  plainList(): readonly T[] {
    return this.#snapshot().plain;
  }

  queueLists(): readonly (readonly T[])[] {
    return this.#snapshot().queues;
  }

  /** Queue names, index for index with {@linkcode queueLists}. */
  queueNames(): readonly string[] {
    return this.#snapshot().names;
  }

  /** The whole match result when this node is the only one a subject reaches. */
  result(): MatchResult<T> {
    const snap = this.#snapshot();
    return snap.result ??= { plain: snap.plain, queues: snap.queues };
  }
}

/** Immutable lists of one node's subscriptions, as they were when it was made. */
class Snapshot<T extends SubLike> {
  readonly plain: readonly T[];
  readonly queues: readonly (readonly T[])[];
  readonly names: readonly string[];
  result: MatchResult<T> | null = null;

  constructor(node: Node<T>) {
    this.plain = node.one !== null
      ? [node.one]
      : node.plain === null
      ? EMPTY_PLAIN
      : Array.from(node.plain);
    if (node.queues === null) {
      this.queues = EMPTY_LIST;
      this.names = EMPTY_LIST;
    } else {
      const lists: (readonly T[])[] = [];
      const names: string[] = [];
      for (const group of node.queues.values()) {
        lists.push(group.list());
        names.push(group.name);
      }
      this.queues = lists;
      this.names = names;
    }
  }
}

/**
 * Pushes onto `out` every node holding subscriptions that `tokens[start..count)`
 * reaches from `node`. Each matching pattern has exactly one path through the trie,
 * so no node is pushed twice. The order is nats-server's: at each level `>`
 * first, then what the `*` branch reaches, then the literal path; at the last
 * token the literal node comes before the `*` one (so a client subscribed to
 * `a.b` and `a.*` gets a message on `a.b` for the `a.b` sid first).
 */
function collectMatches<T extends SubLike>(
  node: Node<T>,
  tokens: readonly string[],
  count: number,
  start: number,
  out: Node<T>[],
): void {
  let current: Node<T> | undefined = node;
  const last = count - 1;
  for (let i = start; i < count; i++) {
    // `>` here matches tokens i..count-1, which is at least one token.
    const full: Node<T> | null = current.full;
    if (full !== null && full.subCount > 0) out.push(full);
    const star: Node<T> | null = current.star;
    const literal: Map<string, Node<T>> | null = current.literal;
    if (i === last) {
      const end = literal === null ? undefined : literal.get(tokens[i] as string);
      if (end !== undefined && end.subCount > 0) out.push(end);
      if (star !== null && star.subCount > 0) out.push(star);
      return;
    }
    if (star !== null) collectMatches(star, tokens, count, i + 1, out);
    if (literal === null) return;
    current = literal.get(tokens[i] as string);
    if (current === undefined) return;
  }
  if (current.subCount > 0) out.push(current);
}

/** Like {@linkcode collectMatches}, but stops at the first node with subscriptions. */
function anyMatch<T extends SubLike>(
  node: Node<T>,
  tokens: readonly string[],
  count: number,
  start: number,
): boolean {
  let current: Node<T> | undefined = node;
  for (let i = start; i < count; i++) {
    const full: Node<T> | null = current.full;
    if (full !== null && full.subCount > 0) return true;
    const star: Node<T> | null = current.star;
    if (star !== null && anyMatch(star, tokens, count, i + 1)) return true;
    const literal: Map<string, Node<T>> | null = current.literal;
    if (literal === null) return false;
    current = literal.get(tokens[i] as string);
    if (current === undefined) return false;
  }
  return current.subCount > 0;
}

/**
 * Length of the leading literal tokens of a valid pattern, dot included
 * (`a.b.*.c` -> 4, covering `a.b.`; `*.a` -> 0).
 */
function literalPrefixLength(pattern: string): number {
  let tokenStart = 0;
  for (;;) {
    let end = pattern.indexOf(".", tokenStart);
    if (end === -1) end = pattern.length;
    if (end - tokenStart === 1) {
      const code = pattern.charCodeAt(tokenStart);
      if (code === STAR || code === GT) return tokenStart;
    }
    if (end === pattern.length) return pattern.length;
    tokenStart = end + 1;
  }
}

/**
 * Where the trailing literal tokens of a valid pattern start, their leading dot
 * included (`a.*.b.c` -> 3, covering `.b.c`); the pattern's length when it ends
 * in a wildcard (`a.*` -> 3, nothing).
 */
function literalSuffixStart(pattern: string): number {
  let start = pattern.length;
  let tokenStart = 0;
  for (;;) {
    let end = pattern.indexOf(".", tokenStart);
    if (end === -1) end = pattern.length;
    if (end - tokenStart === 1) {
      const code = pattern.charCodeAt(tokenStart);
      if (code === STAR || code === GT) start = end;
    }
    if (end === pattern.length) return start;
    tokenStart = end + 1;
  }
}

/** `key.startsWith(prefix)`, by char codes (several times faster in V8 for short strings). */
function hasPrefix(key: string, prefix: string): boolean {
  const n = prefix.length;
  if (key.length < n) return false;
  for (let i = 0; i < n; i++) if (key.charCodeAt(i) !== prefix.charCodeAt(i)) return false;
  return true;
}

/** `key.endsWith(suffix)`, by char codes. */
function hasSuffix(key: string, suffix: string): boolean {
  const n = suffix.length;
  const at = key.length - n;
  if (at < 0) return false;
  for (let i = 0; i < n; i++) if (key.charCodeAt(at + i) !== suffix.charCodeAt(i)) return false;
  return true;
}

/**
 * Splits `subject` on dots into `out` (reused between calls, so no array is
 * allocated per match).
 *
 * @returns the token count, or -1 when a token is empty (such a subject can match
 * nothing).
 */
function tokenize(subject: string, out: string[]): number {
  const length = subject.length;
  if (length === 0) return -1;
  let count = 0;
  let start = 0;
  for (;;) {
    let end = subject.indexOf(".", start);
    if (end === -1) end = length;
    if (end === start) return -1;
    out[count++] = subject.substring(start, end);
    if (end === length) return count;
    start = end + 1;
  }
}

/**
 * The subscription interest table, with an optional bounded match cache.
 *
 * @typeParam T The subscription type; the sublist stores and returns the objects
 * themselves and tells them apart by identity.
 *
 * @example
 * ```ts
 * import { Sublist } from "./sublist.ts";
 * import assert from "node:assert/strict";
 *
 * const subs = new Sublist<{ subject: string; queue: string | null; sid: string }>();
 * subs.insert({ subject: "orders.*", queue: null, sid: "1" });
 * subs.insert({ subject: "orders.>", queue: "workers", sid: "2" });
 * subs.insert({ subject: "orders.>", queue: "workers", sid: "3" });
 *
 * const result = subs.match("orders.42");
 * assert.deepEqual(result.plain.map((s) => s.sid), ["1"]);
 * assert.equal(result.queues.length, 1); // one group, pick one member
 * assert.equal(result.queues[0]?.length, 2);
 * ```
 */
export class Sublist<T extends SubLike> {
  readonly #root = new Node<T>();
  readonly #cache: Map<string, MatchResult<T>> | null;
  #count = 0;
  #generation = 0;
  #inserts = 0;
  #removes = 0;
  #matches = 0;
  #cacheHits = 0;
  /** Wildcard inserts and removes since the last {@linkcode match} (see #invalidate). */
  #changesUnseen = 0;
  // Scratch space reused by every uncached match (match() never re-enters itself).
  readonly #tokens: string[] = [];
  readonly #nodes: Node<T>[] = [];
  readonly #groupIndex = new Map<string, number>();
  // Scratch of remove(): the nodes on the subject's path and where each token starts.
  readonly #path: Node<T>[] = [];
  readonly #pathStarts: number[] = [];

  /**
   * @param options `cache: false` turns the match cache off (every match walks the
   * trie); it is on by default.
   */
  constructor(options: SublistOptions = {}) {
    this.#cache = options.cache === false ? null : new Map();
  }

  /** Bumped by every successful insert and remove; tags per-client caches. */
  get generation(): number {
    return this.#generation;
  }

  /** Subscriptions currently stored. */
  get count(): number {
    return this.#count;
  }

  /**
   * Adds a subscription, checking its subject as `classifySubject()` does:
   * whitespace by one regular expression (native code after its first use),
   * the token structure while it walks the trie, with no JavaScript loop over
   * the characters. Most of a fresh server's first burst of SUBs runs before V8
   * has compiled this, where such a loop costs (docs/performance/subjects.md,
   * "ninth round"). The nodes an invalid subject made before its fault was
   * found are pruned again.
   *
   * @param sub The subscription; the same object can be stored only once.
   * @returns `false`, storing nothing, when the subject or queue name is invalid
   * or this object is already stored.
   */
  insert(sub: T): boolean {
    const subject = sub.subject;
    if (sub.queue !== null && !isValidQueueName(sub.queue)) return false;
    const length = subject.length;
    if (length === 0 || WHITESPACE.test(subject)) return false;
    // The walk makes missing nodes itself (no literalChild()/wildcardChild()
    // calls): before V8 compiles it, each call per token costs.
    let node = this.#root;
    let wildcard = false;
    let start = 0;
    for (;;) {
      let end = subject.indexOf(".", start);
      if (end === -1) end = length;
      const tokenLength = end - start;
      if (tokenLength === 0) return this.#undoPath(subject, start);
      const only = tokenLength === 1 ? subject.charCodeAt(start) : 0;
      const full = only === GT;
      let next: Node<T> | null | undefined;
      if (only === STAR || full) {
        if (full && end !== length) return this.#undoPath(subject, start); // `>` ends a subject
        wildcard = true;
        // Both children read and both written, whichever the token: see wildcardChild().
        const star = node.star;
        const fullChild = node.full;
        next = full ? fullChild : star;
        if (next === null) {
          next = new Node<T>();
          node.star = full ? star : next;
          node.full = full ? next : fullChild;
        }
      } else {
        const literal = node.literal ??= new Map();
        const token = subject.substring(start, end);
        next = literal.get(token);
        if (next === undefined) {
          next = new Node<T>();
          literal.set(token, next);
        }
      }
      node = next as Node<T>;
      if (end === length) break;
      start = end + 1;
    }
    // A duplicate was inserted before, so the path existed: nothing to prune here.
    if (!node.add(sub)) return false;
    this.#count++;
    this.#inserts++;
    this.#generation++;
    // An empty cache (a fresh server's burst of SUBs) needs no call.
    const cache = this.#cache;
    if (cache !== null && cache.size > 0) {
      this.#invalidate(subject, wildcard ? SubjectKind.Wildcard : SubjectKind.Literal);
    }
    return true;
  }

  /**
   * Prunes the nodes {@linkcode insert} made for the tokens of `subject` before
   * `end` (the start of the token found invalid) and left empty.
   *
   * @returns `false`, for insert() to return.
   */
  #undoPath(subject: string, end: number): false {
    if (end === 0) return false;
    const length = end - 1; // without the dot before the bad token
    // insert() made every node on this path, so the walk finds them all.
    const node = this.#walkPath(subject, length);
    if (node !== null) this.#pruneWalked(subject, length, node);
    return false;
  }

  /**
   * Walks the tokens of `subject[0..length)` in place, keeping the nodes passed
   * (and where each token starts) in the scratch arrays for
   * {@linkcode #pruneWalked}.
   *
   * @returns The node of the last token, or `null` (scratch arrays cleared)
   * when a token has no node.
   */
  #walkPath(subject: string, length: number): Node<T> | null {
    const path = this.#path;
    const starts = this.#pathStarts;
    let node = this.#root;
    let depth = 0;
    let start = 0;
    while (start < length) {
      let to = subject.indexOf(".", start);
      if (to === -1 || to > length) to = length;
      const code = to - start === 1 ? subject.charCodeAt(start) : 0;
      const next: Node<T> | null | undefined = code === STAR
        ? node.star
        : code === GT
        ? node.full
        : node.literal?.get(subject.substring(start, to));
      if (next === null || next === undefined) {
        path.length = 0;
        return null;
      }
      path[depth] = node;
      starts[depth++] = start;
      node = next as Node<T>;
      start = to + 1;
    }
    return node;
  }

  /**
   * Detaches, from the deepest up, the nodes {@linkcode #walkPath} passed on
   * its way to `node` that are left empty, and clears the scratch arrays
   * (they would keep the nodes alive).
   */
  #pruneWalked(subject: string, length: number, node: Node<T>): void {
    const path = this.#path;
    const starts = this.#pathStarts;
    for (let d = path.length - 1; d >= 0 && node.isEmpty(); d--) {
      const parent = path[d] as Node<T>;
      const from = starts[d] as number;
      let to = subject.indexOf(".", from);
      if (to === -1 || to > length) to = length;
      parent.detach(subject.substring(from, to));
      node = parent;
    }
    path.length = 0;
  }

  /**
   * {@linkcode insert} for a caller that has classified the subject already
   * (a client's SUB did, before {@linkcode insert} checked the subject as it
   * walks: docs/performance/subjects.md, "sixth round" and "ninth round").
   *
   * @param sub As for {@linkcode insert}.
   * @param kind `classifySubject(sub.subject)`; anything else corrupts the cache.
   */
  insertClassified(sub: T, kind: SubjectKind): boolean {
    const subject = sub.subject;
    if (kind === SubjectKind.Invalid) return false;
    if (sub.queue !== null && !isValidQueueName(sub.queue)) return false;
    // Walks the tokens in place: split() would allocate an array per SUB and a
    // string per token; here only literal tokens get one (a Map key needs it).
    const length = subject.length;
    let node = this.#root;
    let start = 0;
    while (start < length) {
      let end = subject.indexOf(".", start);
      if (end === -1) end = length;
      const code = end - start === 1 ? subject.charCodeAt(start) : 0;
      if (code === STAR || code === GT) node = node.wildcardChild(code === GT);
      else node = node.literalChild(subject.substring(start, end));
      start = end + 1;
    }
    // A duplicate was inserted before, so the path existed: nothing to prune here.
    if (!node.add(sub)) return false;
    this.#count++;
    this.#inserts++;
    this.#generation++;
    this.#invalidate(subject, kind);
    return true;
  }

  /**
   * Removes a subscription, pruning trie nodes left empty.
   *
   * @param sub The object passed to {@linkcode insert}.
   * @returns `false` when it is not stored.
   */
  remove(sub: T): boolean {
    const subject = sub.subject;
    const kind = classifySubject(subject);
    if (kind === SubjectKind.Invalid) return false;
    const node = this.#walkPath(subject, subject.length);
    if (node === null) return false;
    if (!node.delete(sub)) {
      this.#path.length = 0;
      return false;
    }
    this.#pruneWalked(subject, subject.length, node);
    this.#count--;
    this.#removes++;
    this.#generation++;
    this.#invalidate(subject, kind);
    return true;
  }

  /**
   * Finds the subscriptions interested in a published subject. A cached subject
   * costs one `Map` lookup.
   *
   * @param subject The subject a message is published to. Its tokens are taken
   * literally; a subject with an empty token matches nothing.
   * @returns A result that may be shared with other callers and the cache: never
   * mutate it.
   */
  match(subject: string): MatchResult<T> {
    this.#matches++;
    this.#changesUnseen = 0;
    const cache = this.#cache;
    if (cache !== null) {
      const hit = cache.get(subject);
      if (hit !== undefined) {
        this.#cacheHits++;
        return hit;
      }
    }
    const tokens = this.#tokens;
    const count = tokenize(subject, tokens);
    if (count < 0) return EMPTY_RESULT;
    const nodes = this.#nodes;
    collectMatches(this.#root, tokens, count, 0, nodes);
    const result = this.#merge(nodes);
    nodes.length = 0; // release references held by the scratch array
    if (cache !== null) {
      if (cache.size >= CACHE_MAX) this.#sweep(cache);
      cache.set(subject, result);
    }
    return result;
  }

  /**
   * Tells whether any subscription would receive a message on `subject`, without
   * building a result (used to answer no_responders).
   *
   * @param subject The published subject.
   * @returns `true` when at least one subscription matches.
   */
  hasInterest(subject: string): boolean {
    const cached = this.#cache?.get(subject);
    if (cached !== undefined) return cached.plain.length > 0 || cached.queues.length > 0;
    const tokens = this.#tokens;
    const count = tokenize(subject, tokens);
    return count > 0 && anyMatch(this.#root, tokens, count, 0);
  }

  /** Every stored subscription, in no particular order (for `/subsz` and `/connz`). */
  all(): T[] {
    const out: T[] = [];
    const pending: Node<T>[] = [this.#root];
    for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
      if (node.one !== null) out.push(node.one);
      if (node.plain !== null) { for (const sub of node.plain) out.push(sub); }
      if (node.queues !== null) {
        for (const group of node.queues.values()) for (const sub of group.members) out.push(sub);
      }
      if (node.literal !== null) { for (const child of node.literal.values()) pending.push(child); }
      if (node.star !== null) pending.push(node.star);
      if (node.full !== null) pending.push(node.full);
    }
    return out;
  }

  /** Trie nodes, the root included (1 when empty): for tests of the pruning. */
  nodeCount(): number {
    let count = 0;
    const pending: Node<T>[] = [this.#root];
    for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
      count++;
      if (node.literal !== null) { for (const child of node.literal.values()) pending.push(child); }
      if (node.star !== null) pending.push(node.star);
      if (node.full !== null) pending.push(node.full);
    }
    return count;
  }

  /**
   * Counters for `/subsz`. Fanout figures are computed over the cached results,
   * like nats-server does, so they are 0 without a cache.
   */
  stats(): SublistStats {
    let totalFanout = 0;
    let maxFanout = 0;
    const cache = this.#cache;
    if (cache !== null) {
      for (const result of cache.values()) {
        const fanout = result.plain.length + result.queues.length;
        totalFanout += fanout;
        if (fanout > maxFanout) maxFanout = fanout;
      }
    }
    const cached = cache?.size ?? 0;
    return {
      numSubscriptions: this.#count,
      numCache: cached,
      numInserts: this.#inserts,
      numRemoves: this.#removes,
      numMatches: this.#matches,
      cacheHitRate: this.#matches > 0 ? this.#cacheHits / this.#matches : 0,
      maxFanout,
      avgFanout: cached > 0 ? totalFanout / cached : 0,
    };
  }

  /** Combines the nodes a subject reached into one result, sharing what it can. */
  #merge(nodes: readonly Node<T>[]): MatchResult<T> {
    const nodeCount = nodes.length;
    if (nodeCount === 0) return EMPTY_RESULT;
    if (nodeCount === 1) return (nodes[0] as Node<T>).result();

    let plain: readonly T[] = EMPTY_PLAIN;
    let plainShared = true; // `plain` is still some node's snapshot
    let queues: (readonly T[])[] | null = null;
    let queuesFrom: Node<T> | null = null; // the only node with queue subs so far
    for (let n = 0; n < nodeCount; n++) {
      const node = nodes[n] as Node<T>;
      if (node.hasPlain()) {
        if (plain.length === 0) {
          plain = node.plainList();
        } else if (plainShared) {
          plain = plain.concat(node.plainList());
          plainShared = false;
        } else {
          for (const sub of node.plainList()) (plain as T[]).push(sub);
        }
      }
      if (node.queues !== null) {
        if (queuesFrom === null && queues === null) {
          queuesFrom = node;
        } else {
          if (queues === null) queues = this.#startGroups(queuesFrom as Node<T>);
          this.#mergeGroups(queues, node);
          queuesFrom = null;
        }
      }
    }
    this.#groupIndex.clear();
    const queueLists = queues ?? queuesFrom?.queueLists() ?? EMPTY_LIST;
    return { plain, queues: queueLists };
  }

  /** Copies one node's queue groups into a fresh list and indexes them by name. */
  #startGroups(node: Node<T>): (readonly T[])[] {
    const lists = node.queueLists();
    const names = node.queueNames();
    for (let i = 0; i < names.length; i++) this.#groupIndex.set(names[i] as string, i);
    return lists.slice();
  }

  /** Adds a node's queue groups to `into`, joining groups of the same name. */
  #mergeGroups(into: (readonly T[])[], node: Node<T>): void {
    const lists = node.queueLists();
    const names = node.queueNames();
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as string;
      const members = lists[i] as readonly T[];
      const index = this.#groupIndex.get(name);
      if (index === undefined) {
        this.#groupIndex.set(name, into.length);
        into.push(members);
      } else {
        // concat makes a new array: node snapshots stay untouched.
        into[index] = (into[index] as readonly T[]).concat(members);
      }
    }
  }

  /**
   * Drops cached results the changed subscription subject can affect: one key for
   * a literal subject, every matching key for a wildcard one.
   */
  #invalidate(subject: string, kind: SubjectKind): void {
    const cache = this.#cache;
    if (cache === null || cache.size === 0) return;
    if (kind === SubjectKind.Literal) {
      cache.delete(subject);
      return;
    }
    // More than SCANS_BEFORE_DROP wildcard changes with no lookup since: a burst
    // of SUBs or UNSUBs (a client subscribing to thousands of patterns, or
    // closing with them). Each change would scan every key, for entries nobody
    // looked at in between; dropping them all costs at most one trie walk per
    // subject published again after the burst, about what that many scans of a
    // full cache cost. 10,000 wildcard SUBs with 1,000 subjects cached: 240-460
    // ms scanning, 11-43 ms dropping (docs/performance.md, "Wildcard workload,
    // third round"). Shorter bursts, and changes interleaved with lookups, scan
    // as before, so a cache in use keeps what a change cannot affect.
    if (++this.#changesUnseen > SCANS_BEFORE_DROP) {
      cache.clear();
      return;
    }
    // Keys that do not end with the pattern's trailing literal tokens, or do not
    // start with its leading ones, cannot match: comparing those few characters
    // rejects most of the cache far cheaper than a token walk. With the prefix
    // alone (by startsWith()), 10,000 SUBs of `bench.*.<n>` took 960 ms with 1,000
    // non-matching subjects cached (13 ms with none); see docs/performance.md.
    const prefix = subject.substring(0, literalPrefixLength(subject));
    const suffix = subject.substring(literalSuffixStart(subject));
    // Deleting the current key while iterating a Map is well defined.
    for (const key of cache.keys()) {
      if (
        hasSuffix(key, suffix) && hasPrefix(key, prefix) && subjectMatchesPattern(key, subject)
      ) {
        cache.delete(key);
      }
    }
  }

  /** Cuts a full cache down to {@linkcode CACHE_SWEEP_TO} entries, oldest first. */
  #sweep(cache: Map<string, MatchResult<T>>): void {
    let excess = cache.size - CACHE_SWEEP_TO;
    for (const key of cache.keys()) {
      if (excess-- <= 0) break;
      cache.delete(key);
    }
  }
}
