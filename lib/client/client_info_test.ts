import { equal } from "node:assert/strict";
import { validInfo } from "./client_info.ts";

Deno.test("validInfo() accepts a JSON object or null, as nats-server", () => {
  equal(validInfo('{"a":1}'), true);
  equal(validInfo(" {} "), true);
  equal(validInfo("null"), true);
  equal(validInfo("[1]"), false);
  equal(validInfo("1"), false);
  equal(validInfo(""), false);
  equal(validInfo("{"), false);
});
