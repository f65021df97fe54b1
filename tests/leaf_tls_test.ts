// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * TLS on the leaf link with Debian's nats-server, both directions: the hub
 * sends INFO in plain text, then the handshake; with `verify: true` the
 * leaf must present a certificate the hub trusts. Messages cross both ways.
 * Reported as ignored when nats-server is not installed.
 */
import { equal, match } from "node:assert/strict";
import { missing } from "./helpers/requires.ts";
import {
  CERTS,
  client,
  hubConf,
  type Kind,
  leafConf,
  type Node,
  startNode,
  waitInterest,
  waitLeafCount,
} from "./leaf_helpers.ts";
import { waitFor } from "./helpers/server.ts";
import type { NatsConnection } from "npm:@nats-io/transport-node@3.4.0";

const HUB_TLS = `tls { cert_file: "${CERTS}server-cert.pem", key_file: "${CERTS}server-key.pem", ` +
  `ca_file: "${CERTS}ca.pem", verify: true, timeout: 3 }`;
const LEAF_TLS =
  `tls { cert_file: "${CERTS}client-cert.pem", key_file: "${CERTS}client-key.pem", ` +
  `ca_file: "${CERTS}ca.pem", timeout: 3 }`;

async function roundTrip(a: NatsConnection, b: NatsConnection, subject: string) {
  const got: string[] = [];
  b.subscribe(subject, {
    callback: (_e, m) => {
      got.push(m.string());
    },
  });
  await waitInterest(a, b);
  for (let i = 0; i < 5; i++) a.publish(subject, `t${i}`);
  await a.flush();
  await waitFor(() => got.length >= 5, 5000, `${subject}: 5 messages`);
  await waitInterest(a, b);
  equal(got.join(","), "t0,t1,t2,t3,t4");
}

async function tlsPair(hubKind: Kind, leafKind: Kind) {
  const nodes: Node[] = [];
  const conns: NatsConnection[] = [];
  try {
    const hub = await startNode(hubKind, hubConf(HUB_TLS));
    nodes.push(hub);
    const leaf = await startNode(leafKind, leafConf(hub.leafPort, `, ${LEAF_TLS}`));
    nodes.push(leaf);
    await waitLeafCount(hub, 1);
    await waitLeafCount(leaf, 1);
    const h = await client(hub);
    const l = await client(leaf);
    conns.push(h, l);
    await roundTrip(h, l, "tls.down");
    await roundTrip(l, h, "tls.up");
  } finally {
    for (const c of conns) await c.close().catch(() => {});
    for (const n of nodes.reverse()) await n.proc.stop();
  }
}

Deno.test({
  name: "leaf TLS: nats-server leaf of a dnatsd hub (verify: true)",
  ignore: missing("nats-server"),
  fn: () => tlsPair("dnatsd", "nats-server"),
});

Deno.test({
  name: "leaf TLS: dnatsd leaf of a nats-server hub (verify: true)",
  ignore: missing("nats-server"),
  fn: () => tlsPair("nats-server", "dnatsd"),
});

Deno.test({
  name: "leaf TLS: a leaf without a client certificate is refused by a verifying dnatsd hub",
  ignore: missing("nats-server"),
  fn: async () => {
    const hub = await startNode("dnatsd", hubConf(HUB_TLS));
    const noCert = `tls { ca_file: "${CERTS}ca.pem", timeout: 3 }`;
    const leaf = await startNode("nats-server", leafConf(hub.leafPort, `, ${noCert}`));
    try {
      await hub.proc.waitForLog(/lid:\d+ - TLS handshake error/, 10_000);
      const v = await (await fetch(`http://127.0.0.1:${hub.httpPort}/varz`)).json();
      equal(v.leafnodes, 0);
      match(hub.proc.logs.text, /TLS handshake error/);
    } finally {
      await leaf.proc.stop();
      await hub.proc.stop();
    }
  },
});
