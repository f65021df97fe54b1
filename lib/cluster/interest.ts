/**
 * Local interest as routes see it: per account, how many local client
 * subscriptions exist on each subject (and each queue group), turned into
 * RS+/RS- lines when a count crosses zero (or, for queue groups, whenever the
 * weight changes), as nats-server 2.9 does (docs/architecture.md, "Protocol facts").
 *
 * Interest changes are rare next to messages, so lines are built as strings.
 *
 * @module
 */
import type { Subscription } from "../delivery/subscription.ts";

const encoder = new TextEncoder();

interface Entry {
  subject: string;
  queue: string | null;
  count: number;
  /** The leaf cluster of the subscription that created the entry ("" for none). */
  origin: string;
}

/** Decides which subjects this server announces to its routes (route `import` permission). */
export type InterestFilter = (subject: string) => boolean;

export class LocalInterest {
  /** account -> "subject" or "subject queue" -> entry. */
  readonly #accounts = new Map<string, Map<string, Entry>>();
  #filter: InterestFilter | null;

  constructor(filter: InterestFilter | null = null) {
    this.#filter = filter;
  }

  /**
   * Replaces the import filter (config reload).
   *
   * @returns The RS+ lines for interest the new filter announces and the old
   *   one did not, and RS- lines for the reverse, to send to every route.
   */
  setFilter(filter: InterestFilter | null): Uint8Array {
    const old = this.#filter;
    this.#filter = filter;
    let text = "";
    for (const [account, entries] of this.#accounts) {
      for (const entry of entries.values()) {
        const was = old === null || old(entry.subject);
        const now = this.#announced(entry);
        if (was && !now) text += removeLine(account, entry);
        else if (!was && now) text += addLine(account, entry);
      }
    }
    return encoder.encode(text);
  }

  /**
   * Records one local subscription added or removed. Returns the RS+/RS- line
   * to send to every route, or null when the routes need not hear about it.
   */
  change(account: string, sub: Subscription, added: boolean): Uint8Array | null {
    let entries = this.#accounts.get(account);
    if (entries === undefined) {
      if (!added) return null;
      entries = new Map();
      this.#accounts.set(account, entries);
    }
    const key = sub.queue === null ? sub.subject : `${sub.subject} ${sub.queue}`;
    let entry = entries.get(key);
    if (added) {
      if (entry === undefined) {
        entry = { subject: sub.subject, queue: sub.queue, count: 0, origin: sub.origin };
        entries.set(key, entry);
      }
      entry.count++;
      if (!this.#announced(entry)) return null;
      if (entry.queue !== null) return encoder.encode(addLine(account, entry));
      return entry.count === 1 ? encoder.encode(addLine(account, entry)) : null;
    }
    if (entry === undefined) return null;
    entry.count--;
    if (entry.count <= 0) {
      entries.delete(key);
      if (entries.size === 0) this.#accounts.delete(account);
      return this.#announced(entry) ? encoder.encode(removeLine(account, entry)) : null;
    }
    // A queue group that shrank announces its new weight.
    return entry.queue !== null && this.#announced(entry)
      ? encoder.encode(addLine(account, entry))
      : null;
  }

  /** Every RS+ line for the current interest (sent to a newly registered route). */
  snapshot(): Uint8Array {
    let text = "";
    for (const [account, entries] of this.#accounts) {
      for (const entry of entries.values()) {
        if (this.#announced(entry)) text += addLine(account, entry);
      }
    }
    return encoder.encode(text);
  }

  /** Number of distinct subjects/groups tracked (tests, monitoring). */
  get size(): number {
    let n = 0;
    for (const entries of this.#accounts.values()) n += entries.size;
    return n;
  }

  #announced(entry: Entry): boolean {
    return this.#filter === null || this.#filter(entry.subject);
  }
}

/** Interest from a leaf of cluster C goes out as `LS+ C <acc> ...` (peers with `lnoc`). */
function addLine(account: string, e: Entry): string {
  const verb = e.origin === "" ? "RS+" : `LS+ ${e.origin}`;
  return e.queue === null
    ? `${verb} ${account} ${e.subject}\r\n`
    : `${verb} ${account} ${e.subject} ${e.queue} ${e.count}\r\n`;
}

function removeLine(account: string, e: Entry): string {
  const verb = e.origin === "" ? "RS-" : "LS-";
  return e.queue === null
    ? `${verb} ${account} ${e.subject}\r\n`
    : `${verb} ${account} ${e.subject} ${e.queue}\r\n`;
}

/**
 * The same interest lines for a peer without `lnoc`: `LS+ <origin> ` becomes
 * `RS+ ` and `LS- ` becomes `RS- ` (the origin is dropped).
 */
export function withoutOrigin(lines: Uint8Array): Uint8Array {
  let leaf = false;
  for (let i = 0; i + 1 < lines.length; i++) {
    if ((i === 0 || lines[i - 1] === 0x0a) && lines[i] === 0x4c && lines[i + 1] === 0x53) {
      leaf = true;
      break;
    }
  }
  if (!leaf) return lines;
  const text = new TextDecoder().decode(lines)
    .replace(/^LS\+ \S+ /gm, "RS+ ")
    .replace(/^LS- /gm, "RS- ");
  return encoder.encode(text);
}
