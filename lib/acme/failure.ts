/**
 * Which ACME failures are worth retrying. A CA outage, a DNS record that has
 * not propagated yet or a rate limit heal with time; a name the CA refuses
 * to certify, a contact it rejects, or a challenge type it does not offer do
 * not, and retrying them for hours while the server waits for its first
 * certificate only hides a configuration mistake.
 *
 * @module
 */
import { AcmeError } from "./acme_client.ts";

const PROBLEM = "urn:ietf:params:acme:error:";

/** Problem types (RFC 8555 §6.7) where the CA refuses the request as such. */
const PERMANENT_PROBLEMS: ReadonlySet<string> = new Set([
  "rejectedIdentifier",
  "unsupportedIdentifier",
  "malformed",
  "badCSR",
  "invalidContact",
  "unsupportedContact",
  "externalAccountRequired",
  "userActionRequired",
  "badSignatureAlgorithm",
].map((t) => PROBLEM + t));

/** A dnatsd-side finding that retrying cannot change (set as {@link AcmeError.type}). */
export const NO_SUITABLE_CHALLENGE = "urn:dnatsd:acme:noSuitableChallenge";

/** A setting that cannot work (a DNS provider without credentials, an unknown provider). */
export class AcmeSettingsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AcmeSettingsError";
  }
}

/**
 * True when the failure will repeat on every attempt until the configuration
 * changes.
 *
 * @param err What an attempt threw.
 */
export function isPermanentFailure(err: unknown): boolean {
  if (err instanceof AcmeSettingsError) return true;
  if (!(err instanceof AcmeError)) return false;
  return err.type === NO_SUITABLE_CHALLENGE || PERMANENT_PROBLEMS.has(err.type);
}
