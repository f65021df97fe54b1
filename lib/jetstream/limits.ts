/**
 * Per-account JetStream limits as nats-server 2.9 applies them on one server
 * (docs/jetstream.md): the number of streams, consumers per stream, memory
 * and storage reserved by streams' `max_bytes` (in the account and on the
 * server), bytes in use when a message is stored, `max_bytes_required` and
 * the per-stream byte caps.
 *
 * @module
 */
import type { AccountJetStreamLimits } from "../config/from_config_jetstream.ts";
import type { Account } from "../server/account.ts";
import { ApiError, JSErr } from "./errors.ts";
import type { StreamConfig } from "./stream.ts";

export type { AccountJetStreamLimits };

/** What one account's JetStream knows of its account and of the server around it. */
export interface AccountContext {
  /** The account's name (its store directory is `<store>/jetstream/<name>`). */
  readonly name: string;
  readonly account: Account;
  readonly limits: AccountJetStreamLimits;
  /** Bytes reserved by the `max_bytes` of every stream on the server, by storage. */
  serverReserved(storage: "memory" | "file"): number;
  /** Bytes stored over every account, by storage. */
  serverUsed(storage: "memory" | "file"): number;
  /** The server's limits. */
  serverMax(storage: "memory" | "file"): number;
}

/** The limits nats-server reports for an account (`INFO` `limits`). */
export function limitsJson(l: AccountJetStreamLimits): Record<string, unknown> {
  return {
    max_memory: l.maxMemory,
    max_storage: l.maxStore,
    max_streams: l.maxStreams,
    max_consumers: l.maxConsumers,
    max_ack_pending: l.maxAckPending,
    memory_max_stream_bytes: l.memoryMaxStreamBytes,
    storage_max_stream_bytes: l.storeMaxStreamBytes,
    max_bytes_required: l.maxBytesRequired,
  };
}

/** The parts of a stream configuration the limits look at, as sent or as normalised. */
interface Sized {
  name?: unknown;
  storage?: unknown;
  max_bytes?: unknown;
  max_consumers?: unknown;
  num_replicas?: unknown;
}

const int = (v: unknown): number => typeof v === "number" && Number.isInteger(v) ? v : 0;

/**
 * The account's and the server's limits for a stream that is created: first
 * on the request as sent (nats-server checks the stream count and these
 * before the configuration; a storage left out is not checked yet), then
 * again on the normalised configuration (`counting` false: the stream count
 * is not looked at the second time).
 */
export function checkStreamLimits(
  ctx: AccountContext,
  cfg: Sized,
  streams: Iterable<StreamConfig>,
  counting: boolean,
): void {
  const l = ctx.limits;
  const all = [...streams];
  if (counting && l.maxStreams > 0 && all.length >= l.maxStreams) throw JSErr.maximumStreamsLimit();
  const maxConsumers = int(cfg.max_consumers);
  if (maxConsumers > 0 && l.maxConsumers > 0 && maxConsumers > l.maxConsumers) {
    throw new ApiError(400, 10026, "maximum consumers limit reached");
  }
  const storage = cfg.storage;
  if (storage !== "memory" && storage !== "file") return;
  let add = int(cfg.max_bytes);
  if (add < 0) add = 1;
  checkReserve(ctx, storage, cfg.name, all, 0, add, int(cfg.num_replicas));
}

/**
 * Whether `add` more bytes of `storage` (times the replicas) fit: the
 * account's other streams' reservations plus `reserved` against the
 * account's limit, and `add` against the server's.
 */
function checkReserve(
  ctx: AccountContext,
  storage: "memory" | "file",
  name: unknown,
  streams: StreamConfig[],
  reserved: number,
  add: number,
  replicas: number,
): void {
  for (const s of streams) {
    if (s.max_bytes > 0 && s.storage === storage && s.name !== name) {
      reserved += s.num_replicas * s.max_bytes;
    }
  }
  const total = add * Math.max(1, replicas);
  const exceeded = storage === "memory"
    ? JSErr.memoryResourcesExceeded
    : JSErr.storageResourcesExceeded;
  const accountMax = storage === "memory" ? ctx.limits.maxMemory : ctx.limits.maxStore;
  if (accountMax >= 0 && reserved + total > accountMax) throw exceeded();
  if (ctx.serverReserved(storage) + add > ctx.serverMax(storage)) throw exceeded();
}

