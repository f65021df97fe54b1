/**
 * The start-up warning nats-server gives for passwords kept in plain text.
 *
 * @module
 */
import type { Options } from "../config/options.ts";
import { isBcryptHash } from "./bcrypt_pool.ts";

/**
 * True when a password in the options is not a bcrypt hash: the single-user
 * password, or any user's, in `authorization.users` or in an account. As in
 * nats-server, a user with no password counts too, except with
 * `verify_and_map` (the certificate is the credential); NKey users have no
 * password at all and do not count.
 */
export function hasPlaintextPasswords(o: Options): boolean {
  const single = o.authorization?.password;
  if (single !== undefined && single !== "" && !isBcryptHash(single)) return true;
  const users = [
    ...(o.authorization?.users ?? []),
    ...(o.accounts ?? []).flatMap((a) => a.users),
  ];
  for (const u of users) {
    if (u.user === undefined) continue; // an NKey user
    if ((u.password ?? "") === "" && o.tls?.verifyAndMap) continue;
    if (!isBcryptHash(u.password ?? "")) return true;
  }
  return false;
}
