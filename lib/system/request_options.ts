/**
 * The JSON bodies `$SYS.REQ.*` requests may carry, decoded as nats-server
 * decodes them: the server filter (`server_name`, `cluster`, `host`, `tags`,
 * `domain`) and each endpoint's options, turned into the parameters of the
 * lib/monitor builders. An empty body means the defaults.
 *
 * @module
 */
import { CONNZ_SORTS, type ConnzParams, type ConnzSort, DEFAULT_LIMIT } from "../monitor/connz.ts";
import type { SubszParams } from "../monitor/subsz.ts";
import type { SubsMode } from "../monitor/routez.ts";
import { isValidLiteralSubject } from "../router/subject.ts";

/** A request body that does not decode (answered with code 400). */
export class BadRequest extends Error {}

/** A request the builder refuses (answered with code 500, as nats-server does). */
export class RequestFailed extends Error {}

type Body = Record<string, unknown>;

const decoder = new TextDecoder();

/** Decodes a request body; `{}` when it is empty. */
export function decodeBody(bytes: Uint8Array): Body {
  if (bytes.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(decoder.decode(bytes));
  } catch (e) {
    throw new BadRequest((e as Error).message);
  }
  if (v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) {
    throw new BadRequest(`json: cannot unmarshal ${jsonKind(v)} into Go value of type object`);
  }
  // Go matches keys to fields without regard to case; the last of equal keys wins.
  const body: Body = {};
  for (const [k, value] of Object.entries(v)) body[k.toLowerCase()] = value;
  return body;
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return "array";
  return typeof v === "boolean" ? "bool" : typeof v;
}

/** A field as Go's decoder reads it: absent or null gives the default, a wrong type fails. */
function field<T extends "string" | "number" | "boolean">(
  body: Body,
  name: string,
  type: T,
): (T extends "string" ? string : T extends "number" ? number : boolean) | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  const actual: string = typeof v;
  if (actual !== type) {
    throw new BadRequest(
      `json: cannot unmarshal ${jsonKind(v)} into Go struct field .${name} of type ${
        type === "number" ? "int" : type === "boolean" ? "bool" : "string"
      }`,
    );
  }
  return v as never;
}

/** The filter every request may carry. */
export interface EventFilter {
  serverName: string;
  cluster: string;
  host: string;
  tags: string[];
  domain: string;
}

export function readFilter(body: Body): EventFilter {
  const tags = body.tags;
  if (tags !== undefined && tags !== null && !Array.isArray(tags)) {
    throw new BadRequest(`json: cannot unmarshal ${jsonKind(tags)} into Go struct field .tags`);
  }
  return {
    serverName: field(body, "server_name", "string") ?? "",
    cluster: field(body, "cluster", "string") ?? "",
    host: field(body, "host", "string") ?? "",
    tags: (tags as string[] | undefined) ?? [],
    domain: field(body, "domain", "string") ?? "",
  };
}

/**
 * True when the request is not for this server (nats-server stays silent):
 * each given field must be contained in this server's value, tags must all be
 * present, and a domain never matches (dnatsd has no JetStream domain).
 */
export function filteredOut(
  f: EventFilter,
  me: { name: string; host: string; cluster: string; tags: readonly string[] },
): boolean {
  if (f.serverName !== "" && !me.name.includes(f.serverName)) return true;
  if (f.host !== "" && !me.host.includes(f.host)) return true;
  if (f.cluster !== "" && !me.cluster.includes(f.cluster)) return true;
  if (f.tags.some((t) => !me.tags.includes(t))) return true;
  return f.domain !== "";
}

function subsMode(body: Body, list: string, detail: string): SubsMode {
  if (field(body, detail, "boolean")) return "detail";
  return field(body, list, "boolean") ? "list" : "none";
}

/** ConnzOptions: `sort`, `auth`, `subscriptions[_detail]`, `offset`, `limit`, `cid`, `state`, `user`, `acc`. */
export function connzParams(body: Body): ConnzParams {
  const sortText = field(body, "sort", "string") ?? "";
  const sort = (sortText === "" ? "cid" : sortText) as ConnzSort;
  // nats-server's ConnState: 0 open, 1 closed, 2 all.
  const stateNum = field(body, "state", "number") ?? 0;
  const state = stateNum === 1 ? "closed" : stateNum === 2 ? "any" : "open";
  if (!(CONNZ_SORTS as readonly string[]).includes(sort)) {
    throw new RequestFailed(`invalid sorting option: ${sortText}`);
  }
  if ((sort === "stop" || sort === "reason") && state !== "closed") {
    throw new RequestFailed(`sort by ${sort} only valid on closed connections`);
  }
  const limit = field(body, "limit", "number") ?? 0;
  return {
    sort,
    auth: field(body, "auth", "boolean") ?? false,
    subs: subsMode(body, "subscriptions", "subscriptions_detail"),
    offset: Math.max(0, field(body, "offset", "number") ?? 0),
    limit: limit <= 0 ? DEFAULT_LIMIT : limit,
    cid: field(body, "cid", "number") ?? 0,
    state,
    user: field(body, "user", "string") ?? "",
    acc: field(body, "acc", "string") ?? "",
  };
}

/** SubszOptions: `offset`, `limit`, `subscriptions`, `account`, `test`. */
export function subszParams(body: Body): SubszParams {
  const test = field(body, "test", "string") ?? "";
  if (test !== "" && !isValidLiteralSubject(test)) {
    throw new RequestFailed(`invalid test subject, must be valid publish subject: ${test}`);
  }
  const limit = field(body, "limit", "number") ?? 0;
  return {
    subs: field(body, "subscriptions", "boolean") ?? false,
    offset: Math.max(0, field(body, "offset", "number") ?? 0),
    limit: limit <= 0 ? DEFAULT_LIMIT : limit,
    test,
    acc: field(body, "account", "string") ?? "",
  };
}

/** RoutezOptions: `subscriptions`, `subscriptions_detail`. */
export function routezParams(body: Body): { subs: SubsMode } {
  return { subs: subsMode(body, "subscriptions", "subscriptions_detail") };
}

/** LeafzOptions: `subscriptions`, `account`. */
export function leafzParams(body: Body): { subs: boolean; acc: string } {
  return {
    subs: field(body, "subscriptions", "boolean") ?? false,
    acc: field(body, "account", "string") ?? "",
  };
}

/** AccountzOptions: `account`. */
export function accountzParams(body: Body): { acc: string } {
  return { acc: field(body, "account", "string") ?? "" };
}

/** AccountStatzOptions: `accounts`, `include_unused`. */
export function accountStatzParams(body: Body): { accounts: string[]; unused: boolean } {
  const accounts = body.accounts;
  if (accounts !== undefined && accounts !== null && !Array.isArray(accounts)) {
    throw new BadRequest(
      `json: cannot unmarshal ${jsonKind(accounts)} into Go struct field .accounts`,
    );
  }
  return {
    accounts: (accounts as string[] | undefined) ?? [],
    unused: field(body, "include_unused", "boolean") ?? false,
  };
}
