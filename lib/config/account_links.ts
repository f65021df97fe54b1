/**
 * Exports and imports between accounts, checked and resolved as nats-server
 * 2.9 does when it loads `accounts {}`: exports first, then stream imports,
 * then service imports, each checked against what was added before it
 * (unknown accounts, imports of something not exported or not exported to the
 * importer, wildcard transforms, duplicates and cycles), with nats-server's
 * messages. The server builds its routing from the same result
 * (lib/server/imports.ts), so what is checked is what runs.
 *
 * Naming follows the wire: for a service import, `from` is the subject the
 * importer's clients publish to and `to` the subject in the exporting
 * account; for a stream import, `from` is the exporter's subject and `to`
 * what the importer's subscribers see.
 *
 * @module
 */
import { SubjectTransform, tokenizeWildcards, untokenizeWildcards } from "../router/transform.ts";
import { isValidSubject, subjectIsSubsetOf } from "../router/subject.ts";
import { overlapsTokens } from "../auth/subject_match.ts";
import type { AccountOptions, ExportOptions, ResponseType } from "./options.ts";

/** nats-server's default response threshold for service exports. */
export const DEFAULT_RESPONSE_THRESHOLD_MS = 2 * 60 * 1000;
/** nats-server gives up a cycle search this deep. */
const MAX_CYCLE_DEPTH = 1024;

export interface ExportAuth {
  /** Account names allowed; null = public. An empty set (from `accounts: []`) allows nobody. */
  approved: Set<string> | null;
  /** The 1-based token that must equal the importer's name (0 = none). */
  accountPos: number;
}

export interface ResolvedServiceExport extends ExportAuth {
  subject: string;
  responseType: ResponseType;
  responseThresholdMs: number;
}

export interface ResolvedStreamImport {
  /** The exporting account. */
  account: string;
  from: string;
  to: string;
  /** Maps an exporter subject to the importer's; null when `usePub` or `to` is constant. */
  transform: SubjectTransform | null;
  /** The published subject is kept as is (wildcard import without renaming). */
  usePub: boolean;
}

export interface ResolvedServiceImport {
  account: string;
  from: string;
  to: string;
  /** Maps the importer's published subject to the exporter's; null when usePub or constant. */
  transform: SubjectTransform | null;
  usePub: boolean;
  share: boolean;
  /** The export this import goes through (response type and threshold). */
  export: ResolvedServiceExport | null;
}

/** One account's exports and imports after resolution. */
export interface AccountLinks {
  name: string;
  streamExports: Map<string, ExportAuth>;
  serviceExports: Map<string, ResolvedServiceExport>;
  streamImports: ResolvedStreamImport[];
  /** By `from` (the importer's subject). */
  serviceImports: Map<string, ResolvedServiceImport>;
}

export interface LinksResult {
  links: Map<string, AccountLinks>;
  /** nats-server's messages, in the order it reports them. */
  errors: string[];
}

function emptyLinks(name: string): AccountLinks {
  return {
    name,
    streamExports: new Map(),
    serviceExports: new Map(),
    streamImports: [],
    serviceImports: new Map(),
  };
}

