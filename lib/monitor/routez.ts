/**
 * The /routez body, from the route entries lib/cluster reports. The cluster
 * handle is read defensively: no cluster (or an older one without
 * `routezInfo()`) means no routes.
 *
 * @module
 */
import type { MonitoredServer } from "../server.ts";
import { preciseNowMs, rfc3339Nano, rttString, uptimeString } from "./format.ts";
import type { JsonObject, RouteInfo } from "./types.ts";

/** What `subs` asks for: nothing, subjects, or per-subscription detail. */
export type SubsMode = "none" | "list" | "detail";

/** Routes of the server, or `[]` when there is no cluster. */
export function routeInfos(server: MonitoredServer): RouteInfo[] {
  return server.cluster?.routezInfo() ?? [];
}

/**
 * Builds the /routez object.
 *
 * @param server The running server.
 * @param params `subs`: include remote interest subjects (`list`) or their detail.
 */
export function buildRoutez(server: MonitoredServer, params: { subs: SubsMode }): JsonObject {
  const nowMs = preciseNowMs();
  const routes = routeInfos(server).map((r) => routeEntry(r, params.subs, nowMs));
  return {
    server_id: server.serverId,
    now: rfc3339Nano(nowMs),
    num_routes: routes.length,
    routes,
  };
}

function time(d: Date | number): number {
  return typeof d === "number" ? d : d.getTime();
}

function routeEntry(r: RouteInfo, subs: SubsMode, nowMs: number): JsonObject {
  const e: JsonObject = {
    rid: r.rid,
    remote_id: r.remote_id,
    did_solicit: r.did_solicit,
    is_configured: r.is_configured,
    ip: r.ip,
    port: r.port,
    start: rfc3339Nano(time(r.start)),
    last_activity: rfc3339Nano(time(r.last_activity)),
  };
  if (r.rtt) e.rtt = rttString(r.rtt);
  e.uptime = uptimeString(nowMs - time(r.start));
  e.idle = uptimeString(nowMs - time(r.last_activity));
  if (r.import) e.import = r.import;
  if (r.export) e.export = r.export;
  e.pending_size = r.pending_size;
  e.in_msgs = r.in_msgs;
  e.out_msgs = r.out_msgs;
  e.in_bytes = r.in_bytes;
  e.out_bytes = r.out_bytes;
  e.subscriptions = r.subscriptions;
  // Like /connz: `detail` shows the detail list instead of the subjects (when cluster has it).
  const detail = r.subscriptions_list_detail;
  if (subs === "detail" && detail && detail.length > 0) {
    e.subscriptions_list_detail = detail;
  } else if (subs !== "none" && r.subscriptions_list && r.subscriptions_list.length > 0) {
    e.subscriptions_list = r.subscriptions_list;
  }
  return e;
}
