/**
 * Consumer configurations as nats-server 2.9 takes them: the JSON types it
 * accepts (anything else is `invalid JSON`), the defaults it fills in, the
 * checks it makes in its order with its error codes, the key order of its
 * answers, and which changes a create request for an existing consumer may
 * make.
 *
 * @module
 */
import { isValidSubject, subjectIsSubsetOf, subjectMatchesPattern } from "../router/subject.ts";
import { ApiError, JSErr } from "./errors.ts";
import { isValidName, type Stream } from "./stream.ts";

const NS = 1_000_000_000;
export const DEFAULT_ACK_WAIT_NS = 30 * NS;
export const DEFAULT_MAX_WAITING = 512;
const DEFAULT_MAX_ACK_PENDING = 1000;
const DEFAULT_INACTIVE_NS = 5 * NS;
const MAX_DESCRIPTION_LEN = 4096;

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
  backoff?: number[];
  filter_subject?: string;
  replay_policy: string;
  rate_limit_bps?: number;
  sample_freq?: string;
  max_waiting?: number;
  max_ack_pending?: number;
  idle_heartbeat?: number;
  flow_control?: boolean;
  headers_only?: boolean;
  max_batch?: number;
  max_expires?: number;
  max_bytes?: number;
  deliver_subject?: string;
  deliver_group?: string;
  inactive_threshold?: number;
  num_replicas: number;
  mem_storage?: boolean;
  /** nats-server's internal consumers (mirrors, sources): checked and reported only. */
  direct?: boolean;
}

const DELIVER = ["all", "last", "new", "by_start_sequence", "by_start_time", "last_per_subject"];
const ACK = ["none", "all", "explicit"];
const REPLAY = ["instant", "original"];
const STRINGS = [
  "durable_name",
  "name",
  "description",
  "opt_start_time",
  "filter_subject",
  "sample_freq",
  "deliver_subject",
  "deliver_group",
];
const INTEGERS = [
  "opt_start_seq",
  "ack_wait",
  "max_deliver",
  "rate_limit_bps",
  "max_waiting",
  "max_ack_pending",
  "idle_heartbeat",
  "max_batch",
  "max_expires",
  "max_bytes",
  "inactive_threshold",
  "num_replicas",
];
const BOOLS = ["flow_control", "headers_only", "mem_storage", "direct"];

/**
 * The JSON types of a create request's config, as Go's decoder checks them
 * before anything else: a wrong type is `invalid JSON`. Unknown keys are ignored.
 */
