import { equal, throws } from "node:assert/strict";
import { SubjectTransform, TransformError } from "./transform.ts";

Deno.test("SubjectTransform: references, functions and a trailing >", () => {
  const cases: Array<[string, string, string, string]> = [
    ["foo", "bar", "foo", "bar"],
    ["a.*.*", "b.$2.$1", "a.x.y", "b.y.x"],
    ["a.*", "b.{{wildcard(1)}}", "a.x", "b.x"],
    ["a.*.>", "b.$1.>", "a.x.y.z", "b.x.y.z"],
    ["s.*", "s.{{splitFromLeft(1,2)}}", "s.abcdef", "s.ab.cdef"],
    ["s.*", "s.{{splitFromRight(1,2)}}", "s.abcdef", "s.abcd.ef"],
    ["s.*", "s.{{sliceFromLeft(1,2)}}", "s.abcde", "s.ab.cd.e"],
    ["s.*", "s.{{sliceFromRight(1,2)}}", "s.abcde", "s.a.bc.de"],
    ["s.*", "s.{{split(1,-)}}", "s.-a--b-", "s.a.b"],
    // FNV-1a of "ab" modulo 5 is 1 (nats-server lands on the same partition).
    ["p.*.*", "p.{{partition(5,1,2)}}.$1.$2", "p.a.b", "p.1.a.b"],
  ];
  for (const [src, dest, subject, want] of cases) {
    equal(new SubjectTransform(src, dest).apply(subject), want, `${src} -> ${dest} on ${subject}`);
  }
});

Deno.test("SubjectTransform: nats-server's errors", () => {
  const bad: Array<[string, string, string]> = [
    ["foo.*", "bar", "not using all of the token wildcard(s) in bar"],
    ["foo.*", "bar.$2", "wildcard index out of range in $2: [2]"],
    ["foo.*", "bar.{{nope(1)}}", "unknown function in {{nope(1)}}"],
    ["foo.*", "bar.{{partition(x,1)}}", "function argument is invalid"],
    ["foo.>", "bar", "invalid subject"],
    ["foo", "bar.*", "invalid subject"],
  ];
  for (const [src, dest, part] of bad) {
    throws(() => new SubjectTransform(src, dest), (e: Error) => {
      return e instanceof TransformError && e.message.includes(part);
    }, `${src} -> ${dest}`);
  }
});

Deno.test("SubjectTransform: reverse maps an import's subject back", () => {
  const forward = new SubjectTransform("orders.*.>", "imp.$1.>");
  const back = forward.reverse();
  equal(back.apply(forward.apply("orders.eu.new.x")), "orders.eu.new.x");
});
