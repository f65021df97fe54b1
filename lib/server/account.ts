/**
 * An account: an isolated subject space with its own interest table. Users
 * without an account live in the global account `$G`. Exports, imports and
 * subject mappings connect accounts (./imports.ts, ./mappings.ts,
 * docs/accounts.md); an account without them carries only empty fields.
 *
 * @module
 */
import { Sublist } from "../router/sublist.ts";
import type { Subscription } from "../delivery/subscription.ts";
import type { ClientConnection } from "../client/connection.ts";
import type { ExportAuth, ResolvedServiceExport } from "../config/account_links.ts";
import type {
  ResponseTable,
  ReverseReply,
  ServiceImportRule,
  StreamImportRule,
} from "./imports.ts";
import type { AccountMappings } from "./mappings.ts";

export const GLOBAL_ACCOUNT = "$G";

export class Account {
  readonly name: string;
  readonly sublist: Sublist<Subscription>;
  readonly clients: Set<ClientConnection> = new Set();
  maxConnections = 0;
  maxSubscriptions = 0;
  maxPayload = 0;
  /** Stream imports: a subscription here gets shadows in the exporting accounts. */
  streamImports: StreamImportRule[] = [];
  /** Service imports (each an internal subscription in this account's sublist). */
  serviceImports: ServiceImportRule[] = [];
  /** Stream exports (monitoring shows them; imports were checked against them at load). */
  streamExports: ReadonlyMap<string, ExportAuth> = new Map();
  /** Service exports, for the response type and threshold of requests coming in. */
  serviceExports: ReadonlyMap<string, ResolvedServiceExport> = new Map();
  /** Replies of requests imported into this account (created on the first one). */
  responses: ResponseTable | null = null;
  /** Reply subjects here that responses from other accounts are still routed to (see imports.ts). */
  reverseReplies: Map<string, ReverseReply[]> | null = null;
  /** Subject mappings applied to what is published in this account; null without any. */
  mappings: AccountMappings | null = null;

  constructor(name: string, options: { cache: boolean }) {
    this.name = name;
    this.sublist = new Sublist<Subscription>({ cache: options.cache });
  }

  /** The subject after this account's mappings (the subject itself without any). */
  mapSubject(subject: string): string {
    return this.mappings === null ? subject : this.mappings.map(subject);
  }
}
