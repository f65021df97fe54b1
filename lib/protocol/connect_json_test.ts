import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { decodeConnect } from "./connect_json.ts";

Deno.test("decodeConnect(): fields, null, case folding, later keys win", () => {
  assertEquals(decodeConnect('{"verbose":false,"user":"a","x":[1,{"user":"b"}]}'), {
    ok: true,
    fields: { verbose: false, user: "a" },
  });
  assertEquals(decodeConnect("null"), { ok: true, fields: {} });
  assertEquals(decodeConnect('{"user":null,"pass":"p"}'), { ok: true, fields: { pass: "p" } });
  assertEquals(decodeConnect('{"USER":"a","u\u017fer":"b","n\u212aey":"k"}'), {
    ok: true,
    fields: { user: "b", nkey: "k" },
  });
  assertEquals(decodeConnect('{"protocol":1,"protocol":-2}'), {
    ok: true,
    fields: { protocol: -2 },
  });
});

Deno.test("decodeConnect(): Go's type and syntax errors", () => {
  const err = (text: string) => {
    const r = decodeConnect(text);
    return r.ok ? "ok" : r.error;
  };
  assertEquals(
    err('{"user":1}'),
    "json: cannot unmarshal number into Go struct field ClientOpts.user of type string",
  );
  assertEquals(
    err('{"verbose":"yes"}'),
    "json: cannot unmarshal string into Go struct field ClientOpts.verbose of type bool",
  );
  assertEquals(
    err('{"protocol":1.0}'),
    "json: cannot unmarshal number 1.0 into Go struct field ClientOpts.protocol of type int",
  );
  assertEquals(
    err('{"protocol":9223372036854775808}'),
    "json: cannot unmarshal number 9223372036854775808 into Go struct field ClientOpts.protocol of type int",
  );
  assertEquals(err("[]"), "json: cannot unmarshal array into Go value of type server.ClientOpts");
  assertEquals(err("{user:1}"), "invalid character 'u' looking for beginning of object key string");
  assertEquals(err('{"a":01}'), "invalid character '1' after object key:value pair");
  assertEquals(err('{"a" 1}'), "invalid character '1' after object key");
  assertEquals(err("[1 2]"), "invalid character '2' after array element");
  assertEquals(err('{"a":"\\q"}'), "invalid character 'q' in string escape code");
  assertEquals(err('{"a":"\\u12x4"}'), "invalid character 'x' in \\u hexadecimal character escape");
  assertEquals(err('{"a":"\u0001"}'), "invalid character '\\x01' in string literal");
  assertEquals(err('{"a":-x}'), "invalid character 'x' in numeric literal");
  assertEquals(err('{"a":1.}'), "invalid character '}' after decimal point in numeric literal");
  assertEquals(err('{"a":1e}'), "invalid character '}' in exponent of numeric literal");
  assertEquals(err('{"a":nul}'), "invalid character '}' in literal null (expecting 'l')");
  assertEquals(err("{} {}"), "invalid character '{' after top-level value");
  assertEquals(err('{"a":1'), "unexpected end of JSON input");
  assertEquals(err(""), "unexpected end of JSON input");
  // Deep nesting is an error, not a stack overflow.
  assertEquals(err("[".repeat(20000)), "invalid character '[' exceeded max depth");
  assertEquals(
    err("[".repeat(5000) + "]".repeat(5000)),
    "json: cannot unmarshal array into Go value of type server.ClientOpts",
  );
});
