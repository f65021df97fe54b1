/**
 * The `exports`, `imports` and `mappings` of an account (and the top-level
 * `mappings`), read as nats-server 2.9 reads them, with its messages. The
 * checks between accounts are in ./account_links.ts.
 *
 * @module
 */
import type { ConfValue } from "./conf_parser.ts";
import { entries, goTypeOf, type IssueCollector, parseGoDuration } from "./conf_values.ts";
import type {
  ExportOptions,
  ImportOptions,
  MappingDestination,
  ResponseType,
  SubjectMapping,
} from "./options.ts";
import { isValidSubject } from "../router/subject.ts";
import { SubjectTransform, validateMappingDestination } from "../router/transform.ts";

/** Reads `exports: [...]`. */
export function readExports(issues: IssueCollector, v: ConfValue): ExportOptions[] | undefined {
  if (v.kind !== "array") {
    issues.error(v, `Exports should be an array, got ${goTypeOf(v)}`);
    return undefined;
  }
  const out: ExportOptions[] = [];
  for (const item of v.value) {
    if (item.kind !== "map") {
      issues.error(item, `Export Items should be a map with type entry, got ${goTypeOf(item)}`);
      continue;
    }
    const e = readExport(issues, item);
    if (e) out.push(e);
  }
  return out;
}

function readExport(issues: IssueCollector, item: ConfValue & { kind: "map" }) {
  let kind: ExportOptions["kind"] | undefined;
  let subject = "";
  let accounts: string[] | undefined;
  let responseType: ResponseType | undefined;
  let thresholdMs: number | undefined;
  let responsePos: ConfValue | undefined;
  let accountPos = 0;
  for (const [key, rawKey, f] of entries(item.value)) {
    switch (key) {
      case "stream":
      case "service": {
        const other = key === "stream" ? "service" : "stream";
        if (kind !== undefined && kind !== key) {
          issues.error(
            f,
            `Detected ${key} ${JSON.stringify(f.value)} but already saw a ${other}`,
          );
          continue;
        }
        if (key === "stream" && responsePos !== undefined) {
          issues.error(responsePos, "Detected response directive on non-service");
          continue;
        }
        if (f.kind !== "string") {
          issues.error(f, `Expected ${key} name to be string, got ${goTypeOf(f)}`);
          continue;
        }
        kind = key;
        subject = f.value;
        break;
      }
      case "response":
      case "response_type": {
        if (responsePos !== undefined && responseType !== undefined) {
          issues.error(f, "Duplicate response type definition");
          continue;
        }
        responsePos = f;
        if (f.kind !== "string") {
          issues.error(f, `Expected response type to be string, got ${goTypeOf(f)}`);
          continue;
        }
        switch (f.value.toLowerCase()) {
          case "single":
          case "singleton":
            responseType = "singleton";
            break;
          case "stream":
            responseType = "stream";
            break;
          case "chunk":
          case "chunked":
            responseType = "chunked";
            break;
          default:
            issues.error(f, `Unknown response type: "${f.value}"`);
            continue;
        }
        if (kind === "stream") issues.error(f, "Detected response directive on non-service");
        break;
      }
      case "threshold":
      case "response_threshold":
      case "response_max_time":
      case "response_time": {
        if (thresholdMs !== undefined) {
          issues.error(f, "Duplicate response threshold detected");
          continue;
        }
        if (f.kind !== "string") {
          issues.error(
            f,
            `Expected response threshold to be a parseable time duration, got ${goTypeOf(f)}`,
          );
          continue;
        }
        try {
          thresholdMs = parseGoDuration(f.value);
        } catch {
          issues.error(
            f,
            `Expected response threshold to be a parseable time duration, got "${f.value}"`,
          );
          continue;
        }
        if (kind === "stream") issues.error(f, "Detected response directive on non-service");
        break;
      }
      case "accounts": {
        const list = issues.stringOrStrings(f);
        if (list) accounts = list;
        break;
      }
      case "account_token_position": {
        const n = issues.int(f);
        if (n !== undefined) accountPos = n;
        break;
      }
      case "latency":
        // Latency samples are published through the system account's events.
        issues.error(
          f,
          `"${rawKey}" is not supported by dnatsd (service latency tracking is not implemented)`,
        );
        break;
      case "allow_trace":
        issues.error(
          f,
          `"${rawKey}" is not supported by dnatsd (message tracing is not implemented)`,
        );
        break;
      default:
        issues.unknownField(f, rawKey);
    }
  }
  if (kind === undefined) return undefined;
  const e: ExportOptions = { kind, subject };
  if (accounts !== undefined) e.accounts = accounts;
  if (accountPos > 0) e.accountTokenPosition = accountPos;
  if (kind === "service") {
    if (responseType !== undefined) e.responseType = responseType;
    if (thresholdMs !== undefined) e.responseThresholdMs = thresholdMs;
  }
  return e;
}

