/**
 * The `cluster` object of /varz next to nats-server's for the same
 * configuration: the name in force, the derived auth timeout, and the TLS
 * fields (routes always verify, so nats-server shows tls_verify with
 * tls_required).
 *
 * @module
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { ServerProcess } from "./helpers/server.ts";
import { missing } from "./helpers/requires.ts";
import { CERTS } from "./helpers/tls_client.ts";

async function clusterVarz(reference: boolean, cluster: string): Promise<Record<string, unknown>> {
  const s = await ServerProcess.start({ reference, config: `http: "127.0.0.1:-1"\n${cluster}` });
  try {
    const re = /monitor on (?:http:\/\/)?[^:\s]+:(\d+)/i;
    await s.waitForLog(re, 10_000);
    const port = Number(re.exec(s.logs.text)![1]);
    const c = (await (await fetch(`http://127.0.0.1:${port}/varz`)).json()).cluster as Record<
      string,
      unknown
    >;
    // Random on both, and nats-server may still show the configured -1 while its
    // route listener binds: the port is not what this test compares.
    ok("cluster_port" in c, JSON.stringify(c));
    c.cluster_port = "<port>";
    return c;
  } finally {
    await s.stop();
  }
}

const TLS = `tls { cert_file: "${CERTS}route-cert.pem", key_file: "${CERTS}route-key.pem", ` +
  `ca_file: "${CERTS}ca.pem", timeout: 4 }`;

const CASES: Array<[string, string]> = [
  [
    "a named cluster with authorization",
    `cluster { name: cn, listen: "127.0.0.1:-1", authorization { user: r, password: p, timeout: 3 } }`,
  ],
  ["route TLS without a timeout for auth", `cluster { name: cn, listen: "127.0.0.1:-1", ${TLS} }`],
];

for (const [what, conf] of CASES) {
  Deno.test({
    name: `/varz cluster matches nats-server: ${what}`,
    ignore: missing("nats-server"),
    async fn() {
      const theirs = await clusterVarz(true, conf + "\n");
      const ours = await clusterVarz(false, conf + "\n");
      deepStrictEqual(ours, theirs);
    },
  });
}

Deno.test({
  name:
    "/varz cluster shows the generated name of a cluster configured without one, as nats-server",
  ignore: missing("nats-server"),
  async fn() {
    for (const reference of [true, false]) {
      const c = await clusterVarz(reference, `cluster { listen: "127.0.0.1:-1" }\n`);
      equal(
        typeof c.name,
        "string",
        `${reference ? "nats-server" : "dnatsd"}: ${JSON.stringify(c)}`,
      );
      ok((c.name as string).length > 0);
    }
  },
});
