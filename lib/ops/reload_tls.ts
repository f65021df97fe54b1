/**
 * The TLS part of a config reload: the client `tls {}` block and `cluster {
 * tls {} }`. Every setting applies to connections (and route handshakes) that
 * begin after the reload; established ones keep the session they have.
 *
 * As the rest of lib/ops/reload.ts, it runs in two steps. {@link prepareTlsReload}
 * reads and validates every file and builds the new certificate holders, so a
 * missing or broken file refuses the reload with the server unchanged;
 * {@link TlsReloadPlan.apply} then installs them and never throws. Turning TLS
 * on or off rebinds the listener on the same port (a native `Deno.listen` for
 * plain clients, `node:net` + `node:tls` for TLS); if that bind fails, the
 * previous kind of listener is bound again and the error is logged.
 *
 * @module
 */
import type { Options, TlsOptions } from "../config/options.ts";
import type { Server } from "../server.ts";
import type { AcmeReloadPlan } from "../tls/acme_reload.ts";
import {
  CertificateHolder,
  type CertPurpose,
  readPemFile,
  TlsConfigError,
} from "../tls/context.ts";
import { sameValue } from "./reload_diff.ts";
import { bindReleasedPort } from "./rebind.ts";

/** What the reload does to one TLS user (the client listener or the routes). */
type Step =
  /** Nothing changed (same settings, same files on disk). */
  | { action: "keep" }
  /** New settings or material for new connections; the listener stays. */
  | { action: "reconfigure"; options: TlsOptions; holder: CertificateHolder }
  /** TLS turned on: the plain listener is replaced. */
  | { action: "on"; options: TlsOptions; holder: CertificateHolder }
  /** TLS turned off: the TLS listener is replaced by a plain one. */
  | { action: "off" };

/** TLS changes prepared by {@link prepareTlsReload}, not yet in force. */
export interface TlsReloadPlan {
  /** What happens to the client listener. */
  readonly client: Step["action"];
  /** What happens to route TLS. */
  readonly route: Step["action"];
  /** Installs the new settings (after ACME's commit). Never throws. */
  apply(): Promise<void>;
}

/**
 * Reads and validates the TLS material of the new options.
 *
 * @param server The running server.
 * @param next The options the reload is about to apply.
 * @param acme The ACME side of the reload (null: ACME settings unchanged).
 * @returns What to apply; `keep` for users whose settings and files did not change.
 * @throws {TlsConfigError} Naming the file or setting that is unusable.
 */
export function prepareTlsReload(
  server: Server,
  next: Options,
  acme: AcmeReloadPlan | null,
): TlsReloadPlan {
  const old = server.options;
  const client = stepFor(
    old.tls,
    next.tls,
    server.clientTls?.certificate ?? null,
    (t) => sourceOf(t, "client", server, acme),
    "server",
  );
  const cluster = server.cluster;
  // A cluster appearing or going away is refused by the reload diff; only a
  // running cluster can change its TLS.
  const route = cluster !== null && next.cluster !== undefined && next.cluster.port !== 0
    ? stepFor(
      old.cluster?.tls,
      next.cluster.tls,
      cluster.routeTlsCertificate,
      (t) => sourceOf(t, "route", server, acme),
      "both",
    )
    : { action: "keep" as const };
  return {
    client: client.action,
    route: route.action,
    async apply(): Promise<void> {
      await applyClient(server, client);
      if (client.action === "reconfigure" || client.action === "on") {
        toHttpsMonitor(server, client.holder);
      }
      if (route.action !== "keep" && cluster !== null) {
        if (route.action === "off") {
          await cluster.reloadTls(undefined, null);
        } else {
          await cluster.reloadTls(route.options, route.holder);
        }
      }
    },
  };
}

/**
 * The HTTPS monitor serves the top-level tls block's certificate: a reload
 * that changes it reaches monitoring's new handshakes too.
 */
function toHttpsMonitor(server: Server, holder: CertificateHolder): void {
  try {
    server.monitor?.setCertificate(holder.pair.certPem, holder.pair.keyPem);
  } catch (e) {
    server.log.error(`HTTPS monitor kept its certificate: ${(e as Error).message}`);
  }
}

