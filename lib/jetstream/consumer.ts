/**
 * Consumers, with nats-server 2.9's bookkeeping: a next stream sequence
 * (`sseq`) and a next delivery sequence (`dseq`, counting redeliveries), the
 * messages waiting for an ack with the delivery sequence of their first
 * delivery, the redelivery counts and queue (with `backoff`), the ack floor.
 * How messages leave is the delivery mode's: pull requests (`pull.ts`) or a
 * deliver subject (`push.ts`); the configuration is `consumer_config.ts`.
 *
 * @module
 */
import { parseGoDuration } from "../config/conf_values.ts";
import { subjectMatchesPattern } from "../router/subject.ts";
import { checkConfigUpdate, type ConsumerConfig, DEFAULT_ACK_WAIT_NS } from "./consumer_config.ts";
import { buildHeaders } from "./headers.ts";
import { PullRequests } from "./pull.ts";
import { PushDelivery } from "./push.ts";
import type { StoredMsg, Stream } from "./stream.ts";
import { formatNs, nowNs } from "./time.ts";

export type { ConsumerConfig } from "./consumer_config.ts";
export { normaliseConsumerConfig } from "./consumer_config.ts";

/** What a consumer needs from JetStream: publishing and the account's interest. */
export interface ConsumerHost {
  /** Publishes; returns how many subscriptions received it. */
  publish(
    subject: string,
    reply: string,
    hdr: Uint8Array | null,
    data: Uint8Array,
    deliverTo?: string,
  ): number;
  /** Any subscription would receive a message on `subject`. */
  hasInterest(subject: string): boolean;
  /**
   * A subscription on exactly `subject` (not a wildcard) in queue group
   * `queue` (a plain one when empty): what makes a push consumer active.
   */
  exactInterest(subject: string, queue: string): boolean;
  /** Calls `cb` after subscriptions changed; returns the way to stop. */
  watchInterest(cb: () => void): () => void;
  /** Runs the `watchInterest` callbacks now if subscriptions changed. */
  checkInterest(): void;
  /** The largest message the account may publish (the rate limiter's burst). */
  readonly maxPayload: number;
  /** An ephemeral consumer went inactive. */
  expired(c: Consumer): void;
}

/** A consumer's saved state (see docs/jetstream.md). */
export interface ConsumerState {
  sseq: number;
  dseq: number;
  adflr: number;
  asflr: number;
  /** [stream sequence, delivery sequence of its first delivery] */
  pending: Array<[number, number]>;
  /** [stream sequence, deliveries] */
  rdc: Array<[number, number]>;
  lss: { seqs: number[]; resume: number } | null;
}

interface Pending {
  /** Delivery sequence of the first delivery. */
  dseq: number;
  /** When it was last delivered (ms, performance.now()). */
  at: number;
}

/** The next message to deliver and its delivery count. */
export interface Next {
  m: StoredMsg;
  dc: number;
  redelivery: boolean;
}

