/**
 * When to renew. With ACME Renewal Information (RFC 9773) the CA suggests a
 * window and we pick a random moment inside it (§4.2: spreads load, and the
 * CA can pull the window earlier, e.g. before a mass revocation). Without
 * ARI, renew once less than `renewFraction` of the lifetime is left. Either
 * way renew when less than 1/20 of the lifetime is left, as a safety net for
 * a window that sits too late.
 *
 * @module
 */

/** The ARI state of one certificate. */
export interface AriState {
  certId: string;
  windowStart: Date;
  windowEnd: Date;
  /** The moment picked inside the window; kept until the window moves. */
  selected: Date;
  /** Do not ask the CA again before this time (its Retry-After). */
  nextFetch: Date;
}

/** A validity period. */
export interface Lifetime {
  notBefore: Date;
  notAfter: Date;
}

/** Fraction-based renewal time: notAfter - fraction × lifetime. */
export function fractionRenewalTime(cert: Lifetime, fraction: number): Date {
  const life = cert.notAfter.getTime() - cert.notBefore.getTime();
  return new Date(cert.notAfter.getTime() - life * fraction);
}

/**
 * Picks a time in [start, end); a window already in the past gives `start`,
 * i.e. "renew now".
 */
export function pickInWindow(start: Date, end: Date, random = Math.random): Date {
  const span = Math.max(0, end.getTime() - start.getTime());
  return new Date(start.getTime() + Math.floor(span * random()));
}

/**
 * The time the certificate should be renewed.
 *
 * @param cert its validity
 * @param fraction renew when this share of the lifetime is left (no ARI)
 * @param ari the CA's window, when it offers ARI
 */
export function renewalTime(cert: Lifetime, fraction: number, ari?: AriState): Date {
  const safety = fractionRenewalTime(cert, 1 / 20);
  if (!ari) return fractionRenewalTime(cert, fraction);
  return ari.selected < safety ? ari.selected : safety;
}

/** Human-readable duration for logs: `2d3h`, `5m`, `40s`. */
export function formatDuration(ms: number): string {
  const neg = ms < 0;
  if (Math.abs(ms) < 1000) return `${Math.round(ms)}ms`;
  let s = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts = d
    ? [`${d}d`, h ? `${h}h` : ""]
    : h
    ? [`${h}h`, m ? `${m}m` : ""]
    : m
    ? [`${m}m`, s ? `${s}s` : ""]
    : [`${s}s`];
  return (neg ? "-" : "") + parts.join("");
}