export function checkConfigTypes(raw: unknown): void {
  if (raw === undefined || raw === null) return;
  if (typeof raw !== "object" || Array.isArray(raw)) throw JSErr.invalidJson();
  const r = raw as Record<string, unknown>;
  const bad = (k: string, ok: (v: unknown) => boolean) =>
    r[k] !== undefined && r[k] !== null && !ok(r[k]);
  const isInt = (v: unknown) => typeof v === "number" && Number.isInteger(v);
  for (const k of STRINGS) if (bad(k, (v) => typeof v === "string")) throw JSErr.invalidJson();
  for (const k of INTEGERS) if (bad(k, isInt)) throw JSErr.invalidJson();
  // Unsigned in Go.
  for (const k of ["opt_start_seq", "rate_limit_bps"]) {
    if (bad(k, (v) => (v as number) >= 0)) throw JSErr.invalidJson();
  }
  for (const k of BOOLS) if (bad(k, (v) => typeof v === "boolean")) throw JSErr.invalidJson();
  if (bad("backoff", (v) => Array.isArray(v) && v.every(isInt))) throw JSErr.invalidJson();
  if (bad("deliver_policy", (v) => typeof v === "string" && DELIVER.includes(v))) {
    throw JSErr.invalidJson();
  }
  if (bad("ack_policy", (v) => typeof v === "string" && ACK.includes(v))) {
    throw JSErr.invalidJson();
  }
  if (bad("replay_policy", (v) => typeof v === "string" && REPLAY.includes(v))) {
    throw JSErr.invalidJson();
  }
  if (typeof r.opt_start_time === "string" && goTime(r.opt_start_time) === null) {
    throw JSErr.invalidJson();
  }
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/;

/**
 * An RFC 3339 time as Go reads it and writes it back (its zone kept,
 * trailing zeros of the fraction dropped); null when Go would not read it.
 */
function goTime(text: string): string | null {
  const m = RFC3339.exec(text);
  if (m === null || Number.isNaN(Date.parse(text))) return null;
  const frac = (m[2] ?? "").slice(0, 9).replace(/0+$/, "");
  return `${m[1]}${frac ? "." + frac : ""}${m[3]}`;
}

/**
 * Checks and fills in a consumer configuration as nats-server does
 * (setConsumerConfigDefaults, then checkConsumerCfg, then the name checks).
 * `raw` has passed {@linkcode checkConfigTypes}.
 */
export function normaliseConsumerConfig(
  raw: unknown,
  stream: Stream,
  durable: boolean,
): ConsumerConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ApiError(400, 10078, "consumer config required");
  }
  checkConfigTypes(raw);
  const r = raw as Record<string, unknown>;
  const str = (k: string): string => (r[k] as string | undefined | null) ?? "";
  const num = (k: string): number => (r[k] as number | undefined | null) ?? 0;
  const deliver = str("deliver_policy") || "all";
  const ack = str("ack_policy") || "none";
  const replay = str("replay_policy") || "instant";
  const deliverSubject = str("deliver_subject");
  const push = deliverSubject !== "";
  const backoff = Array.isArray(r.backoff) ? r.backoff as number[] : [];
  const acks = ack !== "none";

  // Defaults (setConsumerConfigDefaults).
  let maxWaiting = num("max_waiting");
  if (!push && maxWaiting === 0) maxWaiting = DEFAULT_MAX_WAITING;
  let ackWait = num("ack_wait");
  if (acks && ackWait === 0) ackWait = DEFAULT_ACK_WAIT_NS;
  let maxDeliver = num("max_deliver");
  if (maxDeliver === 0) maxDeliver = -1;
  if (backoff.length > 0) ackWait = backoff[0];
  let maxAckPending = num("max_ack_pending");
  if (acks && maxAckPending === 0) maxAckPending = DEFAULT_MAX_ACK_PENDING;
  let inactive = num("inactive_threshold");
  if (!durable && inactive <= 0) inactive = DEFAULT_INACTIVE_NS;

  // Key order of nats-server's ConsumerConfig; zero values are left out as Go's omitempty does.
  const cfg: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => {
    if (v !== 0 && v !== "" && v !== false && !(Array.isArray(v) && v.length === 0)) cfg[k] = v;
  };
  set("durable_name", str("durable_name"));
  set("name", str("name"));
  set("description", str("description"));
  cfg.deliver_policy = deliver;
  set("opt_start_seq", num("opt_start_seq"));
  set("opt_start_time", goTime(str("opt_start_time")) ?? "");
  cfg.ack_policy = ack;
  set("ack_wait", ackWait);
  set("max_deliver", maxDeliver);
  set("backoff", backoff);
  set("filter_subject", str("filter_subject"));
  cfg.replay_policy = replay;
  set("rate_limit_bps", num("rate_limit_bps"));
  set("sample_freq", str("sample_freq"));
  set("max_waiting", maxWaiting);
  set("max_ack_pending", maxAckPending);
  set("idle_heartbeat", num("idle_heartbeat"));
  set("flow_control", r.flow_control === true);
  set("headers_only", r.headers_only === true);
  set("max_batch", num("max_batch"));
  set("max_expires", num("max_expires"));
  set("max_bytes", num("max_bytes"));
  set("deliver_subject", deliverSubject);
  set("deliver_group", str("deliver_group"));
  set("inactive_threshold", inactive);
  cfg.num_replicas = num("num_replicas");
  set("mem_storage", r.mem_storage === true);
  set("direct", r.direct === true);
  const c = cfg as unknown as ConsumerConfig;
  checkConsumerConfig(c, stream);
  const durableName = c.durable_name ?? "";
  if (durableName && !isValidName(durableName)) {
    throw new ApiError(400, 10103, "durable name can not contain '.', '*', '>'");
  }
  return c;
}

