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
