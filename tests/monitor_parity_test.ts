// deno-lint-ignore-file no-import-prefix -- tests use the real NATS client straight from npm
/**
 * Field-by-field comparison with Debian's nats-server: both servers get the
 * same configuration and the same client activity, then answer the same
 * monitoring queries. Keys, key order and value types must agree (values
 * legitimately differ: ids, times, ports, memory); error answers must agree
 * byte for byte.
 */
import { deepEqual, equal } from "node:assert/strict";
import { connect, type NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { missing } from "./helpers/requires.ts";
import { waitFor } from "./helpers/server.ts";
import { type Monitored, shapeDiff, startMonitored } from "./monitor_helpers.ts";

const CONFIG = `
accounts {
  A { users: [{user: alice, password: pa}] }
  B { users: [{user: bob, password: pb}] }
}
`;

/** Queries compared by shape. */
const QUERIES = [
  "/varz",
  "/connz",
  "/connz?auth=1",
  "/connz?subs=1",
  "/connz?subs=detail&auth=1",
  "/connz?state=closed",
  "/connz?state=all&sort=cid",
  "/connz?sort=subs&limit=1&offset=1",
  "/connz?cid=999999",
  "/routez",
  "/routez?subs=1",
  "/subsz",
  "/subsz?subs=1&acc=A",
  "/subsz?subs=1&test=foo.bar&acc=B",
  "/subscriptionsz?acc=A",
  "/healthz",
  "/accountz",
  "/accountz?acc=A",
  "/accountz?acc=$G",
  "/accountz?acc=$SYS",
  "/accstatz?unused=1",
  "/accstatz",
  "/jsz",
  "/gatewayz",
  "/leafz",
];

/** Differences accepted on purpose: none. */
const IGNORE = new Set<string>();

/** Bad queries whose status and text must be identical. */
const ERRORS = [
  "/connz?sort=bogus",
  "/connz?sort=stop",
  "/connz?auth=maybe",
  "/connz?limit=ten",
  "/connz?cid=-4",
  "/connz?state=half",
  "/routez?subs=yes",
  "/subsz?test=foo.*",
  "/subsz?offset=1e3",
  "/accountz?acc=nope",
  "/nope",
];

async function traffic(m: Monitored): Promise<NatsConnection[]> {
  const a = await connect({ servers: m.natsUrl, user: "alice", pass: "pa", name: "parity-a" });
  const b = await connect({ servers: m.natsUrl, user: "bob", pass: "pb", name: "parity-b" });
  a.subscribe("foo.*");
  a.subscribe("q.>", { queue: "workers" });
  b.subscribe("foo.bar");
  await a.flush();
  await b.flush();
  a.publish("foo.x", "one");
  b.publish("foo.bar", "two");
  await a.flush();
  await b.flush();
  // One closed connection for state=closed.
  const gone = await connect({ servers: m.natsUrl, user: "bob", pass: "pb", name: "gone" });
  gone.subscribe("bye");
  await gone.flush();
  await gone.close();
  await waitFor(
    async () => {
      const z = await m.json("/connz?state=closed");
      return (z.connections as unknown[]).length === 1;
    },
    3000,
    "closed connection",
  );
  return [a, b];
}

Deno.test({
  name: "monitor parity: same JSON shapes and error texts as nats-server",
  ignore: missing("nats-server"),
}, async (t) => {
  const ours = await startMonitored({ config: CONFIG });
  const theirs = await startMonitored({ config: CONFIG, reference: true });
  const clients: NatsConnection[] = [];
  try {
    clients.push(...await traffic(ours), ...await traffic(theirs));
    for (const q of QUERIES) {
      await t.step(`shape of ${q}`, async () => {
        const [x, y] = await Promise.all([ours.json(q), theirs.json(q)]);
        deepEqual(shapeDiff(x, y, "", IGNORE), []);
      });
    }
    for (const q of ERRORS) {
      await t.step(`error of ${q}`, async () => {
        const [x, y] = await Promise.all([ours.get(q), theirs.get(q)]);
        const [tx, ty] = await Promise.all([x.text(), y.text()]);
        equal(x.status, y.status);
        equal(tx, ty);
        equal(x.headers.get("content-type"), y.headers.get("content-type"));
      });
    }
    await t.step("JSONP and compact healthz", async () => {
      const [x, y] = await Promise.all([
        ours.get("/healthz?callback=cb"),
        theirs.get("/healthz?callback=cb"),
      ]);
      equal(await x.text(), await y.text());
      equal(x.headers.get("content-type"), y.headers.get("content-type"));
    });
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all([ours.stop(), theirs.stop()]);
  }
});
