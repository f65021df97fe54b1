/**
 * JetStream for one account: its streams (made, restored, stored to, with
 * acks held until the batch is on disk), the dispatch of its `$JS.API.>`
 * requests and the stream requests themselves, and the figures monitoring
 * shows. The consumer requests are in api_consumer.ts, the message requests
 * in api_msg.ts. The server loads this module only when JetStream is on
 * (`-js`, `jetstream {}`), and meets it through {@linkcode JetStreamHandle}
 * (handle.ts); see docs/jetstream.md.
 *
 * @module
 */
import type { Account } from "../server/account.ts";
import type {
  JetStreamConfigInfo,
  JetStreamHandle,
  JetStreamHost,
  JetStreamMetrics,
  JetStreamStats,
} from "./handle.ts";
import { ApiError, JSErr } from "./errors.ts";
import { InternalClient, type InternalMsg } from "./internal.ts";
import {
  hideSubjects,
  isValidName,
  normaliseConfig,
  Stream,
  type StreamConfig,
  subjectsOverlap,
} from "./stream.ts";
import { formatNs, nowNs } from "./time.ts";
import {
  Consumer,
  type ConsumerConfig,
  type ConsumerHost,
  type ConsumerState,
} from "./consumer.ts";
import { consumerApi, type ConsumerApiHost } from "./api_consumer.ts";
import { ConsumerRegistry } from "./consumer_registry.ts";
import { MirrorDirectGets } from "./mirror_direct.ts";
import { InterestWatch } from "./push.ts";
import { goJson, textBytes } from "./json.ts";
import { compactionTotals, StreamFiles } from "./filestore.ts";
import {
  DIRECT_GROUP,
  directGet,
  directGetLast,
  directSubjects,
  type MsgApiHost,
  msgDelete,
  msgGet,
} from "./api_msg.ts";
import { Retention } from "./retention.ts";
import { checkSourcing, Followers } from "./mirror.ts";
import {
  type AccountContext,
  accountOverLimit,
  checkStreamLimits,
  checkStreamMaxBytes,
  checkUpdateLimits,
  hasByteLimit,
  limitsJson,
  serverOverLimit,
} from "./limits.ts";

const API_PREFIX = "$JS.API.";
const T = "io.nats.jetstream.api.v1.";
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NAMES_LIMIT = 1024;
const LIST_LIMIT = 256;