/** Resolves every account's exports and imports; see the module doc. */
export function resolveAccountLinks(accounts: readonly AccountOptions[]): LinksResult {
  const errors: string[] = [];
  const links = new Map<string, AccountLinks>();
  for (const a of accounts) links.set(a.name, emptyLinks(a.name));
  const exportsOf = (kind: ExportOptions["kind"]) =>
    accounts.flatMap((a) =>
      (a.exports ?? []).filter((e) => e.kind === kind).map((e) => ({ owner: a.name, e }))
    );
  for (const kind of ["stream", "service"] as const) {
    for (const { owner, e } of exportsOf(kind)) {
      let approved: Set<string> | null = null;
      if (e.accounts !== undefined) {
        approved = new Set();
        for (const name of e.accounts) {
          if (!links.has(name)) {
            errors.push(`"${name}" account not defined for ${kind} export`);
            continue;
          }
          approved.add(name);
        }
        // Go passes only the accounts it found: none found is no list at all (public).
        if (approved.size === 0 && e.accounts.length > 0) approved = null;
      }
      const pos = e.accountTokenPosition ?? 0;
      if (pos > 0) {
        const tokens = e.subject.split(".");
        if (tokens.length < pos || tokens[pos - 1] !== "*") {
          errors.push(
            `Error adding ${kind} export "${e.subject}": sublist: invalid subject`,
          );
          continue;
        }
      }
      const target = links.get(owner)!;
      if (kind === "stream") {
        target.streamExports.set(e.subject, { approved, accountPos: pos });
      } else {
        target.serviceExports.set(e.subject, {
          approved,
          accountPos: pos,
          subject: e.subject,
          responseType: e.responseType ?? "singleton",
          responseThresholdMs: e.responseThresholdMs ?? DEFAULT_RESPONSE_THRESHOLD_MS,
        });
      }
    }
  }
  const importsOf = (kind: ExportOptions["kind"]) =>
    accounts.flatMap((a) =>
      (a.imports ?? []).filter((i) => i.kind === kind).map((i) => ({ owner: a.name, i }))
    );
  for (const { owner, i } of importsOf("stream")) {
    const exporter = links.get(i.account);
    if (exporter === undefined) {
      errors.push(`"${i.account}" account not defined for stream import`);
      continue;
    }
    const problem = addStreamImport(links.get(owner)!, exporter, i.subject, i.prefix, i.to, links);
    if (problem) errors.push(`Error adding stream import "${i.subject}": ${problem}`);
  }
  for (const { owner, i } of importsOf("service")) {
    const exporter = links.get(i.account);
    if (exporter === undefined) {
      errors.push(`"${i.account}" account not defined for service import`);
      continue;
    }
    const problem = addServiceImport(
      links.get(owner)!,
      exporter,
      i.to ?? i.subject,
      i.subject,
      i.share ?? false,
      links,
    );
    if (problem) errors.push(`Error adding service import "${i.subject}": ${problem}`);
  }
  return { links, errors };
}

function checkAuth(auth: ExportAuth, importer: string, tokens: string[] | null): boolean {
  if (auth.approved === null && auth.accountPos === 0) return true;
  if (auth.accountPos > 0) {
    return tokens !== null && auth.accountPos <= tokens.length &&
      tokens[auth.accountPos - 1] === importer;
  }
  return auth.approved !== null && auth.approved.has(importer);
}

/** Whether `exports` lets `importer` import `subject` (exact entry first, then a covering one). */
function exportApproves(
  exports: ReadonlyMap<string, ExportAuth>,
  importer: string,
  subject: string,
): boolean {
  if (!isValidSubject(subject)) return false;
  const exact = exports.get(subject);
  if (exact !== undefined) return checkAuth(exact, importer, null);
  for (const [pattern, auth] of exports) {
    if (subjectIsSubsetOf(subject, pattern)) return checkAuth(auth, importer, subject.split("."));
  }
  return false;
}

function hasWildcard(subject: string): boolean {
  return subject.split(".").some((t) => t === "*" || t === ">");
}

function collide(a: string, b: string): boolean {
  return a === b || overlapsTokens(a.split("."), b.split("."));
}

