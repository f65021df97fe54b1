/**
 * dnatsd as a library: embed a NATS server in your own Deno program or build a
 * custom binary around it.
 *
 * @example Start a server on a random port and stop it again
 * ```ts
 * import { defaultOptions, MemoryLogger, Server } from "./mod.ts";
 *
 * const options = defaultOptions();
 * options.host = "127.0.0.1";
 * options.port = -1; // any free port
 * const server = new Server(options, new MemoryLogger());
 * await server.start();
 * console.log(`listening on ${server.clientPort}`);
 * await server.shutdown();
 * ```
 *
 * @module
 */
export { Server } from "./lib/server.ts";
export type {
  ClusterHandle,
  MonitorHandle,
  PreparedClient,
  ServerExtension,
} from "./lib/server/feature_handles.ts";
export {
  type AccountOptions,
  type AcmeOptions,
  type AuthorizationOptions,
  type ClusterOptions,
  defaultOptions,
  defaultTlsOptions,
  type Options,
  type Permissions,
  type TlsOptions,
  type UserEntry,
} from "./lib/config/options.ts";
export { buildOptions, resolveOptions } from "./lib/config/resolve.ts";
export { loadConfigFile } from "./lib/config/load.ts";
export { optionsFromConfig } from "./lib/config/from_config.ts";
export { createLogger, type Logger, MemoryLogger } from "./lib/ops/logger.ts";
export { AcmeManager, acmeOptionsFromEnv } from "./lib/acme/mod.ts";
export { NATS_COMPAT_VERSION, VERSION } from "./lib/version.ts";
