/**
 * Per-user publish/subscribe permissions.
 *
 * {@link PermissionRules} is compiled once per configured user and shared;
 * {@link PermissionChecker} is per connection (its verdict caches and the
 * reply subjects granted by `allow_responses` belong to one client).
 *
 * Semantics follow nats-server 2.9 with two deliberate tightenings, both
 * noted where they happen: subscribe allow entries use "is a subset of" (so
 * `foo.>` is not granted by `foo.*`), and deny always wins over a granted
 * reply subject.
 *
 * @module
 */
import type { Permissions, ResponsePermission, SubjectPermission } from "../config/options.ts";
import {
  hasWildcard,
  isSubsetTokens,
  isValidPattern,
  matchTokens,
  overlapsTokens,
  tokenize,
} from "./subject_match.ts";

/** One compiled permission entry: `"subject"` or `"subject queue"`. */
interface Rule {
  readonly tokens: readonly string[];
  /** Queue tokens when the entry restricts a queue group, else null. */
  readonly queue: readonly string[] | null;
}

/** Plain and queue-restricted entries of one allow or deny list. */
interface RuleList {
  readonly plain: readonly Rule[];
  readonly queued: readonly Rule[];
}

function compileList(subjects: readonly string[], what: string): RuleList {
  const plain: Rule[] = [];
  const queued: Rule[] = [];
  for (const entry of subjects) {
    const parts = entry.trim().split(/\s+/);
    const subject = parts[0] ?? "";
    if (parts.length > 2 || !isValidPattern(subject)) {
      throw new RangeError(`Invalid ${what} permission subject: "${entry}"`);
    }
    const queue = parts[1];
    if (queue !== undefined) {
      queued.push({ tokens: tokenize(subject), queue: tokenize(queue) });
    } else {
      plain.push({ tokens: tokenize(subject), queue: null });
    }
  }
  return { plain, queued };
}

function compileSide(
  p: SubjectPermission | undefined,
  what: string,
): { allow: RuleList | null; deny: RuleList | null } {
  return {
    allow: p?.allow ? compileList(p.allow, what) : null,
    deny: p?.deny && p.deny.length > 0 ? compileList(p.deny, what) : null,
  };
}

/** A queue name matches an entry's queue exactly or through the entry's wildcards. */
function queueMatches(queue: readonly string[], rules: readonly Rule[]): boolean {
  for (const r of rules) if (r.queue && isSubsetTokens(queue, r.queue)) return true;
  return false;
}

/**
 * Compiled, immutable permissions of one user, shared by its connections.
 *
 * @example
 * ```ts
 * import { PermissionChecker, PermissionRules } from "./permissions.ts";
 * const rules = new PermissionRules({ publish: { allow: ["req.>"] } });
 * const perms = new PermissionChecker(rules);
 * perms.canPublish("req.a"); // true
 * ```
 */
export class PermissionRules {
  /** Publish allow list; null = everything allowed. */
  readonly pubAllow: RuleList | null;
  readonly pubDeny: RuleList | null;
  /** Subscribe allow list; null = everything allowed. */
  readonly subAllow: RuleList | null;
  readonly subDeny: RuleList | null;
  /** `allow_responses`, or null when off. */
  readonly responses: ResponsePermission | null;

  /**
   * @param perms Permissions as in the config.
   * @throws {RangeError} When an entry is not a valid subject (the config loader
   *   should have rejected it already).
   */
  constructor(perms: Permissions) {
    const pub = compileSide(perms.publish, "publish");
    const sub = compileSide(perms.subscribe, "subscribe");
    this.responses = perms.allowResponses ?? null;
    // allow_responses turns an absent publish allow list into an empty one:
    // the user may then publish only to reply subjects it was handed.
    this.pubAllow = pub.allow ?? (this.responses ? { plain: [], queued: [] } : null);
    this.pubDeny = pub.deny;
    this.subAllow = sub.allow;
    this.subDeny = sub.deny;
  }
}

