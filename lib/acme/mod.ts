/**
 * dnatsd's ACME subsystem: the server obtains and renews its own TLS
 * certificate from an ACME CA (Let's Encrypt by default) without a restart.
 *
 * The server builds an {@link AcmeManager} from `tls { acme { ... } }` (or
 * from letsgo-nats' environment variables through {@link acmeOptionsFromEnv}),
 * awaits `start()` before listening, swaps its TLS context in `onCertificate`,
 * and shows `status()` in /varz.
 *
 * @example
 * ```ts ignore
 * import { AcmeManager } from "./mod.ts";
 * const mgr = new AcmeManager(opts.tls!.acme!, {
 *   log,
 *   onCertificate: (c) => tls.setSecureContext({ cert: c.certPem, key: c.keyPem }),
 * });
 * const first = await mgr.start();
 * ```
 *
 * @module
 */
export {
  type AcmeCertificate,
  AcmeManager,
  type AcmeManagerDeps,
  type AcmeStatus,
} from "./manager.ts";
export { acmeOptionsFromEnv, type EnvFiles, processEnv } from "./env.ts";
export { AcmeClient, AcmeError } from "./acme_client.ts";
export { FileStorage } from "./file_storage.ts";
export { MemoryStorage, type Storage } from "./storage.ts";
export { type DnsProvider } from "./dns/provider.ts";
export { CA_DIRECTORIES } from "./settings.ts";
