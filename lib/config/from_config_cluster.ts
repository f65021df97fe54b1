/**
 * The `cluster { ... }` block (routes) mapped to {@linkcode ClusterOptions}.
 *
 * @module
 */
import type { ConfValue } from "./conf_parser.ts";
import { entries, type IssueCollector, readListen } from "./conf_values.ts";
import { readAuthorizationBlock, readPermissions } from "./from_config_auth.ts";
import { readTlsBlock } from "./from_config_tls.ts";
import type { ClusterOptions, Permissions } from "./options.ts";

/** Cluster defaults before the block is applied. */
export function defaultClusterOptions(): ClusterOptions {
  return { host: "0.0.0.0", port: 0, routes: [], noAdvertise: false, connectRetries: 0 };
}

/**
 * Reads a `cluster` block over `base` (a copy is returned).
 * @param checkFiles verify TLS files exist, as nats-server does while parsing
 */
export function readClusterBlock(
  issues: IssueCollector,
  block: ConfValue,
  base: ClusterOptions | undefined,
  checkFiles: boolean,
): ClusterOptions | undefined {
  const map = issues.map(block);
  if (!map) return undefined;
  const cluster: ClusterOptions = { ...(base ?? defaultClusterOptions()) };
  cluster.routes = [...cluster.routes];
  let permissionsFromBlock = false;
  for (const [key, rawKey, v] of entries(map)) {
    switch (key) {
      case "name": {
        const s = issues.str(v);
        if (s !== undefined) cluster.name = s;
        break;
      }
      case "listen": {
        const hp = readListen(issues, v);
        if (hp) {
          cluster.host = hp.host ?? "";
          cluster.port = hp.port;
        }
        break;
      }
      case "port": {
        const n = issues.int(v);
        if (n !== undefined) cluster.port = n;
        break;
      }
      case "host":
      case "net": {
        const s = issues.str(v);
        if (s !== undefined) cluster.host = s;
        break;
      }
      case "authorization": {
        const auth = readAuthorizationBlock(issues, v);
        if (!auth) break;
        if (auth.users) {
          issues.error(v, "Cluster authorization does not allow multiple users");
          break;
        }
        if (auth.token !== undefined && auth.token !== "") {
          issues.error(v, "Cluster authorization does not support tokens");
          break;
        }
        cluster.authorization = {};
        if (auth.user !== undefined) cluster.authorization.user = auth.user;
        if (auth.password !== undefined) cluster.authorization.password = auth.password;
        if (auth.timeout !== undefined) cluster.authorization.timeout = auth.timeout;
        if (auth.defaultPermissions) {
          issues.warn(
            v,
            rawKey,
            `setting "permissions" within cluster authorization block is deprecated`,
          );
          // The cluster-level `permissions` key wins over this old spelling.
          if (!permissionsFromBlock) {
            cluster.permissions = routePermissions(auth.defaultPermissions);
          }
        }
        break;
      }
      case "routes": {
        const routes = readRoutes(issues, v);
        if (routes) cluster.routes = routes;
        break;
      }
      case "cluster_advertise":
      case "advertise": {
        const s = issues.str(v);
        if (s !== undefined) cluster.advertise = s;
        break;
      }
      case "no_advertise": {
        const b = issues.bool(v);
        if (b !== undefined) cluster.noAdvertise = b;
        break;
      }
      case "connect_retries": {
        const n = issues.int(v);
        if (n !== undefined) cluster.connectRetries = n;
        break;
      }
      case "permissions": {
        const perms = readPermissions(issues, v);
        if (!perms) break;
        if (perms.allowResponses) {
          issues.error(v, "Cluster permissions do not support dynamic responses");
          break;
        }
        cluster.permissions = routePermissions(perms);
        permissionsFromBlock = true;
        break;
      }
      case "tls": {
        const tls = readTlsBlock(issues, v, { isClient: false, checkFiles });
        if (tls) cluster.tls = tls;
        break;
      }
      default:
        issues.unknownField(v, rawKey);
    }
  }
  return cluster;
}

/** Route permissions use import/export; the parser gives publish/subscribe. */
function routePermissions(p: Permissions): NonNullable<ClusterOptions["permissions"]> {
  const out: NonNullable<ClusterOptions["permissions"]> = {};
  if (p.publish) out.import = p.publish;
  if (p.subscribe) out.export = p.subscribe;
  return out;
}

/** Route URLs; duplicates are dropped with a warning, bad URLs are errors. */
function readRoutes(issues: IssueCollector, v: ConfValue): string[] | undefined {
  const items = issues.array(v);
  if (!items) return undefined;
  const seen = new Set<string>();
  const routes: string[] = [];
  for (const item of items) {
    const raw = issues.str(item);
    if (raw === undefined) return undefined;
    if (seen.has(raw)) {
      issues.warn(item, raw, "Duplicate route entry detected");
      continue;
    }
    seen.add(raw);
    const url = raw.trim();
    if (!isParsableUrl(url)) {
      issues.error(item, `error parsing route url ["${url}"]`);
      continue;
    }
    routes.push(url);
  }
  return routes;
}

function isParsableUrl(s: string): boolean {
  try {
    new URL(s);
    return true;
  } catch {
    return false;
  }
}
