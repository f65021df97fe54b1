/**
 * Interest and work-queue retention, as nats-server 2.9 keeps them on one
 * server (docs/jetstream.md):
 *
 * - **interest**: a message is stored only if some consumer could want it
 *   (a consumer without a filter, or one whose filter matches); otherwise its
 *   sequence is used up and nothing is kept. A message goes once no consumer
 *   still needs to ack it; deleting a consumer drops what only it still needed.
 * - **workqueue**: a message goes as soon as one consumer acks it. Consumers
 *   must ack explicitly, deliver all, and take disjoint parts of the stream.
 *
 * The consumer calls {@linkcode Retention.acked} where an ack is taken (and
 * after each delivery when it does not ask for acks); the stream asks
 * {@linkcode Retention.noInterest} before storing a publish.
 *
 * @module
 */
import { subjectIsSubsetOf, subjectMatchesPattern } from "../router/subject.ts";
import { ApiError } from "./errors.ts";
import type { Consumer, ConsumerConfig } from "./consumer.ts";
import type { Stream } from "./stream.ts";

/** Whether consumer `c` still has to be given or to ack stream sequence `seq` (on `subject`). */
export function needsAck(c: Consumer, seq: number, subject: string): boolean {
  const filter = c.config.filter_subject;
  if (filter && !subjectMatchesPattern(subject, filter)) return false;
  if (seq <= c.asflr) return false;
  if (c.config.ack_policy !== "explicit") return true;
  return seq >= c.sseq || c.pending.has(seq);
}

export class Retention {
  readonly #stream: Stream;
  readonly #consumers: () => Iterable<Consumer>;

  constructor(stream: Stream, consumers: () => Iterable<Consumer>) {
    this.#stream = stream;
    this.#consumers = consumers;
  }

  /** Interest retention: no consumer would ever take a message on `subject`. */
  noInterest(subject: string): boolean {
    if (this.#stream.config.retention !== "interest") return false;
    for (const c of this.#consumers()) {
      const f = c.config.filter_subject;
      if (!f || subjectMatchesPattern(subject, f)) return false;
    }
    return true;
  }

  /** Whether a consumer other than `except` still needs the message at `seq`. */
  #wanted(seq: number, except: Consumer | null): boolean {
    const m = this.#stream.msgs.get(seq);
    if (!m) return false;
    for (const c of this.#consumers()) {
      if (c !== except && !c.closed && needsAck(c, seq, m.subject)) return true;
    }
    return false;
  }

  /**
   * Consumer `c` acknowledged the `count` sequences up to `seq` (one for an
   * explicit ack, the gap for ack all); a message goes when the stream's
   * policy lets it.
   */
  acked(c: Consumer, seq: number, count = 1): void {
    const s = this.#stream;
    const wq = s.config.retention === "workqueue";
    for (let q = seq; q > seq - count && q >= s.firstSeq; q--) {
      if (!s.msgs.has(q)) continue;
      if (wq || !this.#wanted(q, c)) s.removeMsg(q, true);
    }
  }

  /** Interest retention: `c` was deleted; what no other consumer needs goes. */
  consumerDeleted(c: Consumer): void {
    const s = this.#stream;
    if (s.config.retention !== "interest") return;
    const victims: number[] = [];
    for (let q = Math.max(c.asflr, s.firstSeq); q <= s.lastSeq; q++) {
      if (s.msgs.has(q) && !this.#wanted(q, c)) victims.push(q);
    }
    for (const q of victims) s.removeMsg(q, true);
  }
}

/**
 * Pull consumers of a work-queue stream must ack (nats-server checks this
 * with the rest of the consumer configuration, before the consumer limit).
 */
export function checkPullAck(stream: Stream, cfg: ConsumerConfig): void {
  const push = (cfg as { deliver_subject?: string }).deliver_subject;
  if (stream.config.retention === "workqueue" && !push && cfg.ack_policy === "none") {
    throw new ApiError(400, 10084, "consumer in pull mode requires ack policy");
  }
}

/**
 * A new consumer of a work-queue stream: explicit acks, one consumer without
 * a filter at most, filters that do not contain one another (nats-server
 * 2.9.10 lets partly overlapping filters such as `a.*` and `*.b` through),
 * and deliver all. Checked after the consumer limit, in nats-server's order.
 */
export function checkWorkQueueConsumer(
  stream: Stream,
  cfg: ConsumerConfig,
  others: Iterable<Consumer>,
): void {
  if (stream.config.retention !== "workqueue") return;
  if (cfg.ack_policy !== "explicit") {
    throw new ApiError(400, 10098, "workqueue stream requires explicit ack");
  }
  const list = [...others];
  if (list.length > 0) {
    const f = cfg.filter_subject;
    if (!f) {
      throw new ApiError(
        400,
        10099,
        "multiple non-filtered consumers not allowed on workqueue stream",
      );
    }
    for (const o of list) {
      const g = o.config.filter_subject;
      if (!g || subjectIsSubsetOf(f, g) || subjectIsSubsetOf(g, f)) {
        throw new ApiError(400, 10100, "filtered consumer not unique on workqueue stream");
      }
    }
  }
  if (cfg.deliver_policy !== "all") {
    throw new ApiError(400, 10101, "consumer must be deliver all on workqueue stream");
  }
}
