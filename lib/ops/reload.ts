/**
 * Config reload (SIGHUP, `-sl reload`, the Windows control channel): load the
 * same file again with the same command-line flags on top, compare it option by
 * option with what runs ({@link diffOptions}), and apply every change live —
 * or nothing at all when one field cannot be reloaded or the file is broken.
 *
 * Everything that can fail (opening a new log file, building the authenticator,
 * reading new certificates, ACME's first certificate for a new `acme` block) is
 * prepared before anything is changed, so a failed reload leaves the server
 * exactly as it was. TLS is lib/ops/reload_tls.ts.
 *
 * @module
 */
import { buildOptions } from "../config/resolve.ts";
import { formatIssue } from "../config/conf_values.ts";
import type { ParsedFlags } from "../config/flags.ts";
import type { Options } from "../config/options.ts";
import type { Server } from "../server.ts";
import { needsAuthenticator } from "../server/auth_options.ts";
import type { ClientAuthenticator } from "../server/auth_api.ts";
import type { Logger } from "./logger.ts";
import type { ProcessFiles } from "./process_files.ts";
import { ChangeKind, diffOptions, type OptionChange } from "./reload_diff.ts";
// Types only: the TLS and ACME code is loaded when a reload runs, not at start.
import type { TlsReloadPlan } from "./reload_tls.ts";
import type { AcmeReloadPlan } from "../tls/acme_reload.ts";

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
  let acmePlan: AcmeReloadPlan | null = null;
  let tls: TlsReloadPlan;
  try {
    // The authenticator keeps the logger it was built with, so it is rebuilt when
    // the logger changes too (the shared bcrypt pool keeps that cheap).
    if (has(ChangeKind.Auth) || (newLog !== null && server.auth !== null)) {
      if (newLog !== null) server.setLogger(newLog);
      auth = needsAuthenticator(next) ? await server.buildAuthenticator(next) : null;
    }
    // New or changed acme blocks get their first certificate now; the TLS
    // holders below are built from it.
    const { prepareAcmeReload } = await import("../tls/acme_reload.ts");
    acmePlan = await prepareAcmeReload(server, next);
    const { prepareTlsReload } = await import("./reload_tls.ts");
    tls = prepareTlsReload(server, next, acmePlan);
  } catch (e) {
    server.setLogger(oldLog);
    newLog?.close();
    auth?.close();
    await acmePlan?.rollback();
    throw e;
  } finally {
    server.setLogger(oldLog);
  }
  if (tls.client !== "keep" && !has(ChangeKind.Tls)) {
    // Same options, new files on disk: still a TLS reload (nats-server compares
    // the loaded certificates, not only the paths).
    changes.push({ key: "tls", kind: ChangeKind.Tls, notices: ["tls = enabled"] });
  }
  if (tls.route !== "keep" && !has(ChangeKind.Cluster)) {
    changes.push({ key: "cluster", kind: ChangeKind.Cluster, notices: ["cluster"] });
  }

  // ---- apply (nothing below throws on purpose)
  server.setOptions(next, new Date());
  if (has(ChangeKind.Limits)) applyLimits(server, next);
  acmePlan?.commit(); // Before the holders built from its certificates go live
  // TLS first: routes added below are dialed at once, with the new route certificate.
  await tls.apply();
  if (has(ChangeKind.Cluster) || has(ChangeKind.Routes)) applyCluster(server, next);
  if (has(ChangeKind.Files)) ctx.files?.sync(server);
  for (const change of changes) {
    for (const text of change.notices) {
      // A leading NUL marks nats-server's one "Reload:" (sic) line.
      oldLog.notice(text.startsWith("\u0000") ? text.slice(1) : `Reloaded: ${text}`);
    }
  }
  if (newLog !== null) {
    server.setLogger(newLog);
    oldLog.close();
  }
  if (auth !== undefined) {
    const previous = server.setAuthenticator(auth);
    previous?.close();
    server.syncAccounts(next);
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
    const outcome = server.authenticate(client, creds);
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

/**
 * Hands the new cluster block to lib/cluster, which applies authorization,
 * permissions, name and the routes (by difference, so they are not applied
 * twice); route TLS is lib/ops/reload_tls.ts.
 */
function applyCluster(server: Server, next: Options): void {
  const cluster = server.cluster;
  if (cluster === null || next.cluster === undefined) return;
  try {
    cluster.applyOptions(next.cluster);
  } catch (e) {
    // Not expected (lib/cluster logs bad route URLs itself); keep the reload going.
    server.log.error(`Cluster options not fully applied: ${(e as Error).message}`);
  }
}
