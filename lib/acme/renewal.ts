/**
 * When to renew, from three settings (README.md, "Certificates from ACME"):
 *
 * - With ACME Renewal Information (RFC 9773) the CA suggests a window and we
 *   pick a random moment inside it (§4.2: spreads load, and the CA can pull
 *   the window earlier, e.g. before a mass revocation). `renew_before`, when
 *   set, is the latest moment still: a window that sits later is not waited
 *   for. And when less than 1/20 of the lifetime is left, renew anyway (a
 *   safety net for a window that sits too late).
 * - Without ARI: `renew_before` when set (renew once less than that is left),
 *   else `renew_fraction` (once less than that share of the lifetime is left,
 *   default 1/3). The two are alternatives; setting both is refused.
 * - `renew_before` counts at most half the lifetime: a fresh certificate is
 *   never due at once (a `renew_before` longer than the CA's lifetimes would
 *   otherwise renew in a loop until the CA's rate limits stop it).
 *
 * `check_interval` bounds the wait between checks (ARI windows move, and
 * storage may have been renewed by another instance): the next check is at
 * the renewal time or after the interval, whichever comes first.
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

/** The configured renewal rule: `renew_fraction` and `renew_before`. */
export interface RenewalRule {
  /** Renew when this share of the lifetime is left (no ARI, no `beforeMs`). */
  fraction: number;
  /** Renew when this many ms are left, capped at half the lifetime. */
  beforeMs?: number | undefined;
}

/** `renew_before` as a moment: notAfter - min(beforeMs, lifetime / 2). */
export function beforeRenewalTime(cert: Lifetime, beforeMs: number): Date {
  const life = cert.notAfter.getTime() - cert.notBefore.getTime();
  return new Date(cert.notAfter.getTime() - Math.min(beforeMs, life / 2));
}

/**
 * The time the certificate should be renewed (see the module comment).
 *
 * @param cert its validity
 * @param rule `renew_fraction` and `renew_before`, or just a fraction
 * @param ari the CA's window, when it offers ARI
 */
export function renewalTime(cert: Lifetime, rule: number | RenewalRule, ari?: AriState): Date {
  const r: RenewalRule = typeof rule === "number" ? { fraction: rule } : rule;
  const before = r.beforeMs === undefined ? undefined : beforeRenewalTime(cert, r.beforeMs);
  if (!ari) return before ?? fractionRenewalTime(cert, r.fraction);
  let at = ari.selected;
  if (before && before < at) at = before;
  const safety = fractionRenewalTime(cert, 1 / 20);
  return at < safety ? at : safety;
}

/**
 * Milliseconds until the next check: the renewal time or `check_interval`,
 * whichever comes first, and at least a second, so a certificate due at once
 * cannot spin the loop.
 *
 * @param now the current time
 * @param checkIntervalMs `check_interval`
 * @param renewAt the renewal time, when there is a certificate
 */
export function nextCheckDelay(now: Date, checkIntervalMs: number, renewAt?: Date): number {
  let ms = checkIntervalMs;
  if (renewAt) ms = Math.min(ms, renewAt.getTime() - now.getTime());
  return Math.max(1000, ms);
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
