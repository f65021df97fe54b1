/**
 * `cipher_suites` and `curve_preferences` (Go names) mapped to what Deno's
 * TLS can really enforce.
 *
 * Deno's `node:tls` runs on rustls, measured on Deno 2.9.6 with `openssl
 * s_client` offering exactly one suite or group:
 *
 * - `ciphers`, `ecdhCurve` and `sigalgs` are accepted and IGNORED: a server
 *   restricted to one suite still completes a handshake with a client offering
 *   only another one.
 * - `minVersion` / `maxVersion` ARE enforced (TLS 1.0/1.1 never work anyway).
 * - Negotiable TLS 1.3 suites: AES_128_GCM, AES_256_GCM, CHACHA20_POLY1305.
 *   Negotiable TLS 1.2 suites: ECDHE_{RSA,ECDSA}_WITH_{AES_128_GCM_SHA256,
 *   AES_256_GCM_SHA384, CHACHA20_POLY1305}; the RSA ones with an RSA key, the
 *   ECDSA ones with an EC key. No CBC, RC4, 3DES, static-RSA or DHE suites.
 * - Key exchange groups: X25519, P-256, P-384 (no P-521, X448, FFDHE).
 *
 * So the mapping keeps Go's meaning (in Go, `cipher_suites` only governs TLS
 * 1.2; TLS 1.3 suites are always on) and enforces by what can be decided:
 *
 * | setting | outcome |
 * |---|---|
 * | no `cipher_suites` | runtime defaults, TLS >= 1.2 |
 * | list covers every TLS 1.2 suite the runtime can negotiate for the key type | enforced as is (nothing else can be negotiated) |
 * | list shares no TLS 1.2 suite with the runtime | TLS 1.2 disabled (min TLS 1.3): only listed or TLS 1.3 suites can be used; warning |
 * | list covers only part of the runtime's TLS 1.2 suites | refuse to start, naming the suites that cannot be excluded |
 * | TLS 1.3 names in the list | no effect, as in nats-server; warning |
 * | `curve_preferences` covering X25519, CurveP256 and CurveP384 | enforced as a set; the order is the runtime's; warning |
 * | `curve_preferences` leaving out a supported group, or only CurveP521 | refuse to start |
 *
 * @module
 */
import { GO_CIPHER_SUITES, GO_CURVE_NAMES, TLS13_SUITES } from "./go_names.ts";

/** The TLS 1.2 suites rustls negotiates, by the kind of key they need. */
const RUNTIME_TLS12_SUITES: Readonly<Record<KeyKind, readonly string[]>> = {
  rsa: [
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
  ],
  ec: [
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
  ],
};

/** Go curve names and whether the runtime can use them (rustls has no P-521). */
const GO_CURVES: Readonly<Record<string, boolean>> = Object.fromEntries(
  GO_CURVE_NAMES.map((c) => [c, c !== "CurveP521"]),
);
const RUNTIME_CURVES = Object.keys(GO_CURVES).filter((c) => GO_CURVES[c]);

/** The kind of private key, which decides the TLS 1.2 suites a server can use. */
export type KeyKind = "rsa" | "ec";

/** What the secure context must set to honour `cipher_suites`/`curve_preferences`. */
export interface CipherPolicy {
  /** Lowest protocol version ("TLSv1.2", or "TLSv1.3" when TLS 1.2 is ruled out). */
  minVersion: "TLSv1.2" | "TLSv1.3";
  /** Things the operator should know (logged as warnings at start). */
  warnings: string[];
}

/**
 * Bad or unenforceable TLS material or settings: the server must not start
 * (or a certificate swap must not happen).
 */
export class TlsConfigError extends Error {
  /** The setting or file at fault (`cipher_suites`, `cert_file`, ...). */
  readonly setting: string;
  constructor(setting: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TlsConfigError";
    this.setting = setting;
  }
}

/**
 * Decides how `cipher_suites` and `curve_preferences` are enforced for a key kind.
 *
 * @param opts The Go names from the `tls` block (absent = runtime defaults).
 * @param keyKind The server key's kind (TLS 1.2 suites depend on it).
 * @returns The minimum version to set and warnings to log.
 * @throws {TlsConfigError} When a name is unknown or a restriction cannot be enforced.
 * @example
 * ```ts
 * import { cipherPolicy } from "./ciphers.ts";
 * const p = cipherPolicy({ cipherSuites: ["TLS_RSA_WITH_AES_128_CBC_SHA"] }, "rsa");
 * if (p.minVersion !== "TLSv1.3") throw new Error("CBC-only must rule out TLS 1.2");
 * ```
 */
