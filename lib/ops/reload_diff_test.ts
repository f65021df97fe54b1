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

Deno.test("diffOptions() lets TLS be turned on and off, as nats-server 2.9 does", () => {
  const tls = {
    certFile: "c.pem",
    keyFile: "k.pem",
    verify: false,
    verifyAndMap: false,
    insecure: false,
    timeout: 2,
    handshakeFirst: false,
  };
  // Its log (captured from 2.9.10): the auth timeout follows the TLS timeout.
  const on = diffOptions(base(), { ...base(), tls: { ...tls, timeout: 0.7 } }, ctx);
  deepStrictEqual(on.flatMap((c) => c.notices), [
    "authorization timeout = 1.7",
    "tls timeout = 0.7",
    "tls = enabled",
  ]);
  const off = diffOptions({ ...base(), tls }, base(), ctx);
  deepStrictEqual(off.flatMap((c) => c.notices), ["authorization timeout = 2", "tls = disabled"]);
  const verify = diffOptions({ ...base(), tls }, { ...base(), tls: { ...tls, verify: true } }, ctx);
  deepStrictEqual(verify.flatMap((c) => c.notices), ["tls = enabled"]);
  throws(
    () => diffOptions(base(), { ...base(), tls: { ...tls, verifyAndMap: true } }, ctx),
    /config reload not supported for TLSMap: old=false, new=true/,
  );
});
