/**
 * The consumer create request (`CONSUMER.CREATE.<stream>`,
 * `CONSUMER.DURABLE.CREATE.<stream>.<durable>` and 2.9's
 * `CONSUMER.CREATE.<stream>.<consumer>[.<filter>]`): what the subject and the
 * body say, checked in nats-server's order with its errors, before any
 * stream is looked up.
 *
 * @module
 */
import { ApiError, JSErr } from "./errors.ts";
import { checkConfigTypes } from "./consumer_config.ts";

const decoder = new TextDecoder();

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