/** Where a tls block's certificate comes from: its files, or ACME's PEM with `acme`. */
interface Source {
  /** The certificate and key as PEM, when ACME holds them (undefined: read the files). */
  pem: { certPem: string; keyPem: string } | undefined;
}

function stepFor(
  before: TlsOptions | undefined,
  after: TlsOptions | undefined,
  current: CertificateHolder | null,
  source: (t: TlsOptions) => Source,
  purpose: CertPurpose,
): Step {
  if (after === undefined) return before === undefined ? { action: "keep" } : { action: "off" };
  const src = source(after);
  // Same settings and the same bytes: nothing to do, and nothing validated again
  // (a certificate that expired since start must not block reloading other options).
  // nats-server compares the loaded certificates too, so a file rewritten in place
  // is a change.
  if (
    before !== undefined && current !== null && sameValue(before, after) &&
    sameMaterial(current, after, src)
  ) {
    return { action: "keep" };
  }
  // Reads and validates everything (files, key match, validity, purpose, ciphers).
  const holder = src.pem === undefined
    ? new CertificateHolder(after, purpose)
    : CertificateHolder.fromPem(after, purpose, src.pem);
  if (before === undefined || current === null) return { action: "on", options: after, holder };
  return { action: "reconfigure", options: after, holder };
}

/** Whether the block's certificate, key and CA are byte for byte what `current` serves. */
function sameMaterial(current: CertificateHolder, t: TlsOptions, src: Source): boolean {
  const read = (file: string | undefined, setting: string) =>
    file === undefined ? undefined : readPemFile(file, setting);
  const pair = src.pem ??
    { certPem: read(t.certFile, "cert_file"), keyPem: read(t.keyFile, "key_file") };
  return current.pair.certPem === pair.certPem && current.pair.keyPem === pair.keyPem &&
    current.caPem === read(t.caFile, "ca_file");
}

/** ACME's PEM for a block with `acme` (the reload's new certificate first); files otherwise. */
function sourceOf(
  t: TlsOptions,
  target: "client" | "route",
  server: Server,
  acme: AcmeReloadPlan | null,
): Source {
  if (!t.acme) return { pem: undefined };
  const pem = acme?.pemFor(target) ?? server.acme?.pemFor(target);
  if (pem === undefined) {
    throw new TlsConfigError("acme", `no ACME certificate available for the ${target} TLS`);
  }
  return { pem };
}

async function applyClient(server: Server, step: Step): Promise<void> {
  switch (step.action) {
    case "keep":
      return;
    case "reconfigure":
      if (server.clientTls !== null) {
        server.clientTls.reconfigure(step.options, step.holder);
        return;
      }
      // No TLS listener although TLS was on (a failed switch before): bind one.
      return await switchClient(server, step.holder, null);
    case "on":
      return await switchClient(server, step.holder, null);
    case "off":
      return await switchClient(server, null, server.clientTls?.certificate ?? null);
  }
}

/**
 * Replaces the client listener by the other kind on the same port: TLS with
 * `holder`, or plain when it is null. When that cannot bind, what ran before
 * is bound again (TLS with `previous`, or plain when it is null) and the
 * options are set back to it, so INFO tells clients what is really served.
 */
async function switchClient(
  server: Server,
  holder: CertificateHolder | null,
  previous: CertificateHolder | null,
): Promise<void> {
  const { startTlsClientListener } = await import("../tls/client_listener.ts");
  const bindWith = (h: CertificateHolder | null) =>
    h === null
      ? null
      : (host: string, port: number) => startTlsClientListener(server, { host, port, holder: h });
  try {
    await bindReleasedPort(() => server.replaceClientListener(bindWith(holder)));
    return;
  } catch (e) {
    server.log.error(
      `Error listening for client connections on port ${server.clientPort}` +
        ` with TLS ${holder === null ? "off" : "on"}: ${(e as Error).message}`,
    );
  }
  // Back to what ran before, so clients keep a way in and INFO matches it.
  try {
    await bindReleasedPort(() => server.replaceClientListener(bindWith(previous)));
    server.setOptions({ ...server.options, tls: previous?.options });
    server.log.warn(`Client listener kept TLS ${previous === null ? "off" : "on"}`);
  } catch (e) {
    server.log.error(`Error listening for client connections: ${(e as Error).message}`);
  }
}
