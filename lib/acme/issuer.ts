/**
 * One certificate order from start to finish (RFC 8555 §7.4): newOrder,
 * solve every pending authorization with the configured solver, finalize
 * with a fresh key's CSR, wait for issuance, download the chain.
 *
 * @module
 */
import { abortableDelay } from "./retry.ts";
import type { Logger } from "../ops/logger.ts";
import { type AcmeClient, AcmeError, type Authorization, type Order } from "./acme_client.ts";
import { splitCertificates } from "./_encoding.ts";
import { NO_SUITABLE_CHALLENGE } from "./failure.ts";
import { buildCsr } from "./csr.ts";
import { generateKeyPair, type KeyType, privateKeyToPem } from "./keys.ts";

/** What a solver gets for one authorization. */
export interface ChallengeInfo {
  /** The identifier being validated (without `*.` for wildcards). */
  domain: string;
  token: string;
  /** `token.thumbprint`, the HTTP-01 response body. */
  keyAuthorization: string;
  /** base64url(SHA-256(keyAuthorization)), the DNS-01 TXT value. */
  dnsValue: string;
}

/** Makes one kind of challenge answerable (RFC 8555 §8). */
export interface ChallengeSolver {
  readonly type: "http-01" | "dns-01";
  present(info: ChallengeInfo): Promise<void>;
  /** Resolves when the CA should be able to see the answer (DNS propagation). */
  wait?(info: ChallengeInfo): Promise<void>;
  cleanup(info: ChallengeInfo): Promise<void>;
}

/** A freshly issued certificate. */
export interface IssuedCertificate {
  /** Leaf followed by the issuer chain, as served in TLS. */
  certPem: string;
  /** The issuer chain alone (what letsgo-nats writes to `.issuer.crt`). */
  chainPem: string;
  keyPem: string;
}

/** Settings for {@link obtainCertificate}. */
export interface ObtainOptions {
  domains: string[];
  keyType: KeyType;
  solver: ChallengeSolver;
  log: Logger;
  /** ARI identifier of the certificate being replaced (RFC 9773 §5). */
  replaces?: string;
  /** Bound on waiting for validation and issuance (default 3 min). */
  pollTimeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Polls `read` until `done` says so, with a short interval that grows to 2 s;
 * throws when the deadline passes.
 */
async function pollUntil<T>(
  read: () => Promise<T>,
  done: (v: T) => boolean,
  what: string,
  opts: { deadline: number; signal?: AbortSignal | undefined },
): Promise<T> {
  let wait = 200;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() + wait > opts.deadline) throw new AcmeError(`Timed out waiting for ${what}`, {});
    await abortableDelay(wait, opts.signal);
    wait = Math.min(wait * 2, 2000);
  }
}

function describeProblem(p: { type?: string; detail?: string } | undefined): string {
  if (!p) return "no details";
  return [p.type, p.detail].filter(Boolean).join(": ") || "no details";
}

/**
 * Obtains a certificate for `opts.domains` with an account already set up on
 * `client`.
 *
 * @throws {AcmeError} when the CA refuses, a challenge fails, or a deadline passes
 */
export async function obtainCertificate(
  client: AcmeClient,
  opts: ObtainOptions,
): Promise<IssuedCertificate> {
  const deadline = Date.now() + (opts.pollTimeoutMs ?? 180_000);
  const identifiers = opts.domains.map((d) => ({
    type: /^\d{1,3}(\.\d{1,3}){3}$/.test(d) ? "ip" as const : "dns" as const,
    value: d,
  }));
  let order: Order = await client.newOrder(
    identifiers,
    opts.replaces ? { replaces: opts.replaces } : {},
  );
  opts.log.debug(`ACME: order ${order.url} for ${opts.domains.join(",")} is ${order.status}`);

  const presented: ChallengeInfo[] = [];
  try {
    const pending: { authzUrl: string; challengeUrl: string; info: ChallengeInfo }[] = [];
    for (const authzUrl of order.authorizations) {
      const authz: Authorization = await client.authorization(authzUrl);
      // The CA may reuse an already valid authorization (RFC 8555 §7.1.3).
      if (authz.status === "valid") continue;
      if (authz.status !== "pending") {
        throw new AcmeError(`Authorization for ${authz.identifier.value} is ${authz.status}`, {});
      }
      const ch = authz.challenges.find((c) => c.type === opts.solver.type);
      if (!ch) {
        throw new AcmeError(
          `The CA offers no ${opts.solver.type} challenge for ${authz.identifier.value}`,
          { type: NO_SUITABLE_CHALLENGE },
        );
      }
      const info: ChallengeInfo = {
        domain: authz.identifier.value,
        token: ch.token,
        keyAuthorization: await client.keyAuthorization(ch.token),
        dnsValue: await client.dns01Value(ch.token),
      };
      await opts.solver.present(info);
      presented.push(info);
      pending.push({ authzUrl, challengeUrl: ch.url, info });
    }
    // Present everything first, then wait: DNS propagation runs in parallel.
    if (opts.solver.wait) await Promise.all(pending.map((p) => opts.solver.wait!(p.info)));
    for (const p of pending) {
      await client.acceptChallenge(p.challengeUrl);
      const authz = await pollUntil(
        () => client.authorization(p.authzUrl),
        (a) => a.status !== "pending",
        `validation of ${p.info.domain}`,
        { deadline, signal: opts.signal },
      );
      if (authz.status !== "valid") {
        const failed = authz.challenges.find((c) => c.type === opts.solver.type);
        throw new AcmeError(
          `Validation of ${p.info.domain} failed (${authz.status}): ${
            describeProblem(failed?.error)
          }`,
          {},
        );
      }
      opts.log.debug(`ACME: ${opts.solver.type} for ${p.info.domain} is valid`);
    }
  } finally {
    for (const info of presented) {
      await opts.solver.cleanup(info).catch((err) =>
        opts.log.warn(`ACME: cleaning up the challenge for ${info.domain} failed: ${err}`)
      );
    }
  }

  order = await pollUntil(
    () => client.order(order.url),
    (o) => o.status !== "pending",
    "the order to become ready",
    { deadline, signal: opts.signal },
  );
  // Only a "ready" order takes our CSR; a "valid" one would carry someone else's key.
  if (order.status !== "ready") {
    throw new AcmeError(`Order is ${order.status}: ${describeProblem(order.error)}`, {});
  }

  const key = await generateKeyPair(opts.keyType);
  order = await client.finalize(order, await buildCsr(key, opts.domains));
  order = await pollUntil(
    () => client.order(order.url),
    (o) => o.status !== "processing" && o.status !== "ready",
    "issuance",
    { deadline, signal: opts.signal },
  );
  if (order.status !== "valid" || !order.certificate) {
    throw new AcmeError(`Order ended ${order.status}: ${describeProblem(order.error)}`, {});
  }
  const chain = splitCertificates(await client.downloadCertificate(order.certificate));
  if (chain.length === 0) throw new AcmeError("The CA returned no certificate", {});
  return {
    certPem: chain.join(""),
    chainPem: chain.slice(1).join(""),
    keyPem: await privateKeyToPem(key),
  };
}
