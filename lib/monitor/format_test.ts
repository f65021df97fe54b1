import { equal, throws } from "node:assert/strict";
import {
  goDuration,
  queryBool,
  QueryError,
  queryInt,
  queryUint,
  rfc3339Nano,
  rttString,
  uptimeString,
} from "./format.ts";

const q = (s: string) => new URLSearchParams(s);

Deno.test("rfc3339Nano() prints UTC with trimmed fractional seconds", () => {
  const t = Date.UTC(2026, 10, 23, 8, 53, 11, 884);
  equal(rfc3339Nano(t), "2026-11-23T08:53:11.884Z");
  // Epoch milliseconds as a double keep ~0.25 µs: test with an exact binary fraction.
  equal(rfc3339Nano(t + 0.25), "2026-11-23T08:53:11.88425Z");
  equal(rfc3339Nano(Date.UTC(2026, 0, 1)), "2026-01-01T00:00:00Z");
  equal(rfc3339Nano(Date.UTC(2026, 0, 1, 0, 0, 0, 100)), "2026-01-01T00:00:00.1Z");
});

Deno.test("uptimeString() follows nats-server's units", () => {
  equal(uptimeString(0), "0s");
  equal(uptimeString(59_999), "59s");
  equal(uptimeString(60_000), "1m0s");
  equal(uptimeString(3_723_000), "1h2m3s");
  equal(uptimeString(86_400_000 + 5_000), "1d0h0m5s");
  equal(uptimeString(366 * 86_400_000), "1y1d0h0m0s");
  equal(uptimeString(-5), "0s");
});

Deno.test("goDuration() matches Go's Duration.String()", () => {
  equal(goDuration(0), "0s");
  equal(goDuration(750), "750ns");
  equal(goDuration(298_000), "298µs");
  equal(goDuration(1_500), "1.5µs");
  equal(goDuration(1_944_007), "1.944007ms");
  equal(goDuration(2_500_000_000), "2.5s");
  equal(goDuration(90_000_000_000), "1m30s");
  equal(goDuration(7_200_000_000_000), "2h0m0s");
  equal(goDuration(3_723_000_000_001), "1h2m3.000000001s");
});

Deno.test("rttString() truncates sub-millisecond values to microseconds", () => {
  equal(rttString(0), "0s");
  equal(rttString(0.242345), "242µs");
  equal(rttString(1.944007), "1.944007ms");
});

Deno.test("queryBool() accepts Go's words and reports others like strconv", () => {
  for (const t of ["1", "t", "T", "TRUE", "true", "True"]) equal(queryBool(q(`a=${t}`), "a"), true);
  for (const f of ["0", "f", "F", "FALSE", "false", "False", ""]) {
    equal(queryBool(q(`a=${f}`), "a"), false);
  }
  equal(queryBool(q(""), "a"), false);
  throws(() => queryBool(q("auth=x"), "auth"), {
    name: "QueryError",
    message: `Error decoding boolean for 'auth': strconv.ParseBool: parsing "x": invalid syntax`,
  });
});

Deno.test("queryInt() and queryUint() report bad numbers like strconv", () => {
  equal(queryInt(q("limit=-3"), "limit"), -3);
  equal(queryInt(q("limit=%2B4"), "limit"), 4);
  throws(() => queryInt(q("offset=1.5"), "offset"), {
    message: `Error decoding int for 'offset': strconv.Atoi: parsing "1.5": invalid syntax`,
  });
  equal(queryUint(q("cid=42"), "cid"), 42);
  throws(() => queryUint(q("cid=-1"), "cid"), (e) =>
    e instanceof QueryError &&
    e.message ===
      `Error decoding uint64 for 'cid': strconv.ParseUint: parsing "-1": invalid syntax`);
});
