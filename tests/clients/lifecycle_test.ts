/**
 * Real client lifecycles with two more client implementations than nats.js:
 * nats.go (Debian's source, built in GOPATH mode) and the C client (libnats).
 * Each scenario runner (tests/clients/go, tests/clients/c) is run against
 * Debian's nats-server and against dnatsd; both must give the result written
 * here, which is what nats-server gives. Timings are reported, not compared.
 *
 * Scenarios: a storm of 200 connects and closes; reconnect after the server
 * restarts on the same port; subscriber drain with messages still in flight;
 * flush timeout while the server process is stopped (SIGSTOP) and recovery
 * after SIGCONT; the slow-consumer async error; wrong token and a token
 * handler; TLS with and without client verification; request with no
 * responders; a queue group across a server restart.
 */
import { deepStrictEqual, equal } from "node:assert/strict";
import { missing, type Tool } from "../helpers/requires.ts";
import { type ServerProcess, waitFor } from "../helpers/server.ts";
import { CERTS, type ClientKind, comparable, runScenario } from "./runners.ts";
import { restartSamePort, type ServerKind, startServer } from "./servers.ts";

/** The server under test; a step may replace it (restart). */
interface Ctx {
  kind: ServerKind;
  server: ServerProcess;
  config: string;
}

interface Scenario {
  name: string;
  /** Server config (empty: defaults). */
  config?: string;
  /** Extra runner arguments. */
  args?: string[];
  /** What the test does at each step the runner reports. */
  onStep?: (ctx: Ctx, step: string) => Promise<void>;
  expected: Record<string, unknown>;
  /** Fields where any failure counts as "refused" (the client's error is racy). */
  refusedOnly?: string[];
}

const TLS = (verify: boolean) =>
  `tls {\n  cert_file: "${CERTS}/server-cert.pem"\n  key_file: "${CERTS}/server-key.pem"\n` +
  `  ca_file: "${CERTS}/ca.pem"\n  verify: ${verify}\n  timeout: 2\n}\n`;

/** The state letter of a process (R, S, T...) from /proc/<pid>/stat. */
async function processState(pid: number): Promise<string> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
}

async function restart(ctx: Ctx, step: string): Promise<void> {
  equal(step, "connected");
  ctx.server = await restartSamePort(ctx.kind, ctx.server, ctx.config);
}

const SCENARIOS: Scenario[] = [
  {
    name: "storm",
    expected: { ok: 200, failed: 0, roundtrip: true },
  },
  {
    name: "restart",
    onStep: restart,
    expected: { disconnected: true, reconnected: true, resubscribed: true },
  },
  {
    name: "drain",
    expected: { published: 500, received: 500, closed: true },
  },
  {
    name: "flush_timeout",
    onStep: async (ctx, step) => {
      const stop = step === "connected";
      ctx.server.signal(stop ? "SIGSTOP" : "SIGCONT");
      // Signals are delivered asynchronously: go on once the kernel says so.
      await waitFor(
        async () => (await processState(ctx.server.pid) === "T") === stop,
        5000,
        `server process ${stop ? "stopped" : "running"}`,
      );
    },
    expected: { stopped: "timeout", resumed: "ok", roundtrip: true },
  },
  {
    name: "slow_consumer",
    expected: { async_error: true, error: "slow consumer", dropped: true, still_connected: true },
  },
  {
    name: "auth",
    config: 'authorization { token: "s3cret" }',
    expected: {
      wrong_token: "authorization violation",
      no_token: "authorization violation",
      token_handler: "ok",
      handler_called: true,
      roundtrip: true,
    },
  },
  {
    name: "tls",
    config: TLS(false),
    args: [CERTS],
    expected: { ca: "ok", no_ca: "tls error", skip_verify: "ok", ca_client_cert: "ok" },
  },
  {
    name: "tls_verify",
    config: TLS(true),
    args: [CERTS],
    expected: { ca: "refused", no_ca: "tls error", skip_verify: "refused", ca_client_cert: "ok" },
    // TLS 1.3: the client finishes its side of the handshake before the
    // server checks its certificate, so a refused client sees the server's
    // alert, a broken pipe or EOF depending on timing, from either server
    // (dnatsd's runtime also often closes before its alert is written).
    refusedOnly: ["ca", "skip_verify"],
  },
  {
    name: "no_responders",
    expected: { headers: true, request: "no responders", fast: true },
  },
  {
    name: "queue",
    onStep: restart,
    expected: { reconnected: true, distinct: 100, duplicates: 0, members: 2 },
  },
];

const CLIENTS: { kind: ClientKind; tool: Tool; label: string }[] = [
  { kind: "go", tool: "go", label: "nats.go" },
  { kind: "c", tool: "libnats-dev", label: "C client" },
];

async function runAgainst(
  kind: ServerKind,
  client: ClientKind,
  s: Scenario,
): Promise<Record<string, unknown>> {
  const config = s.config ?? "";
  const ctx: Ctx = { kind, config, server: await startServer(kind, config) };
  try {
    const runnerScenario = s.name === "tls_verify" ? "tls" : s.name;
    const result = await runScenario(
      client,
      runnerScenario,
      `nats://127.0.0.1:${ctx.server.port}`,
      (step) => s.onStep ? s.onStep(ctx, step) : Promise.resolve(),
      s.args,
    );
    const got = comparable(result);
    delete got.scenario;
    for (const field of s.refusedOnly ?? []) {
      if (got[field] !== "ok") got[field] = "refused";
    }
    const measured = result.measured ? ` ${JSON.stringify(result.measured)}` : "";
    console.error(`${result.client} ${s.name} on ${kind}:${measured}`);
    return got;
  } finally {
    try {
      ctx.server.signal("SIGCONT"); // a failed flush_timeout run may leave it stopped
    } catch { /* exited */ }
    await ctx.server.stop();
  }
}

for (const c of CLIENTS) {
  for (const s of SCENARIOS) {
    Deno.test({
      name: `clients: ${c.label} ${s.name.replaceAll("_", " ")} (nats-server, then dnatsd)`,
      ignore: missing(c.tool),
      fn: async (t) => {
        await t.step({
          name: "nats-server",
          ignore: missing("nats-server"),
          fn: async () => {
            deepStrictEqual(await runAgainst("nats-server", c.kind, s), s.expected);
          },
        });
        await t.step("dnatsd", async () => {
          deepStrictEqual(await runAgainst("dnatsd", c.kind, s), s.expected);
        });
      },
    });
  }
}