/** Reads `imports: [...]`. */
export function readImports(issues: IssueCollector, v: ConfValue): ImportOptions[] | undefined {
  if (v.kind !== "array") {
    issues.error(v, `Imports should be an array, got ${goTypeOf(v)}`);
    return undefined;
  }
  const out: ImportOptions[] = [];
  const services = new Map<string, ImportOptions>();
  for (const item of v.value) {
    if (item.kind !== "map") {
      issues.error(item, `Import Items should be a map with type entry, got ${goTypeOf(item)}`);
      continue;
    }
    const i = readImport(issues, item);
    if (!i) continue;
    if (i.kind === "service") {
      const local = i.to ?? i.subject;
      const dup = services.get(local);
      if (dup) {
        issues.error(
          item,
          `Duplicate service import subject "${local}", previously used in import for account "${dup.account}", subject "${dup.subject}"`,
        );
        continue;
      }
      services.set(local, i);
    }
    out.push(i);
  }
  return out;
}

function readImport(
  issues: IssueCollector,
  item: ConfValue & { kind: "map" },
): ImportOptions | undefined {
  let kind: ImportOptions["kind"] | undefined;
  let account = "";
  let subject = "";
  let prefix: string | undefined;
  let to: string | undefined;
  let share: boolean | undefined;
  for (const [key, rawKey, f] of entries(item.value)) {
    switch (key) {
      case "stream":
      case "service": {
        if (kind !== undefined && kind !== key) {
          issues.error(
            f,
            `Detected ${key} but already saw a ${key === "stream" ? "service" : "stream"}`,
          );
          continue;
        }
        if (f.kind !== "map") {
          issues.error(
            f,
            `${key === "stream" ? "Stream" : "Service"} entry should be an account map, got ${
              goTypeOf(f)
            }`,
          );
          continue;
        }
        let a = "";
        let s = "";
        for (const [k, rk, av] of entries(f.value)) {
          if (k === "account") a = issues.str(av) ?? "";
          else if (k === "subject") s = issues.str(av) ?? "";
          else issues.unknownField(av, rk);
        }
        if (a === "" || s === "") {
          issues.error(f, "Expect an account name and a subject");
          continue;
        }
        kind = key;
        account = a;
        subject = s;
        break;
      }
      case "prefix":
        prefix = issues.str(f);
        break;
      case "to":
        to = issues.str(f);
        if (kind === "stream" && prefix) {
          issues.error(f, "Stream import can not have a 'prefix' and a 'to' property");
        }
        break;
      case "share":
        share = issues.bool(f);
        break;
      case "allow_trace":
        issues.error(
          f,
          `"${rawKey}" is not supported by dnatsd (message tracing is not implemented)`,
        );
        break;
      default:
        issues.unknownField(f, rawKey);
    }
  }
  if (kind === undefined) return undefined;
  const i: ImportOptions = { kind, account, subject };
  if (to) i.to = to;
  if (kind === "stream" && prefix) i.prefix = prefix;
  if (kind === "service" && share !== undefined) i.share = share;
  return i;
}