/** Verdict cache bound per connection; on overflow the oldest quarter goes. */
const CACHE_MAX = 1024;
/** Granted reply subjects kept per connection before pruning (nats-server: 4096). */
const REPLIES_MAX = 4096;

const PUB_OK = 0;
/** Not in the allow list: a granted reply subject may still allow it. */
const PUB_NOT_ALLOWED = 1;
/** Matched a deny entry: nothing overrides it. */
const PUB_DENIED = 2;

interface Reply {
  /** Grant time (ms, from the injected clock). */
  t: number;
  /** Publishes made with this grant. */
  n: number;
}

function setBounded<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= CACHE_MAX) {
    let drop = CACHE_MAX >> 2;
    for (const k of map.keys()) {
      map.delete(k);
      if (--drop === 0) break;
    }
  }
  map.set(key, value);
}

/** Options of {@link PermissionChecker}. */
export interface PermissionCheckerOptions {
  /** Clock in ms for `allow_responses` expiry (default `Date.now`). */
  now?: () => number;
}

/**
 * Permission checks for one connection. All checks are synchronous and the
 * publish and delivery verdicts are cached per subject.
 */
export class PermissionChecker {
  /** The shared compiled rules. */
  readonly rules: PermissionRules;
  readonly #now: () => number;
  readonly #pubCache = new Map<string, number>();
  readonly #deliverCache = new Map<string, boolean>();
  #replies: Map<string, Reply> | null = null;

  /**
   * @param rules Compiled rules (or raw permissions, compiled here).
   * @param opts Clock injection for tests.
   */
  constructor(rules: PermissionRules | Permissions, opts: PermissionCheckerOptions = {}) {
    this.rules = rules instanceof PermissionRules ? rules : new PermissionRules(rules);
    this.#now = opts.now ?? Date.now;
  }

  /** `allow_responses` is on: the server should call {@link grantReply} on deliveries with a reply. */
  get respondsToReplies(): boolean {
    return this.rules.responses !== null;
  }

  /** Whether subscriptions may have to drop some deliveries (see {@link needsDeliveryFilter}). */
  get hasSubscribeDeny(): boolean {
    return this.rules.subDeny !== null;
  }