/** nats-server's checkConsumerCfg on a configuration with its defaults. */
function checkConsumerConfig(c: ConsumerConfig, stream: Stream): void {
  const bad = (code: number, errCode: number, text: string) => new ApiError(code, errCode, text);
  if (c.num_replicas > 0 && c.num_replicas > stream.config.num_replicas) {
    throw bad(400, 10126, "consumer config replica count exceeds parent stream");
  }
  if (c.num_replicas < 0) throw bad(400, 10133, "replicas count cannot be negative");
  const nBackoff = c.backoff?.length ?? 0;
  if (nBackoff > 0 && (c.max_deliver ?? -1) <= nBackoff) throw backoffError();
  if ((c.description ?? "").length > MAX_DESCRIPTION_LEN) {
    throw bad(
      400,
      10107,
      `consumer description is too long, maximum allowed is ${MAX_DESCRIPTION_LEN}`,
    );
  }
  const hb = c.idle_heartbeat ?? 0;
  if (c.deliver_subject) {
    const ds = c.deliver_subject;
    if (/(^|\.)[*>](\.|$)/.test(ds)) {
      throw bad(400, 10079, "consumer deliver subject has wildcards");
    }
    if (!isValidSubject(ds)) throw bad(400, 10112, "invalid push consumer deliver subject");
    if (stream.config.subjects!.some((s) => subjectMatchesPattern(ds, s))) {
      throw bad(400, 10081, "consumer deliver subject forms a cycle");
    }
    if ((c.max_waiting ?? 0) !== 0) {
      throw bad(400, 10080, "consumer in push mode can not set max waiting");
    }
    if ((c.max_ack_pending ?? 0) > 0 && c.ack_policy === "none") {
      throw bad(400, 10082, "consumer requires ack policy for max ack pending");
    }
    if (hb > 0 && hb < 100_000_000) {
      throw bad(400, 10083, "consumer idle heartbeat needs to be >= 100ms");
    }
  } else {
    if (c.ack_policy === "none" && stream.config.retention === "workqueue") {
      throw bad(400, 10084, "consumer in pull mode requires ack policy");
    }
    if ((c.rate_limit_bps ?? 0) > 0) {
      throw bad(400, 10086, "consumer in pull mode can not have rate limit set");
    }
    if ((c.max_waiting ?? 0) < 0) {
      throw bad(400, 10087, "consumer max waiting needs to be positive");
    }
    if (hb > 0) throw bad(400, 10088, "consumer idle heartbeat requires a push based consumer");
    if (c.flow_control) {
      throw bad(400, 10089, "consumer flow control requires a push based consumer");
    }
    if ((c.max_batch ?? 0) < 0) throw bad(400, 10114, "consumer max request batch needs to be > 0");
    const me = c.max_expires ?? 0;
    if (me !== 0 && me < 1_000_000) {
      throw bad(400, 10115, "consumer max request expires needs to be >= 1ms");
    }
  }
  if (c.direct) {
    if (!c.deliver_subject) {
      throw bad(400, 10090, "consumer direct requires a push based consumer");
    }
    if (c.durable_name) throw bad(400, 10091, "consumer direct requires an ephemeral consumer");
  }
  const filter = c.filter_subject ?? "";
  if (filter !== "" && !validFilter(filter, stream.config.subjects!)) {
    throw bad(400, 10093, "consumer filter subject is not a valid subset of the interest subjects");
  }
  checkDeliverPolicy(c);
  if (c.sample_freq) {
    const s = c.sample_freq.replace(/%$/, "");
    if (!/^[+-]?\d+$/.test(s)) {
      throw bad(
        400,
        10095,
        `failed to parse consumer sampling configuration: strconv.Atoi: parsing "${s}": invalid syntax`,
      );
    }
    // nats-server refuses a negative frequency with a nil error in the text.
    if (Number(s) < 0) {
      throw bad(400, 10095, "failed to parse consumer sampling configuration: <nil>");
    }
  }
  if (c.flow_control && hb === 0) {
    throw bad(400, 10108, "consumer with flow control also needs heartbeats");
  }
  if (c.durable_name && c.name && c.name !== c.durable_name) {
    throw bad(400, 10132, "Consumer Durable and Name have to be equal if both are provided");
  }
}

