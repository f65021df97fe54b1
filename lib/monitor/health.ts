/**
 * /healthz, and the bodies of features dnatsd does not have (JetStream,
 * gateways, leaf nodes) in the exact "off" forms nats-server 2.9 returns.
 *
 * @module
 */
import type { MonitoredServer } from "../server.ts";
import { preciseNowMs, rfc3339Nano } from "./format.ts";
import type { JsonObject } from "./types.ts";

/** A /healthz answer: the HTTP status and its (compact) body. */
export interface Health {
  status: 200 | 503;
  body: JsonObject;
}

/**
 * Builds /healthz: ok once the client listener (and the route listener, when a
 * cluster is configured) is up; 503 with `status: "error"` otherwise or while
 * shutting down, as nats-server's readiness check does.
 */
export function buildHealthz(server: MonitoredServer): Health {
  let error = "";
  if (server.clientPort === 0) {
    const acme = server.acme?.waitingReason();
    error = acme ? `client listener not ready: ${acme}` : "client listener not ready";
  } else if (server.options.cluster && server.options.cluster.port !== 0 && !server.cluster) {
    error = "route listener not ready";
  } else if (server.isLameDuck) {
    error = "server is in lame duck mode";
  }
  if (error === "") return { status: 200, body: { status: "ok" } };
  return { status: 503, body: { status: "error", error } };
}

/** /jsz with JetStream off. */
export function buildJsz(server: MonitoredServer): JsonObject {
  return {
    server_id: server.serverId,
    now: rfc3339Nano(preciseNowMs()),
    disabled: true,
    config: { max_memory: 0, max_storage: 0 },
    memory: 0,
    storage: 0,
    reserved_memory: 0,
    reserved_storage: 0,
    accounts: 0,
    ha_assets: 0,
    api: { total: 0, errors: 0 },
    streams: 0,
    consumers: 0,
    messages: 0,
    bytes: 0,
  };
}

/** /gatewayz without gateways. */
export function buildGatewayz(server: MonitoredServer): JsonObject {
  return {
    server_id: server.serverId,
    now: rfc3339Nano(preciseNowMs()),
    outbound_gateways: {},
    inbound_gateways: {},
  };
}