export class JetStream implements JetStreamHandle {
  readonly config: JetStreamConfigInfo;
  readonly #host: JetStreamHost;
  readonly #client: InternalClient;
  readonly streams = new Map<string, Stream>();
  readonly #streamSids = new Map<string, string[]>();
  readonly #registry: ConsumerRegistry;
  /** Consumers by stream name, then by consumer name. */
  readonly consumers: Map<string, Map<string, Consumer>>;
  readonly #consumerHost: ConsumerHost;
  readonly #msgHost: MsgApiHost;
  /** What the consumer requests (api_consumer.ts) use of this JetStream. */
  readonly #consumerApi: ConsumerApiHost;
  /** File streams written since the last sync, and the acks that wait for it. */
  readonly #unsynced = new Set<StreamFiles>();
  readonly #pendingAcks: Array<[string, Uint8Array]> = [];
  #apiTotal = 0;
  #apiErrors = 0;
  /** The account this JetStream serves, its limits and the server's totals. */
  readonly ctx: AccountContext;
  /** The streams' mirrors and sources (lib/jetstream/mirror.ts). */
  readonly #followers = new Followers(
    (name) => this.streams.get(name),
    (mirror) => this.#mirrorDirect.subscribe(mirror),
  );
  /** The direct-get subscriptions a mirror holds for its origin (`mirror_direct`). */
  #mirrorDirect!: MirrorDirectGets;
  #interestWatch: InterestWatch;

  constructor(host: JetStreamHost, config: JetStreamConfigInfo, ctx: AccountContext) {
    this.#host = host;
    this.config = config;
    this.ctx = ctx;
    this.#client = new InternalClient(ctx.account, (e) => {
      host.log.error(`JetStream internal error: ${(e as Error)?.stack ?? e}`);
    });
    const client = this.#client;
    client.afterDrain = () => this.#commit();
    this.#registry = new ConsumerRegistry(client, this.streams, (c, e) => {
      host.log.error(
        `JetStream failed to save consumer '${ctx.name} > ${c.stream.config.name} > ${c.name}': ${e.message}`,
      );
    });
    this.consumers = this.#registry.byStream;
    const sublist = ctx.account.sublist;
    const watch = new InterestWatch(() => sublist.generation);
    this.#interestWatch = watch;
    this.#consumerHost = {
      publish: (subject, reply, hdr, data, deliverTo) =>
        reply === "" && deliverTo === undefined
          ? client.send(subject, hdr, data)
          : client.publish(subject, reply, hdr, data, deliverTo),
      hasInterest: (subject) => {
        const r = sublist.match(subject);
        return r.plain.length > 0 || r.queues.length > 0;
      },
      exactInterest: (subject, queue) => {
        const r = sublist.match(subject);
        if (queue === "") return r.plain.some((s) => s.subject === subject);
        return r.queues.some((g) => g.some((s) => s.subject === subject && s.queue === queue));
      },
      watchInterest: (cb) => watch.watch(cb),
      checkInterest: () => watch.check(),
      maxPayload: host.options?.maxPayload ?? 1024 * 1024,
      expired: (c) => this.#registry.remove(c),
    };
    this.#msgHost = {
      stream: (name) => this.streams.get(name),
      reply: (m, type, fields, error, track) => this.#reply(m, type, fields, error, track),
      send: (subject, hdr, data) => client.send(subject, hdr, data),
    };
    this.#mirrorDirect = new MirrorDirectGets(client, this.streams, this.#msgHost);
    this.#consumerApi = {
      streams: this.streams,
      consumers: this.consumers,
      registry: this.#registry,
      consumerHost: this.#consumerHost,
      ctx,
      reply: (m, type, fields, error) => this.#reply(m, type, fields, error),
      guard: (m, type, fields, fn) => this.#guard(m, type, fields, fn),
      body: (m) => this.#body(m),
    };
  }

  /** Group commit: one sync per file written in this batch, then the acks, in order. */
  #commit(): void {
    this.#registry.save();
    const acks = this.#pendingAcks.splice(0);
    let failed: Error | null = null;
    for (const files of this.#unsynced) {
      try {
        files.sync();
      } catch (e) {
        failed = e as Error;
      }
    }
    this.#unsynced.clear();
    if (failed !== null) {
      // Nothing of this batch is acknowledged: the publishers retry or give up.
      this.#host.log.error(`JetStream failed to sync the store: ${failed.message}`);
      return;
    }
    for (const [reply, ack] of acks) this.#client.send(reply, null, ack);
  }

  #consumerCount(): number {
    let n = 0;
    for (const m of this.consumers.values()) n += m.size;
    return n;
  }

  #streamDir(name: string): string {
    return `${this.config.store_dir}/${this.ctx.name}/streams/${name}`;
  }

  /** Loads the file streams found under the store directory. */
  restoreStreams(): void {
    const root = `${this.config.store_dir}/${this.ctx.name}/streams`;
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(root)].filter((e) => e.isDirectory);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw e;
    }
    const log = this.#host.log;
    for (const entry of entries.sort((a, b) => a.name < b.name ? -1 : 1)) {
      const files = new StreamFiles(`${root}/${entry.name}`);
      let meta: { config: StreamConfig; created: string };
      try {
        meta = files.readMeta() as { config: StreamConfig; created: string };
      } catch (e) {
        log.warn(
          `  Error reading stream metafile "${files.dir}/meta.json": ${(e as Error).message}`,
        );
        continue;
      }
      const name = meta.config.name;
      log.notice(`  Starting restore for stream '${this.ctx.name} > ${name}'`);
      const started = performance.now();
      const stream = this.#newStream(meta.config, meta.created);
      const { records, truncatedBytes } = files.recover();
      if (truncatedBytes > 0) {
        log.warn(
          `  Stream '${this.ctx.name} > ${name}': cut ${truncatedBytes} bytes of a torn last write`,
        );
      }
      stream.restore(records);
      stream.files = this.#watchCompaction(files, name);
      this.#subscribeStream(stream);
      for (const [cname, saved] of files.readConsumers()) {
        const rec = saved as { config: ConsumerConfig; created: string; state: ConsumerState };
        this.#registry.attach(new Consumer(stream, cname, rec.config, this.#consumerHost, rec));
      }
      const ms = (performance.now() - started).toFixed(0);
      log.notice(
        `  Restored ${stream.msgs.size} messages for stream '${this.ctx.name} > ${name}' in ${ms}ms`,
      );
    }
    for (const stream of this.streams.values()) this.#followers.add(stream);
  }

  /** Logs a compaction step that failed (the old segment stays; it is tried again later). */
  #watchCompaction(files: StreamFiles, name: string): StreamFiles {
    files.onError = (e) =>
      this.#host.log.error(
        `JetStream stream '${this.ctx.name} > ${name}' compaction failed: ${e.message}`,
      );
    return files;
  }

  #newStream(cfg: StreamConfig, created: string): Stream {
    const name = cfg.name;
    const stream = new Stream(hideSubjects(cfg), created);
    if (cfg.max_bytes > 0) this.#reservedBytes[cfg.storage] += cfg.max_bytes;
    if (cfg.retention !== "limits") {
      stream.retention = new Retention(stream, () => this.consumers.get(name)?.values() ?? []);
    }
    stream.onStored = () => {
      for (const c of this.consumers.get(name)?.values() ?? []) c.deliver();
      this.#followers.changed(name);
    };
    stream.onRemoved = () => {
      for (const c of this.consumers.get(name)?.values() ?? []) c.streamPurged();
    };
    const ctx = this.ctx;
    stream.guard = {
      before: () => serverOverLimit(ctx, stream.config.storage),
      after: () => {
        const storage = stream.config.storage;
        if (!hasByteLimit(ctx, storage)) return null;
        return accountOverLimit(ctx, storage, this.used(storage));
      },
    };
    this.streams.set(name, stream);
    return stream;
  }

  start(): void {
    this.#client.subscribe("$JS.API.>", (m) => this.#onApi(m));
  }

  /** A subscription came or went (a server extension hook): push consumers look. */
  interestChanged(account: Account): void {
    if (account === this.#client.account) this.#interestWatch.soon();
  }

  shutdown(): void {
    this.#registry.save();
    for (const m of this.consumers.values()) for (const c of m.values()) c.close();
    for (const s of this.streams.values()) s.close();
    this.#followers.close();
    this.#client.close();
  }

  enabledFor(account: string): boolean {
    return account === this.ctx.name;
  }

  /** Bytes stored in this account's streams of one storage type. */
  used(storage: "memory" | "file"): number {
    let n = 0;
    for (const s of this.streams.values()) if (s.config.storage === storage) n += s.bytes;
    return n;
  }

  /** Bytes the `max_bytes` of this account's streams of one storage type reserve. */
  reserved(storage: "memory" | "file"): number {
    return this.#reservedBytes[storage];
  }

  /**
   * What streams' `max_bytes` reserve, kept as nats-server keeps it: added
   * when a stream is made, the difference on an update (from -1 too), taken
   * back when it is deleted.
   */
  readonly #reservedBytes = { memory: 0, file: 0 };

  stats(): JetStreamStats {
    return {
      memory: this.used("memory"),
      storage: this.used("file"),
      reserved_memory: this.reserved("memory"),
      reserved_storage: this.reserved("file"),
      accounts: 1,
      ha_assets: 0,
      api: { total: this.#apiTotal, errors: this.#apiErrors },
    };
  }

  metrics(): JetStreamMetrics {
    const streams = [...this.streams.values()].map((s) => ({
      account: this.ctx.name,
      name: s.config.name,
      storage: s.config.storage,
      messages: s.msgs.size,
      bytes: s.bytes,
      consumers: this.consumers.get(s.config.name)?.size ?? 0,
      diskBytes: s.files?.diskBytes ?? 0,
    }));
    return { streams, compaction: { ...compactionTotals } };
  }

  totals(): { streams: number; consumers: number; messages: number; bytes: number } {
    let messages = 0;
    let bytes = 0;
    for (const s of this.streams.values()) {
      messages += s.msgs.size;
      bytes += s.bytes;
    }
    return { streams: this.streams.size, consumers: this.#consumerCount(), messages, bytes };
  }

  // --- the API -----------------------------------------------------------------

  #onApi(m: InternalMsg): void {
    if (m.reply === "") return; // nats-server answers requests only
    // Direct gets are served by their own subscriptions (api_msg.ts): not here.
    if (m.subject.startsWith("$JS.API.DIRECT.")) return;
    const tokens = m.subject.slice(API_PREFIX.length).split(".");
    const op = tokens[0];
    if (op === "INFO" && tokens.length === 1) return this.#accountInfo(m);
    if (op === "STREAM") {
      const verb = tokens[1];
      if (verb === "NAMES" && tokens.length === 2) return this.#streamNames(m);
      if (verb === "LIST" && tokens.length === 2) return this.#streamList(m);
      if (verb === "MSG" && tokens.length === 4) {
        if (tokens[2] === "GET") return msgGet(this.#msgHost, m, tokens[3]);
        if (tokens[2] === "DELETE") return msgDelete(this.#msgHost, m, tokens[3]);
        return;
      }
      if (tokens.length !== 3) return;
      const name = tokens[2];
      switch (verb) {
        case "CREATE":
          return this.#streamCreate(m, name);
        case "UPDATE":
          return this.#streamUpdate(m, name);
        case "INFO":
          return this.#streamInfo(m, name);
        case "DELETE":
          return this.#streamDelete(m, name);
        case "PURGE":
          return this.#streamPurge(m, name);
      }
      return;
    }
    if (op === "CONSUMER") return consumerApi(this.#consumerApi, m, tokens);
    // Anything else gets no answer, as from nats-server on one server.
  }

  /** Sends `{"type":...,"error":...,...fields}` (error first, as nats-server's structs). */
  #reply(
    m: InternalMsg,
    type: string,
    fields: Record<string, unknown>,
    error?: ApiError,
    track: "all" | "total" | "none" = "all",
  ): void {
    const body: Record<string, unknown> = { type };
    if (error) body.error = error;
    Object.assign(body, fields);
    if (track !== "none") {
      this.#apiTotal++;
      if (error && track === "all") this.#apiErrors++;
    }
    this.#client.publish(m.reply, "", null, encoder.encode(goJson(body)));
  }

  /** The request body as JSON; `undefined` for an empty body; throws invalid JSON. */
  #body(m: InternalMsg): unknown {
    const text = decoder.decode(m.data).trim();
    if (text === "") return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw JSErr.invalidJson();
    }
  }

  #guard(m: InternalMsg, type: string, fields: Record<string, unknown>, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      this.#reply(m, type, fields, e);
    }
  }

  #accountInfo(m: InternalMsg): void {
    const st = this.stats();
    const body: Record<string, unknown> = {
      memory: st.memory,
      storage: st.storage,
      streams: this.streams.size,
      consumers: this.#consumerCount(),
      limits: limitsJson(this.ctx.limits),
    };
    if (this.config.domain) body.domain = this.config.domain;
    body.api = { ...st.api };
    this.#reply(m, `${T}account_info_response`, body);
  }

  /** A stream's info; with its mirror or sources except in create responses (as nats-server). */
  #info(s: Stream, sourcing = true): Record<string, unknown> {
    return {
      config: s.config,
      created: s.created,
      state: s.state(this.consumers.get(s.config.name)?.size ?? 0),
      ...(sourcing ? this.#followers.info(s) : {}),
    };
  }

  #streamCreate(m: InternalMsg, name: string): void {
    const type = `${T}stream_create_response`;
    this.#guard(m, type, {}, () => {
      const body = this.#body(m);
      checkNameInBody(body, name);
      const { mirror, mirror_direct } = body as { mirror?: unknown; mirror_direct?: unknown };
      if (mirror_direct === true && (mirror === undefined || mirror === null)) {
        throw JSErr.streamInvalidConfig("stream has no mirror but does have mirror direct");
      }
      const configs = () => [...this.streams.values()].map((s) => s.config);
      checkStreamLimits(this.ctx, body as Record<string, unknown>, configs(), true);
      const replicas = (body as { num_replicas?: unknown }).num_replicas;
      if (typeof replicas === "number" && replicas > 1) throw JSErr.streamReplicasNotSupported();
      const cfg = normaliseConfig(body);
      this.#inheritMirrorDirect(cfg);
      checkSourcing(cfg, (n) => this.streams.get(n)?.config);
      checkStreamMaxBytes(this.ctx, cfg);
      const existing = this.streams.get(name);
      if (existing) {
        if (JSON.stringify(existing.config) !== JSON.stringify(cfg)) throw JSErr.streamNameExist();
        return this.#reply(m, type, { ...this.#info(existing, false), did_create: true });
      }
      checkStreamLimits(this.ctx, cfg, configs(), false);
      this.#checkOverlap(cfg, null);
      const created = formatNs(nowNs());
      let files: StreamFiles | null = null;
      if (cfg.storage === "file") {
        files = new StreamFiles(this.#streamDir(name));
        try {
          files.writeMeta({ config: cfg, created });
          files.recover();
        } catch (e) {
          files.close();
          throw JSErr.streamCreate((e as Error).message);
        }
      }
      const stream = this.#newStream(cfg, created);
      stream.files = files && this.#watchCompaction(files, name);
      this.#subscribeStream(stream);
      this.#followers.add(stream);
      this.#followers.changed(name);
      this.#reply(m, type, { ...this.#info(stream, false), did_create: true });
    });
  }

  #checkOverlap(cfg: StreamConfig, self: Stream | null): void {
    for (const other of this.streams.values()) {
      if (other === self) continue;
      for (const a of cfg.subjects!) {
        for (const b of other.config.subjects!) {
          if (subjectsOverlap(a, b)) throw JSErr.streamSubjectOverlap();
        }
      }
    }
  }

  #subscribeStream(stream: Stream): void {
    const sids = stream.config.subjects!.map((subject) =>
      this.#client.subscribe(subject, (m) => this.#onStreamMsg(stream, m))
    );
    if (stream.config.allow_direct) {
      // A queue group, as nats-server, so a client's member of `_sys_` shares the requests.
      const [byBody, bySubject] = directSubjects(stream.config.name);
      const live = () => this.streams.get(stream.config.name) === stream;
      sids.push(
        this.#client.subscribe(
          byBody,
          (m) => live() && directGet(this.#msgHost, stream, m),
          DIRECT_GROUP,
        ),
        this.#client.subscribe(
          bySubject,
          (m) => live() && directGetLast(this.#msgHost, stream, m),
          DIRECT_GROUP,
        ),
      );
    }
    this.#streamSids.set(stream.config.name, sids);
  }

  /**
   * A mirror of an existing stream takes `mirror_direct` from the origin's
   * `allow_direct`, whatever the request said, as nats-server's config check does.
   */
  #inheritMirrorDirect(cfg: StreamConfig): void {
    const origin = cfg.mirror ? this.streams.get(cfg.mirror.name) : undefined;
    if (origin) cfg.mirror_direct = origin.config.allow_direct;
  }

  #unsubscribeStream(stream: Stream): void {
    for (const sid of this.#streamSids.get(stream.config.name) ?? []) this.#client.unsubscribe(sid);
    this.#streamSids.delete(stream.config.name);
  }

  #onStreamMsg(stream: Stream, m: InternalMsg): void {
    if (this.streams.get(stream.config.name) !== stream) return;
    const result = stream.publish(m.subject, m.hdr === null ? null : m.hdr.slice(), m.data.slice());
    if (m.reply !== "" && !stream.config.no_ack && result.ack !== null) {
      let ack: Uint8Array;
      if (this.config.domain && result.stored) {
        ack = textBytes(
          result.ack.replace(`"seq":`, `"domain":${JSON.stringify(this.config.domain)}, "seq":`),
        );
      } else if (result.seq !== undefined) ack = stream.ackBytes(result.seq);
      else ack = textBytes(result.ack);
      if (stream.files !== null && result.stored) {
        // Answered once the batch is on disk (see #commit).
        this.#unsynced.add(stream.files);
        this.#pendingAcks.push([m.reply, ack]);
      } else if (this.#pendingAcks.length > 0) {
        this.#pendingAcks.push([m.reply, ack]); // Keep the acks in order
      } else {
        this.#client.send(m.reply, null, ack);
      }
    } else if (stream.files !== null && result.stored) {
      this.#unsynced.add(stream.files);
    }
  }

  #streamUpdate(m: InternalMsg, name: string): void {
    const type = `${T}stream_update_response`;
    this.#guard(m, type, {}, () => {
      const body = this.#body(m);
      checkNameInBody(body, name);
      const cfg = normaliseConfig(body);
      this.#inheritMirrorDirect(cfg);
      const stream = this.streams.get(name);
      if (!stream) throw JSErr.streamNotFound();
      const old = stream.config;
      const bad = (why: string) => JSErr.streamInvalidConfig(why);
      if (cfg.max_consumers !== old.max_consumers) {
        throw bad("stream configuration update can not change MaxConsumers");
      }
      if (cfg.storage !== old.storage) {
        throw bad("stream configuration update can not change storage type");
      }
      if (cfg.retention !== old.retention) {
        throw bad("stream configuration update can not change retention policy");
      }
      if (!cfg.sealed && old.sealed) {
        throw bad("stream configuration update can not unseal a sealed stream");
      }
      if (!cfg.deny_delete && old.deny_delete) {
        throw bad("stream configuration update can not cancel deny message deletes");
      }
      if (!cfg.deny_purge && old.deny_purge) {
        throw bad("stream configuration update can not cancel deny purge");
      }
      if (cfg.num_replicas !== old.num_replicas) throw JSErr.streamReplicasNotUpdatable();
      if (JSON.stringify(cfg.mirror) !== JSON.stringify(old.mirror)) {
        throw new ApiError(400, 10055, "stream mirror configuration can not be updated");
      }
      checkSourcing(cfg, (n) => (n === name ? cfg : this.streams.get(n)?.config));
      checkStreamMaxBytes(this.ctx, cfg);
      const configs = [...this.streams.values()].map((s) => s.config);
      checkUpdateLimits(this.ctx, cfg, old, configs);
      this.#checkOverlap(cfg, stream);
      this.#unsubscribeStream(stream);
      stream.config = cfg;
      this.#reservedBytes[cfg.storage] += cfg.max_bytes - old.max_bytes;
      stream.files?.writeMeta({ config: cfg, created: stream.created });
      this.#subscribeStream(stream);
      stream.enforceLimits();
      if (JSON.stringify(cfg.sources) !== JSON.stringify(old.sources)) {
        this.#followers.remove(stream);
        this.#followers.add(stream);
      }
      this.#reply(m, type, this.#info(stream));
    });
  }

  #streamInfo(m: InternalMsg, name: string): void {
    const type = `${T}stream_info_response`;
    const paged = { total: 0, offset: 0, limit: 0 };
    this.#guard(m, type, paged, () => {
      this.#body(m);
      const stream = this.streams.get(name);
      if (!stream) throw JSErr.streamNotFound();
      this.#reply(m, type, { ...paged, ...this.#info(stream) });
    });
  }

  #streamNames(m: InternalMsg): void {
    const type = `${T}stream_names_response`;
    this.#guard(m, type, {}, () => {
      const { total, offset, page } = this.#streamPage(m, NAMES_LIMIT);
      const names = page.map((s) => s.config.name);
      // Go marshals the empty list as null.
      this.#reply(m, type, {
        total,
        offset,
        limit: NAMES_LIMIT,
        streams: names.length > 0 ? names : null,
      });
    });
  }

  #streamList(m: InternalMsg): void {
    const type = `${T}stream_list_response`;
    this.#guard(m, type, {}, () => {
      const { total, offset, page } = this.#streamPage(m, LIST_LIMIT);
      this.#reply(m, type, {
        total,
        offset,
        limit: LIST_LIMIT,
        streams: page.map((s) => this.#info(s)),
      });
    });
  }

  /**
   * One page of the streams a NAMES or LIST request asks for: those whose
   * subjects overlap its `subject` filter, by name, from its `offset`.
   */
  #streamPage(m: InternalMsg, limit: number): { total: number; offset: number; page: Stream[] } {
    const req = (this.#body(m) ?? {}) as { subject?: string; offset?: number };
    const all = [...this.streams.values()]
      .filter((s) =>
        !req.subject || s.config.subjects!.some((x) => subjectsOverlap(x, req.subject!))
      )
      .sort((a, b) => a.config.name < b.config.name ? -1 : a.config.name > b.config.name ? 1 : 0);
    const offset = Math.max(0, req.offset ?? 0);
    return { total: all.length, offset, page: all.slice(offset, offset + limit) };
  }

  #streamDelete(m: InternalMsg, name: string): void {
    const type = `${T}stream_delete_response`;
    this.#guard(m, type, {}, () => {
      const stream = this.streams.get(name);
      if (!stream) throw JSErr.streamNotFound();
      this.#unsubscribeStream(stream);
      this.#mirrorDirect.unsubscribe(stream);
      this.#followers.remove(stream);
      stream.retention = null;
      for (const c of [...(this.consumers.get(name)?.values() ?? [])]) this.#registry.remove(c);
      this.consumers.delete(name);
      stream.close();
      this.streams.delete(name);
      const cfg = stream.config;
      if (cfg.max_bytes > 0) this.#reservedBytes[cfg.storage] -= cfg.max_bytes;
      stream.files?.remove();
      this.#reply(m, type, { success: true });
    });
  }

  #streamPurge(m: InternalMsg, name: string): void {
    const type = `${T}stream_purge_response`;
    this.#guard(m, type, { purged: 0 }, () => {
      const stream = this.streams.get(name);
      if (!stream) throw JSErr.streamNotFound();
      const req = (this.#body(m) ?? {}) as { filter?: string; seq?: number; keep?: number };
      if (req.seq && req.keep) {
        throw JSErr.badRequest(); // sequence and keep cannot both be set
      }
      if (stream.config.sealed) throw JSErr.streamSealed();
      if (stream.config.deny_purge) {
        throw new ApiError(500, 10110, "stream purge not permitted");
      }
      let purged: number;
      try {
        purged = stream.purge(req.filter, req.keep, req.seq);
      } catch (e) {
        if (e instanceof ApiError) throw e;
        // A record could not be written (a full disk): what was removed before it stays removed.
        throw JSErr.streamGeneral((e as Error).message);
      }
      this.#reply(m, type, { success: true, purged });
    });
  }
}

/** The request's stream name must be the one in the subject (checked first, as nats-server). */
function checkNameInBody(body: unknown, name: string): void {
  if (/[\\/]/.test(name)) throw JSErr.streamNameContainsPathSeparators();
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw JSErr.invalidJson();
  if ((body as { name?: unknown }).name !== name) throw JSErr.streamMismatch();
}

export { isValidName };
