import { deepStrictEqual, equal } from "node:assert/strict";
import { decodeConnect, validInfo } from "./connect_json.ts";

// Each verdict below is nats-server 2.9's (tests/protocol_parity_test.ts checks
// a few of them against the real server): null means it closes the connection.

Deno.test("decodeConnect() takes null and objects, refuses other JSON", () => {
  deepStrictEqual(decodeConnect("null"), {});
  deepStrictEqual(decodeConnect(" {} "), {});
  for (const bad of ["", "[]", "1", '"x"', "true", "{", "{} x", "{},{}"]) {
    equal(decodeConnect(bad), null, bad);
  }
});

Deno.test("decodeConnect() matches keys case-insensitively, last one wins", () => {
  deepStrictEqual(decodeConnect('{"VERBOSE":false,"Headers":true}'), {
    verbose: false,
    headers: true,
  });
  deepStrictEqual(decodeConnect('{"verbose":true,"verbose":false}'), { verbose: false });
  deepStrictEqual(decodeConnect('{"constructor":1,"zz":[1,{"verbose":"x"}]}'), {});
});

Deno.test("decodeConnect() refuses known options of the wrong type; null leaves them unset", () => {
  for (const bad of ['{"verbose":"false"}', '{"headers":1}', '{"name":5}', '{"user":[]}']) {
    equal(decodeConnect(bad), null, bad);
  }
  deepStrictEqual(decodeConnect('{"account":null,"echo":null}'), {});
});

Deno.test("decodeConnect() reads protocol as a 64-bit integer written in digits", () => {
  deepStrictEqual(decodeConnect('{"protocol":1}'), { protocol: 1 });
  deepStrictEqual(decodeConnect('{"protocol":-0}'), { protocol: 0 });
  deepStrictEqual(decodeConnect('{"protocol":2}'), { protocol: 2 });
  for (const bad of ["1.0", "1e0", "1.5", "1e400", "99999999999999999999", '"1"']) {
    equal(decodeConnect(`{"protocol":${bad}}`), null, bad);
  }
});

Deno.test("decodeConnect() checks import/export permission shapes", () => {
  deepStrictEqual(decodeConnect('{"import":{"allow":["a"],"deny":null},"export":null}'), {});
  equal(decodeConnect('{"import":5}'), null);
  equal(decodeConnect('{"export":{"allow":"a"}}'), null);
});

Deno.test("validInfo() accepts a JSON object or null", () => {
  equal(validInfo('{"a":1}'), true);
  equal(validInfo("null"), true);
  equal(validInfo("[1]"), false);
  equal(validInfo(""), false);
});
