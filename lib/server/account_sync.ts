/**
 * The accounts the options name, put in force on a server: created when new,
 * their limits and subject mappings set, their exports and imports linked.
 * Kept apart from the Server because start-up and a config reload run the
 * same steps, and they read only what {@linkcode AccountSyncHost} declares.
 *
 * @module
 */
import type { Options, SubjectMapping } from "../config/options.ts";
import { resolveAccountLinks } from "../config/account_links.ts";
import { Account } from "./account.ts";
import { applyAccountLinks, type ImportHost } from "./imports.ts";
import { AccountMappings } from "./mappings.ts";

/** What syncing the accounts needs of the server. */
export interface AccountSyncHost extends ImportHost {
  readonly accounts: Map<string, Account>;
  readonly globalAccount: Account;
  /** The options in force (a mapping reads the cluster name from them when it runs). */
  readonly options: Options;
  readonly log: { error(msg: string): void };
  /** The system account's events (lib/system), told of every named account. */
  readonly system: { accountAdded(account: Account): void } | null;
}

/**
 * Creates the accounts `o` names that do not exist yet and sets every named
 * account's limits (start and config reload; accounts are never removed
 * while clients may be in them).
 */
export function syncAccounts(server: AccountSyncHost, o: Options): void {
  for (const acc of o.accounts ?? []) {
    let account = server.accounts.get(acc.name);
    if (account === undefined) {
      account = new Account(acc.name, { cache: !o.disableSublistCache });
      server.accounts.set(acc.name, account);
    }
    account.maxConnections = acc.limits?.maxConnections ?? 0;
    account.maxSubscriptions = acc.limits?.maxSubscriptions ?? 0;
    account.maxPayload = acc.limits?.maxPayload ?? 0;
    account.mappings = mappingsFor(server, acc.mappings);
    server.system?.accountAdded(account);
  }
  server.globalAccount.mappings = mappingsFor(server, o.mappings);
  // A config file with bad links never gets here (the config check refuses it); options
  // built in code may: the bad links are left out, and said.
  const { links, errors } = resolveAccountLinks(o.accounts ?? []);
  for (const reason of errors) server.log.error(`Account links: ${reason}`);
  applyAccountLinks(server, links);
}

function mappingsFor(
  server: AccountSyncHost,
  list: SubjectMapping[] | undefined,
): AccountMappings | null {
  if (list === undefined || list.length === 0) return null;
  return new AccountMappings(list, () => server.cluster?.name ?? server.options.cluster?.name);
}
