// deno-lint-ignore-file no-import-prefix -- tests pin the real NATS client by explicit npm specifier
/**
 * Real-client TLS probes shared by the TLS and reload tests: client TLS
 * options from the test PKI (certs/), and whether a client gets in.
 *
 * @module
 */
import { connect, type NatsConnection } from "npm:@nats-io/transport-node@3.4.0";

/** The test PKI (certs/README.md). */
export const CERTS = new URL("../../certs/", import.meta.url).pathname;
export const CA = CERTS + "ca.pem";

/** Client TLS options: trust the test CA, present `<certName>-cert.pem` if given. */
export function clientTls(certName?: string): Record<string, string> {
  const t: Record<string, string> = { caFile: CA };
  if (certName) {
    t.certFile = `${CERTS}${certName}-cert.pem`;
    t.keyFile = `${CERTS}${certName}-key.pem`;
  }
  return t;
}

/**
 * nats.js (3.4) leaves no error listener on its TLS socket once a connect
 * attempt has failed, so a server's TLS 1.3 alert that arrives after the
 * handshake (`CertificateRequired`, `BadCertificate`...) surfaces as an
 * uncaught error that fails whichever test file is running. Such an alert is
 * the refusal the probes below expect: swallow exactly those, nothing else.
 */
globalThis.addEventListener("error", (e) => {
  if (/received fatal alert: \w+/.test(String(e.error?.message ?? e.message))) e.preventDefault();
});

/** "ok" when a real client connects and round-trips, else "refused". */
export async function outcome(
  port: number,
  opts: { tls?: Record<string, string> | null; user?: string; pass?: string; url?: string },
): Promise<"ok" | "refused"> {
  let nc: NatsConnection | undefined;
  try {
    nc = await connect({
      servers: opts.url ?? `tls://127.0.0.1:${port}`,
      // null is passed on: nats.js then connects without TLS.
      ...(opts.tls === undefined ? {} : { tls: opts.tls }),
      ...(opts.user ? { user: opts.user, pass: opts.pass } : {}),
      reconnect: false,
      timeout: 3000,
    });
    await nc.flush();
    return "ok";
  } catch {
    return "refused";
  } finally {
    await nc?.close().catch(() => {});
  }
}
