/**
 * Reads the JSON of a client's CONNECT (and INFO) the way nats-server's Go
 * decoder does, so the same argument is accepted or refused by both servers:
 *
 * - `null` is an empty object; any other non-object is refused;
 * - keys match the known option names case-insensitively (`"VERBOSE"` is
 *   `verbose`), the last one wins, unknown keys are ignored;
 * - a known option of the wrong type is refused (`"verbose":"no"`,
 *   `"protocol":1.5`, a protocol beyond 64 bits), `null` leaves it unset.
 *
 * A refused CONNECT closes the connection without an `-ERR`, as nats-server.
 *
 * @module
 */

type Kind = "bool" | "string" | "int" | "permission";

/** CONNECT options by their JSON name and Go type. */
const FIELDS: Record<string, Kind> = {
  echo: "bool",
  verbose: "bool",
  pedantic: "bool",
  tls_required: "bool",
  nkey: "string",
  jwt: "string",
  sig: "string",
  auth_token: "string",
  user: "string",
  pass: "string",
  name: "string",
  lang: "string",
  version: "string",
  protocol: "int",
  account: "string",
  new_account: "bool",
  headers: "bool",
  no_responders: "bool",
  import: "permission",
  export: "permission",
};

/** Known CONNECT options with their values (absent when not given or null). */
export type ConnectFields = Partial<Record<string, boolean | string | number>>;

const INT64_MAX = 9223372036854775807n;

/** A JSON number as Go's decoder reads it into an int: digits only, within 64 bits. */
function goInt(source: string): number | null {
  if (!/^-?\d+$/.test(source)) return null;
  const n = BigInt(source);
  if (n > INT64_MAX || n < -INT64_MAX - 1n) return null;
  return Number(n);
}

/** A subject permission object: `allow`/`deny` string lists (or null). */
function isPermission(v: unknown): boolean {
  if (typeof v !== "object" || Array.isArray(v)) return false;
  for (const [k, list] of Object.entries(v as Record<string, unknown>)) {
    const key = k.toLowerCase();
    if (key !== "allow" && key !== "deny" || list === null) continue;
    if (!Array.isArray(list) || !list.every((x) => typeof x === "string" || x === null)) {
      return false;
    }
  }
  return true;
}

/** The options of a CONNECT argument, or null when nats-server would refuse it. */
export function decodeConnect(text: string): ConnectFields | null {
  let top: unknown;
  // Number sources of the top-level keys (an int must be written as digits).
  const sources = new Map<object, Map<string, string>>();
  try {
    top = JSON.parse(text, function (this: object, key: string, value: unknown, ctx?: {
      source?: string;
    }) {
      if (typeof value === "number" && ctx?.source !== undefined) {
        let m = sources.get(this);
        if (m === undefined) sources.set(this, m = new Map());
        m.set(key, ctx.source);
      }
      return value;
    });
  } catch {
    return null;
  }
  if (top === null) return {};
  if (typeof top !== "object" || Array.isArray(top)) return null;
  const out: ConnectFields = {};
  const numbers = sources.get(top as object);
  for (const [key, value] of Object.entries(top as Record<string, unknown>)) {
    const name = Object.hasOwn(FIELDS, key) ? key : key.toLowerCase();
    if (!Object.hasOwn(FIELDS, name)) continue;
    const kind = FIELDS[name];
    if (kind === undefined || value === null) continue;
    switch (kind) {
      case "bool":
        if (typeof value !== "boolean") return null;
        out[name] = value;
        break;
      case "string":
        if (typeof value !== "string") return null;
        out[name] = value;
        break;
      case "int": {
        const n = typeof value === "number" ? goInt(numbers?.get(key) ?? String(value)) : null;
        if (n === null) return null;
        out[name] = n;
        break;
      }
      case "permission":
        if (!isPermission(value)) return null;
        break;
    }
  }
  return out;
}

/** A client-sent INFO is decoded and ignored by nats-server: it must be an object or null. */
export function validInfo(text: string): boolean {
  try {
    const v = JSON.parse(text);
    return v === null || (typeof v === "object" && !Array.isArray(v));
  } catch {
    return false;
  }
}
