/**
 * The `jetstream` block and the top-level `store_dir`, read as nats-server
 * 2.9 reads them: `jetstream: true|false|"enabled"|"disabled"` or a map with
 * `store_dir`, `max_memory_store`, `max_file_store`, `domain`, `enabled`.
 * Keys of features dnatsd's JetStream lacks (encryption, limits, tags) are
 * refused with a clear error rather than silently ignored.
 *
 * @module
 */
import type { ConfValue } from "./conf_parser.ts";
import { entries, goTypeOf, type IssueCollector } from "./conf_values.ts";

/** What the configuration says about JetStream (merged with flags later). */
export interface JetStreamConf {
  enabled?: boolean;
  storeDir?: string;
  maxMemory?: number;
  maxStore?: number;
  domain?: string;
}

/**
 * A size as nats-server's `getStorageSize`: an integer, or a string of
 * digits ending in K, M, G or T (powers of 1024). Returns an error text.
 */
export function storageSize(v: ConfValue): number | string {
  if (v.kind === "integer") return v.value as number;
  if (v.kind !== "string") return "must be int64 or string";
  const s = v.value as string;
  if (s === "") return 0;
  const prefix = s.slice(0, -1);
  if (!/^[+-]?\d+$/.test(prefix)) return `strconv.ParseInt: parsing "${prefix}": invalid syntax`;
  const shift = ({ K: 10, M: 20, G: 30, T: 40 } as Record<string, number>)[s.slice(-1)];
  if (shift === undefined) return "sizes defined as strings must end in K, M, G, T";
  return Number(prefix) * 2 ** shift;
}

/** Reads `jetstream: ...` into `conf` (errors go to `is`). */
export function readJetStreamBlock(is: IssueCollector, v: ConfValue, conf: JetStreamConf): void {
  if (v.kind === "bool") {
    conf.enabled = v.value as boolean;
    return;
  }
  if (v.kind === "string") {
    const s = (v.value as string).toLowerCase();
    if (s === "enabled" || s === "enable") conf.enabled = true;
    else if (s === "disabled" || s === "disable") conf.enabled = false;
    else {
      is.error(v, `Expected 'enabled' or 'disabled' for string value, got '${v.value}'`);
    }
    return;
  }
  if (v.kind !== "map") {
    is.error(v, `Expected map, bool or string to define JetStream, got ${goTypeOf(v)}`);
    return;
  }
  let enabled = true;
  for (const [key, rawKey, item] of entries(v.value)) {
    switch (key) {
      case "store":
      case "store_dir":
      case "storedir": {
        if (conf.storeDir !== undefined) {
          is.error(item, "Duplicate 'store_dir' configuration");
          break;
        }
        const s = is.str(item);
        if (s !== undefined) conf.storeDir = s;
        break;
      }
      case "max_memory_store":
      case "max_mem_store":
      case "max_mem": {
        const n = storageSize(item);
        if (typeof n === "string") is.error(item, `max_mem_store ${n}`);
        else conf.maxMemory = n;
        break;
      }
      case "max_file_store":
      case "max_file": {
        const n = storageSize(item);
        if (typeof n === "string") is.error(item, `max_file_store ${n}`);
        else conf.maxStore = n;
        break;
      }
      case "domain": {
        const s = is.str(item);
        if (s !== undefined) conf.domain = s;
        break;
      }
      case "enable":
      case "enabled": {
        const b = is.bool(item);
        if (b !== undefined) enabled = b;
        break;
      }
      case "key":
      case "ek":
      case "encryption_key":
      case "cipher":
      case "limits":
      case "unique_tag":
      case "max_outstanding_catchup":
      case "extension_hint":
        is.error(item, `"jetstream.${rawKey}" is not supported by dnatsd yet`);
        break;
      default:
        is.unknownField(item, rawKey);
    }
  }
  conf.enabled = enabled;
}
