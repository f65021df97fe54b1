/**
 * The consumer requests of the JetStream API: create
 * (`CONSUMER.CREATE.<stream>`, `CONSUMER.DURABLE.CREATE.<stream>.<durable>`
 * and 2.9's `CONSUMER.CREATE.<stream>.<consumer>[.<filter>]`), names, list,
 * info and delete. What a create's subject and body say is checked in
 * nats-server's order with its errors before any stream is looked up
 * ({@linkcode parseConsumerCreate}); the answers then read and change the
 * streams' consumers through {@linkcode ConsumerApiHost}. The stream
 * requests and the dispatch of `$JS.API.>` are in jetstream.ts.
 *
 * @module
 */
import { ApiError, JSErr } from "./errors.ts";
import { checkConfigTypes } from "./consumer_config.ts";
import { Consumer, type ConsumerHost, normaliseConsumerConfig } from "./consumer.ts";
import type { ConsumerRegistry } from "./consumer_registry.ts";
import type { InternalMsg } from "./internal.ts";
import { type AccountContext, applyMaxAckPending, maxConsumersOf } from "./limits.ts";
import { consumerView } from "./mirror.ts";
import { checkPullAck, checkWorkQueueConsumer } from "./retention.ts";
import type { Stream } from "./stream.ts";

const decoder = new TextDecoder();
const T = "io.nats.jetstream.api.v1.";
/** nats-server's page sizes for NAMES and LIST answers (jetstream.ts pages streams alike). */
const NAMES_LIMIT = 1024;
const LIST_LIMIT = 256;

/** What the consumer requests need of JetStream (lib/jetstream/jetstream.ts). */
export interface ConsumerApiHost {
  readonly streams: ReadonlyMap<string, Stream>;
  /** Consumers by stream name, then by consumer name (the registry's own map). */
  readonly consumers: Map<string, Map<string, Consumer>>;
  readonly registry: ConsumerRegistry;
  /** What every consumer is made with. */
  readonly consumerHost: ConsumerHost;
  readonly ctx: AccountContext;
  /** Answers with `{"type":...,"error":...,...fields}`, counted in the API figures. */
  reply(m: InternalMsg, type: string, fields: Record<string, unknown>, error?: ApiError): void;
  /** Runs `fn`, answering an ApiError it throws with `fields` and the error. */
  guard(m: InternalMsg, type: string, fields: Record<string, unknown>, fn: () => void): void;
  /** The request body as JSON; `undefined` for an empty body; throws invalid JSON. */
  body(m: InternalMsg): unknown;
}

/** Which create form the subject used. */
export type CreateKind = "ephemeral" | "durable" | "new";

/** A checked create request. */
export interface ConsumerCreateRequest {
  streamName: string;
  /** The consumer name from the subject ("" for the ephemeral form). */
  consumerName: string;
  kind: CreateKind;
  /** The request's `config` (its `name` set from the subject in the 2.9 form). */
  config: Record<string, unknown>;
  durable: string;
}

/** `tokens` are the subject's tokens after `$JS.API.`; `data` the request body. */
export function parseConsumerCreate(tokens: string[], data: Uint8Array): ConsumerCreateRequest {
  // n counts the whole subject's tokens.
  const n = tokens.length + 2;
  let streamName: string;
  let consumerName = "";
  let filtered = "";
  let kind: CreateKind;
  if (n === 5) {
    kind = "ephemeral";
    streamName = tokens[2];
  } else if (tokens[1] === "DURABLE") {
    kind = "durable";
    if (n !== 7) {
      throw new ApiError(
        400,
        10016,
        "consumer expected to be durable but no durable name set in subject",
      );
    }
    streamName = tokens[3];
    consumerName = tokens[4];
  } else {
    kind = "new";
    streamName = tokens[2];
    consumerName = tokens[3];
    if (n > 7) filtered = tokens.slice(4).join(".");
  }
  let req: { stream_name?: unknown; config?: Record<string, unknown> };
  try {
    req = JSON.parse(decoder.decode(data));
  } catch {
    throw JSErr.invalidJson();
  }
  if (typeof req !== "object" || req === null) throw JSErr.invalidJson();
  checkConfigTypes(req.config);
  if (streamName !== req.stream_name) throw JSErr.streamMismatch();
  if (/[\\/]/.test(consumerName)) {
    throw new ApiError(400, 10127, "Consumer name can not contain path separators");
  }
  const config = (req.config ?? {}) as Record<string, unknown>;
  const durable = typeof config.durable_name === "string" ? config.durable_name : "";
  if (kind === "durable") {
    if (durable === "") {
      throw new ApiError(
        400,
        10018,
        "consumer expected to be durable but a durable name was not set",
      );
    }
    if (consumerName !== durable) {
      throw new ApiError(
        400,
        10017,
        "consumer name in subject does not match durable name in request",
      );
    }
  }
  if (kind === "new") {
    if (durable !== "" && consumerName !== durable) {
      throw new ApiError(
        400,
        10017,
        "consumer name in subject does not match durable name in request",
      );
    }
    config.name = consumerName;
  }
  if (kind === "ephemeral" && durable !== "") {
    throw new ApiError(
      400,
      10020,
      "consumer expected to be ephemeral but a durable name was set in request",
    );
  }
  if (filtered !== "" && config.filter_subject !== filtered) {
    throw new ApiError(
      400,
      10131,
      "Consumer create request did not match filtered subject from create subject",
    );
  }
  if (typeof config.num_replicas === "number" && config.num_replicas > 1) {
    throw JSErr.streamReplicasNotSupported();
  }
  return { streamName, consumerName, kind, config, durable };
}

