/**
 * Subject mappings (`mappings {}` at top level and per account), applied to
 * every subject published in the account before permissions and routing, as
 * nats-server 2.9 does: the first mapping whose source matches wins; weighted
 * destinations are picked at random in proportion to their weights, and what
 * the weights leave below 100 keeps the original subject (unless the source
 * is itself listed, which then means the remainder is dropped).
 *
 * @module
 */
import { SubjectTransform, tokenizeWildcards } from "../router/transform.ts";
import { subjectMatchesPattern } from "../router/subject.ts";
import type { SubjectMapping } from "../config/options.ts";

interface Destination {
  transform: SubjectTransform;
  /** Cumulative weight: the destination is picked when the draw is below it. */
  upTo: number;
}

interface Mapping {
  source: string;
  wildcard: boolean;
  destinations: Destination[];
  byCluster: Map<string, Destination[]>;
}

export class AccountMappings {
  readonly #mappings: Mapping[] = [];
  /** The cluster name in force (cluster-scoped destinations). */
  cluster: () => string | undefined;

  /** @throws {Error} when a mapping is invalid (the config check refuses those first). */
  constructor(
    list: readonly SubjectMapping[],
    cluster: () => string | undefined = () => undefined,
  ) {
    this.cluster = cluster;
    for (const m of list) {
      const wildcard = m.source.split(".").some((t) => t === "*" || t === ">");
      const plain: Array<{ subject: string; weight: number }> = [];
      const scoped = new Map<string, Array<{ subject: string; weight: number }>>();
      for (const d of m.destinations) {
        if (d.cluster) {
          const list = scoped.get(d.cluster) ?? [];
          list.push(d);
          scoped.set(d.cluster, list);
        } else {
          plain.push(d);
        }
      }
      const build = (dests: Array<{ subject: string; weight: number }>): Destination[] => {
        const out = dests.map((d) => ({
          transform: new SubjectTransform(m.source, d.subject),
          weight: d.weight,
        }));
        const total = dests.reduce((n, d) => n + d.weight, 0);
        if (total !== 100 && !dests.some((d) => d.subject === m.source)) {
          const dest = wildcard ? tokenizeWildcards(m.source) : m.source;
          out.push({
            transform: new SubjectTransform(m.source, dest),
            weight: dests.length === 0 ? 100 : 100 - total,
          });
        }
        out.sort((a, b) => a.weight - b.weight);
        let sum = 0;
        return out.map((d) => ({ transform: d.transform, upTo: sum += d.weight }));
      };
      const mapping: Mapping = {
        source: m.source,
        wildcard,
        destinations: build(plain),
        byCluster: new Map([...scoped].map(([c, d]) => [c, build(d)])),
      };
      const at = this.#mappings.findIndex((x) => x.source === m.source);
      if (at >= 0) this.#mappings[at] = mapping;
      else this.#mappings.push(mapping);
    }
  }

  /**
   * The mappings as nats-server's /accountz shows them: each source with its
   * destinations in draw order and their cumulative weights.
   */
  describe(): Record<string, Array<{ subject: string; weight: number; cluster?: string }>> {
    const out: Record<string, Array<{ subject: string; weight: number; cluster?: string }>> = {};
    for (const m of this.#mappings) {
      const list: Array<{ subject: string; weight: number; cluster?: string }> = m.destinations
        .map((d) => ({ subject: d.transform.dest, weight: d.upTo }));
      for (const [cluster, dests] of m.byCluster) {
        for (const d of dests) list.push({ subject: d.transform.dest, weight: d.upTo, cluster });
      }
      out[m.source] = list;
    }
    return out;
  }

  /** The subject `subject` is published as. */
  map(subject: string): string {
    let found: Mapping | undefined;
    for (const m of this.#mappings) {
      if (m.wildcard ? subjectMatchesPattern(subject, m.source) : m.source === subject) {
        found = m;
        break;
      }
    }
    if (found === undefined) return subject;
    let dests = found.destinations;
    if (found.byCluster.size > 0) {
      const name = this.cluster();
      dests = (name !== undefined ? found.byCluster.get(name) : undefined) ?? dests;
    }
    let d: Destination | undefined;
    if (dests.length === 1 && dests[0]!.upTo === 100) {
      d = dests[0];
    } else {
      const draw = (Math.random() * 100) | 0;
      d = dests.find((x) => draw < x.upTo);
    }
    // No destination drawn: nats-server then publishes to an empty subject, which nothing matches.
    return d === undefined ? "" : d.transform.apply(subject);
  }
}
