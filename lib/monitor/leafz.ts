/**
 * The /leafz body, from the leaf connection entries lib/leaf reports (none
 * without leaf nodes: `leafs` is then null, as nats-server prints it).
 *
 * @module
 */
import type { MonitoredServer } from "../server.ts";
import { preciseNowMs, rfc3339Nano, rttString } from "./format.ts";
import type { JsonObject } from "./types.ts";

/**
 * Builds the /leafz object.
 *
 * @param server The running server.
 * @param params `subs`: list each link's remote interest; `acc`: only links bound to it.
 */
export function buildLeafz(
  server: MonitoredServer,
  params: { subs: boolean; acc: string } = { subs: false, acc: "" },
): JsonObject {
  const entries = (server.leafnodes?.leafzInfo(params.subs) ?? [])
    .filter((l) => params.acc === "" || l.account === params.acc);
  const leafs = entries.map((l) => {
    const e: JsonObject = { account: l.account, ip: l.ip, port: l.port };
    e.rtt = rttString(l.rttMs);
    e.in_msgs = l.in_msgs;
    e.out_msgs = l.out_msgs;
    e.in_bytes = l.in_bytes;
    e.out_bytes = l.out_bytes;
    e.subscriptions = l.subscriptions;
    if (l.subscriptions_list && l.subscriptions_list.length > 0) {
      e.subscriptions_list = l.subscriptions_list;
    }
    return e;
  });
  return {
    server_id: server.serverId,
    now: rfc3339Nano(preciseNowMs()),
    leafnodes: leafs.length,
    leafs: leafs.length > 0 ? leafs : null,
  };
}