/** A message ready to go: its ack reply and what is sent (headers only or not). */
export interface Outgoing extends Next {
  ackReply: string;
  hdr: Uint8Array | null;
  data: Uint8Array;
  /** nats-server's size of it: subject, ack reply, headers and data. */
  size: number;
}

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Consumer {
  readonly stream: Stream;
  readonly name: string;
  config: ConsumerConfig;
  readonly created: string;
  readonly host: ConsumerHost;
  /** Next stream sequence to look at. */
  sseq = 1;
  /** Next delivery sequence. */
  dseq = 1;
  adflr = 0;
  asflr = 0;
  readonly pending = new Map<number, Pending>();
  readonly rdc = new Map<number, number>();
  rdq: number[] = [];
  /** Last-per-subject start: sequences to deliver first, then resume at `lssResume`. */
  #lss: number[] | null = null;
  #lssResume = 0;
  ldt = 0n;
  lat = 0n;
  #ackTimer: ReturnType<typeof setTimeout> | undefined;
  closed = false;
  /** Pull requests, for a consumer without a deliver subject. */
  readonly pull: PullRequests | null;
  /** Delivery to the deliver subject, for a push consumer. */
  readonly push: PushDelivery | null;

  /** Saves the state (durable consumers of file streams); called after every change. */
  persist: ((c: Consumer) => void) | null = null;

  constructor(
    stream: Stream,
    name: string,
    config: ConsumerConfig,
    host: ConsumerHost,
    saved?: { created: string; state: ConsumerState },
  ) {
    this.stream = stream;
    this.name = name;
    this.config = config;
    this.created = saved?.created ?? formatNs(nowNs());
    this.host = host;
    if (saved) this.#restoreState(saved.state);
    else this.#selectStart();
    this.#replay = config.replay_policy !== "instant";
    this.#replayUntil = stream.lastSeq;
    if (config.deliver_subject) {
      this.pull = null;
      this.push = new PushDelivery(this);
    } else {
      this.pull = new PullRequests(this);
      this.push = null;
    }
  }

  /**
   * A create request for this consumer with `next`: the same configuration
   * keeps it, a change nats-server allows is applied, others throw.
   */
  update(next: ConsumerConfig): void {
    const old = this.config;
    const ds = old.deliver_subject ?? "";
    checkConfigUpdate(old, next, ds !== "" && this.host.hasInterest(ds));
    this.config = next;
    this.#npc = null;
    if (old.ack_wait !== next.ack_wait && this.#ackTimer !== undefined) {
      this.#scheduleAckCheck(100);
    }
    this.push?.configChanged(old);
    this.deliver();
  }

  /** The state a restart needs: positions, ack floor, what waits for an ack. */
  state(): ConsumerState {
    return {
      sseq: this.sseq,
      dseq: this.dseq,
      adflr: this.adflr,
      asflr: this.asflr,
      pending: [...this.pending].map(([seq, p]) => [seq, p.dseq]),
      rdc: [...this.rdc],
      lss: this.#lss ? { seqs: this.#lss, resume: this.#lssResume } : null,
    };
  }

  #restoreState(st: ConsumerState): void {
    this.sseq = st.sseq;
    this.dseq = st.dseq;
    this.adflr = st.adflr;
    this.asflr = st.asflr;
    // Messages that waited for an ack are redelivered after ack_wait from now.
    const now = performance.now();
    for (const [seq, dseq] of st.pending) this.pending.set(seq, { dseq, at: now });
    for (const [seq, n] of st.rdc) this.rdc.set(seq, n);
    if (st.lss) {
      this.#lss = st.lss.seqs;
      this.#lssResume = st.lss.resume;
    }
    if (this.pending.size > 0) this.#scheduleAckCheck();
  }

  #matches(m: StoredMsg): boolean {
    const f = this.config.filter_subject;
    return !f || subjectMatchesPattern(m.subject, f);
  }

  #selectStart(): void {
    const s = this.stream;
    const cfg = this.config;
    const filter = cfg.filter_subject;
    switch (cfg.deliver_policy) {
      case "all":
        this.sseq = Math.max(1, s.firstSeq);
        break;
      case "last": {
        const last = filter ? s.lastBySubject(filter)?.seq : (s.msgs.size > 0 ? s.lastSeq : 0);
        this.sseq = last ? last : s.lastSeq + 1;
        break;
      }
      case "new":
        this.sseq = s.lastSeq + 1;
        break;
      case "by_start_sequence":
        this.sseq = cfg.opt_start_seq!;
        break;
      case "by_start_time": {
        const t = BigInt(Date.parse(cfg.opt_start_time!)) * 1_000_000n;
        this.sseq = s.lastSeq + 1;
        for (let q = s.firstSeq; q <= s.lastSeq; q++) {
          const m = s.msgs.get(q);
          if (m && m.ts >= t) {
            this.sseq = q;
            break;
          }
        }
        break;
      }
      case "last_per_subject": {
        const seqs: number[] = [];
        for (const [subject, list] of s.bySubject) {
          if (!filter || subjectMatchesPattern(subject, filter)) seqs.push(list[list.length - 1]);
        }
        seqs.sort((a, b) => a - b);
        if (seqs.length > 0) {
          this.#lss = seqs;
          this.#lssResume = s.lastSeq + 1;
          this.sseq = seqs[0];
        } else this.sseq = s.lastSeq + 1;
        break;
      }
    }
    if (this.sseq < 1) this.sseq = 1;
  }

  /**
   * Messages not yet delivered that the consumer will deliver. Counted once,
   * then kept up to date from what was appended and how far `sseq` moved (a
   * count per message would make delivering a backlog quadratic); counted
   * again after messages were removed.
   */
  numPending(): number {
    if (this.#lss) return this.#lss.length;
    const s = this.stream;
    let c = this.#npc;
    // Only appends since the count: the size grew by as much as the last sequence.
    if (c === null || s.msgs.size - c.size !== s.lastSeq - c.last) {
      c = { n: this.#countPending(), sseq: this.sseq, last: s.lastSeq, size: s.msgs.size };
      this.#npc = c;
      return c.n;
    }
    for (let q = Math.max(c.last + 1, c.sseq); q <= s.lastSeq; q++) if (this.#pendingAt(q)) c.n++;
    c.last = s.lastSeq;
    c.size = s.msgs.size;
    if (this.sseq > c.sseq) {
      const end = Math.min(this.sseq, s.lastSeq + 1);
      for (let q = c.sseq; q < end; q++) if (this.#pendingAt(q)) c.n--;
    } else {
      for (let q = this.sseq; q < c.sseq; q++) if (this.#pendingAt(q)) c.n++;
    }
    c.sseq = this.sseq;
    return c.n;
  }

  #npc: { n: number; sseq: number; last: number; size: number } | null = null;

  #pendingAt(seq: number): boolean {
    const m = this.stream.msgs.get(seq);
    return m !== undefined && this.#matches(m);
  }

  #countPending(): number {
    const s = this.stream;
    const filter = this.config.filter_subject;
    let n = 0;
    if (!filter) {
      if (this.sseq <= s.firstSeq) return s.msgs.size;
      // Without deletes in between, the stream's sequences are all there.
      if (s.msgs.size === s.lastSeq - s.firstSeq + 1) return Math.max(0, s.lastSeq - this.sseq + 1);
      for (let q = this.sseq; q <= s.lastSeq; q++) if (s.msgs.has(q)) n++;
      return n;
    }
    for (const [subject, list] of s.bySubject) {
      if (!subjectMatchesPattern(subject, filter)) continue;
      for (let i = list.length - 1; i >= 0 && list[i] >= this.sseq; i--) n++;
    }
    return n;
  }

  info(): Record<string, unknown> {
    // Subscriptions made just before the request count (nats-server hears of them at once).
    if (this.push) this.host.checkInterest();
    const delivered: Record<string, unknown> = {
      consumer_seq: this.dseq - 1,
      stream_seq: this.sseq - 1,
    };
    if (this.ldt) delivered.last_active = formatNs(this.ldt);
    const ackFloor: Record<string, unknown> = { consumer_seq: this.adflr, stream_seq: this.asflr };
    if (this.lat) ackFloor.last_active = formatNs(this.lat);
    this.pull?.expire(false);
    const info: Record<string, unknown> = {
      stream_name: this.stream.config.name,
      name: this.name,
      created: this.created,
      config: this.config,
      delivered,
      ack_floor: ackFloor,
      num_ack_pending: this.pending.size,
      num_redelivered: this.rdc.size,
      num_waiting: this.pull?.waiting.length ?? 0,
      num_pending: this.numPending(),
    };
    if (this.push?.active) info.push_bound = true;
    return info;
  }

  /** A `$JS.API.CONSUMER.MSG.NEXT` request. */
  nextRequest(reply: string, body: Uint8Array): void {
    if (this.pull) return this.pull.request(reply, body);
    this.host.publish(reply, "", buildHeaders("409 Consumer is push based"), EMPTY);
  }

  /** The next message to deliver and its delivery count, or null. */
  next(): Next | null {
    const s = this.stream;
    while (this.rdq.length > 0) {
      const seq = this.rdq.shift()!;
      const dc = (this.rdc.get(seq) ?? 1) + 1;
      this.rdc.set(seq, dc);
      const maxDeliver = this.config.max_deliver ?? -1;
      if (maxDeliver > 0 && dc > maxDeliver) {
        this.pending.delete(seq);
        continue;
      }
      const m = s.msgs.get(seq);
      if (!m) {
        this.pending.delete(seq);
        this.rdc.delete(seq);
        continue;
      }
      return { m, dc, redelivery: true };
    }
    const maxAckPending = this.config.max_ack_pending ?? 0;
    if (maxAckPending > 0 && this.pending.size >= maxAckPending) return null;
    if (this.#lss) {
      const seq = this.#lss.shift()!;
      if (this.#lss.length === 0) {
        this.#lss = null;
        this.sseq = this.#lssResume;
      } else this.sseq = this.#lss[0];
      const m = s.msgs.get(seq);
      if (m) return { m, dc: 1, redelivery: false };
      return this.next();
    }
    if (this.sseq < s.firstSeq) this.sseq = s.firstSeq;
    for (let q = this.sseq; q <= s.lastSeq; q++) {
      const m = s.msgs.get(q);
      if (m && this.#matches(m)) {
        this.sseq = q + 1;
        return { m, dc: 1, redelivery: false };
      }
    }
    this.sseq = Math.max(this.sseq, s.lastSeq + 1);
    return null;
  }

  /**
   * `replay_policy: original`: how long (ms) to wait before sending `m` so the
   * messages stored when the consumer started keep their original spacing
   * (nats-server waits when the gap to the previous one is over 1 ms); 0 to send now.
   */
  replayWait(m: StoredMsg): number {
    if (!this.#replay || this.#lts === 0n) return 0;
    const ms = Number(m.ts - this.#lts) / 1e6;
    return ms > 1 ? ms : 0;
  }

  /** `m` is on its way: the next replay gap is measured from it. */
  replayed(m: StoredMsg): void {
    this.#lts = m.ts;
  }

  /** Nothing to send now: replaying ends once past what was stored at the start. */
  replayCaughtUp(): void {
    if (this.#replay && this.sseq > this.#replayUntil) this.#replay = false;
  }

  #replay: boolean;
  #replayUntil: number;
  #lts = 0n;

  /** Puts back a message taken by next() that could not be delivered. */
  putBack(n: Next): void {
    if (n.redelivery) {
      this.rdq.unshift(n.m.seq);
      this.rdc.set(n.m.seq, n.dc - 1);
    } else this.sseq = n.m.seq;
  }

  /** The ack reply and the bytes to send for `n` (headers only when configured). */
  outgoing(n: Next): Outgoing {
    const m = n.m;
    const ackReply =
      `$JS.ACK.${this.stream.config.name}.${this.name}.${n.dc}.${m.seq}.${this.dseq}.${m.ts}.${this.numPending()}`;
    let hdr = m.hdr;
    let data = m.data;
    if (this.config.headers_only) {
      hdr = headersOnly(m.hdr, m.data.length);
      data = EMPTY;
    }
    const size = m.subject.length + ackReply.length + (hdr?.length ?? 0) + data.length;
    return { ...n, ackReply, hdr, data, size };
  }

  /** Delivers what it can: to waiting pull requests or to the deliver subject. */
  deliver(): void {
    if (this.closed) return;
    if (this.push) this.push.run();
    else this.pull!.run();
    if (this.#dirty) this.#save();
  }

  #dirty = false;

  #save(): void {
    this.#dirty = false;
    this.persist?.(this);
  }

  atEnd(): boolean {
    return this.rdq.length === 0 && this.numPending() === 0;
  }

  /** Sends one message to `subject` and tracks it; returns the subscriptions reached. */
  deliverMsg(subject: string, o: Outgoing): number {
    this.#dirty = true;
    const dseq = this.dseq++;
    const m = o.m;
    const n = this.host.publish(m.subject, o.ackReply, o.hdr, o.data, subject);
    const ack = this.config.ack_policy;
    if (ack === "explicit" || ack === "all") {
      const p = this.pending.get(m.seq);
      if (p) p.at = performance.now();
      else this.pending.set(m.seq, { dseq, at: performance.now() });
      this.#scheduleAckCheck();
    } else {
      this.adflr = dseq;
      this.asflr = m.seq;
      this.stream.retention?.acked(this, m.seq);
    }
    this.ldt = nowNs();
    return n;
  }

  /**
   * Queues every message waiting for an ack for redelivery now (nats-server
   * does so when a push consumer's deliver subject changes).
   */
  forceExpirePending(): void {
    const expired = [...this.pending.keys()].filter((q) => !this.rdq.includes(q));
    if (expired.length === 0) return;
    expired.sort((a, b) => a - b);
    this.rdq.push(...expired);
    const now = performance.now();
    const off = now - this.pending.get(expired[0])!.at;
    for (const seq of expired) this.pending.get(seq)!.at += off;
    this.#scheduleAckCheck(this.#ackWaitMs());
  }

  #ackWaitMs(): number {
    return (this.config.ack_wait ?? DEFAULT_ACK_WAIT_NS) / 1e6;
  }

  // --- acknowledgements ----------------------------------------------------------

  #scheduleAckCheck(delayMs?: number): void {
    if (this.closed) return;
    if (this.#ackTimer !== undefined && delayMs === undefined) return;
    if (this.#ackTimer !== undefined) clearTimeout(this.#ackTimer);
    const wait = (delayMs ?? this.#ackWaitMs()) + 1;
    this.#ackTimer = setTimeout(() => {
      this.#ackTimer = undefined;
      this.#checkPending();
    }, Math.max(1, wait));
  }

  /** Queues for redelivery what waited longer than ack_wait. */
  #checkPending(): void {
    const now = performance.now();
    const ttl = this.#ackWaitMs();
    // With backoff each redelivery waits its own time; the timer starts at the longest.
    const backoff = (this.config.backoff ?? []).map((ns) => ns / 1e6);
    let next = backoff.length > 0 ? backoff[backoff.length - 1] : ttl;
    const expired: number[] = [];
    const first = this.stream.firstSeq;
    for (const [seq, p] of this.pending) {
      if (seq < first) {
        this.pending.delete(seq);
        this.rdc.delete(seq);
        this.rdq = this.rdq.filter((q) => q !== seq);
        continue;
      }
      const elapsed = now - p.at;
      let deadline = ttl;
      if (backoff.length > 0) {
        let dc = this.rdc.get(seq) ?? 0;
        let nbi = dc + 1;
        if (dc + 1 >= backoff.length) nbi = dc = backoff.length - 1;
        deadline = backoff[dc];
        if (backoff[nbi] < next) next = backoff[nbi];
      }
      if (elapsed >= deadline) {
        if (!this.rdq.includes(seq)) expired.push(seq);
      } else if (deadline - elapsed < next) next = deadline - elapsed;
    }
    if (expired.length > 0) {
      expired.sort((a, b) => a - b);
      this.rdq.push(...expired);
      const off = now - this.pending.get(expired[0])!.at;
      for (const seq of expired) this.pending.get(seq)!.at += off;
      this.deliver();
    }
    if (this.pending.size > 0) this.#scheduleAckCheck(next);
  }

  /** A message on `$JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>`. */
  onAck(subject: string, reply: string, body: Uint8Array): void {
    const tokens = subject.split(".");
    if (tokens.length !== 9) return;
    const sseq = Number(tokens[5]);
    const dseq = Number(tokens[6]);
    const text = body.length === 0 ? "" : decoder.decode(body);
    let skipReply = false;
    if (text === "" || text === "+ACK" || text === "+OK") this.#ack(sseq, dseq);
    else if (text.startsWith("+NXT")) {
      this.#ack(sseq, dseq);
      if (reply !== "") this.nextRequest(reply, encoder.encode(text.slice(4)));
      skipReply = true;
    } else if (text.startsWith("-NAK")) this.#nak(sseq, dseq, text.slice(4).trim());
    else if (text === "+WPI") {
      const p = this.pending.get(sseq);
      if (p) {
        p.at = performance.now();
        this.ldt = nowNs();
      }
    } else if (text === "+TERM") this.#ack(sseq, dseq);
    // The state is saved before the ack is answered.
    this.#save();
    if (reply !== "" && !skipReply) this.host.publish(reply, "", null, EMPTY);
  }

  #ack(sseq: number, dseq: number): void {
    const cfg = this.config;
    const maxAckPending = cfg.max_ack_pending ?? 0;
    const wasFull = maxAckPending > 0 && this.pending.size >= maxAckPending;
    let acked = 1;
    if (cfg.ack_policy === "explicit") {
      const p = this.pending.get(sseq);
      if (p) {
        this.pending.delete(sseq);
        dseq = p.dseq;
      }
      if (this.pending.size === 0) {
        this.adflr = this.dseq - 1;
        this.asflr = this.sseq - 1;
      } else if (dseq === this.adflr + 1) {
        this.adflr = dseq;
        this.asflr = sseq;
        for (let ss = sseq + 1; ss < this.sseq; ss++) {
          const q = this.pending.get(ss);
          if (q) {
            if (q.dseq > 0) {
              this.adflr = q.dseq - 1;
              this.asflr = ss - 1;
            }
            break;
          }
        }
      }
      this.rdc.delete(sseq);
      if (this.rdq.length > 0) this.rdq = this.rdq.filter((q) => q !== sseq);
    } else if (cfg.ack_policy === "all") {
      if (dseq <= this.adflr || sseq <= this.asflr) return;
      const gap = sseq - this.asflr;
      acked = gap;
      this.adflr = dseq;
      this.asflr = sseq;
      for (let q = sseq; q > sseq - gap; q--) {
        this.pending.delete(q);
        this.rdc.delete(q);
      }
      this.rdq = this.rdq.filter((q) => q > sseq);
    } else return;
    this.lat = nowNs();
    this.stream.retention?.acked(this, sseq, acked);
    if (wasFull) this.deliver();
  }

  #nak(sseq: number, dseq: number, arg: string): void {
    if (dseq <= this.adflr || dseq > this.dseq) return;
    if (this.pending.size > 0 && !this.pending.has(sseq)) return;
    if (arg !== "") {
      let delayNs: number | null = null;
      if (arg.startsWith("{")) {
        try {
          const d = JSON.parse(arg).delay;
          if (typeof d === "number") delayNs = d;
        } catch {
          // A bad delay is a plain NAK.
        }
      } else {
        try {
          // Go's time.ParseDuration, as nats-server reads the delay (milliseconds here).
          delayNs = parseGoDuration(arg) * 1e6;
        } catch {
          // A bad delay is a plain NAK.
        }
      }
      if (delayNs !== null) {
        this.rdq = this.rdq.filter((q) => q !== sseq);
        const p = this.pending.get(sseq);
        if (p) {
          const ttl = this.#ackWaitMs();
          p.at = performance.now() - ttl + delayNs / 1e6;
          this.#scheduleAckCheck(10);
        }
        return;
      }
    }
    if (!this.rdq.includes(sseq)) this.rdq.push(sseq);
    this.deliver();
  }

  /** The stream lost messages below its first sequence (purge, limits). */
  streamPurged(): void {
    const first = this.stream.firstSeq;
    if (this.sseq < first) this.sseq = first;
    if (this.asflr < first) this.asflr = first - 1;
    for (const seq of [...this.pending.keys()]) {
      if (seq < first) {
        this.pending.delete(seq);
        this.rdc.delete(seq);
      }
    }
    this.rdq = this.rdq.filter((q) => q >= first);
  }

  /** The consumer is deleted: waiting requests hear it, timers stop. */
  close(): void {
    if (this.closed) return;
    this.pull?.close();
    this.push?.close();
    this.closed = true;
    clearTimeout(this.#ackTimer);
  }
}

/** nats-server's headers-only form: the headers plus `Nats-Msg-Size`, no payload. */
function headersOnly(hdr: Uint8Array | null, size: number): Uint8Array {
  const add = encoder.encode(`Nats-Msg-Size: ${size}\r\n\r\n`);
  const base = hdr === null || hdr.length === 0
    ? encoder.encode("NATS/1.0\r\n")
    : hdr.subarray(0, hdr.length - 2);
  const out = new Uint8Array(base.length + add.length);
  out.set(base, 0);
  out.set(add, base.length);
  return out;
}
