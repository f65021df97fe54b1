import assert from "node:assert/strict";
import type { Permissions } from "../config/options.ts";
import { PermissionChecker, PermissionRules } from "./permissions.ts";

const seedPerms: Permissions = {
  // the gnatsd README example "myUserPerms"
  publish: { allow: ["*.*"], deny: ["SYS.*", "bar.baz", "foo.*"] },
  subscribe: { allow: ["foo.*", "bar"], deny: ["foo.baz"] },
};

Deno.test("PermissionChecker.canPublish() allow and deny lists", () => {
  const p = new PermissionChecker(seedPerms);
  const table: Array<[string, boolean]> = [
    ["a.b", true],
    ["x.y", true],
    ["a", false], // not two tokens
    ["a.b.c", false],
    ["SYS.x", false],
    ["bar.baz", false],
    ["bar.qux", true],
    ["foo.bar", false],
  ];
  for (const [s, want] of table) {
    assert.equal(p.canPublish(s), want, s);
    assert.equal(p.canPublish(s), want, `${s} (cached)`);
  }
});

Deno.test("PermissionChecker: no allow list allows everything, deny still wins", () => {
  const p = new PermissionChecker({ publish: { deny: ["secret.>"] } });
  assert.equal(p.canPublish("anything.at.all"), true);
  assert.equal(p.canPublish("secret.x"), false);
  assert.equal(p.canSubscribe("secret.x", null), true);
  const empty = new PermissionChecker({ publish: { allow: [] } });
  assert.equal(empty.canPublish("foo"), false);
});

Deno.test("PermissionChecker.canSubscribe() allow by subset, deny by match", () => {
  const p = new PermissionChecker(seedPerms);
  const table: Array<[string, boolean]> = [
    ["foo.bar", true],
    ["bar", true],
    ["foo.baz", false], // denied
    ["foo.*", true], // allowed; overlaps the deny entry -> filtered deliveries
    ["foo.>", false], // not covered by foo.*
    ["baz", false],
    [">", false],
  ];
  for (const [s, want] of table) assert.equal(p.canSubscribe(s, null), want, s);
  const wide = new PermissionChecker({ subscribe: { allow: ["foo.>"], deny: ["foo.*"] } });
  assert.equal(wide.canSubscribe("foo.a.b", null), true);
  assert.equal(wide.canSubscribe("foo.a", null), false);
  assert.equal(wide.canSubscribe("foo.*", null), false); // a deny entry covers it
  assert.equal(wide.canSubscribe("foo.>", null), false); // matched as nats-server does
});

Deno.test("PermissionChecker delivery filter for wildcard subs overlapping a deny", () => {
  const p = new PermissionChecker(seedPerms);
  assert.equal(p.hasSubscribeDeny, true);
  assert.equal(p.needsDeliveryFilter("foo.*"), true);
  assert.equal(p.needsDeliveryFilter("foo.bar"), false); // literal: checked at SUB time
  assert.equal(p.needsDeliveryFilter("bar"), false);
  assert.equal(p.deliverAllowed("foo.bar"), true);
  assert.equal(p.deliverAllowed("foo.baz"), false);
  assert.equal(p.deliverAllowed("foo.baz"), false);
  const partial = new PermissionChecker({ subscribe: { deny: ["foo.*.x"] } });
  assert.equal(partial.needsDeliveryFilter("foo.a.*"), true);
  assert.equal(partial.needsDeliveryFilter("bar.*"), false);
  assert.equal(partial.deliverAllowed("foo.a.x"), false);
  assert.equal(partial.deliverAllowed("foo.a.y"), true);
  const none = new PermissionChecker({ publish: { allow: ["x"] } });
  assert.equal(none.hasSubscribeDeny, false);
  assert.equal(none.needsDeliveryFilter(">"), false);
  assert.equal(none.deliverAllowed("anything"), true);
});

Deno.test("PermissionChecker queue-restricted subscribe entries", () => {
  const p = new PermissionChecker({
    subscribe: { allow: ["foo.* workers", "bar", "baz.> q.*"], deny: ["bar bad"] },
  });
  assert.equal(p.canSubscribe("foo.a", "workers"), true);
  assert.equal(p.canSubscribe("foo.a", "others"), false);
  assert.equal(p.canSubscribe("foo.a", null), false); // only a queue entry matched
  assert.equal(p.canSubscribe("bar", null), true);
  assert.equal(p.canSubscribe("bar", "good"), true);
  assert.equal(p.canSubscribe("bar", "bad"), false); // queue deny
  assert.equal(p.canSubscribe("baz.x.y", "q.1"), true); // wildcard queue name
  assert.equal(p.canSubscribe("baz.x.y", "q"), false);
  assert.equal(p.canSubscribe("baz.x.y", "r.1"), false);
});

Deno.test("PermissionChecker allow_responses: max messages and expiry", () => {
  let now = 1_000;
  const rules = new PermissionRules({
    subscribe: { allow: ["svc.>"] },
    allowResponses: { maxMsgs: 2, expiresMs: 60_000 },
  });
  const p = new PermissionChecker(rules, { now: () => now });
  // implied empty publish allow list
  assert.equal(p.canPublish("_INBOX.abc"), false);
  assert.equal(p.canPublish("svc.x"), false);
  p.grantReply("_INBOX.abc");
  assert.equal(p.canPublish("_INBOX.abc"), true);
  assert.equal(p.canPublish("_INBOX.abc"), true);
  assert.equal(p.canPublish("_INBOX.abc"), false, "max 2 replies");
  p.grantReply("_INBOX.def");
  now += 60_001;
  assert.equal(p.canPublish("_INBOX.def"), false, "expired");
  // a fresh grant after expiry works again
  p.grantReply("_INBOX.def");
  assert.equal(p.canPublish("_INBOX.def"), true);
  // grants are per connection
  const other = new PermissionChecker(rules, { now: () => now });
  assert.equal(other.canPublish("_INBOX.def"), false);
});

Deno.test("PermissionChecker allow_responses with an allow list, and deny wins", () => {
  const p = new PermissionChecker({
    publish: { allow: ["req.>"], deny: ["_INBOX.secret"] },
    allowResponses: { maxMsgs: 1, expiresMs: 0 },
  });
  assert.equal(p.canPublish("req.a"), true);
  p.grantReply("_INBOX.one");
  p.grantReply("_INBOX.secret");
  assert.equal(p.canPublish("_INBOX.secret"), false);
  assert.equal(p.canPublish("_INBOX.one"), true);
  assert.equal(p.canPublish("_INBOX.one"), false);
  // without allow_responses grantReply does nothing
  const q = new PermissionChecker({ publish: { allow: ["x"] } });
  q.grantReply("_INBOX.z");
  assert.equal(q.canPublish("_INBOX.z"), false);
});

Deno.test("PermissionChecker caches stay bounded", () => {
  const p = new PermissionChecker({ publish: { allow: ["a.*"] }, subscribe: { deny: ["x"] } });
  for (let i = 0; i < 10_000; i++) {
    assert.equal(p.canPublish(`a.${i}`), true);
    assert.equal(p.deliverAllowed(`b.${i}`), true);
  }
  assert.equal(p.canPublish("a.b.c"), false);
});

Deno.test("PermissionRules rejects invalid entries", () => {
  assert.throws(() => new PermissionRules({ publish: { allow: ["foo..bar"] } }), RangeError);
  assert.throws(() => new PermissionRules({ subscribe: { allow: ["a b c"] } }), RangeError);
});
