/**
 * Config reload (SIGHUP, `-sl reload`, the Windows control channel): load the
 * same file again with the same command-line flags on top, compare it option by
 * option with what runs ({@link diffOptions}), and apply every change live —
 * or nothing at all when one field cannot be reloaded or the file is broken.
 *
 * Everything that can fail (opening a new log file, building the authenticator,
 * reading new certificates) is prepared before anything is changed, so a failed
 * reload leaves the server exactly as it was.
 *
 * @module
 */
import { buildOptions } from "../config/resolve.ts";
import { formatIssue } from "../config/conf_values.ts";
import type { ParsedFlags } from "../config/flags.ts";
import type { Options } from "../config/options.ts";
import type { Server } from "../server.ts";
import { needsAuthenticator } from "../server.ts";
import { Account } from "../server/account.ts";
import type { ClientAuthenticator } from "../server/auth_api.ts";
import type { Logger } from "./logger.ts";
import type { ProcessFiles } from "./process_files.ts";
import { ChangeKind, diffOptions, type OptionChange } from "./reload_diff.ts";

/** What a reload needs besides the server. */
export interface ReloadContext {
  /** The `-c` file; without one a reload is refused. */
  configFile: string | undefined;
  /** The command line, re-applied over the new file (flags win, as at start). */
  flags: Pick<ParsedFlags, "overrides" | "setKeys" | "routesFromFlags">;
  /** Builds the logger the options ask for. */
  makeLogger: (o: Options) => Logger;
  /** PID and ports files, moved when their options change. */
  files?: ProcessFiles;
}

/** The route-management part of lib/cluster (optional methods: older builds lack them). */
interface RouteControl {
  addRoute?(url: string): void;
  removeRoute?(url: string): void;
}

/**
 * Reloads the configuration. The caller logs failures as
 * `Failed to reload server configuration: <message>`.
 *
 * @param server The running server.
 * @param ctx Config file, flags and helpers.
 * @returns The changes applied (empty when the file did not change anything).
 * @throws {Error} `can only reload config when a file is provided using -c or --config`,
 *   the file's errors (`file:line:col: reason`, one per line), or a
 *   {@link ReloadRefusedError} (`config reload not supported for ...`).
 */
export async function reloadConfig(server: Server, ctx: ReloadContext): Promise<OptionChange[]> {
  if (ctx.configFile === undefined) {
    throw new Error("can only reload config when a file is provided using -c or --config");
  }
  const built = await buildOptions(ctx.configFile, ctx.flags);
  if (built.errors.length > 0) {
    throw new Error([...built.errors, ...built.warnings].map(formatIssue).join("\n"));
  }
  const old = server.options;
  const next = built.options;
  const changes = diffOptions(old, next, { clientPort: server.clientPort });
  const has = (kind: ChangeKind) => changes.some((c) => c.kind === kind);

  // ---- prepare (may fail; nothing is changed yet)
  const newLog = has(ChangeKind.Logging) ? ctx.makeLogger(next) : null;
  const oldLog = server.log;
  let auth: ClientAuthenticator | null | undefined; // undefined = keep
  let tlsPair: { cert: string; key: string } | null = null;
  try {
    // The authenticator keeps the logger it was built with, so it is rebuilt when
    // the logger changes too (the shared bcrypt pool keeps that cheap).
    if (has(ChangeKind.Auth) || (newLog !== null && server.auth !== null)) {
      if (newLog !== null) server.log = newLog;
      auth = needsAuthenticator(next) ? await server.buildAuthenticator(next) : null;
    }
    tlsPair = await readChangedCertificate(server, next);
  } catch (e) {
    server.log = oldLog;
    newLog?.close();
    auth?.close();
    throw e;
  } finally {
    server.log = oldLog;
  }
  if (tlsPair !== null && !changes.some((c) => c.kind === ChangeKind.Tls)) {
    // Same options, new files on disk: still a TLS reload (nats-server compares
    // the loaded certificates, not only the paths).
    changes.push({ key: "tls", kind: ChangeKind.Tls, notices: ["tls = enabled"] });
  }

  // ---- apply (nothing below throws on purpose)
  server.options = next;
  server.configLoadTime = new Date();
  if (has(ChangeKind.Limits)) applyLimits(server, next);
  if (tlsPair !== null) applyCertificate(server, tlsPair);
  if (has(ChangeKind.Routes)) applyRoutes(server, old, next);
  if (has(ChangeKind.Files)) ctx.files?.sync(server);
  for (const change of changes) {
    for (const text of change.notices) {
      // A leading NUL marks nats-server's one "Reload:" (sic) line.
      oldLog.notice(text.startsWith("\u0000") ? text.slice(1) : `Reloaded: ${text}`);
    }
  }
  if (newLog !== null) {
    server.log = newLog;
    oldLog.close();
  }
  if (auth !== undefined) {
    const previous = server.auth;
    server.auth = auth;
    previous?.close();
    syncAccounts(server, next);
    if (has(ChangeKind.Auth)) await recheckClients(server, previous !== null);
  }
  server.log.notice("Reloaded server configuration");
  return changes;
}

