/**
 * Push delivery: a consumer with a `deliver_subject` sends its messages there
 * while the subject has interest, as nats-server 2.9 does:
 *
 * - **Interest** is a subscription on exactly the deliver subject (a wildcard
 *   subscription does not count), in the `deliver_group` queue group when one
 *   is set. Without it nothing is sent; a consumer with an inactive threshold
 *   (every ephemeral one) is deleted after that long without interest, and
 *   delivery resumes where it stopped when interest comes back. A message that
 *   reached nobody makes the consumer inactive.
 * - **Idle heartbeats**: `100 Idle Heartbeat` with `Nats-Last-Consumer` and
 *   `Nats-Last-Stream` after `idle_heartbeat` without a delivery, with
 *   `Nats-Consumer-Stalled: <reply>` while a flow-control request is unanswered.
 * - **Flow control**: a window of 2 MiB of delivered bytes, doubled on each
 *   answer up to 32 MiB. Past half of it a `100 FlowControl Request` goes out
 *   with a reply subject `$JS.FC.<stream>.<consumer>.<4 chars>`; past all of it
 *   delivery waits for that answer.
 * - **`replay_policy: original`** spaces the messages stored when the consumer
 *   started as they were published; **`rate_limit_bps`** is a token bucket of
 *   `rate_limit_bps / 8` bytes a second with a burst of the largest message.
 *
 * @module
 */
import type { Consumer, Outgoing } from "./consumer.ts";
import type { ConsumerConfig } from "./consumer_config.ts";
import { buildHeaders } from "./headers.ts";

const EMPTY = new Uint8Array(0);
/** nats-server's JsFlowControlMaxPending: the largest flow-control window. */
const FC_MAX_PENDING = 32 * 1024 * 1024;
const FC_REQUEST = new TextEncoder().encode("NATS/1.0 100 FlowControl Request\r\n\r\n");
/** Bytes a push consumer sends in one turn of the event loop. */
const SLICE_BYTES = 256 * 1024;
const DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/**
 * Tells push consumers that subscriptions changed. The server reports each
 * local subscribe and unsubscribe ({@linkcode InterestWatch.soon}): the
 * consumers look once the current read is handled (a microtask), so a SUB
 * followed by a PUB in one packet finds the consumer active as nats-server's
 * notification does. The sublist's generation (bumped by every insert and
 * remove) is also compared on a slow timer while any push consumer exists,
 * for changes nobody reports.
 */
export class InterestWatch {
  readonly #generation: () => number;
  readonly #watchers = new Set<() => void>();
  #seen = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #queued = false;