/**
 * Answers a `$JS.API.CONSUMER.*` request (`tokens` are the subject's tokens
 * after `$JS.API.`); pull requests (`CONSUMER.MSG.NEXT`) go to each
 * consumer's own subscription, not here.
 */
export function consumerApi(host: ConsumerApiHost, m: InternalMsg, tokens: string[]): void {
  const verb = tokens[1];
  if (verb === "MSG") return; // Pull requests go to each consumer's own subscription
  if (verb === "CREATE" || (verb === "DURABLE" && tokens[2] === "CREATE")) {
    return consumerCreate(host, m, tokens);
  }
  const stream = tokens[2];
  if ((verb === "NAMES" || verb === "LIST") && tokens.length === 3) {
    return consumerList(host, m, stream, verb === "NAMES");
  }
  if ((verb === "INFO" || verb === "DELETE") && tokens.length === 4) {
    const type = `${T}consumer_${verb.toLowerCase()}_response`;
    return host.guard(m, type, {}, () => {
      if (!host.streams.has(stream)) throw JSErr.streamNotFound();
      const c = host.consumers.get(stream)?.get(tokens[3]);
      if (!c) throw new ApiError(404, 10014, "consumer not found");
      if (verb === "INFO") return host.reply(m, type, c.info());
      host.registry.remove(c);
      host.reply(m, type, { success: true });
    });
  }
}

function consumerCreate(host: ConsumerApiHost, m: InternalMsg, tokens: string[]): void {
  const type = `${T}consumer_create_response`;
  host.guard(m, type, {}, () => {
    const { streamName, consumerName, kind, config, durable } = parseConsumerCreate(
      tokens,
      m.data,
    );
    const stream = host.streams.get(streamName);
    if (!stream) throw JSErr.streamNotFound();
    const view = consumerView(stream, (n) => host.streams.get(n)?.config);
    const cfg = normaliseConsumerConfig(config, view, durable !== "");
    applyMaxAckPending(host.ctx, config.max_ack_pending, cfg);
    checkPullAck(stream, cfg);
    const name = durable || (kind === "new" ? consumerName : "") || ephemeralName();
    let byName = host.consumers.get(streamName);
    if (!byName) host.consumers.set(streamName, byName = new Map());
    const existing = byName.get(name);
    if (existing) {
      existing.update(cfg);
      existing.persist?.(existing);
      return host.reply(m, type, existing.info());
    }
    const maxConsumers = maxConsumersOf(host.ctx, stream.config);
    if (maxConsumers > 0 && byName.size >= maxConsumers) {
      throw new ApiError(400, 10026, "maximum consumers limit reached");
    }
    checkWorkQueueConsumer(stream, cfg, byName.values());
    const c = new Consumer(stream, name, cfg, host.consumerHost);
    host.registry.attach(c);
    host.reply(m, type, c.info());
    // A push consumer starts sending what the stream holds.
    if (c.push) c.deliver();
  });
}

function consumerList(
  host: ConsumerApiHost,
  m: InternalMsg,
  streamName: string,
  namesOnly: boolean,
): void {
  const type = `${T}consumer_${namesOnly ? "names" : "list"}_response`;
  const limit = namesOnly ? NAMES_LIMIT : LIST_LIMIT;
  host.guard(m, type, { total: 0, offset: 0, limit: 0, consumers: [] }, () => {
    const req = (host.body(m) ?? {}) as { offset?: number };
    if (!host.streams.has(streamName)) throw JSErr.streamNotFound();
    const all = [...(host.consumers.get(streamName)?.values() ?? [])]
      .sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    const offset = Math.max(0, req.offset ?? 0);
    const page = all.slice(offset, offset + limit);
    host.reply(m, type, {
      total: all.length,
      offset,
      limit,
      consumers: namesOnly ? page.map((c) => c.name) : page.map((c) => c.info()),
    });
  });
}

/** An ephemeral consumer's name: eight random letters and digits, as nats-server. */
function ephemeralName(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  let s = "";
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}