  /**
   * Whether this client may publish to `subject`. A publish allowed only
   * through an `allow_responses` grant consumes one use of that grant.
   *
   * @param subject The PUB subject (taken literally, wildcards included).
   * @returns `true` when allowed.
   */
  canPublish(subject: string): boolean {
    let v = this.#pubCache.get(subject);
    if (v === undefined) {
      v = this.#pubVerdict(tokenize(subject));
      setBounded(this.#pubCache, subject, v);
    }
    if (v === PUB_OK) return true;
    if (v === PUB_DENIED || this.#replies === null) return false;
    return this.#useReply(subject);
  }

  /**
   * Whether this client may subscribe to `subject` (optionally in `queue`).
   * Allow entries must cover the whole subscription (subset); any deny entry
   * matching it refuses it. A wildcard subscription that merely overlaps a
   * deny entry is allowed: check {@link needsDeliveryFilter} and filter its
   * deliveries with {@link deliverAllowed}.
   *
   * @param subject The SUB subject, wildcards allowed.
   * @param queue The queue group, or null for a plain subscription.
   * @returns `true` when allowed.
   */
  canSubscribe(subject: string, queue: string | null): boolean {
    const r = this.rules;
    const toks = tokenize(subject);
    const qtoks = queue ? tokenize(queue) : null;
    if (r.subAllow) {
      let allowed = false;
      for (const rule of r.subAllow.plain) {
        if (isSubsetTokens(toks, rule.tokens)) {
          allowed = true;
          break;
        }
      }
      if (qtoks) {
        const hits = r.subAllow.queued.filter((rule) => isSubsetTokens(toks, rule.tokens));
        // As in nats-server: queue-restricted entries for this subject decide
        // for queue subscriptions, even when a plain entry also matched.
        if (hits.length > 0) allowed = queueMatches(qtoks, hits);
      }
      if (!allowed) return false;
    }
    if (r.subDeny) {
      for (const rule of r.subDeny.plain) if (matchTokens(rule.tokens, toks)) return false;
      if (qtoks) {
        const hits = r.subDeny.queued.filter((rule) => matchTokens(rule.tokens, toks));
        if (hits.length > 0 && queueMatches(qtoks, hits)) return false;
      }
    }
    return true;
  }

  /**
   * Whether an allowed subscription on `subject` can receive messages that a
   * deny entry forbids (a wildcard subscription overlapping a deny entry).
   * The server then calls {@link deliverAllowed} for each delivery on it.
   *
   * @param subject The SUB subject.
   * @returns `true` when deliveries must be filtered.
   */
  needsDeliveryFilter(subject: string): boolean {
    const deny = this.rules.subDeny;
    if (!deny) return false;
    const toks = tokenize(subject);
    if (!hasWildcard(toks)) return false;
    for (const rule of deny.plain) if (overlapsTokens(rule.tokens, toks)) return true;
    return false;
  }

  /**
   * Whether a message on the literal `subject` may be delivered to this
   * client through a filtered (wildcard) subscription. Cached per subject.
   *
   * @param subject The message subject.
   * @returns `false` when a subscribe deny entry matches it.
   */
  deliverAllowed(subject: string): boolean {
    const deny = this.rules.subDeny;
    if (!deny) return true;
    let ok = this.#deliverCache.get(subject);
    if (ok === undefined) {
      ok = true;
      const toks = tokenize(subject);
      for (const rule of deny.plain) {
        if (matchTokens(rule.tokens, toks)) {
          ok = false;
          break;
        }
      }
      setBounded(this.#deliverCache, subject, ok);
    }
    return ok;
  }

  /**
   * `allow_responses`: records that a message with reply subject `reply` was
   * delivered to this client, granting it publishes to `reply` (up to the
   * configured count, until the grant expires). A no-op without
   * `allow_responses`.
   *
   * @param reply The reply subject of the delivered message.
   */
  grantReply(reply: string): void {
    if (!this.rules.responses || reply.length === 0) return;
    const replies = this.#replies ??= new Map();
    replies.delete(reply); // re-insert so Map order stays oldest-first
    replies.set(reply, { t: this.#now(), n: 0 });
    if (replies.size > REPLIES_MAX) this.#pruneReplies();
  }

  #useReply(subject: string): boolean {
    const replies = this.#replies!;
    const resp = replies.get(subject);
    if (!resp) return false;
    const { maxMsgs, expiresMs } = this.rules.responses!;
    if (expiresMs > 0 && this.#now() - resp.t > expiresMs) {
      replies.delete(subject);
      return false;
    }
    resp.n++;
    if (maxMsgs > 0 && resp.n >= maxMsgs) replies.delete(subject);
    return true;
  }

  #pruneReplies(): void {
    const replies = this.#replies!;
    const expiresMs = this.rules.responses!.expiresMs;
    if (expiresMs > 0) {
      const now = this.#now();
      for (const [k, r] of replies) if (now - r.t > expiresMs) replies.delete(k);
    }
    // Still too many live grants: drop the oldest so memory stays bounded.
    for (const k of replies.keys()) {
      if (replies.size <= REPLIES_MAX) break;
      replies.delete(k);
    }
  }

  #pubVerdict(toks: readonly string[]): number {
    const r = this.rules;
    if (r.pubDeny) {
      for (const rule of r.pubDeny.plain) if (matchTokens(rule.tokens, toks)) return PUB_DENIED;
    }
    if (!r.pubAllow) return PUB_OK;
    for (const rule of r.pubAllow.plain) if (matchTokens(rule.tokens, toks)) return PUB_OK;
    return PUB_NOT_ALLOWED;
  }
}
