/**
 * Config reload for ACME: lib/ops/reload.ts asks here, during its prepare
 * phase, for managers of `acme` blocks that are new or changed. Their first
 * certificates are obtained before the reload goes on (bounded by the
 * block's `startup_timeout`, else two minutes), so the TLS holders reload
 * builds can use them; a block that cannot get one fails the reload and the
 * running setup stays. Unchanged blocks keep their managers and schedule.
 *
 * @module
 */
import type { Options } from "../config/options.ts";
import type { Server } from "../server.ts";
import { type AcmeReloadPlan, type AcmeTarget, AcmeTls } from "./acme_tls.ts";

export type { AcmeReloadPlan, AcmeTarget };

/**
 * Prepares the ACME side of a reload.
 *
 * @param server The running server.
 * @param next The options the reload is about to apply.
 * @returns null when the ACME settings did not change.
 * @throws {Error} When a new ACME setup cannot get its certificate.
 */
export async function prepareAcmeReload(
  server: Server,
  next: Options,
): Promise<AcmeReloadPlan | null> {
  const needed = next.tls?.acme || next.cluster?.tls?.acme || server.acme || server.acmeEnv;
  if (!needed) return null;
  return await AcmeTls.prepareReload(server, next);
}
