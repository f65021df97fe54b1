/**
 * JetStream per account, as nats-server 2.9 sets it up on one server: without
 * configured accounts the global account `$G` has JetStream with no limits;
 * with accounts, those whose `jetstream` is on have it (each with its own
 * `$JS.API`, streams, limits and store directory `<store>/jetstream/<name>`),
 * and every other account but the system account answers its API requests
 * with `JetStream not enabled for account` (503, 10039). Monitoring sums
 * over the accounts that have JetStream. See docs/jetstream.md.
 *
 * @module
 */
import type { JetStreamOptions } from "../config/options.ts";
import type { AccountOptions } from "../config/options.ts";
import type { Account } from "../server/account.ts";
import { unlimitedAccountJetStream } from "../config/from_config_jetstream.ts";
import { ApiError } from "./errors.ts";
import { InternalClient, type InternalMsg } from "./internal.ts";
import { goJson } from "./json.ts";
import { JetStream } from "./jetstream.ts";
import type {
  JetStreamConfigInfo,
  JetStreamHandle,
  JetStreamHost,
  JetStreamMetrics,
  JetStreamStats,
} from "./handle.ts";
import type { AccountContext, AccountJetStreamLimits } from "./limits.ts";
import { jetStreamConfig } from "./setup.ts";

/** What the accounts' JetStream needs of the server. */
export interface JetStreamServerHost extends JetStreamHost {
  readonly accounts: ReadonlyMap<string, Account>;
  readonly systemAccount: Account | null;
  /** The leaf connections (their accounts), null without leaf nodes. */
  readonly leafnodes: { leafzInfo(subscriptions: boolean): Array<{ account: string }> } | null;
}

const T = "io.nats.jetstream.api.v1.";
const encoder = new TextEncoder();

/** Resolves the store and the server's limits, then starts JetStream in each account that has it. */
export async function startJetStreamAccounts(
  host: JetStreamServerHost,
  options: JetStreamOptions,
  accounts: AccountOptions[],
): Promise<JetStreamAccounts> {
  const config = await jetStreamConfig(host, options);
  const sys = host.systemAccount?.name;
  const enabled = new Map<string, AccountJetStreamLimits>();
  const configured = accounts.filter((a) => a.name !== sys);
  if (configured.length === 0) enabled.set("$G", unlimitedAccountJetStream());
  for (const a of configured) if (a.jetstream) enabled.set(a.name, a.jetstream);
  // As nats-server: the accounts' memory and storage limits must fit in the server's.
  let memory = 0;
  let store = 0;
  for (const [name, l] of enabled) {
    if (!host.accounts.has(name)) continue;
    memory += Math.max(0, l.maxMemory);
    store += Math.max(0, l.maxStore);
    const why = memory > config.max_memory
      ? "insufficient memory resources available (10028)"
      : store > config.max_storage
      ? "insufficient storage resources available (10047)"
      : "";
    if (why !== "") {
      throw new Error(
        `Can't start JetStream: Error enabling jetstream on configured accounts: ${why}`,
      );
    }
  }
  const js = new JetStreamAccounts(host, config);
  for (const [name, account] of host.accounts) {
    const limits = enabled.get(name);
    if (limits) js.enable(account, limits);
    else if (account !== host.systemAccount) js.refuse(account);
  }
  return js;
}

export class JetStreamAccounts implements JetStreamHandle {
  readonly config: JetStreamConfigInfo;
  readonly #host: JetStreamServerHost;
  /** JetStream by account name, for the accounts that have it. */
  readonly engines = new Map<string, JetStream>();
  readonly #refusing: InternalClient[] = [];

  constructor(host: JetStreamServerHost, config: JetStreamConfigInfo) {
    this.#host = host;
    this.config = config;
  }