export function cipherPolicy(
  opts: { cipherSuites?: readonly string[]; curvePreferences?: readonly string[] },
  keyKind: KeyKind,
): CipherPolicy {
  const policy: CipherPolicy = { minVersion: "TLSv1.2", warnings: [] };
  const suites = opts.cipherSuites;
  if (suites !== undefined) {
    if (suites.length === 0) {
      throw new TlsConfigError("cipher_suites", "'cipher_suites' cannot be empty");
    }
    for (const s of suites) {
      if (!GO_CIPHER_SUITES.includes(s)) {
        throw new TlsConfigError("cipher_suites", `unrecognized cipher ${s}`);
      }
    }
    const tls13 = suites.filter((s) => TLS13_SUITES.includes(s));
    if (tls13.length > 0) {
      policy.warnings.push(
        `cipher_suites: ${tls13.join(", ")} not configurable: TLS 1.3 suites are always ` +
          "enabled (as in nats-server)",
      );
    }
    const runtime = RUNTIME_TLS12_SUITES[keyKind];
    const listed = runtime.filter((s) => suites.includes(s));
    if (listed.length === 0) {
      policy.minVersion = "TLSv1.3";
      policy.warnings.push(
        "cipher_suites: none of the listed TLS 1.2 suites is available in this runtime " +
          `(it has ${runtime.join(", ")}): TLS 1.2 disabled, TLS 1.3 only`,
      );
    } else if (listed.length < runtime.length) {
      const extra = runtime.filter((s) => !suites.includes(s));
      throw new TlsConfigError(
        "cipher_suites",
        `cipher_suites cannot be enforced: this runtime (Deno/rustls) would still negotiate ` +
          `${extra.join(", ")}; list all of ${runtime.join(", ")}, or none of them (TLS 1.3 only)`,
      );
    }
  }
  const curves = opts.curvePreferences;
  if (curves !== undefined && curves.length > 0) {
    for (const c of curves) {
      if (!(c in GO_CURVES)) {
        throw new TlsConfigError("curve_preferences", `unrecognized curve preference ${c}`);
      }
    }
    const missing = RUNTIME_CURVES.filter((c) => !curves.includes(c));
    if (missing.length === RUNTIME_CURVES.length) {
      throw new TlsConfigError(
        "curve_preferences",
        `curve_preferences cannot be enforced: this runtime (Deno/rustls) supports none of ` +
          `${curves.join(", ")} (it has ${RUNTIME_CURVES.join(", ")})`,
      );
    }
    if (missing.length > 0) {
      throw new TlsConfigError(
        "curve_preferences",
        `curve_preferences cannot be enforced: this runtime (Deno/rustls) cannot exclude ` +
          `${missing.join(", ")}; list all of ${RUNTIME_CURVES.join(", ")}`,
      );
    }
    const unusable = curves.filter((c) => !GO_CURVES[c]);
    policy.warnings.push(
      `curve_preferences: order is the runtime's (${RUNTIME_CURVES.join(", ")})` +
        (unusable.length > 0 ? `; ${unusable.join(", ")} not available` : ""),
    );
  }
  return policy;
}

/**
 * The nats-server name of a negotiated suite (from Node's `getCipher().standardName`):
 * IANA names except the TLS 1.2 ChaCha20 suites, which nats-server 2.9 prints
 * without the `_SHA256` suffix.
 *
 * @param standardName IANA name, e.g. `TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256`.
 * @returns The Go name, e.g. `TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305`.
 */
export function goCipherName(standardName: string): string {
  if (/^TLS_ECDHE_(RSA|ECDSA)_WITH_CHACHA20_POLY1305_SHA256$/.test(standardName)) {
    return standardName.slice(0, -"_SHA256".length);
  }
  return standardName;
}

/**
 * The Go-style version text (`1.2`, `1.3`) of Node's `getProtocol()` (`TLSv1.3`).
 *
 * @param protocol Node's protocol name, or null.
 * @returns The version as nats-server logs and reports it.
 */
export function goTlsVersion(protocol: string | null): string {
  if (protocol === null) return "";
  const m = /^TLSv(\d(?:\.\d)?)$/.exec(protocol);
  if (!m) return protocol;
  return m[1]!.includes(".") ? m[1]! : `${m[1]}.0`;
}
