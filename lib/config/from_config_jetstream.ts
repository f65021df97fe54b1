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
import { describeGoValue, entries, goTypeOf, type IssueCollector } from "./conf_values.ts";

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

/**
 * An account's JetStream limits (`accounts { A: { jetstream: ... } } }`), -1
 * for unlimited, as nats-server's `JetStreamAccountLimits`.
 */
export interface AccountJetStreamLimits {
  maxMemory: number;
  maxStore: number;
  maxStreams: number;
  maxConsumers: number;
  maxAckPending: number;
  memoryMaxStreamBytes: number;
  storeMaxStreamBytes: number;
  maxBytesRequired: boolean;
}

/** Every limit off: `jetstream: enabled` and the defaults of the map form. */
export function unlimitedAccountJetStream(): AccountJetStreamLimits {
  return {
    maxMemory: -1,
    maxStore: -1,
    maxStreams: -1,
    maxConsumers: -1,
    maxAckPending: -1,
    memoryMaxStreamBytes: -1,
    storeMaxStreamBytes: -1,
    maxBytesRequired: false,
  };
}

/**
 * Reads an account's `jetstream` as nats-server 2.9 does: a bool, `enabled`
 * / `disabled`, or a map of limits (the sizes are plain integers there).
 * Returns the limits, null when JetStream is off for the account, undefined
 * after an error.
 */
export function readAccountJetStream(
  is: IssueCollector,
  v: ConfValue,
): AccountJetStreamLimits | null | undefined {
  if (v.kind === "bool") return v.value ? unlimitedAccountJetStream() : null;
  if (v.kind === "string") {
    const s = (v.value as string).toLowerCase();
    if (s === "enabled" || s === "enable") return unlimitedAccountJetStream();
    if (s === "disabled" || s === "disable") return null;
    // nats-server gives these two without a position.
    is.error(undefined, `Expected 'enabled' or 'disabled' for string value, got '${v.value}'`);
    return undefined;
  }
  if (v.kind !== "map") {
    is.error(undefined, `Expected map, bool or string to define JetStream, got ${goTypeOf(v)}`);
    return undefined;
  }
  const limits = unlimitedAccountJetStream();
  let failed = false;
  for (const [key, rawKey, item] of entries(v.value)) {
    const size = (): number | undefined => {
      if (item.kind === "integer") return item.value as number;
      is.error(item, `Expected a parseable size for "${rawKey}", got ${describeGoValue(item)}`);
      failed = true;
      return undefined;
    };
    let n: number | undefined;
    switch (key) {
      case "max_memory":
      case "max_mem":
      case "mem":
      case "memory":
        if ((n = size()) !== undefined) limits.maxMemory = n;
        break;
      case "max_store":
      case "max_file":
      case "max_disk":
      case "store":
      case "disk":
        if ((n = size()) !== undefined) limits.maxStore = n;
        break;
      case "max_streams":
      case "streams":
        if ((n = size()) !== undefined) limits.maxStreams = n;
        break;
      case "max_consumers":
      case "consumers":
        if ((n = size()) !== undefined) limits.maxConsumers = n;
        break;
      case "max_bytes_required":
      case "max_stream_bytes":
      case "max_bytes":
        if (item.kind === "bool") limits.maxBytesRequired = item.value as boolean;
        else {
          is.error(item, `Expected a parseable bool for "${rawKey}", got ${describeGoValue(item)}`);
          failed = true;
        }
        break;
      case "mem_max_stream_bytes":
      case "memory_max_stream_bytes":
        if ((n = size()) !== undefined) limits.memoryMaxStreamBytes = n;
        break;
      case "disk_max_stream_bytes":
      case "store_max_stream_bytes":
        if ((n = size()) !== undefined) limits.storeMaxStreamBytes = n;
        break;
      case "max_ack_pending":
        if ((n = size()) !== undefined) limits.maxAckPending = n;
        break;
      default:
        is.unknownField(item, rawKey);
    }
  }
  return failed ? undefined : limits;
}
