/**
 * The system account as nats-server 2.9 runs it: the server's internal
 * client and its subscriptions, the events it publishes (client connect and
 * disconnect, account connection counts, periodic STATSZ, shutdown) and the
 * `$SYS.REQ.*` requests it answers with the lib/monitor bodies. Every server
 * of a cluster subscribes, and the subscriptions travel over routes like any
 * other interest, so a ping gathers one answer per server.
 *
 * Events are built only when someone outside this server's internal client
 * listens on their subject. Handlers run after the read that delivered their
 * message (never inside a fan-out), and what they publish is written at the
 * end of their batch. See docs/system_account.md.
 *
 * @module
 */
import type { MonitoredServer, Server } from "../server.ts";
import type { SystemHandle } from "../server/feature_handles.ts";
import type { Account } from "../server/account.ts";
import { GLOBAL_ACCOUNT } from "../server/account.ts";
import type { ClientConnection } from "../client/connection.ts";
import { ClosedReason } from "../conn/closed_reason.ts";
import { fanOut, PublishContext } from "../delivery/deliver.ts";
import { describeInternalPublish } from "../delivery/internal.ts";
import type { Subscription } from "../delivery/subscription.ts";
import { buildConnz } from "../monitor/connz.ts";
import { buildSubszEnvelope } from "../monitor/subsz.ts";
import { buildRoutez, routeInfos } from "../monitor/routez.ts";
import { accountStat, buildAccountz, buildAccstatz } from "../monitor/accountz.ts";
import { buildGatewayz, buildHealthz, buildJsz } from "../monitor/health.ts";
import { buildLeafz } from "../monitor/leafz.ts";
import { buildVarz, totalSubscriptions } from "../monitor/varz.ts";
import { cpuCores, CpuSampler, residentMemory } from "../monitor/proc_stats.ts";
import type { JsonObject } from "../monitor/types.ts";
import { InternalClient, type InternalHandler, type InternalMessage } from "./internal_client.ts";
import {
  accountConnsEvent,
  type AccountStat,
  apiResponse,
  type ClientFacts,
  connectEvent,
  disconnectEvent,
  eventId,
  serverHash,
  serverInfo,
  statszMessage,
} from "./events.ts";
import {
  accountStatzParams,
  accountzParams,
  BadRequest,
  connzParams,
  decodeBody,
  filteredOut,
  leafzParams,
  readFilter,
  RequestFailed,
  routezParams,
  subszParams,
} from "./request_options.ts";

/** What the system module uses of the server. */
export type SystemServer =
  & MonitoredServer
  & Pick<Server, "globalAccount" | "reserveClientId" | "interestChanged" | "flushPending">;

/** nats-server's events heartbeat: STATSZ and account connection counts. */
const HEARTBEAT_MS = 30_000;
/** The first STATSZ goes out after this, then the pace doubles up to the heartbeat. */
const FIRST_STATSZ_MS = 250;
/** A server not heard from for five heartbeats is forgotten (active_servers). */
const ORPHAN_MS = 5 * HEARTBEAT_MS;
/** How long the answers to a request relayed from an account are passed back. */
const RELAY_MS = 10_000;
/** Requests relayed at once, at most (each holds a reply mapping for RELAY_MS). */
const MAX_RELAYS = 10_000;

/** The monitoring endpoints a server answers under `$SYS.REQ.SERVER.{PING,<id>}.<name>`. */
const SERVER_ENDPOINTS = [
  "STATSZ",
  "VARZ",
  "SUBSZ",
  "CONNZ",
  "ROUTEZ",
  "GATEWAYZ",
  "LEAFZ",
  "ACCOUNTZ",
  "JSZ",
  "HEALTHZ",
] as const;

const encoder = new TextEncoder();

/** A request's answer: data for `{server, data}`, or null to stay silent. */
type Answer = (body: Record<string, unknown>, msg: InternalMessage) => unknown | null;

