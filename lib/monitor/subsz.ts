/**
 * The /subsz (and /subscriptionsz) body: interest-table statistics over all
 * accounts (or one), optionally with a paged list of subscriptions, filtered
 * by a publish subject they would receive.
 *
 * @module
 */
import type { MonitoredServer } from "../server.ts";
import type { Account } from "../server/account.ts";
import type { SublistStats } from "../router/sublist.ts";
import { isValidLiteralSubject, subjectMatchesPattern } from "../router/subject.ts";
import { preciseNowMs, queryBool, QueryError, queryInt, rfc3339Nano } from "./format.ts";
import { DEFAULT_LIMIT } from "./connz.ts";
import type { JsonObject } from "./types.ts";

/** Parsed /subsz query. */
export interface SubszParams {
  subs: boolean;
  offset: number;
  limit: number;
  /** Literal subject; only subscriptions matching it are listed ("" = all). */
  test: string;
  /** Only this account ("" = all). */
  acc: string;
}

/**
 * Turns a /subsz query into parameters.
 *
 * @throws {QueryError} with nats-server's message for a bad value.
 */
export function parseSubszParams(q: URLSearchParams): SubszParams {
  const subs = queryBool(q, "subs");
  const offset = queryInt(q, "offset");
  const limit = queryInt(q, "limit");
  const test = q.get("test") ?? "";
  if (test !== "" && !isValidLiteralSubject(test)) {
    throw new QueryError(`invalid test subject, must be valid publish subject: ${test}`);
  }
  return {
    subs,
    offset: Math.max(0, offset),
    limit: limit <= 0 ? DEFAULT_LIMIT : limit,
    test,
    acc: q.get("acc") ?? "",
  };
}

/** Sums sublist statistics; rates and averages are re-weighted, max is the max. */
export function addStats(all: readonly SublistStats[]): SublistStats {
  let subs = 0, cache = 0, inserts = 0, removes = 0, matches = 0, hits = 0;
  let maxFanout = 0, fanoutSum = 0;
  for (const s of all) {
    subs += s.numSubscriptions;
    cache += s.numCache;
    inserts += s.numInserts;
    removes += s.numRemoves;
    matches += s.numMatches;
    hits += s.cacheHitRate * s.numMatches;
    maxFanout = Math.max(maxFanout, s.maxFanout);
    fanoutSum += s.avgFanout * s.numCache;
  }
  return {
    numSubscriptions: subs,
    numCache: cache,
    numInserts: inserts,
    numRemoves: removes,
    numMatches: matches,
    cacheHitRate: matches > 0 ? hits / matches : 0,
    maxFanout,
    avgFanout: cache > 0 ? fanoutSum / cache : 0,
  };
}

/** The statistics object with nats-server's field names. */
export function statsJson(s: SublistStats): JsonObject {
  return {
    num_subscriptions: s.numSubscriptions,
    num_cache: s.numCache,
    num_inserts: s.numInserts,
    num_removes: s.numRemoves,
    num_matches: s.numMatches,
    cache_hit_rate: s.cacheHitRate,
    max_fanout: s.maxFanout,
    avg_fanout: s.avgFanout,
  };
}

/**
 * Builds the /subsz object. With an empty list (the default, or no match)
 * only the statistics object is returned, as nats-server's HTTP handler does.
 *
 * @param server The running server.
 * @param params Parsed query ({@linkcode parseSubszParams}).
 */
export function buildSubsz(server: MonitoredServer, params: SubszParams): JsonObject {
  const { stats, body } = subsz(server, params);
  return body.subscriptions_list === undefined ? statsJson(stats) : body;
}

/**
 * The whole Subsz object, envelope (id, time, paging) included even when the
 * list is empty: what nats-server answers on `$SYS.REQ.SERVER.PING.SUBSZ`.
 */
export function buildSubszEnvelope(server: MonitoredServer, params: SubszParams): JsonObject {
  return subsz(server, params).body;
}

function subsz(
  server: MonitoredServer,
  params: SubszParams,
): { stats: SublistStats; body: JsonObject } {
  const accounts: Account[] = params.acc === ""
    ? [...server.accounts.values()]
    : [server.accounts.get(params.acc)].filter((a): a is Account => a !== undefined);
  const stats = addStats(accounts.map((a) => a.sublist.stats()));
  const list: JsonObject[] = [];
  if (params.subs) {
    for (const acc of accounts) {
      for (const sub of acc.sublist.all()) {
        // Remote interest (routes) has no client id to show; nats-server lists clients here.
        if (sub.client === null) continue;
        if (params.test !== "" && !subjectMatchesPattern(params.test, sub.subject)) continue;
        const d: JsonObject = { account: acc.name, subject: sub.subject };
        if (sub.queue !== null) d.qgroup = sub.queue;
        d.sid = sub.sid;
        d.msgs = sub.msgs;
        if (sub.max > 0) d.max = sub.max;
        d.cid = sub.client.cid;
        list.push(d);
      }
    }
  }
  const page = list.slice(params.offset, params.offset + params.limit);
  const body: JsonObject = {
    server_id: server.serverId,
    now: rfc3339Nano(preciseNowMs()),
    ...statsJson(stats),
    total: page.length,
    offset: params.offset,
    limit: params.limit,
  };
  if (page.length > 0) body.subscriptions_list = page;
  return { stats, body };
}