  /** Subscriptions changed: the watchers look in a microtask. */
  soon(): void {
    if (this.#queued || this.#watchers.size === 0) return;
    this.#queued = true;
    queueMicrotask(() => {
      this.#queued = false;
      this.check();
    });
  }

  constructor(generation: () => number) {
    this.#generation = generation;
  }

  watch(cb: () => void): () => void {
    this.#watchers.add(cb);
    if (this.#timer === undefined) {
      this.#seen = this.#generation();
      this.#timer = setInterval(() => this.check(), 100);
    }
    return () => {
      this.#watchers.delete(cb);
      if (this.#watchers.size === 0 && this.#timer !== undefined) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  /** Tells the watchers now if subscriptions changed since the last look. */
  check(): void {
    if (this.#watchers.size === 0) return;
    const g = this.#generation();
    if (g === this.#seen) return;
    this.#seen = g;
    for (const cb of [...this.#watchers]) cb();
  }
}

export class PushDelivery {
  readonly #c: Consumer;
  /** The deliver subject has interest (nats-server's `active`; `push_bound` in info). */
  active: boolean;
  readonly #unwatch: () => void;
  #deleteTimer: ReturnType<typeof setTimeout> | undefined;
  // Flow control: the window, the bytes sent since the last answer, the request out.
  #pblimit = 0;
  #maxpb = 0;
  #pbytes = 0;
  #fcid = "";
  #fcsz = 0;
  #hbTimer: ReturnType<typeof setTimeout> | undefined;
  #lastSend = performance.now();
  /** Token bucket: bytes per ms, burst, tokens and when they were counted. */
  #rate = 0;
  #burst = 0;
  #tokens = 0;
  #tokensAt = 0;
  /** A delivery waiting for the replay spacing or the rate limit. */
  #held: ReturnType<typeof setTimeout> | undefined;

  constructor(c: Consumer) {
    this.#c = c;
    const cfg = c.config;
    if (cfg.flow_control) {
      this.#pblimit = FC_MAX_PENDING;
      this.#maxpb = FC_MAX_PENDING / 16;
    }
    this.#setRate();
    this.active = this.#interest();
    this.#unwatch = c.host.watchInterest(() => this.#interestChanged());
    if (!this.active) this.#startDeleteTimer();
    this.#armHeartbeat(this.#hbMs());
  }

  get #subject(): string {
    return this.#c.config.deliver_subject!;
  }

  #interest(): boolean {
    const cfg = this.#c.config;
    return this.#c.host.exactInterest(cfg.deliver_subject!, cfg.deliver_group ?? "");
  }

  #interestChanged(): void {
    const now = this.#interest();
    if (now !== this.active) this.#update(now);
  }

  /** nats-server's updateDeliveryInterest. */
  #update(interest: boolean): void {
    const was = this.active;
    this.active = interest;
    if (interest) {
      clearTimeout(this.#deleteTimer);
      this.#deleteTimer = undefined;
      if (!was) this.#c.deliver();
    } else this.#startDeleteTimer();
  }

  #startDeleteTimer(): void {
    const ns = this.#c.config.inactive_threshold ?? 0;
    if (ns <= 0 || this.#deleteTimer !== undefined) return;
    this.#deleteTimer = setTimeout(() => {
      this.#deleteTimer = undefined;
      if (!this.active && !this.#c.closed) this.#c.host.expired(this.#c);
    }, ns / 1e6);
  }

  /** Sends what it can: stops without interest, at the flow-control window, or to wait. */
  run(): void {
    if (this.#held !== undefined || this.#running) return;
    const c = this.#c;
    this.#running = true;
    try {
      // Subscriptions that changed since the last look count before this delivery.
      c.host.checkInterest();
      let sent = 0;
      while (this.active && !(this.#maxpb > 0 && this.#pbytes > this.#maxpb)) {
        // A backlog goes out a slice per turn of the event loop: the sockets are
        // written and other work runs between slices.
        if (sent >= SLICE_BYTES) {
          this.#hold(0, () => true);
          return;
        }
        const n = c.next();
        if (n === null) break;
        const o = c.outgoing(n);
        if (!this.#send(o, 0)) return;
        sent += o.size;
      }
      c.replayCaughtUp();
    } finally {
      this.#running = false;
    }
  }

  #running = false;

  /** Replay spacing (stage 0), then the rate limit (1), then the delivery; false when held. */
  #send(o: Outgoing, stage: number): boolean {
    if (stage === 0) {
      const ms = this.#c.replayWait(o.m);
      if (ms > 0) {
        this.#hold(ms, () => this.#send(o, 1));
        return false;
      }
    }
    if (stage < 2) {
      this.#c.replayed(o.m);
      const ms = this.#rateDelay(o.size);
      if (ms > 0) {
        this.#hold(ms, () => this.#send(o, 2));
        return false;
      }
    }
    this.#deliver(o);
    return true;
  }

  #hold(ms: number, then: () => boolean): void {
    this.#held = setTimeout(() => {
      this.#held = undefined;
      if (this.#c.closed) return;
      if (then()) this.#c.deliver();
    }, ms);
  }

  #deliver(o: Outgoing): void {
    const c = this.#c;
    const subject = this.#subject;
    const psz = subject.length + o.ackReply.length + (o.hdr?.length ?? 0) + o.data.length;
    if (this.#maxpb > 0) this.#pbytes += psz;
    const reached = c.deliverMsg(subject, o);
    if (this.#maxpb > 0 && this.#needFlowControl(psz)) this.#sendFlowControl();
    this.#lastSend = performance.now();
    if (reached === 0) {
      // Nobody took it: inactive until interest comes (again).
      this.active = false;
      if (!c.host.hasInterest(subject)) this.#update(false);
    }
  }

  // --- flow control -------------------------------------------------------------

  #needFlowControl(size: number): boolean {
    if (this.#fcid === "" && this.#pbytes > Math.floor(this.#maxpb / 2)) return true;
    if (this.#fcid !== "" && this.#pbytes - this.#fcsz >= this.#maxpb) this.#fcsz += size;
    return false;
  }

  #sendFlowControl(): void {
    const c = this.#c;
    let suffix = "";
    for (let i = 0; i < 4; i++) suffix += DIGITS[Math.floor(Math.random() * DIGITS.length)];
    this.#fcid = `$JS.FC.${c.stream.config.name}.${c.name}.${suffix}`;
    this.#fcsz = this.#pbytes;
    c.host.publish(this.#subject, this.#fcid, FC_REQUEST, EMPTY);
  }

  /** A message on `$JS.FC.<stream>.<consumer>.*`: the answer to the request out, or stale. */
  onFlowControl(subject: string): void {
    if (subject !== this.#fcid) return;
    if (this.#maxpb < this.#pblimit) this.#maxpb = Math.min(this.#maxpb * 2, this.#pblimit);
    this.#pbytes = Math.max(0, this.#pbytes - this.#fcsz);
    this.#fcid = "";
    this.#fcsz = 0;
    this.#c.deliver();
  }

  // --- idle heartbeats ------------------------------------------------------------

  #hbMs(): number {
    return (this.#c.config.idle_heartbeat ?? 0) / 1e6;
  }

  #armHeartbeat(ms: number): void {
    const hb = this.#hbMs();
    if (hb <= 0 || this.#c.closed) return;
    this.#hbTimer = setTimeout(() => {
      const idle = performance.now() - this.#lastSend;
      if (idle < hb - 1) return this.#armHeartbeat(hb - idle);
      if (this.active) this.#sendHeartbeat();
      this.#lastSend = performance.now();
      this.#armHeartbeat(hb);
    }, Math.max(1, ms));
  }

  #sendHeartbeat(): void {
    const c = this.#c;
    const pairs: Array<[string, string]> = [
      ["Nats-Last-Consumer", String(c.dseq - 1)],
      ["Nats-Last-Stream", String(c.sseq - 1)],
    ];
    if (this.#fcid !== "") pairs.push(["Nats-Consumer-Stalled", this.#fcid]);
    c.host.publish(this.#subject, "", buildHeaders("100 Idle Heartbeat", pairs), EMPTY);
  }

  // --- rate limit ------------------------------------------------------------------

  #setRate(): void {
    const c = this.#c;
    const bps = c.config.rate_limit_bps ?? 0;
    this.#rate = bps / 8 / 1000;
    const maxMsg = c.stream.config.max_msg_size ?? -1;
    this.#burst = maxMsg > 0 ? maxMsg : c.host.maxPayload;
    this.#tokens = this.#burst;
    this.#tokensAt = performance.now();
  }

  /** Takes `size` bytes from the bucket; how long to wait (ms) before sending them. */
  #rateDelay(size: number): number {
    if (this.#rate <= 0) return 0;
    const now = performance.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#tokensAt) * this.#rate);
    this.#tokensAt = now;
    this.#tokens -= size;
    return this.#tokens >= 0 ? 0 : -this.#tokens / this.#rate;
  }

  // --- changes ---------------------------------------------------------------------

  /** The configuration was updated (a create request for an existing consumer). */
  configChanged(old: ConsumerConfig): void {
    const cfg = this.#c.config;
    if ((old.rate_limit_bps ?? 0) !== (cfg.rate_limit_bps ?? 0)) this.#setRate();
    if (old.deliver_subject !== cfg.deliver_subject) {
      // Everything unacknowledged goes again, to the new subject.
      this.#c.forceExpirePending();
      this.#update(this.#interest());
    }
    if (old.inactive_threshold !== cfg.inactive_threshold) {
      clearTimeout(this.#deleteTimer);
      this.#deleteTimer = undefined;
      if (!this.active) this.#startDeleteTimer();
    }
  }

  close(): void {
    this.#unwatch();
    clearTimeout(this.#deleteTimer);
    clearTimeout(this.#hbTimer);
    clearTimeout(this.#held);
  }
}
