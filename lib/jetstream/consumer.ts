/**
 * Pull consumers, with nats-server 2.9's bookkeeping: a next stream sequence
 * (`sseq`) and a next delivery sequence (`dseq`, counting redeliveries), the
 * messages waiting for an ack with the delivery sequence of their first
 * delivery, the redelivery counts and queue, the ack floor, and the pull
 * requests waiting for messages with their batch, byte budget and expiry.
 * The status messages (404, 408, 409) are nats-server's, header for header.
 *
 * @module
 */
import { subjectIsSubsetOf, subjectMatchesPattern } from "../router/subject.ts";
import { ApiError, JSErr } from "./errors.ts";
import { buildHeaders } from "./headers.ts";
import { isValidName, type StoredMsg, type Stream } from "./stream.ts";
import { formatNs, nowNs } from "./time.ts";

const NS = 1_000_000_000;
const DEFAULT_ACK_WAIT_NS = 30 * NS;
const DEFAULT_MAX_WAITING = 512;
const DEFAULT_MAX_ACK_PENDING = 1000;
const DEFAULT_INACTIVE_NS = 5 * NS;

/** A consumer configuration as JSON carries it (durations in nanoseconds). */
export interface ConsumerConfig {
  durable_name?: string;
  name?: string;
  description?: string;
  deliver_policy: string;
  opt_start_seq?: number;
  opt_start_time?: string;
  ack_policy: "none" | "all" | "explicit";
  ack_wait?: number;
  max_deliver?: number;
  filter_subject?: string;
  replay_policy: string;
  max_waiting?: number;
  max_ack_pending?: number;
  max_batch?: number;
  max_expires?: number;
  max_bytes?: number;
  inactive_threshold?: number;
  num_replicas: number;
  mem_storage?: boolean;
}

/** What a consumer needs from JetStream: publishing and the account's interest. */
export interface ConsumerHost {
  publish(
    subject: string,
    reply: string,
    hdr: Uint8Array | null,
    data: Uint8Array,
    deliverTo?: string,
  ): void;
  hasInterest(subject: string): boolean;
  /** An ephemeral consumer went inactive. */
  expired(c: Consumer): void;
}

const DELIVER = ["all", "last", "new", "by_start_sequence", "by_start_time", "last_per_subject"];
const ACK = ["none", "all", "explicit"];

/**
 * Checks and fills in a consumer configuration as nats-server does
 * (setConsumerConfigDefaults and checkConsumerCfg, pull consumers only).
 */
