/**
 * Start-up failures read as nats-server's: a busy client, monitoring or route
 * port is named with its address in the fatal line, the process exits
 * non-zero, and nothing follows the fatal line (no shutdown lines). Each case
 * runs both servers on the same busy port and compares the fatal line.
 */
import { deepEqual, equal, notEqual, ok } from "node:assert/strict";
import { runToExit } from "./helpers/server.ts";
import { missing } from "./helpers/requires.ts";
import { CERTS } from "./helpers/tls_client.ts";

/** Runs either server until it exits (a server that did not fail is killed after 15 s). */
function run(reference: boolean, args: string[]) {
  return runToExit({ reference, args, timeoutMs: 15_000 });
}

/** The log lines without the `[pid] date time ` prefix. */
function lines(text: string): string[] {
  return text.split("\n").filter((l) => l.length > 0).map((l) =>
    l.replace(/^\[\d+\] \S+ \S+ /, "")
  );
}

/** The fatal line and everything after it. */
function fromFatal(text: string): string[] {
  const all = lines(text);
  const at = all.findIndex((l) => l.startsWith("[FTL]"));
  return at < 0 ? [] : all.slice(at);
}

const TLS_FLAGS = [
  "--tls",
  "--tlscert",
  `${CERTS}server-cert.pem`,
  "--tlskey",
  `${CERTS}server-key.pem`,
];

/** A config file for a case that needs one (removed when the test process exits). */
function confFile(text: string): string {
  const path = Deno.makeTempFileSync({ suffix: ".conf" });
  Deno.writeTextFileSync(path, text);
  globalThis.addEventListener("unload", () => Deno.removeSync(path));
  return path;
}

/** Each case: flags for a server whose `what` port is `busy`. */
const CASES: { what: string; args: (busy: number) => string[]; fatal: (busy: number) => string }[] =
  [
    {
      what: "a busy client port",
      args: (p) => ["-a", "127.0.0.1", "-p", String(p)],
      fatal: (p) =>
        `[FTL] Error listening on port: 127.0.0.1:${p}, "listen tcp 127.0.0.1:${p}: bind: address already in use"`,
    },
    {
      what: "a busy TLS client port",
      args: (p) => ["-a", "127.0.0.1", "-p", String(p), ...TLS_FLAGS],
      fatal: (p) =>
        `[FTL] Error listening on port: 127.0.0.1:${p}, "listen tcp 127.0.0.1:${p}: bind: address already in use"`,
    },
    {
      what: "a busy monitor port",
      args: (p) => ["-a", "127.0.0.1", "-p", "-1", "-m", String(p)],
      fatal: (p) =>
        `[FTL] Can't start monitoring: can't listen to the monitor port: listen tcp 127.0.0.1:${p}: bind: address already in use`,
    },
    {
      what: "a busy HTTPS monitor port",
      args: (p) => ["-a", "127.0.0.1", "-p", "-1", "-ms", String(p), ...TLS_FLAGS],
      fatal: (p) =>
        `[FTL] Can't start monitoring: can't listen to the monitor port: listen tcp 127.0.0.1:${p}: bind: address already in use`,
    },
    {
      what: "a busy route port",
      args: (p) => ["-a", "127.0.0.1", "-p", "-1", "--cluster", `nats://127.0.0.1:${p}`],
      fatal: (p) =>
        `[FTL] Error listening on router port: ${p} - listen tcp 127.0.0.1:${p}: bind: address already in use`,
    },
    {
      what: "a busy leaf node port",
      args: (
        p,
      ) => [
        "-a",
        "127.0.0.1",
        "-p",
        "-1",
        "-c",
        confFile(`leafnodes { listen: "127.0.0.1:${p}" }`),
      ],
      fatal: (p) =>
        `[FTL] Error listening on leafnode port: ${p} - listen tcp 127.0.0.1:${p}: bind: address already in use`,
    },
    {
      what: "client port out of range",
      args: () => ["-a", "127.0.0.1", "-p", "70000"],
      fatal: () =>
        `[FTL] Error listening on port: 127.0.0.1:70000, "listen tcp: address 70000: invalid port"`,
    },
    {
      what: "monitor port out of range",
      args: () => ["-a", "127.0.0.1", "-p", "-1", "-m", "70000"],
      fatal: () =>
        "[FTL] Can't start monitoring: can't listen to the monitor port: listen tcp: address 70000: invalid port",
    },
    {
      what: "client host that does not resolve",
      args: () => ["-a", "999.1.1.1", "-p", "-1"],
      fatal: () =>
        `[FTL] Error listening on port: 999.1.1.1:0, "listen tcp: lookup 999.1.1.1: no such host"`,
    },
  ];

for (const c of CASES) {
  Deno.test(`listen error: ${c.what} gives nats-server's fatal line and nothing after it`, async () => {
    using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (busy.addr as Deno.NetAddr).port;
    const r = await run(false, c.args(port));
    notEqual(r.code, 0, r.stderr);
    deepEqual(fromFatal(r.stderr), [c.fatal(port)], r.stderr);
  });

  Deno.test({
    name: `listen error: ${c.what}, dnatsd and nats-server side by side`,
    ignore: missing("nats-server"),
    async fn() {
      using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (busy.addr as Deno.NetAddr).port;
      const [ours, theirs] = [await run(false, c.args(port)), await run(true, c.args(port))];
      notEqual(theirs.code, 0);
      notEqual(ours.code, 0);
      deepEqual(
        fromFatal(ours.stderr),
        fromFatal(theirs.stderr),
        `${ours.stderr}\n${theirs.stderr}`,
      );
    },
  });
}

Deno.test({
  name: "listen error: a bad flag value prints usage and one error line, as nats-server",
  ignore: missing("nats-server"),
  async fn() {
    const args = ["-p", "notanumber"];
    const [ours, theirs] = [await run(false, args), await run(true, args)];
    equal(ours.code, theirs.code);
    deepEqual(lines(ours.stderr), lines(theirs.stderr));
    deepEqual(lines(ours.stderr), ['invalid value "notanumber" for flag -p: parse error']);
    ok(ours.stdout.startsWith("Usage:"), ours.stdout.slice(0, 100));
  },
});

Deno.test({
  name: "listen error: a TLS certificate flag naming a missing file is one line, no banner",
  ignore: missing("nats-server"),
  async fn() {
    const args = ["-a", "127.0.0.1", "-p", "-1", "--tls", "--tlscert", "/nonexistent.pem"];
    args.push("--tlskey", "/nonexistent.pem");
    const [ours, theirs] = [await run(false, args), await run(true, args)];
    equal(ours.code, 1);
    equal(theirs.code, 1);
    const why =
      "error parsing X509 certificate/key pair: open /nonexistent.pem: no such file or directory";
    deepEqual(lines(theirs.stderr), [`nats-server: ${why}`]);
    deepEqual(lines(ours.stderr), [`dnatsd: ${why}`]);
  },
});
