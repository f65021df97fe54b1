// deno-lint-ignore-file no-import-prefix -- tests use the real NATS client straight from npm
/**
 * The system account's answers read by nats-server's own Go types: a Go
 * program (tests/clients/go/sysapi) built against nats-server 2.9's source
 * asks each request subject and decodes the answer with unknown fields
 * refused, so a field name, a type or a time format that nats-server's tools
 * would not read fails. Run against nats-server too, which shows the probe
 * itself accepts the real thing.
 */
import { deepEqual } from "node:assert/strict";
import { connect } from "npm:@nats-io/transport-node@3.4.0";
import { missing } from "./helpers/requires.ts";
import { ServerProcess } from "./helpers/server.ts";
import { buildGoProgram } from "./clients/build.ts";

const SOURCE = new URL("./clients/go/sysapi/main.go", import.meta.url).pathname;
const SERVER_SOURCE = "/usr/share/gocode/src/github.com/nats-io/nats-server/server/events.go";

function hasServerSource(): boolean {
  try {
    return Deno.statSync(SERVER_SOURCE).isFile;
  } catch {
    return false;
  }
}

const CONFIG = `
accounts {
  A { users: [{user: a, password: a}] }
  SYS { users: [{user: sys, password: sys}] }
}
system_account: SYS
`;

/** Builds the probe once per source hash (the nats-server package takes a while the first time). */
function probeBinary(): Promise<string> {
  return buildGoProgram("sysapi", SOURCE);
}

/** Runs the probe against `url`; returns the subjects whose answer did not decode, with why. */
async function failures(bin: string, url: string): Promise<string[]> {
  const out = await new Deno.Command(bin, {
    args: [url, "sys", "sys"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  const lines = text.trim().split("\n").map((l) => JSON.parse(l) as Record<string, string>);
  if (lines.length < 16) throw new Error(`probe output:\n${text}`);
  return lines.filter((l) => l.error !== undefined).map((l) => `${l.subject}: ${l.error}`);
}

Deno.test({
  name: "system account answers decode strictly into nats-server's Go types",
  ignore: missing("go", "nats-server") || !hasServerSource(),
}, async () => {
  const bin = await probeBinary();
  const [ours, theirs] = await Promise.all([
    ServerProcess.start({ config: CONFIG }),
    ServerProcess.start({ config: CONFIG, reference: true }),
  ]);
  // A client in A, so that $SYS.REQ.ACCOUNT.A.CONNS has something to report.
  const clients = await Promise.all(
    [ours, theirs].map((p) => connect({ servers: p.url, user: "a", pass: "a" })),
  );
  try {
    deepEqual(await failures(bin, theirs.url), []);
    deepEqual(await failures(bin, ours.url), []);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all([ours.stop(), theirs.stop()]);
  }
});
