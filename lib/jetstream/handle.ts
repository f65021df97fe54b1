/**
 * What the server and JetStream see of each other: what JetStream needs of
 * the server ({@linkcode JetStreamHost}) and what the server and monitoring
 * use of it ({@linkcode JetStreamHandle} and its figures). Kept apart from
 * the implementation so lib/server.ts, lib/monitor and the account setup can
 * name these types without importing the `$JS.API` handlers.
 *
 * @module
 */
import type { Account } from "../server/account.ts";
import type { CompactionStats } from "./filestore.ts";

/** What JetStream needs of the server. */
export interface JetStreamHost {
  readonly globalAccount: Account;
  /** The server's settings (max_payload bounds a push consumer's rate-limit burst). */
  readonly options?: { readonly maxPayload: number };
  readonly log: {
    notice(msg: string): void;
    warn(msg: string): void;
    error(msg: string): void;
  };
}

/** The `config` part of /varz `jetstream` and /jsz. */
export interface JetStreamConfigInfo {
  max_memory: number;
  max_storage: number;
  store_dir: string;
  domain?: string;
  compress_ok?: boolean;
}

/** Usage figures (/varz `jetstream.stats`, /jsz). */
export interface JetStreamStats {
  memory: number;
  storage: number;
  reserved_memory: number;
  reserved_storage: number;
  accounts: number;
  ha_assets: number;
  api: { total: number; errors: number };
}

/** Per-stream figures and the file store's compaction counters (/metrics). */
export interface JetStreamMetrics {
  streams: Array<{
    account: string;
    name: string;
    storage: "file" | "memory";
    messages: number;
    bytes: number;
    consumers: number;
    /** Bytes of the message log on disk (0 for memory streams). */
    diskBytes: number;
  }>;
  /** Compaction since the server started, over every stream (deleted ones included). */
  compaction: CompactionStats;
}

/** What the server and monitoring use of JetStream. */
export interface JetStreamHandle {
  readonly config: JetStreamConfigInfo;
  stats(): JetStreamStats;
  /** Streams, consumers, messages and bytes over all streams (/jsz). */
  totals(): { streams: number; consumers: number; messages: number; bytes: number };
  /** Figures for /metrics and the dashboard. */
  metrics(): JetStreamMetrics;
  /** Whether the account named has JetStream (/accountz `jetstream_enabled`). */
  enabledFor(account: string): boolean;
  shutdown(): void;
}