  /** Turns JetStream on in `account`: its streams come back from the store, then it serves. */
  enable(account: Account, limits: AccountJetStreamLimits): void {
    const sum = (f: (js: JetStream) => number) => {
      let n = 0;
      for (const js of this.engines.values()) n += f(js);
      return n;
    };
    const ctx: AccountContext = {
      name: account.name,
      account,
      limits,
      serverReserved: (storage) => sum((js) => js.reserved(storage)),
      serverUsed: (storage) => sum((js) => js.used(storage)),
      serverMax: (storage) =>
        storage === "memory" ? this.config.max_memory : this.config.max_storage,
    };
    const js = new JetStream(this.#host, this.config, ctx);
    this.engines.set(account.name, js);
    js.restoreStreams();
    js.start();
  }

  /**
   * An account without JetStream: each API request gets nats-server's 10039
   * answer, unless the account has a leaf connection (nats-server leaves the
   * answer to the other side then).
   */
  refuse(account: Account): void {
    const client = new InternalClient(account, (e) => {
      this.#host.log.error(`JetStream internal error: ${(e as Error)?.stack ?? e}`);
    });
    client.subscribe("$JS.API.>", (m) => {
      const leafs = this.#host.leafnodes?.leafzInfo(false) ?? [];
      if (leafs.some((l) => l.account === account.name)) return;
      const body = notEnabledReply(m);
      if (body !== null) client.publish(m.reply, "", null, encoder.encode(body));
    });
    this.#refusing.push(client);
  }

  stats(): JetStreamStats {
    const out: JetStreamStats = {
      memory: 0,
      storage: 0,
      reserved_memory: 0,
      reserved_storage: 0,
      accounts: this.engines.size,
      ha_assets: 0,
      api: { total: 0, errors: 0 },
    };
    for (const js of this.engines.values()) {
      const s = js.stats();
      out.memory += s.memory;
      out.storage += s.storage;
      out.reserved_memory += s.reserved_memory;
      out.reserved_storage += s.reserved_storage;
      out.api.total += s.api.total;
      out.api.errors += s.api.errors;
    }
    return out;
  }

  enabledFor(account: string): boolean {
    return this.engines.has(account);
  }

  /** A subscription came or went (a server extension hook): the account's push consumers look. */
  interestChanged(account: Account): void {
    for (const js of this.engines.values()) js.interestChanged(account);
  }

  totals(): { streams: number; consumers: number; messages: number; bytes: number } {
    const out = { streams: 0, consumers: 0, messages: 0, bytes: 0 };
    for (const js of this.engines.values()) {
      const t = js.totals();
      out.streams += t.streams;
      out.consumers += t.consumers;
      out.messages += t.messages;
      out.bytes += t.bytes;
    }
    return out;
  }

  metrics(): JetStreamMetrics {
    const streams: JetStreamMetrics["streams"] = [];
    let compaction: JetStreamMetrics["compaction"] | undefined;
    for (const js of this.engines.values()) {
      const m = js.metrics();
      streams.push(...m.streams);
      compaction = m.compaction; // Process-wide: the same from each account.
    }
    return {
      streams,
      compaction: compaction ??
        { rewritten: 0, removed: 0, reclaimedBytes: 0, maxPauseMs: 0, errors: 0 },
    };
  }

  shutdown(): void {
    for (const js of this.engines.values()) js.shutdown();
    for (const c of this.#refusing) c.close();
  }
}

/**
 * The answer of an account without JetStream to a request on `$JS.API.`:
 * the response type of the request with the error, and the paging fields
 * the list responses carry. Null for subjects nats-server does not answer.
 */
export function notEnabledReply(m: InternalMsg): string | null {
  if (m.reply === "") return null;
  const t = m.subject.split(".").slice(2);
  const n = t.length;
  const paged = { total: 0, offset: 0, limit: 0 };
  let type: string;
  let fields: Record<string, unknown> = {};
  if (t[0] === "INFO" && n === 1) type = "account_info";
  else if (t[0] === "STREAM") {
    const verb = t[1];
    if (verb === "NAMES" && n === 2) [type, fields] = ["stream_names", { ...paged, streams: null }];
    else if (verb === "LIST" && n === 2) {
      [type, fields] = ["stream_list", { ...paged, streams: [] }];
    } else if (verb === "MSG" && n === 4 && (t[2] === "GET" || t[2] === "DELETE")) {
      type = `stream_msg_${t[2].toLowerCase()}`;
    } else if (n !== 3) return null;
    else if (verb === "INFO") [type, fields] = ["stream_info", paged];
    else if (verb === "PURGE") [type, fields] = ["stream_purge", { purged: 0 }];
    else if (["CREATE", "UPDATE", "DELETE"].includes(verb)) type = `stream_${verb.toLowerCase()}`;
    else return null;
  } else if (t[0] === "CONSUMER") {
    const verb = t[1];
    if (verb === "CREATE" && n >= 3) type = "consumer_create";
    else if (verb === "DURABLE" && t[2] === "CREATE" && n >= 4) type = "consumer_create";
    else if ((verb === "NAMES" || verb === "LIST") && n === 3) {
      [type, fields] = [`consumer_${verb.toLowerCase()}`, { ...paged, consumers: [] }];
    } else if ((verb === "INFO" || verb === "DELETE") && n === 4) {
      type = `consumer_${verb.toLowerCase()}`;
    } else return null;
  } else return null;
  const error = new ApiError(503, 10039, "JetStream not enabled for account");
  return goJson({ type: `${T}${type}_response`, error, ...fields });
}
