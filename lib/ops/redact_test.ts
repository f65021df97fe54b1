import assert from "node:assert/strict";
import { redactSecrets } from "./redact.ts";

Deno.test("redactSecrets() replaces every credential of a CONNECT", () => {
  const line = '<<- [CONNECT {"verbose":false,"user":"alice","pass":"s3cret","auth_token":"tok",' +
    '"sig":"c2ln","jwt":"eyJ0","password":"pw","token":"t2","nkey":"UABC","name":"app"}]';
  assert.equal(
    redactSecrets(line),
    '<<- [CONNECT {"verbose":false,"user":"alice","pass":"[REDACTED]","auth_token":"[REDACTED]",' +
      '"sig":"[REDACTED]","jwt":"[REDACTED]","password":"[REDACTED]","token":"[REDACTED]",' +
      '"nkey":"UABC","name":"app"}]',
  );
});

Deno.test("redactSecrets() handles escapes and blanks around the colon", () => {
  assert.equal(
    redactSecrets('CONNECT {"pass" : "a\\"b\\\\", "user":"u"}'),
    'CONNECT {"pass" : "[REDACTED]", "user":"u"}',
  );
});

Deno.test("redactSecrets() knows every spelling the server takes as a credential", () => {
  // CONNECT keys are decoded case-insensitively with JSON escapes, as nats-server's Go decoder.
  assert.equal(
    redactSecrets('CONNECT {"PASS":"a","Auth_Token":"b","pa\u017fs":"c","p\\u0061ss":"d"}'),
    'CONNECT {"PASS":"[REDACTED]","Auth_Token":"[REDACTED]","pa\u017fs":"[REDACTED]",' +
      '"p\\u0061ss":"[REDACTED]"}',
  );
});

Deno.test("redactSecrets() leaves look-alikes and non-string values alone", () => {
  const unchanged = [
    "PING",
    "<<- [PUB foo 5]",
    'CONNECT {"user_pass":"x","passwords":"y"}',
    'CONNECT {"name":"\\"pass\\":\\"x\\""}',
    'CONNECT {"pass":null}',
  ];
  for (const line of unchanged) assert.equal(redactSecrets(line), line);
});