/** Reads a `mappings {}` block (top level or in an account). */
export function readMappings(issues: IssueCollector, v: ConfValue): SubjectMapping[] | undefined {
  const map = issues.map(v);
  if (!map) return undefined;
  const out: SubjectMapping[] = [];
  for (const [source, f] of map) {
    if (!isValidSubject(source)) {
      issues.error(f, `Subject "${source}" is not a valid subject`);
      continue;
    }
    let dests: MappingDestination[] | undefined;
    if (f.kind === "string") {
      dests = [{ subject: f.value, weight: 100 }];
    } else if (f.kind === "array") {
      dests = [];
      for (const d of f.value) {
        const dest = readMapDestination(issues, d);
        if (dest) dests.push(dest);
      }
    } else if (f.kind === "map") {
      const dest = readMapDestination(issues, f);
      dests = dest ? [dest] : undefined;
    } else {
      issues.error(f, `Unknown type ${goTypeOf(f)} for mapping destination`);
      continue;
    }
    if (!dests) continue;
    const problem = checkMapping(source, dests);
    if (problem) {
      if (f.kind !== "string") {
        // nats-server's message quotes the value as a string, which panics for a list or map:
        // the panic is what it reports, at the value's position.
        issues.error(
          f,
          `interface conversion: interface {} is ${goTypeOf(f)}, not string`,
        );
        continue;
      }
      issues.error(f, `Error adding mapping for "${source}" to "${f.value}" : ${problem}`);
      continue;
    }
    out.push({ source, destinations: dests });
  }
  return out;
}

function readMapDestination(issues: IssueCollector, v: ConfValue): MappingDestination | undefined {
  if (v.kind !== "map") {
    issues.error(v, "Expected an entry for the mapping destination");
    return undefined;
  }
  const d: MappingDestination = { subject: "", weight: 0 };
  let weightSeen = false;
  for (const [key, rawKey, f] of entries(v.value)) {
    switch (key) {
      case "dest":
      case "destination":
        d.subject = issues.str(f) ?? "";
        break;
      case "weight": {
        let w: number;
        if (f.kind === "string") {
          const ws = f.value.endsWith("%") ? f.value.slice(0, -1) : f.value;
          if (!/^[+-]?\d+$/.test(ws)) {
            issues.error(f, `Invalid weight "${ws}" for mapping destination`);
            return undefined;
          }
          w = Number(ws);
        } else if (f.kind === "integer") {
          w = f.value;
        } else {
          issues.error(f, `Unknown entry type for weight of ${String(f.value)}\n`);
          return undefined;
        }
        if (w > 100 || w < 0) {
          issues.error(f, `Invalid weight ${w} for mapping destination`);
          return undefined;
        }
        d.weight = w;
        weightSeen = true;
        break;
      }
      case "cluster":
        d.cluster = issues.str(f) ?? "";
        break;
      default:
        issues.error(f, `Unknown field "${rawKey}" for mapping destination`);
        return undefined;
    }
  }
  if (!weightSeen) {
    issues.error(v, `Missing weight for mapping destination "${d.subject}"`);
    return undefined;
  }
  return d;
}

/** nats-server's checks when a mapping is added; the reason, or null. */
export function checkMapping(source: string, dests: readonly MappingDestination[]): string | null {
  const seen = new Set<string>();
  let total = 0;
  for (const d of dests) {
    if (seen.has(d.subject)) return `duplicate entry for "${d.subject}"`;
    seen.add(d.subject);
    if (d.weight > 100) return "individual weights need to be <= 100";
    total += d.weight;
    if (total > 100) return "total weight needs to be <= 100";
    try {
      validateMappingDestination(d.subject);
      new SubjectTransform(source, d.subject);
    } catch (e) {
      return (e as Error).message;
    }
  }
  return null;
}