function addStreamImport(
  importer: AccountLinks,
  exporter: AccountLinks,
  from: string,
  prefix: string | undefined,
  to: string | undefined,
  links: Map<string, AccountLinks>,
): string | null {
  if (!exportApproves(exporter.streamExports, importer.name, from)) {
    return "stream import not authorized";
  }
  if (prefix) {
    if (hasWildcard(prefix)) return "stream import prefix can not contain wildcard tokens";
    to = (prefix.endsWith(".") ? prefix : prefix + ".") + from;
  }
  if (!to) to = from;
  const cycle = streamCycle(exporter, to, new Set([importer.name]), links);
  if (cycle) return cycle;
  let transform: SubjectTransform | null = null;
  let usePub = false;
  if (hasWildcard(from)) {
    if (to === from) {
      usePub = true;
    } else {
      try {
        transform = new SubjectTransform(from, tokenizeWildcards(to));
      } catch (e) {
        return `failed to create mapping transform for stream import subject "${from}" to "${to}": ${
          (e as Error).message
        }`;
      }
      to = untokenizeWildcards(to);
    }
  }
  if (importer.streamImports.some((s) => s.account === exporter.name && s.from === from)) {
    return "stream import already exists";
  }
  importer.streamImports.push({ account: exporter.name, from, to, transform, usePub });
  return null;
}

function streamCycle(
  account: AccountLinks,
  to: string,
  visited: Set<string>,
  links: Map<string, AccountLinks>,
): string | null {
  if (visited.size >= MAX_CYCLE_DEPTH) return "import cycle search depth exceeded";
  if (![...account.streamExports.keys()].some((e) => subjectIsSubsetOf(to, e))) return null;
  for (const si of account.streamImports) {
    if (!collide(to, si.to)) continue;
    if (visited.has(si.account)) return "import forms a cycle";
    visited.add(account.name);
    if (subjectIsSubsetOf(si.to, to)) to = si.to;
    const found = streamCycle(links.get(si.account)!, to, visited, links);
    if (found) return found;
  }
  return null;
}

function serviceCycle(
  account: AccountLinks,
  from: string,
  visited: Set<string>,
  links: Map<string, AccountLinks>,
): string | null {
  if (visited.size >= MAX_CYCLE_DEPTH) return "import cycle search depth exceeded";
  for (const si of account.serviceImports.values()) {
    if (!collide(from, si.to)) continue;
    if (visited.has(si.account)) return "import forms a cycle";
    visited.add(account.name);
    if (subjectIsSubsetOf(si.from, from)) from = si.from;
    const found = serviceCycle(links.get(si.account)!, from, visited, links);
    if (found) return found;
  }
  return null;
}

/** The service export a subject goes through (exact entry first, then a covering one). */
export function findServiceExport(
  exports: ReadonlyMap<string, ResolvedServiceExport>,
  subject: string,
): ResolvedServiceExport | null {
  const exact = exports.get(subject);
  if (exact !== undefined) return exact;
  for (const [pattern, se] of exports) {
    if (subjectIsSubsetOf(subject, pattern)) return se;
  }
  return null;
}

function addServiceImport(
  importer: AccountLinks,
  exporter: AccountLinks,
  from: string,
  to: string,
  share: boolean,
  links: Map<string, AccountLinks>,
): string | null {
  if (!isValidSubject(from) || !isValidSubject(to)) return "sublist: invalid subject";
  if (!exportApproves(exporter.serviceExports, importer.name, to)) {
    return "service import not authorized";
  }
  const cycle = serviceCycle(exporter, from, new Set([importer.name]), links);
  if (cycle) return cycle;
  const dup = importer.serviceImports.get(from);
  if (dup !== undefined) {
    return `duplicate service import subject "${from}", previously used in import for account "${dup.account}", subject "${dup.to}"`;
  }
  let transform: SubjectTransform | null = null;
  let usePub = false;
  if (hasWildcard(to)) {
    if (to === from) {
      usePub = true;
    } else {
      to = untokenizeWildcards(to);
      try {
        transform = new SubjectTransform(to, tokenizeWildcards(from)).reverse();
      } catch (e) {
        return `failed to create mapping transform for service import subject "${from}" to "${to}": ${
          (e as Error).message
        }`;
      }
      from = untokenizeWildcards(from);
    }
  }
  importer.serviceImports.set(from, {
    account: exporter.name,
    from,
    to,
    transform,
    usePub,
    share,
    export: findServiceExport(exporter.serviceExports, to),
  });
  return null;
}
