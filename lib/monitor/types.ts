/**
 * Shapes shared by the monitoring builders, and the hooks other modules
 * (lib/cluster, lib/tls, lib/acme) may offer to it. Every hook is optional
 * and read defensively, so monitoring works before those modules exist.
 *
 * @module
 */

/** One route as lib/cluster reports it for /routez and /metrics (JSON-ready names). */
export interface RouteInfo {
  /** Route id (shares the client id counter in nats-server). */
  rid: number;
  /** Server id of the peer. */
  remote_id: string;
  /** True when this server dialed the route. */
  did_solicit: boolean;
  /** True when the route came from the `routes` list (not from gossip). */
  is_configured: boolean;
  /** Remote TCP address. */
  ip: string;
  port: number;
  start: Date;
  last_activity: Date;
  /** Round-trip time in milliseconds; 0 or absent = not measured yet. */
  rtt?: number;
  /** Bytes waiting to be written to the peer. */
  pending_size: number;
  in_msgs: number;
  out_msgs: number;
  in_bytes: number;
  out_bytes: number;
  /** Number of remote subscriptions (interest) learned from the peer. */
  subscriptions: number;
  /** Subjects of that interest; shown with `subs=true|detail`. */
  subscriptions_list?: string[];
  /** Per-subscription detail; shown with `subs=detail` when given. */
  subscriptions_list_detail?: SubDetail[];
  /** Route permissions, when configured. */
  import?: { allow?: string[]; deny?: string[] };
  export?: { allow?: string[]; deny?: string[] };
}

/** One subscription in `subscriptions_list_detail` / subsz `subscriptions_list`. */
export interface SubDetail {
  account?: string;
  subject: string;
  qgroup?: string;
  sid: string;
  msgs: number;
  max?: number;
  cid: number;
}

/** A served certificate, for `dnatsd_tls_certificate_not_after_seconds` and the dashboard. */
export interface TlsCertificateInfo {
  /** Certificate subject, e.g. `CN=example.com`. */
  subject: string;
  notAfter: Date;
  /** Where it came from: `file`, `acme`, ... */
  source?: string;
  // The fields below feed /varz `tls_cert` (a dnatsd extension); all optional.
  issuer?: string;
  /** Upper-case hex. */
  serial?: string;
  notBefore?: Date;
  /** ACME: when the next renewal is due. */
  nextRenewal?: Date;
  /** ACME: when the manager looks next (renewal or retry). */
  nextCheck?: Date;
  /** ACME: `ready`, `renewing`, `failing`, ... */
  acmeState?: string;
  /** ACME: directory URL of the CA. */
  acmeCa?: string;
  domains?: string[];
  /** ACME: consecutive failed attempts. */
  failures?: number;
  /** ACME: the last failure (secrets removed), until a success clears it. */
  lastError?: string;
  lastErrorAt?: Date;
  /** The file holding it, when there is one. */
  file?: string;
  /**
   * ACME: the TLS users serving it now (`client`, `route`); empty while the
   * first certificate is awaited or when nothing is configured to use it.
   */
  usedBy?: string[];
}

/** A JSON object whose key order is the order fields are assigned in. */
export type JsonObject = Record<string, unknown>;

/** One leaf connection in /leafz (nats-server 2.9 field order). */
export interface LeafInfo {
  account: string;
  ip: string;
  port: number;
  /** Round-trip time in ms (0 before the first PONG). */
  rttMs: number;
  in_msgs: number;
  out_msgs: number;
  in_bytes: number;
  out_bytes: number;
  subscriptions: number;
  subscriptions_list?: string[];
}
