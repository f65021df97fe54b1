// deno-lint-ignore-file no-import-prefix -- the real npm NATS client
/**
 * Sequenced traffic for chaos tests and the soak: publishers that number their
 * messages (`<subject prefix>.<publisher>` carries the sequence as payload) at
 * a modest, flushed rate, and ledgers that record which sequence of which
 * publisher a subscriber (or a whole queue group, sharing one ledger) got, so
 * a test can ask for duplicates and for gaps in a sequence range.
 *
 * @module
 */
import type { NatsConnection, Subscription } from "npm:@nats-io/transport-node@3.4.0";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Publishes `1, 2, 3...` on `subject`, `batch` messages per flush, then pauses. */
export class SeqPublisher {
  /** Last sequence handed to the client. */
  seq = 0;
  /** Last sequence whose flush came back (the server had read it). */
  acked = 0;
  flushErrors = 0;
  /** With `timed`, the time (ms) each sequence was handed to the client; index = seq. */
  readonly times: number[] | null;
  #running = false;
  #loop: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly nc: NatsConnection,
    readonly subject: string,
    readonly pace: { batch: number; pauseMs: number; timed?: boolean } = {
      batch: 5,
      pauseMs: 10,
    },
  ) {
    this.times = pace.timed ? [0] : null;
  }

  start(): void {
    this.#running = true;
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    while (this.#running && !this.nc.isClosed()) {
      for (let i = 0; i < this.pace.batch; i++) {
        this.seq++;
        this.times?.push(Date.now());
        this.nc.publish(this.subject, encoder.encode(String(this.seq)));
      }
      const upTo = this.seq;
      try {
        await this.nc.flush();
        this.acked = upTo;
      } catch {
        this.flushErrors++;
      }
      await new Promise((r) => setTimeout(r, this.pace.pauseMs));
    }
  }

  /** Stops after the current batch and waits for its flush. */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }
}

/** What one receiver (or one queue group) got, per publisher. */
export class SeqLedger {
  readonly got = new Map<string, Set<number>>();
  dups = 0;
  readonly dupSamples: string[] = [];
  /** Messages whose payload was not a sequence number. */
  foreign = 0;

  constructor(readonly name: string) {}

  record(publisher: string, seq: number, by = this.name): void {
    let set = this.got.get(publisher);
    if (!set) this.got.set(publisher, set = new Set());
    if (set.has(seq)) {
      this.dups++;
      if (this.dupSamples.length < 10) this.dupSamples.push(`${publisher}#${seq} (again at ${by})`);
      return;
    }
    set.add(seq);
  }

  has(publisher: string, seq: number): boolean {
    return this.got.get(publisher)?.has(seq) ?? false;
  }

  /** Highest sequence seen from `publisher` (0 when none). */
  highest(publisher: string): number {
    let max = 0;
    for (const s of this.got.get(publisher) ?? []) if (s > max) max = s;
    return max;
  }

  /** Sequences in `(after, upTo]` not received from `publisher`. */
  missing(publisher: string, after: number, upTo: number): number[] {
    const set = this.got.get(publisher);
    const out: number[] = [];
    for (let s = after + 1; s <= upTo; s++) if (!set?.has(s)) out.push(s);
    return out;
  }
}

/**
 * Subscribes `nc` to `<prefix>.*` (optionally in `queue`) and records each
 * message into `ledger` as (publisher = last subject token, seq = payload).
 */
export function subscribeSeq(
  nc: NatsConnection,
  prefix: string,
  ledger: SeqLedger,
  opts: { queue?: string; member?: string } = {},
): Subscription {
  return nc.subscribe(`${prefix}.*`, {
    queue: opts.queue,
    callback: (_e, m) => {
      const publisher = m.subject.slice(prefix.length + 1);
      const seq = Number(decoder.decode(m.data));
      if (!Number.isInteger(seq) || seq <= 0) {
        ledger.foreign++;
        return;
      }
      ledger.record(publisher, seq, opts.member);
    },
  });
}

/** Short text for a list of missing sequences: count and the first few. */
export function describeGaps(gaps: number[]): string {
  if (gaps.length === 0) return "none";
  return `${gaps.length} (first ${gaps.slice(0, 8).join(",")}${gaps.length > 8 ? "..." : ""})`;
}