/** Starts the system account's internal client, subscriptions and timers. */
export async function startSystem(server: SystemServer, account: Account): Promise<SystemHandle> {
  const hash = await serverHash(server.serverName);
  return new SystemAccount(server, account, hash);
}

class SystemAccount implements SystemHandle {
  readonly account: Account;
  readonly #server: SystemServer;
  readonly #hash: string;
  readonly #client: InternalClient;
  /** Holds `$SYS.DEBUG.SUBSCRIBERS`, which nats-server keeps off routes. */
  readonly #localClient: InternalClient;
  /** Each other account's client, holding its automatic service-import subscriptions. */
  readonly #accountClients = new Map<Account, InternalClient>();
  /** Other servers heard from (STATSZ), by id: when. */
  readonly #servers = new Map<string, number>();
  /** `$SYS._INBOX.<hash>.<token>` -> where to pass answers back. */
  readonly #relays = new Map<string, { account: Account; reply: string }>();
  readonly #cpu = new CpuSampler();
  #seq = 0;
  #queue: (() => void)[] = [];
  #scheduled = false;
  #statszDelay = FIRST_STATSZ_MS;
  #statszTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #stopped = false;

  constructor(server: SystemServer, account: Account, hash: string) {
    this.#server = server;
    this.account = account;
    this.#hash = hash;
    const schedule = (run: () => void) => this.#schedule(run);
    this.#client = new InternalClient(server.reserveClientId(), account, schedule, { echo: true });
    this.#localClient = new InternalClient(this.#client.cid, account, schedule, {
      localOnly: true,
    });
    this.#subscribeSystem();
    for (const acc of server.accounts.values()) this.accountAdded(acc);
    // nats-server then gives the system account an internal client of its own
    // (for its service exports): one more id that no connection gets.
    server.reserveClientId();
    this.#statszTimer = setTimeout(() => this.#statszTick(), this.#statszDelay);
    Deno.unrefTimer(Number(this.#statszTimer));
    this.#heartbeat = setInterval(() => this.#heartbeatTick(), HEARTBEAT_MS);
    Deno.unrefTimer(Number(this.#heartbeat));
  }

  // ------------------------------------------------------------ subscriptions

  /** The system account's subscriptions, the same subjects as nats-server's. */
  #subscribeSystem(): void {
    const id = this.#server.serverId;
    const sub = (subject: string, handler: InternalHandler) => {
      this.#insert(this.#client.subscription(subject, handler), true);
    };
    const ignore: InternalHandler = () => {};
    sub(`$SYS._INBOX.${this.#hash}.*`, (m) => this.#relayBack(m));
    sub("$SYS.SERVER.ACCOUNT.*.CONNS", ignore);
    sub(`$SYS._INBOX_.${id}`, ignore);
    sub("$SYS.REQ.ACCOUNT.NSUBS", ignore);
    sub("$SYS.SERVER.*.STATSZ", (m) => this.#remoteStatsz(m));
    sub("$SYS.SERVER.*.SHUTDOWN", (m) => this.#servers.delete(m.subject.split(".")[2]));
    sub("$SYS.ACCOUNT.*.CLAIMS.UPDATE", ignore);
    sub("$SYS.REQ.ACCOUNT.*.CLAIMS.UPDATE", ignore);
    sub("$SYS.REQ.SERVER.PING", (m) => this.#statszRequest(m));
    const answers = this.#serverAnswers();
    for (const name of SERVER_ENDPOINTS) {
      const handler: InternalHandler = name === "STATSZ"
        ? (m) => this.#statszRequest(m)
        : (m) => this.#request(m, answers[name]);
      sub(`$SYS.REQ.SERVER.${id}.${name}`, handler);
      sub(`$SYS.REQ.SERVER.PING.${name}`, handler);
    }
    const accountAnswers = this.#accountAnswers();
    for (const name of ["SUBSZ", "CONNZ", "LEAFZ", "JSZ", "INFO", "STATZ", "CONNS"]) {
      const answer = accountAnswers[name];
      sub(
        `$SYS.REQ.ACCOUNT.*.${name}`,
        name === "CONNS"
          ? (m) => this.#connsRequest(m)
          : answer
          ? (m) => this.#request(m, answer)
          : ignore,
      );
    }
    sub("$SYS.REQ.ACCOUNT.PING.STATZ", (m) => this.#request(m, (b) => this.#accountStatz(b, [])));
    sub("$SYS.ACCOUNT.*.LEAFNODE.CONNECT", ignore);
    sub(`$SYS.LATENCY.M2.${this.#hash}`, ignore);
    const sid = this.#client.takeSid();
    this.#insert(this.#localClient.subscription("$SYS.DEBUG.SUBSCRIBERS", ignore, sid), false);
  }

  #insert(sub: Subscription, forward: boolean): void {
    if (!sub.client!.account.sublist.insert(sub)) return;
    if (forward) this.#server.interestChanged(sub.client!.account, sub, true);
  }

  /**
   * Gives `account` the subscriptions nats-server's automatic service imports
   * from the system account make (`$SYS.REQ.{SERVER,ACCOUNT}.PING.CONNZ`,
   * `$SYS.REQ.ACCOUNT.PING.STATZ`): a client of the account asks them and
   * gets its own account's connections and counters from every server. They
   * are answered here directly; they stay off routes, as in nats-server.
   */
  accountAdded(account: Account): void {
    if (account === this.account || this.#accountClients.has(account)) return;
    const client = new InternalClient(
      this.#server.reserveClientId(),
      account,
      (run) => this.#schedule(run),
      { localOnly: true },
    );
    this.#accountClients.set(account, client);
    const connz = `$SYS.REQ.ACCOUNT.${account.name}.CONNZ`;
    const statz = `$SYS.REQ.ACCOUNT.${account.name}.STATZ`;
    const sub = (subject: string, to: string) => {
      this.#insert(client.subscription(subject, (m) => this.#relay(client, m, to)), false);
    };
    sub("$SYS.REQ.ACCOUNT.PING.CONNZ", connz);
    sub("$SYS.REQ.SERVER.PING.CONNZ", connz);
    sub("$SYS.REQ.ACCOUNT.PING.STATZ", statz);
  }

  // ------------------------------------------------------------ client events

  /**
   * Every new connection starts in the global account: nats-server announces
   * that account's count then (and not again when the client moves on).
   */
  clientAccepted(client: ClientConnection): void {
    this.#accountConns(client.account);
  }

  clientConnected(client: ClientConnection): void {
    const account = client.account;
    // nats-server sends no connect or disconnect events for the global account.
    if (account.name === GLOBAL_ACCOUNT) return;
    this.#accountConns(account);
    const subject = `$SYS.ACCOUNT.${account.name}.CONNECT`;
    if (!this.#interested(subject)) return;
    const facts = clientFacts(client);
    this.#schedule(() => this.#send(subject, connectEvent(this.#serverInfo(), facts)));
  }

  clientClosed(client: ClientConnection): void {
    const account = client.account;
    if (client.closedReason === ClosedReason.AuthenticationViolation) this.#authError(client);
    if (account.name === GLOBAL_ACCOUNT) return;
    this.#accountConns(account);
    const subject = `$SYS.ACCOUNT.${account.name}.DISCONNECT`;
    if (!this.#interested(subject)) return;
    const facts = { ...clientFacts(client), stopMs: client.stop?.getTime() ?? Date.now() };
    facts.rttMs = client.rttMs;
    const sent = { msgs: client.inMsgs, bytes: client.inBytes };
    const received = { msgs: client.outMsgs, bytes: client.outBytes };
    const reason = client.closedReason ?? "";
    this.#schedule(() =>
      this.#send(subject, disconnectEvent(this.#serverInfo(), facts, sent, received, reason))
    );
  }

  /** `$SYS.SERVER.<id>.CLIENT.AUTH.ERR`: a client refused at login (a disconnect event). */
  #authError(client: ClientConnection): void {
    const subject = `$SYS.SERVER.${this.#server.serverId}.CLIENT.AUTH.ERR`;
    if (!this.#interested(subject)) return;
    // The user it tried to log in as, as nats-server reports it.
    const user = client.user ?? client.credentials?.user;
    const facts = { ...clientFacts(client), user, stopMs: client.stop?.getTime() ?? Date.now() };
    // nats-server estimates the RTT at CONNECT (the time since accept) before it authenticates.
    facts.rttMs = client.rttMs || Math.max(0.001, facts.stopMs - facts.startMs);
    const sent = { msgs: client.inMsgs, bytes: client.inBytes };
    const received = { msgs: client.outMsgs, bytes: client.outBytes };
    const reason = ClosedReason.AuthenticationViolation;
    this.#schedule(() =>
      this.#send(subject, disconnectEvent(this.#serverInfo(), facts, sent, received, reason))
    );
  }

  /** `$SYS.ACCOUNT.<acc>.SERVER.CONNS` and its older name, when either is listened to. */
  #accountConns(account: Account, replyTo?: string): void {
    const subjects = replyTo !== undefined ? [replyTo] : [
      `$SYS.SERVER.ACCOUNT.${account.name}.CONNS`,
      `$SYS.ACCOUNT.${account.name}.SERVER.CONNS`,
    ].filter((s) => this.#interested(s));
    if (subjects.length === 0) return;
    this.#schedule(() => {
      const stat = accountStat(account) as unknown as AccountStat;
      for (const s of subjects) this.#send(s, accountConnsEvent(this.#serverInfo(), stat));
    });
  }

  // ------------------------------------------------------------ statsz and heartbeats

  #statszTick(): void {
    if (this.#stopped) return;
    this.#statszDelay = Math.min(this.#statszDelay * 2, HEARTBEAT_MS);
    this.#statszTimer = setTimeout(() => this.#statszTick(), this.#statszDelay);
    Deno.unrefTimer(Number(this.#statszTimer));
    const subject = `$SYS.SERVER.${this.#server.serverId}.STATSZ`;
    if (this.#interested(subject)) this.#schedule(() => this.#sendStatsz(subject));
  }

  #heartbeatTick(): void {
    const now = Date.now();
    for (const [id, seen] of this.#servers) {
      if (now - seen > ORPHAN_MS) this.#servers.delete(id);
    }
    for (const account of this.#server.accounts.values()) {
      if (account.clients.size > 0) this.#accountConns(account);
    }
  }

  #sendStatsz(subject: string): void {
    this.#send(subject, this.#statsz());
  }

  #statsz(): JsonObject {
    const s = this.#server;
    let active = 0;
    for (const a of s.accounts.values()) if (a.clients.size > 0) active++;
    return statszMessage(this.#serverInfo(), {
      startMs: s.startTime.getTime(),
      mem: residentMemory(),
      cores: cpuCores(),
      cpu: this.#cpu.sample(),
      connections: s.clients.size,
      totalConnections: s.stats.totalConnections,
      activeAccounts: active,
      subscriptions: totalSubscriptions(s),
      sent: { msgs: s.stats.outMsgs, bytes: s.stats.outBytes },
      received: { msgs: s.stats.inMsgs, bytes: s.stats.inBytes },
      slowConsumers: s.stats.slowConsumers,
      routes: routeInfos(s).map((r) => ({
        rid: r.rid,
        ...(r.remote_name ? { name: r.remote_name } : {}),
        sent: { msgs: r.out_msgs, bytes: r.out_bytes },
        received: { msgs: r.in_msgs, bytes: r.in_bytes },
        pending: r.pending_size,
      })),
      activeServers: 1 + this.#servers.size,
    });
  }

  #remoteStatsz(m: InternalMessage): void {
    const id = m.subject.split(".")[2];
    if (id !== this.#server.serverId) this.#servers.set(id, Date.now());
  }

  // ------------------------------------------------------------ requests

  /** `$SYS.REQ.SERVER.PING[.STATSZ]`: without a reply, the answer is broadcast. */
  #statszRequest(m: InternalMessage): void {
    const reply = m.reply || `$SYS.SERVER.${this.#server.serverId}.STATSZ`;
    try {
      const body = decodeBody(m.body);
      if (filteredOut(readFilter(body), this.#me())) return;
    } catch (e) {
      const error = { code: 400, description: (e as Error).message };
      this.#send(reply, apiResponse(this.#serverInfo(), { error }));
      return;
    }
    this.#sendStatsz(reply);
  }

  /** A monitoring request: options and filter from the body, `{server, data|error}` back. */
  #request(m: InternalMessage, answer: Answer): void {
    if (m.reply === "") return;
    let data: unknown;
    try {
      const body = decodeBody(m.body);
      if (filteredOut(readFilter(body), this.#me())) return;
      data = answer(body, m);
    } catch (e) {
      // A body that does not decode is refused before the endpoint runs (no `data`);
      // an endpoint's own refusal comes with `data: null`, as from nats-server.
      const bad = e instanceof BadRequest;
      const error = { code: bad ? 400 : 500, description: (e as Error).message };
      this.#send(m.reply, apiResponse(this.#serverInfo(), bad ? { error } : { data: null, error }));
      return;
    }
    if (data === null) return;
    this.#send(m.reply, apiResponse(this.#serverInfo(), { data }));
  }

  #serverAnswers(): Record<string, Answer> {
    const s = this.#server;
    return {
      VARZ: () =>
        buildVarz(s, {
          httpPort: s.monitor?.httpPort ?? 0,
          httpsPort: s.monitor?.httpsPort ?? 0,
          reqStats: s.monitor?.reqStats ?? new Map(),
          cpu: this.#cpu,
        }),
      SUBSZ: (b) => buildSubszEnvelope(s, subszParams(b)),
      CONNZ: (b) => buildConnz(s, connzParams(b)),
      ROUTEZ: (b) => buildRoutez(s, routezParams(b)),
      GATEWAYZ: () => buildGatewayz(s),
      LEAFZ: (b) => buildLeafz(s, leafzParams(b)),
      ACCOUNTZ: (b) => buildAccountz(s, accountzParams(b)),
      JSZ: () => buildJsz(s),
      HEALTHZ: () => buildHealthz(s).body,
    };
  }

  /** `$SYS.REQ.ACCOUNT.<acc>.<name>` (JSZ: JetStream is off, an error as from nats-server). */
  #accountAnswers(): Record<string, Answer | undefined> {
    const s = this.#server;
    const acc = (m: InternalMessage) => m.subject.split(".")[3];
    return {
      SUBSZ: (b, m) => buildSubszEnvelope(s, { ...subszParams(b), subs: true, acc: acc(m) }),
      CONNZ: (b, m) => buildConnz(s, { ...connzParams(b), acc: acc(m) }),
      LEAFZ: (b, m) => buildLeafz(s, { ...leafzParams(b), acc: acc(m) }),
      INFO: (_b, m) => buildAccountz(s, { acc: acc(m) }).account_detail,
      JSZ: () => {
        throw new RequestFailed("jetstream not enabled");
      },
      STATZ: (b, m) => acc(m) === "PING" ? null : this.#accountStatz(b, [acc(m)]),
    };
  }

  /** AccountStatz, or silence when it lists nothing and unused accounts were not asked for. */
  #accountStatz(body: Record<string, unknown>, only: string[]): JsonObject | null {
    const p = accountStatzParams(body);
    const accounts = only.length > 0 ? only : p.accounts;
    const out = buildAccstatz(this.#server, { unused: p.unused, accounts });
    if ((out.account_statz as unknown[]).length === 0 && !p.unused) return null;
    return out;
  }

  /** `$SYS.REQ.ACCOUNT.<acc>.CONNS`: this server's count, when it has clients there. */
  #connsRequest(m: InternalMessage): void {
    const account = this.#server.accounts.get(m.subject.split(".")[3]);
    if (account === undefined || account.clients.size === 0 || m.reply === "") return;
    this.#accountConns(account, m.reply);
  }

  // ------------------------------------------------------------ relayed account requests

  /** A client of `client.account` asked a system service: ask every server in `$SYS`. */
  #relay(client: InternalClient, m: InternalMessage, to: string): void {
    if (m.reply === "" || this.#relays.size >= MAX_RELAYS) return;
    const inbox = `$SYS._INBOX.${this.#hash}.${eventId().slice(0, 8)}`;
    this.#relays.set(inbox, { account: client.account, reply: m.reply });
    const t = setTimeout(() => this.#relays.delete(inbox), RELAY_MS);
    Deno.unrefTimer(t);
    this.#publish(this.account, to, inbox, m.body, this.#client);
  }

  #relayBack(m: InternalMessage): void {
    const relay = this.#relays.get(m.subject);
    if (relay === undefined) return;
    const client = this.#accountClients.get(relay.account);
    if (client !== undefined) this.#publish(relay.account, relay.reply, "", m.body, client);
  }

  // ------------------------------------------------------------ sending

  #me(): { name: string; host: string; cluster: string; tags: readonly string[] } {
    const s = this.#server;
    return { name: s.serverName, host: s.options.host, cluster: s.cluster?.name ?? "", tags: [] };
  }

  #serverInfo(): JsonObject {
    const me = this.#me();
    return serverInfo({ ...me, id: this.#server.serverId }, ++this.#seq);
  }

  /** True when a client or another server listens on `subject` in the system account. */
  #interested(subject: string): boolean {
    if (this.#stopped) return false;
    const r = this.account.sublist.match(subject);
    for (const sub of r.plain) if (!(sub.client instanceof InternalClient)) return true;
    for (const group of r.queues) {
      for (const sub of group) if (!(sub.client instanceof InternalClient)) return true;
    }
    return false;
  }

  #send(subject: string, body: JsonObject): void {
    this.#publish(this.account, subject, "", encoder.encode(JSON.stringify(body)), this.#client);
  }

  /** Publishes into `account` as `from` (runs from the queue, never inside a fan-out). */
  #publish(
    account: Account,
    subject: string,
    reply: string,
    body: Uint8Array,
    from: InternalClient,
  ): void {
    const msg = new PublishContext();
    describeInternalPublish(msg, subject, reply, body);
    msg.publisher = from;
    fanOut(msg, account.sublist.match(subject));
  }

  /** Runs `run` after the current read (handlers and sends), then writes what it produced. */
  #schedule(run: () => void): void {
    this.#queue.push(run);
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#drain());
  }

  #drain(): void {
    this.#scheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    for (const run of batch) {
      try {
        run();
      } catch (e) {
        this.#server.log.error(`System account: ${(e as Error).stack ?? e}`);
      }
    }
    this.#server.flushPending();
  }

  /** Tells the cluster this server is going away, then stops the timers. */
  shutdown(): void {
    const subject = `$SYS.SERVER.${this.#server.serverId}.SHUTDOWN`;
    if (this.#interested(subject)) {
      this.#send(subject, this.#serverInfo());
      this.#server.flushPending();
    }
    this.#stopped = true;
    clearTimeout(this.#statszTimer);
    clearInterval(this.#heartbeat);
  }
}

function clientFacts(c: ClientConnection): ClientFacts {
  return {
    startMs: c.start.getTime(),
    host: c.transport.remoteAddress,
    cid: c.cid,
    account: c.account.name,
    user: c.user,
    name: c.opts.name,
    lang: c.opts.lang,
    version: c.opts.version,
  };
}