export function normaliseConsumerConfig(
  raw: unknown,
  stream: Stream,
  durable: boolean,
): ConsumerConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ApiError(400, 10078, "consumer config required");
  }
  const r = raw as Record<string, unknown>;
  const str = (k: string): string | undefined => {
    const v = r[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") throw JSErr.invalidJson();
    return v;
  };
  const num = (k: string): number => {
    const v = r[k];
    if (v === undefined || v === null) return 0;
    if (typeof v !== "number" || !Number.isInteger(v)) throw JSErr.invalidJson();
    return v;
  };
  const deliver = str("deliver_policy") ?? "all";
  if (!DELIVER.includes(deliver)) throw JSErr.invalidJson();
  const ack = str("ack_policy") ?? "none";
  if (!ACK.includes(ack)) throw JSErr.invalidJson();
  const replay = str("replay_policy") ?? "instant";
  if (replay !== "instant" && replay !== "original") throw JSErr.invalidJson();
  if (replay === "original") throw JSErr.notSupported("replay_policy original");
  if (str("deliver_subject")) {
    throw new ApiError(500, 10012, "push consumers are not supported by dnatsd yet");
  }
  for (
    const k of [
      "backoff",
      "sample_freq",
      "rate_limit_bps",
      "idle_heartbeat",
      "flow_control",
      "headers_only",
      "deliver_group",
    ]
  ) {
    const v = r[k];
    if (
      v !== undefined && v !== null && v !== false && v !== 0 && v !== "" &&
      !(Array.isArray(v) && v.length === 0)
    ) {
      throw new ApiError(500, 10012, `consumer ${k} is not supported by dnatsd yet`);
    }
  }
  const cfg: Record<string, unknown> = {};
  const durableName = str("durable_name");
  const name = str("name");
  if (durableName) cfg.durable_name = durableName;
  if (name) cfg.name = name;
  const description = str("description");
  if (description) cfg.description = description;
  cfg.deliver_policy = deliver;
  const startSeq = num("opt_start_seq");
  if (startSeq > 0) cfg.opt_start_seq = startSeq;
  const startTime = str("opt_start_time");
  if (startTime) cfg.opt_start_time = startTime;
  cfg.ack_policy = ack;
  let ackWait = num("ack_wait");
  if (ack !== "none" && ackWait === 0) ackWait = DEFAULT_ACK_WAIT_NS;
  if (ackWait) cfg.ack_wait = ackWait;
  let maxDeliver = num("max_deliver");
  if (maxDeliver === 0) maxDeliver = -1;
  cfg.max_deliver = maxDeliver;
  const filter = str("filter_subject");
  if (filter) cfg.filter_subject = filter;
  cfg.replay_policy = replay;
  let maxWaiting = num("max_waiting");
  if (maxWaiting < 0) throw new ApiError(400, 10087, "consumer max waiting needs to be positive");
  if (maxWaiting === 0) maxWaiting = DEFAULT_MAX_WAITING;
  cfg.max_waiting = maxWaiting;
  let maxAckPending = num("max_ack_pending");
  if (ack !== "none" && maxAckPending === 0) maxAckPending = DEFAULT_MAX_ACK_PENDING;
  if (maxAckPending) cfg.max_ack_pending = maxAckPending;
  for (const k of ["max_batch", "max_expires", "max_bytes"]) if (num(k)) cfg[k] = num(k);
  let inactive = num("inactive_threshold");
  if (!durable && inactive === 0) inactive = DEFAULT_INACTIVE_NS;
  if (inactive) cfg.inactive_threshold = inactive;
  cfg.num_replicas = num("num_replicas");
  if (r.mem_storage === true) cfg.mem_storage = true;

  // Checks, in nats-server's order where it matters.
  if (durableName && !isValidName(durableName)) {
    throw new ApiError(400, 10103, "durable name can not contain '.', '*', '>'");
  }
  if (deliver === "by_start_sequence" && startSeq === 0) {
    throw new ApiError(
      400,
      10094,
      "consumer delivery policy is deliver by start sequence, but optional start sequence is not set",
    );
  }
  if (deliver !== "by_start_sequence" && startSeq > 0) {
    throw new ApiError(
      400,
      10094,
      `consumer delivery policy is deliver ${
        deliver.replaceAll("_", " ")
      }, but optional start sequence is also set`,
    );
  }
  if (deliver === "by_start_time" && !startTime) {
    throw new ApiError(
      400,
      10094,
      "consumer delivery policy is deliver by start time, but optional start time is not set",
    );
  }
  if (deliver === "last_per_subject" && !filter) {
    throw new ApiError(
      400,
      10094,
      "consumer delivery policy is deliver last per subject, but optional filter subject is not set",
    );
  }
  if (filter) {
    if (!stream.config.subjects!.some((s) => subjectIsSubsetOf(filter, s))) {
      throw new ApiError(
        400,
        10093,
        "consumer filter subject is not a valid subset of the interest subjects",
      );
    }
  }
  return cfg as unknown as ConsumerConfig;
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

interface WaitingRequest {
  reply: string;
  /** Messages still wanted. */
  n: number;
  /** Byte budget left; 0 = none. */
  b: number;
  /** Messages delivered so far. */
  d: number;
  noWait: boolean;
  /** Deadline (ms, performance.now()); 0 = none. */
  expires: number;
  /** Idle heartbeat interval (ms) and when the next one is due; 0 = none. */
  hb: number;
  hbt: number;
}

export class Consumer {
  readonly stream: Stream;
  readonly name: string;
  config: ConsumerConfig;
  readonly created: string;
  readonly #host: ConsumerHost;
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
  readonly waiting: WaitingRequest[] = [];
  ldt = 0n;
  lat = 0n;
  #ackTimer: ReturnType<typeof setTimeout> | undefined;
  #expiryTimer: ReturnType<typeof setTimeout> | undefined;
  #inactiveTimer: ReturnType<typeof setInterval> | undefined;
  #lastActive = performance.now();
  closed = false;

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
    this.#host = host;
    if (saved) this.#restoreState(saved.state);
    else this.#selectStart();
    const inactive = config.inactive_threshold ?? 0;
    if (inactive > 0) {
      const ms = Math.max(10, inactive / 1e6);
      this.#inactiveTimer = setInterval(() => {
        if (this.waiting.length === 0 && performance.now() - this.#lastActive >= ms) {
          host.expired(this);
        }
      }, Math.max(10, Math.min(ms / 2, 1000)));
    }
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

  /** Messages not yet delivered that the consumer will deliver. */
  numPending(): number {
    if (this.#lss) return this.#lss.length;
    const s = this.stream;
    if (!this.config.filter_subject) {
      let n = 0;
      if (this.sseq <= s.firstSeq) return s.msgs.size;
      for (let q = this.sseq; q <= s.lastSeq; q++) if (s.msgs.has(q)) n++;
      return n;
    }
    let n = 0;
    for (const [subject, list] of s.bySubject) {
      if (!subjectMatchesPattern(subject, this.config.filter_subject)) continue;
      for (let i = list.length - 1; i >= 0 && list[i] >= this.sseq; i--) n++;
    }
    return n;
  }

  info(): Record<string, unknown> {
    const delivered: Record<string, unknown> = {
      consumer_seq: this.dseq - 1,
      stream_seq: this.sseq - 1,
    };
    if (this.ldt) delivered.last_active = formatNs(this.ldt);
    const ackFloor: Record<string, unknown> = { consumer_seq: this.adflr, stream_seq: this.asflr };
    if (this.lat) ackFloor.last_active = formatNs(this.lat);
    this.#expireWaiting(false);
    return {
      stream_name: this.stream.config.name,
      name: this.name,
      created: this.created,
      config: this.config,
      delivered,
      ack_floor: ackFloor,
      num_ack_pending: this.pending.size,
      num_redelivered: this.rdc.size,
      num_waiting: this.waiting.length,
      num_pending: this.numPending(),
    };
  }

  // --- pull requests -------------------------------------------------------------

  /** A `$JS.API.CONSUMER.MSG.NEXT` request. */
  nextRequest(reply: string, body: Uint8Array): void {
    this.#lastActive = performance.now();
    const sendErr = (status: string) =>
      this.#host.publish(reply, "", buildHeaders(status), new Uint8Array(0));
    let batch = 1;
    let expiresNs = 0;
    let maxBytes = 0;
    let noWait = false;
    let hbNs = 0;
    const text = new TextDecoder().decode(body).trim();
    if (text.startsWith("{")) {
      let req: Record<string, unknown>;
      try {
        req = JSON.parse(text);
      } catch (e) {
        return sendErr(`400 Bad Request - ${(e as Error).message}`);
      }
      batch = typeof req.batch === "number" ? req.batch : 0;
      expiresNs = typeof req.expires === "number" ? req.expires : 0;
      maxBytes = typeof req.max_bytes === "number" ? req.max_bytes : 0;
      noWait = req.no_wait === true;
      hbNs = typeof req.idle_heartbeat === "number" ? req.idle_heartbeat : 0;
      if (hbNs > 0 && hbNs * 2 > expiresNs) {
        return sendErr("400 Bad Request - heartbeat value too large");
      }
    } else if (/^[+-]?\d+$/.test(text)) {
      batch = Number(text);
    }
    const cfg = this.config;
    if (cfg.max_batch && batch > cfg.max_batch) {
      return sendErr(`409 Exceeded MaxRequestBatch of ${cfg.max_batch}`);
    }
    if (expiresNs > 0 && cfg.max_expires && expiresNs > cfg.max_expires) {
      return sendErr(`409 Exceeded MaxRequestExpires of ${goDuration(cfg.max_expires)}`);
    }
    if (maxBytes > 0 && cfg.max_bytes && maxBytes > cfg.max_bytes) {
      return sendErr(`409 Exceeded MaxRequestMaxBytes of ${cfg.max_bytes}`);
    }
    if (this.waiting.length >= (cfg.max_waiting ?? DEFAULT_MAX_WAITING)) this.#expireWaiting(false);
    if (noWait) {
      const msgsPending = this.numPending() + this.rdq.length;
      if (msgsPending === 0 && expiresNs === 0) return sendErr("404 No Messages");
      if (msgsPending > 0) {
        const batchPending = this.#expireWaiting(false);
        if (msgsPending < batchPending) return sendErr("408 Requests Pending");
      }
    }
    if (this.waiting.length >= (cfg.max_waiting ?? DEFAULT_MAX_WAITING)) {
      return sendErr("409 Exceeded MaxWaiting");
    }
    this.waiting.push({
      reply,
      n: batch,
      b: maxBytes,
      d: 0,
      noWait,
      expires: expiresNs > 0 ? performance.now() + expiresNs / 1e6 : 0,
      hb: hbNs / 1e6,
      hbt: hbNs > 0 ? performance.now() + hbNs / 1e6 : 0,
    });
    this.#scheduleExpiry();
    this.deliver();
  }

  /**
   * Drops expired requests (408 Request Timeout) and those nobody listens to;
   * at the end of the stream (`eos`) also no-wait requests that got something.
   * Returns the batch still wanted by the requests that stay.
   */
  #expireWaiting(eos: boolean): number {
    const now = performance.now();
    let brp = 0;
    for (let i = 0; i < this.waiting.length; i++) {
      const wr = this.waiting[i];
      if ((eos && wr.noWait && wr.d > 0) || (wr.expires > 0 && now >= wr.expires)) {
        this.#host.publish(
          wr.reply,
          "",
          buildHeaders("408 Request Timeout", [
            ["Nats-Pending-Messages", String(wr.n)],
            ["Nats-Pending-Bytes", String(wr.b)],
          ]),
          new Uint8Array(0),
        );
        this.waiting.splice(i--, 1);
        continue;
      }
      if (!this.#host.hasInterest(wr.reply)) {
        this.waiting.splice(i--, 1);
        continue;
      }
      if (wr.hbt > 0 && now >= wr.hbt) {
        this.#host.publish(
          wr.reply,
          "",
          buildHeaders("100 Idle Heartbeat", [
            ["Nats-Last-Consumer", String(this.dseq - 1)],
            ["Nats-Last-Stream", String(this.sseq - 1)],
          ]),
          new Uint8Array(0),
        );
        wr.hbt = now + wr.hb;
      }
      brp += wr.n;
    }
    return brp;
  }

  #scheduleExpiry(): void {
    if (this.#expiryTimer !== undefined) clearTimeout(this.#expiryTimer);
    this.#expiryTimer = undefined;
    let first = 0;
    for (const wr of this.waiting) {
      if (wr.expires && (!first || wr.expires < first)) first = wr.expires;
      if (wr.hbt && (!first || wr.hbt < first)) first = wr.hbt;
    }
    if (!first || this.closed) return;
    this.#expiryTimer = setTimeout(() => {
      this.#expiryTimer = undefined;
      this.#expireWaiting(false);
      this.#scheduleExpiry();
    }, Math.max(1, first - performance.now() + 1));
  }

  /** The next request that can take a message of `size` bytes (max_bytes checked). */
  #nextWaiting(size: number): WaitingRequest | null {
    while (this.waiting.length > 0) {
      const wr = this.waiting[0];
      if (wr.b > 0) {
        if (size <= wr.b) {
          wr.b -= size;
          if (wr.b === 0) wr.n = 1;
        } else {
          this.#host.publish(
            wr.reply,
            "",
            buildHeaders("409 Message Size Exceeds MaxBytes", [
              ["Nats-Pending-Messages", String(wr.n)],
              ["Nats-Pending-Bytes", String(wr.b)],
            ]),
            new Uint8Array(0),
          );
          this.waiting.shift();
          continue;
        }
      }
      if (
        (wr.expires === 0 || performance.now() < wr.expires) && this.#host.hasInterest(wr.reply)
      ) {
        return wr;
      }
      this.waiting.shift();
    }
    return null;
  }

  /** The next message to deliver and its delivery count, or null. */
  #getNext(): { m: StoredMsg; dc: number; redelivery: boolean } | null {
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
      return this.#getNext();
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

  /** Delivers what it can to the waiting requests. */
  deliver(): void {
    if (this.closed) return;
    while (this.waiting.length > 0) {
      const next = this.#getNext();
      if (next === null) break;
      const { m, dc, redelivery } = next;
      const ackReply =
        `$JS.ACK.${this.stream.config.name}.${this.name}.${dc}.${m.seq}.${this.dseq}.${m.ts}.${this.numPending()}`;
      const size = m.subject.length + ackReply.length + (m.hdr?.length ?? 0) + m.data.length;
      const wr = this.#nextWaiting(size);
      if (wr === null) {
        // Nobody to take it: put it back.
        if (redelivery) {
          this.rdq.unshift(m.seq);
          this.rdc.set(m.seq, dc - 1);
        } else this.sseq = m.seq;
        break;
      }
      wr.n--;
      wr.d++;
      if (wr.n <= 0) this.waiting.splice(this.waiting.indexOf(wr), 1);
      else if (wr.hb > 0) wr.hbt = performance.now() + wr.hb;
      this.#deliverMsg(wr.reply, ackReply, m);
    }
    // At the end of what there is: no-wait requests that got something are done.
    if (this.waiting.length > 0) this.#expireWaiting(this.#atEnd());
    this.#scheduleExpiry();
    if (this.#dirty) this.#save();
  }

  #dirty = false;

  #save(): void {
    this.#dirty = false;
    this.persist?.(this);
  }

  #atEnd(): boolean {
    return this.rdq.length === 0 && this.numPending() === 0;
  }

  #deliverMsg(subject: string, ackReply: string, m: StoredMsg): void {
    this.#dirty = true;
    const dseq = this.dseq++;
    this.#host.publish(m.subject, ackReply, m.hdr, m.data, subject);
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
  }

  // --- acknowledgements ----------------------------------------------------------

  #scheduleAckCheck(delayMs?: number): void {
    if (this.closed) return;
    if (this.#ackTimer !== undefined && delayMs === undefined) return;
    if (this.#ackTimer !== undefined) clearTimeout(this.#ackTimer);
    const wait = delayMs ?? (this.config.ack_wait ?? DEFAULT_ACK_WAIT_NS) / 1e6;
    this.#ackTimer = setTimeout(() => {
      this.#ackTimer = undefined;
      this.#checkPending();
    }, Math.max(1, wait));
  }

  /** Queues for redelivery what waited longer than ack_wait. */
  #checkPending(): void {
    const now = performance.now();
    const ttl = (this.config.ack_wait ?? DEFAULT_ACK_WAIT_NS) / 1e6;
    let next = ttl;
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
      if (elapsed >= ttl) {
        if (!this.rdq.includes(seq)) expired.push(seq);
      } else if (ttl - elapsed < next) next = ttl - elapsed;
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
    const text = new TextDecoder().decode(body);
    let skipReply = false;
    if (text === "" || text === "+ACK" || text === "+OK") this.#ack(sseq, dseq);
    else if (text.startsWith("+NXT")) {
      this.#ack(sseq, dseq);
      if (reply !== "") this.nextRequest(reply, new TextEncoder().encode(text.slice(4)));
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
    if (reply !== "" && !skipReply) this.#host.publish(reply, "", null, new Uint8Array(0));
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
      this.rdq = this.rdq.filter((q) => q !== sseq);
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
      } else delayNs = parseGoDurationNs(arg);
      if (delayNs !== null) {
        this.rdq = this.rdq.filter((q) => q !== sseq);
        const p = this.pending.get(sseq);
        if (p) {
          const ttl = (this.config.ack_wait ?? DEFAULT_ACK_WAIT_NS) / 1e6;
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
    for (const wr of this.waiting) {
      this.#host.publish(wr.reply, "", buildHeaders("409 Consumer Deleted"), new Uint8Array(0));
    }
    this.waiting.length = 0;
    this.closed = true;
    clearTimeout(this.#ackTimer);
    clearTimeout(this.#expiryTimer);
    clearInterval(this.#inactiveTimer);
  }
}

/** Go's time.Duration text for whole numbers of nanoseconds (as `%v` prints them). */
function goDuration(ns: number): string {
  if (ns % NS === 0) {
    const s = ns / NS;
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    return (h ? `${h}h` : "") + (h || m ? `${m}m` : "") + `${sec}s`;
  }
  if (ns >= NS) return `${ns / NS}s`;
  if (ns >= 1e6) return `${ns / 1e6}ms`;
  if (ns >= 1e3) return `${ns / 1e3}µs`;
  return `${ns}ns`;
}

/** A Go duration (`1s`, `500ms`, `1m30s`) in nanoseconds, null when invalid. */
function parseGoDurationNs(text: string): number | null {
  const units: Record<string, number> = {
    ns: 1,
    us: 1e3,
    "µs": 1e3,
    ms: 1e6,
    s: 1e9,
    m: 60e9,
    h: 3600e9,
  };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  if (text === "0") return 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) return null;
    total += Number(m[1]) * units[m[2]];
    at = re.lastIndex;
  }
  return at > 0 ? total : null;
}