function backoffError(): ApiError {
  return new ApiError(400, 10116, "max deliver is required to be > length of backoff values");
}

/** nats-server's validFilteredSubject: a subset of a stream subject, or a wider wildcard. */
function validFilter(filter: string, subjects: string[]): boolean {
  if (!isValidSubject(filter)) return false;
  const wc = /(^|\.)[*>](\.|$)/.test(filter);
  return subjects.some((s) => subjectIsSubsetOf(filter, s) || (wc && subjectIsSubsetOf(s, filter)));
}

function checkDeliverPolicy(c: ConsumerConfig): void {
  const seq = (c.opt_start_seq ?? 0) > 0;
  const time = !!c.opt_start_time;
  const err = (text: string) => new ApiError(400, 10094, text);
  const also = (dp: string, what: string) =>
    err(`consumer delivery policy is deliver ${dp}, but optional start ${what} is also set`);
  const notSet = (dp: string, what: string) =>
    err(`consumer delivery policy is deliver ${dp}, but optional ${what} is not set`);
  switch (c.deliver_policy) {
    case "all":
    case "last":
    case "new":
    case "last_per_subject": {
      const dp = c.deliver_policy.replaceAll("_", " ");
      if (seq) throw also(dp, "sequence");
      if (time) throw also(dp, "time");
      if (c.deliver_policy === "last_per_subject" && !c.filter_subject) {
        throw notSet(dp, "filter subject");
      }
      break;
    }
    case "by_start_sequence":
      if (!seq) throw notSet("by start sequence", "start sequence");
      if (time) throw also("by start sequence", "time");
      break;
    case "by_start_time":
      if (!time) throw notSet("by start time", "start time");
      if (seq) throw also("by start time", "start sequence");
      break;
  }
}

/**
 * A create request for a consumer that exists: nats-server's
 * checkNewConsumerConfig. `deliverHasInterest` tells whether the old deliver
 * subject has subscribers (a bound push consumer cannot move).
 */
export function checkConfigUpdate(
  old: ConsumerConfig,
  next: ConsumerConfig,
  deliverHasInterest: boolean,
): void {
  if (JSON.stringify(old) === JSON.stringify(next)) return;
  const refuse = (why: string) => new ApiError(500, 10012, why);
  if (old.deliver_policy !== next.deliver_policy) throw refuse("deliver policy can not be updated");
  if (old.opt_start_seq !== next.opt_start_seq) throw refuse("start sequence can not be updated");
  if (old.opt_start_time !== next.opt_start_time) throw refuse("start time can not be updated");
  if (old.ack_policy !== next.ack_policy) throw refuse("ack policy can not be updated");
  if (old.replay_policy !== next.replay_policy) throw refuse("replay policy can not be updated");
  if (old.idle_heartbeat !== next.idle_heartbeat) throw refuse("heart beats can not be updated");
  if (!!old.flow_control !== !!next.flow_control) throw refuse("flow control can not be updated");
  if (old.max_waiting !== next.max_waiting) throw refuse("max waiting can not be updated");
  const oldDs = old.deliver_subject ?? "";
  const nextDs = next.deliver_subject ?? "";
  if (oldDs !== nextDs) {
    if (oldDs === "") throw refuse("can not update pull consumer to push based");
    if (nextDs === "") throw refuse("can not update push consumer to pull based");
    if (deliverHasInterest) throw new ApiError(400, 10013, "consumer name already in use");
  }
  const nBackoff = next.backoff?.length ?? 0;
  if (nBackoff > 0 && (next.max_deliver ?? -1) <= nBackoff) throw backoffError();
}
