import assert from "node:assert/strict";
import { constantTimeEqual } from "./constant_time.ts";

Deno.test("constantTimeEqual() compares strings of any length", () => {
  assert.equal(constantTimeEqual("T0pS3cr3t", "T0pS3cr3t"), true);
  assert.equal(constantTimeEqual("T0pS3cr3t", "T0pS3cr3u"), false);
  assert.equal(constantTimeEqual("T0pS3cr3t", "T0pS3cr3t!"), false);
  assert.equal(constantTimeEqual("", ""), true);
  assert.equal(constantTimeEqual("", "x"), false);
  assert.equal(constantTimeEqual("päss", "päss"), true);
});
