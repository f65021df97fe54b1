/**
 * What a client says in CONNECT, as the connection keeps it: the options with
 * nats-server's defaults for a client that never sends CONNECT, and the merge of
 * each CONNECT into what earlier ones said (absent and null fields keep their
 * value, as nats-server decodes every CONNECT onto the same struct).
 *
 * @module
 */
import type { ConnectFields } from "../protocol/connect_json.ts";
import type { ConnectCredentials } from "../server/auth_api.ts";

/** What the client said in CONNECT (defaults as nats-server for a client that never sends it). */
export interface ConnectOptions {
  verbose: boolean;
  pedantic: boolean;
  echo: boolean;
  headers: boolean;
  noResponders: boolean;
  protocol: number;
  name: string;
  lang: string;
  version: string;
  tlsRequired: boolean;
}

/** CONNECT fields kept (and merged across CONNECTs) for authentication. */
const CREDENTIAL_FIELDS = ["user", "pass", "auth_token", "nkey", "sig", "jwt"] as const;

export function defaultConnectOptions(): ConnectOptions {
  return {
    verbose: true,
    pedantic: true,
    echo: true,
    headers: false,
    noResponders: false,
    protocol: 0,
    name: "",
    lang: "",
    version: "",
    tlsRequired: false,
  };
}

/** Merges one decoded CONNECT into `o`; headers stay off when the server has no header support. */
export function mergeConnect(o: ConnectOptions, f: ConnectFields, noHeaderSupport: boolean): void {
  o.verbose = f.verbose ?? o.verbose;
  o.pedantic = f.pedantic ?? o.pedantic;
  o.echo = f.echo ?? o.echo;
  o.headers = (f.headers ?? o.headers) && !noHeaderSupport;
  o.noResponders = f.no_responders ?? o.noResponders;
  o.tlsRequired = f.tls_required ?? o.tlsRequired;
  o.name = f.name ?? o.name;
  o.lang = f.lang ?? o.lang;
  o.version = f.version ?? o.version;
  o.protocol = f.protocol ?? o.protocol;
}

/** Keeps the credentials a CONNECT names, over those of earlier CONNECTs. */
export function mergeCredentials(creds: ConnectCredentials, f: ConnectFields): void {
  for (const k of CREDENTIAL_FIELDS) {
    const v = f[k];
    if (v !== undefined) creds[k] = v;
  }
}
