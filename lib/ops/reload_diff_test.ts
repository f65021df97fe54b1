import { deepStrictEqual, equal, throws } from "node:assert/strict";
import { defaultOptions, type Options } from "../config/options.ts";
import { diffOptions, ReloadRefusedError } from "./reload_diff.ts";

const ctx = { clientPort: 4222 };
const base = (): Options => ({ ...defaultOptions(), port: -1 });

Deno.test("diffOptions() names reloadable changes as nats-server logs them", () => {
  const next = { ...base(), debug: true, pingIntervalMs: 100_000, writeDeadlineMs: 3000 };
  const notices = diffOptions(base(), next, ctx).flatMap((c) => c.notices);
  deepStrictEqual(notices, ["debug = true", "ping_interval = 1m40s", "write_deadline = 3s"]);
});

Deno.test("diffOptions() refuses non-reloadable fields with nats-server's text", () => {
  const cases: [Partial<Options>, string][] = [
    [{ maxPending: 50 }, "MaxPending: old=67108864, new=50"],
    [{ lameDuckGracePeriodMs: 3000 }, "LameDuckGracePeriod: old=10s, new=3s"],
    [{ host: "127.0.0.1" }, "Host: old=0.0.0.0, new=127.0.0.1"],
    [{ port: 5555 }, "Port: old=4222, new=5555"],
    [{ httpPort: 8222 }, "HTTPPort: old=0, new=8222"],
  ];
  for (const [change, text] of cases) {
    throws(
      () => diffOptions(base(), { ...base(), ...change }, ctx),
      (e) =>
        e instanceof ReloadRefusedError && e.message === `config reload not supported for ${text}`,
    );
  }
});

Deno.test("diffOptions() keeps a random port and refuses a new cluster listener", () => {
  equal(diffOptions(base(), { ...base(), port: 4222 }, ctx).length, 0);
  const cluster = {
    host: "127.0.0.1",
    port: 6222,
    routes: [],
    noAdvertise: false,
    connectRetries: 0,
  };
  throws(
    () => diffOptions(base(), { ...base(), cluster }, ctx),
    /config reload not supported for cluster host: old=, new=127.0.0.1/,
  );
  const withRoutes = { ...base(), cluster };
  const changes = diffOptions(withRoutes, {
    ...base(),
    cluster: { ...cluster, routes: ["nats://127.0.0.1:7000"] },
  }, ctx);
  deepStrictEqual(changes.flatMap((c) => c.notices), ["cluster", "cluster routes"]);
});
