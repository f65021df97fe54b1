import { deepEqual, equal, throws } from "node:assert/strict";
import {
  BadRequest,
  connzParams,
  decodeBody,
  filteredOut,
  readFilter,
  RequestFailed,
  subszParams,
} from "./request_options.ts";

const enc = new TextEncoder();
const me = { name: "alpha-1", host: "0.0.0.0", cluster: "east", tags: [] };

Deno.test("decodeBody: empty is the defaults, JSON that is not an object is refused", () => {
  deepEqual(decodeBody(new Uint8Array(0)), {});
  deepEqual(decodeBody(enc.encode("null")), {});
  throws(() => decodeBody(enc.encode("{bad")), BadRequest);
  throws(() => decodeBody(enc.encode("[1]")), BadRequest);
  // Keys match without regard to case, as Go's decoder does.
  deepEqual(decodeBody(enc.encode('{"Auth":true,"SERVER_NAME":"x"}')), {
    auth: true,
    server_name: "x",
  });
});

Deno.test("connzParams: nats-server's option names, state as a number, wrong types refused", () => {
  const p = connzParams({ auth: true, subscriptions_detail: true, state: 2, limit: 5, acc: "A" });
  equal(p.auth, true);
  equal(p.subs, "detail");
  equal(p.state, "any");
  equal(p.limit, 5);
  equal(p.acc, "A");
  equal(connzParams({}).limit, 1024);
  throws(() => connzParams({ limit: "ten" }), BadRequest);
  throws(() => connzParams({ sort: "bogus" }), RequestFailed);
  throws(() => connzParams({ sort: "stop" }), RequestFailed);
});

Deno.test("subszParams: account, test subject must be literal", () => {
  const p = subszParams({ subscriptions: true, account: "B", test: "a.b" });
  deepEqual([p.subs, p.acc, p.test], [true, "B", "a.b"]);
  throws(() => subszParams({ test: "a.*" }), RequestFailed);
});

Deno.test("filteredOut: substring matches as nats-server, a domain never matches", () => {
  equal(filteredOut(readFilter({}), me), false);
  equal(filteredOut(readFilter({ server_name: "alpha" }), me), false);
  equal(filteredOut(readFilter({ server_name: "beta" }), me), true);
  equal(filteredOut(readFilter({ cluster: "ea" }), me), false);
  equal(filteredOut(readFilter({ cluster: "west" }), me), true);
  equal(filteredOut(readFilter({ tags: ["x"] }), me), true);
  equal(filteredOut(readFilter({ domain: "d" }), me), true);
});
