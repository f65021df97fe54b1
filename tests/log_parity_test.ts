/**
 * Start-up log lines an operator greps for, compared with Debian's
 * nats-server on the same configuration: every line up to "Server is ready",
 * with pids, timestamps, ids and ports normalised away.
 *
 * @module
 */
import { deepStrictEqual, ok } from "node:assert/strict";
import { ServerProcess } from "./helpers/server.ts";
import { missing } from "./helpers/requires.ts";
import { CERTS } from "./helpers/tls_client.ts";

// "password" hashed with bcrypt (cost 4: start-up only checks the form).
const BCRYPT = "$2a$04$lwzQvfEkqwYd6s9eyTXzHeYcpjYFEAzA4s7q8lB7e7p6m6cTjIh3i";
const NKEY_USER = "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4";

/** The start-up lines, normalised, in order. */
function startupLines(log: string): string[] {
  const out: string[] = [];
  for (const raw of log.split("\n")) {
    const line = raw.replace(/^\[\d+\] \S+ \S+ /, "");
    if (line === "") continue;
    if (/^\[INF\]\s+(Version|Git|Name|ID):/.test(line)) continue; // server identity
    out.push(line.replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:<port>"));
    if (/Server is ready/.test(line)) break;
  }
  return out;
}

const CASES: Array<{ name: string; config?: string; args?: string[]; expect: RegExp[] }> = [
  {
    name: "a plain-text user password",
    config: "authorization { users = [ { user: a, password: plain } ] }\n",
    expect: [/^\[WRN\] Plaintext passwords detected, use nkeys or bcrypt$/],
  },
  {
    name: "a plain-text password in an account",
    config: "accounts { A { users = [ { user: a, password: plain } ] } }\n",
    expect: [/Plaintext passwords detected/],
  },
  {
    name: "--user/--pass with a plain password",
    args: ["--user", "a", "--pass", "plain"],
    expect: [/Plaintext passwords detected/],
  },
  {
    name: "bcrypt passwords only",
    config: `authorization { users = [ { user: a, password: "${BCRYPT}" } ] }\n`,
    expect: [],
  },
  {
    name: "NKey users only",
    config: `authorization { users = [ { nkey: ${NKEY_USER} } ] }\n`,
    expect: [],
  },
  {
    name: "TLS for clients",
    args: ["--tls", "--tlscert", `${CERTS}server-cert.pem`, "--tlskey", `${CERTS}server-key.pem`],
    expect: [/^\[INF\] TLS required for client connections$/],
  },
];

for (const c of CASES) {
  Deno.test({
    name: `start-up log lines match nats-server: ${c.name}`,
    ignore: missing("nats-server"),
    async fn() {
      const seen: string[][] = [];
      for (const reference of [true, false]) {
        const s = await ServerProcess.start({
          reference,
          ...(c.config !== undefined ? { config: c.config } : {}),
          args: c.args ?? [],
        });
        try {
          seen.push(startupLines(s.logs.text).filter((l) => !/Using configuration file/.test(l)));
        } finally {
          await s.stop();
        }
      }
      const [theirs, ours] = seen;
      deepStrictEqual(ours, theirs);
      for (const re of c.expect) ok(ours!.some((l) => re.test(l)), `${re} in ${ours!.join(" | ")}`);
      if (c.expect.length === 0) ok(!ours!.some((l) => /Plaintext passwords/.test(l)));
    },
  });
}