/** `max_bytes_required` and the per-stream byte caps (part of checking the configuration). */
export function checkStreamMaxBytes(ctx: AccountContext, cfg: StreamConfig): void {
  const l = ctx.limits;
  const cap = cfg.storage === "memory" ? l.memoryMaxStreamBytes : l.storeMaxStreamBytes;
  if (l.maxBytesRequired && cfg.max_bytes <= 0) {
    throw new ApiError(400, 10113, "account requires a stream config to have max bytes set");
  }
  if (cap > 0 && cfg.max_bytes > cap) {
    throw new ApiError(400, 10122, "stream max bytes exceeds account limit max stream bytes");
  }
}

/** The consumer limit of a stream: its own, or the account's when that is lower. */
export function maxConsumersOf(ctx: AccountContext, cfg: StreamConfig): number {
  const own = cfg.max_consumers;
  const acc = ctx.limits.maxConsumers;
  return own <= 0 || (acc > 0 && acc < own) ? acc : own;
}

/**
 * Before a publish is stored: the server past its limit for the storage
 * (nats-server's `insufficient resources`, 10023).
 */
export function serverOverLimit(
  ctx: AccountContext,
  storage: "memory" | "file",
): ApiError | null {
  if (ctx.serverUsed(storage) > ctx.serverMax(storage)) {
    return new ApiError(503, 10023, "insufficient resources");
  }
  return null;
}

/** Whether the account has a byte limit for `storage` (else accountOverLimit is never hit). */
export function hasByteLimit(ctx: AccountContext, storage: "memory" | "file"): boolean {
  const l = ctx.limits;
  return storage === "memory"
    ? l.maxMemory >= 0 || l.memoryMaxStreamBytes > 0
    : l.maxStore >= 0 || l.storeMaxStreamBytes > 0;
}

/**
 * After a publish is stored: the account past its limit (the message is
 * taken back; nats-server's `resource limits exceeded for account`, 10002).
 */
export function accountOverLimit(
  ctx: AccountContext,
  storage: "memory" | "file",
  used: number,
): ApiError | null {
  const l = ctx.limits;
  const cap = storage === "memory" ? l.memoryMaxStreamBytes : l.storeMaxStreamBytes;
  const max = storage === "memory" ? l.maxMemory : l.maxStore;
  if ((cap > 0 && used > cap) || (max >= 0 && used > max)) {
    return new ApiError(400, 10002, "resource limits exceeded for account");
  }
  return null;
}

/**
 * The account's `max_ack_pending`: the default for consumers that ack (when
 * lower than nats-server's 1000) and a cap on what a consumer asks for.
 */
export function applyMaxAckPending(
  ctx: AccountContext,
  requested: unknown,
  cfg: { ack_policy: string; max_ack_pending?: number },
): void {
  const limit = ctx.limits.maxAckPending;
  if (limit <= 0) return;
  const asked = int(requested);
  if (cfg.ack_policy !== "none" && asked === 0 && limit < (cfg.max_ack_pending ?? 0)) {
    cfg.max_ack_pending = limit;
  }
  if ((cfg.max_ack_pending ?? 0) > limit) {
    throw new ApiError(400, 10121, `consumer max ack pending exceeds system limit of ${limit}`);
  }
}

/**
 * The account's and the server's limits for `STREAM.UPDATE` (nats-server
 * reserves only what a larger `max_bytes` adds).
 */
export function checkUpdateLimits(
  ctx: AccountContext,
  cfg: StreamConfig,
  old: StreamConfig,
  streams: Iterable<StreamConfig>,
): void {
  const l = ctx.limits;
  if (cfg.max_consumers > 0 && l.maxConsumers > 0 && cfg.max_consumers > l.maxConsumers) {
    throw new ApiError(400, 10026, "maximum consumers limit reached");
  }
  const storage = cfg.storage;
  const add = Math.max(0, cfg.max_bytes - old.max_bytes);
  checkReserve(
    ctx,
    storage,
    cfg.name,
    [...streams],
    old.num_replicas * old.max_bytes,
    add,
    cfg.num_replicas,
  );
}
