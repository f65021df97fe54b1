/**
 * The monitoring HTTP handler: one `(Request) => Response` function that maps
 * paths to the JSON builders, parses queries, counts requests and serialises
 * like nats-server (2-space JSON, JSONP, 400 text errors, 404 page). It holds
 * no sockets, so unit tests call it directly.
 *
 * @module
 */
import type { MonitoredServer } from "../server.ts";
import { buildAccountz, buildAccstatz, parseAccstatzParams } from "./accountz.ts";
import { buildConnz, parseConnzParams, parseSubsMode } from "./connz.ts";
import { dashboardHtml } from "./dashboard.ts";
import { queryBool, QueryError } from "./format.ts";
import { buildGatewayz, buildHealthz, buildJsz } from "./health.ts";
import { buildLeafz } from "./leafz.ts";
import { buildMetrics, METRICS_CONTENT_TYPE } from "./metrics.ts";
import { CpuSampler } from "./proc_stats.ts";
import { buildRoutez } from "./routez.ts";
import { buildSubsz, parseSubszParams } from "./subsz.ts";
import type { JsonObject } from "./types.ts";
import { buildVarz } from "./varz.ts";

/** A monitoring request handler, plus the state /varz reports about it. */
export interface MonitorHandler {
  (req: Request): Response;
  /** Hits per endpoint (`http_req_stats`). */
  readonly reqStats: Map<string, number>;
}

/** Ports the handler reports in /varz (set once the listeners are bound). */
export interface HandlerPorts {
  httpPort: number;
  httpsPort: number;
}

type Endpoint = (server: MonitoredServer, q: URLSearchParams) => Response;

const TEXT = "text/plain; charset=utf-8";

/**
 * `http_base_path` as nats-server cleans it: a leading `/`, no trailing `/`,
 * and "" for the root.
 */
export function normalizeBasePath(p: string): string {
  const parts = p.split("/").filter((s) => s !== "" && s !== ".");
  return parts.length === 0 ? "" : "/" + parts.join("/");
}

/**
 * JSON text like Go's `json.MarshalIndent(v, "", "  ")`: Go also escapes
 * `<`, `>`, `&`, U+2028 and U+2029, which keeps JSONP and HTML embedding safe.
 */
export function goJson(v: unknown, indent = true): string {
  const text = indent ? JSON.stringify(v, null, 2) : JSON.stringify(v);
  return text.replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** A JSON (or JSONP, with `callback=`) response. */
function jsonResponse(
  body: JsonObject,
  q: URLSearchParams,
  opts: { status?: number; compact?: boolean } = {},
): Response {
  const json = goJson(body, !opts.compact);
  const callback = q.get("callback");
  if (callback) {
    return new Response(`${callback}(${json})`, {
      status: opts.status ?? 200,
      headers: { "content-type": "application/javascript" },
    });
  }
  return new Response(json, {
    status: opts.status ?? 200,
    headers: { "content-type": "application/json" },
  });
}

function notFound(): Response {
  return new Response("404 page not found\n", {
    status: 404,
    headers: { "content-type": TEXT, "x-content-type-options": "nosniff" },
  });
}

/**
 * Builds the handler for one server.
 *
 * @param server The server to report on.
 * @param ports Bound monitoring ports, read at each /varz.
 */
export function createMonitorHandler(server: MonitoredServer, ports: HandlerPorts): MonitorHandler {
  const reqStats = new Map<string, number>();
  const cpu = new CpuSampler();
  const base = normalizeBasePath(server.options.httpBasePath);

  const endpoints: Record<string, Endpoint> = {
    "/varz": (s, q) => jsonResponse(buildVarz(s, { ...ports, reqStats, cpu }), q),
    "/connz": (s, q) => jsonResponse(buildConnz(s, parseConnzParams(q)), q),
    "/routez": (s, q) => jsonResponse(buildRoutez(s, { subs: parseSubsMode(q) }), q),
    "/subsz": (s, q) => jsonResponse(buildSubsz(s, parseSubszParams(q)), q),
    "/accountz": (s, q) => jsonResponse(buildAccountz(s, { acc: q.get("acc") ?? "" }), q),
    "/accstatz": (s, q) => jsonResponse(buildAccstatz(s, parseAccstatzParams(q)), q),
    "/jsz": (s, q) => jsonResponse(buildJsz(s), q),
    "/gatewayz": (s, q) => jsonResponse(buildGatewayz(s), q),
    "/leafz": (s, q) =>
      jsonResponse(buildLeafz(s, { subs: queryBool(q, "subs"), acc: q.get("acc") ?? "" }), q),
    "/healthz": (s, q) => {
      const h = buildHealthz(s);
      return jsonResponse(h.body, q, { status: h.status, compact: true });
    },
    "/metrics": (s) =>
      new Response(buildMetrics(s, { reqStats, cpu }), {
        headers: { "content-type": METRICS_CONTENT_TYPE },
      }),
    "/": (s) =>
      new Response(dashboardHtml({ serverName: s.serverName }), {
        headers: { "content-type": "text/html; charset=utf-8" },
      }),
  };
  // Same handler, counted under /subsz as nats-server does.
  const aliases: Record<string, string> = { "/subscriptionsz": "/subsz" };

  const handler = ((req: Request): Response => {
    const url = new URL(req.url);
    let path = url.pathname;
    if (base !== "") {
      if (path === base) {
        // Relative redirect to "<base>/" so the page's relative links resolve under the base.
        return new Response(null, {
          status: 301,
          headers: { location: `${base.slice(base.lastIndexOf("/") + 1)}/` },
        });
      }
      if (!path.startsWith(base + "/")) return notFound();
      path = path.slice(base.length);
    }
    const key = aliases[path] ?? path;
    const endpoint = endpoints[key];
    if (endpoint === undefined) return notFound();
    reqStats.set(key, (reqStats.get(key) ?? 0) + 1);
    try {
      return endpoint(server, url.searchParams);
    } catch (e) {
      if (e instanceof QueryError) {
        return new Response(e.message, { status: 400, headers: { "content-type": TEXT } });
      }
      server.log.error(`Monitoring: ${key}: ${(e as Error).stack ?? e}`);
      return new Response("internal error", { status: 500, headers: { "content-type": TEXT } });
    }
  }) as MonitorHandler;
  Object.defineProperty(handler, "reqStats", { value: reqStats });
  return handler;
}
