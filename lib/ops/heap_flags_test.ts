import assert from "node:assert/strict";
import { SEMI_SPACE_FLAG, withHeapDefaults } from "./heap_flags.ts";

Deno.test("withHeapDefaults() adds the young-generation cap to DENO_V8_FLAGS", () => {
  assert.equal(withHeapDefaults(undefined), SEMI_SPACE_FLAG);
  assert.equal(withHeapDefaults(""), SEMI_SPACE_FLAG);
  assert.equal(withHeapDefaults("--trace-gc"), `--trace-gc,${SEMI_SPACE_FLAG}`);
});

Deno.test("withHeapDefaults() keeps an operator's own semi-space setting", () => {
  assert.equal(withHeapDefaults("--max-semi-space-size=8"), "--max-semi-space-size=8");
  assert.equal(
    withHeapDefaults("--trace-gc,--min_semi_space_size=2"),
    "--trace-gc,--min_semi_space_size=2",
  );
});