/** Applies max_payload and max_control_line to connected clients' parsers. */
function applyLimits(server: Server, o: Options): void {
  for (const client of server.clients.values()) {
    client.parser.maxPayload = o.maxPayload;
    client.parser.maxControlLine = o.maxControlLine;
  }
}

/** Creates accounts new in the file and refreshes the limits of existing ones. */
function syncAccounts(server: Server, o: Options): void {
  const cache = !o.disableSublistCache;
  for (const acc of o.accounts ?? []) {
    let account = server.accounts.get(acc.name);
    if (account === undefined) {
      account = new Account(acc.name, { cache });
      server.accounts.set(acc.name, account);
    }
    account.maxConnections = acc.limits?.maxConnections ?? 0;
    account.maxSubscriptions = acc.limits?.maxSubscriptions ?? 0;
    account.maxPayload = acc.limits?.maxPayload ?? 0;
  }
}

/**
 * Runs every connected client's stored CONNECT credentials through the new
 * authenticator; those refused (or moved to another account) are closed with
 * `Authorization Violation`, the others get the new permissions.
 */
async function recheckClients(server: Server, hadAuth: boolean): Promise<void> {
  const checks: Promise<void>[] = [];
  for (const client of [...server.clients.values()]) {
    // With auth before, a client without stored credentials has not finished
    // CONNECT yet: its CONNECT will be checked by the new authenticator anyway.
    if (hadAuth && client.credentials === null) continue;
    const creds = client.credentials ?? {};
    const outcome = server.auth === null
      ? { ok: true as const, account: "$G", permissions: null }
      : server.auth.authenticate(creds, { nonce: client.nonce, cert: client.tls?.peerCert });
    checks.push(
      Promise.resolve(outcome).then(
        (r) => {
          if (!client.isClosed) client.reauthorize(r);
        },
        () => {
          if (!client.isClosed) client.reauthorize({ ok: false, reason: "authentication error" });
        },
      ),
    );
  }
  await Promise.all(checks);
  server.flushPending();
}

/** Adds and removes solicited routes (lib/cluster does the dialing). */
function applyRoutes(server: Server, old: Options, next: Options): void {
  const control = server.cluster as (RouteControl & object) | null;
  const before = new Set(old.cluster?.routes ?? []);
  const after = new Set(next.cluster?.routes ?? []);
  if (control === null || !control.addRoute || !control.removeRoute) {
    server.log.warn("Cluster routes changed but the cluster module cannot add or remove routes");
    return;
  }
  for (const url of before) if (!after.has(url)) control.removeRoute(url);
  for (const url of after) if (!before.has(url)) control.addRoute(url);
}

/**
 * Reads the client TLS certificate and key named by the new options, and returns
 * them when they differ from what the listener serves (new paths, or the same
 * paths rewritten on disk).
 */
async function readChangedCertificate(
  server: Server,
  next: Options,
): Promise<{ cert: string; key: string } | null> {
  const holder = server.clientTls?.certificate;
  const t = next.tls;
  if (!holder || !t?.certFile || !t.keyFile || t.acme) return null;
  const [cert, key] = await Promise.all([
    Deno.readTextFile(t.certFile),
    Deno.readTextFile(t.keyFile),
  ]);
  const current = holder.secureContextOptions();
  if (current.cert === cert && current.key === key) return null;
  // Validate now so a bad pair fails the reload before anything changes.
  const { validateKeyPair } = await import("../tls/context.ts");
  validateKeyPair(cert, key, { purpose: "server" });
  return { cert, key };
}

function applyCertificate(server: Server, pair: { cert: string; key: string }): void {
  try {
    server.clientTls?.certificate.setCertificate(pair.cert, pair.key);
  } catch (e) {
    // Validated above; only a cipher_suites/key-kind clash can land here.
    server.log.error(`TLS certificate not reloaded: ${(e as Error).message}`);
  }
}
