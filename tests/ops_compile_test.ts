// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * The single binary. `tools/compile.ts --host` builds dnatsd with `deno compile`,
 * then the binary goes through the same black-box checks as `deno run main.ts`:
 * flags, monitoring, SIGHUP reload, `-sl`, TLS and SIGINT. deno compile needs
 * denort (`DENORT_BIN`, one downloaded before, or a download that works now);
 * without any of them these tests are reported as ignored. `DNATSD_BINARY=<path>`
 * runs them on a binary built elsewhere (another machine, a release download).
 *
 * The failure path runs everywhere: when the runtime cannot be fetched,
 * `deno task compile` prints one line and leaves no empty output directory.
 */
import { connect } from "npm:@nats-io/transport-node@3.4.0";
import { equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "./helpers/server.ts";
import { clientPortOf, exists, spawnLogged, tempDir, waitFor, waitForLog } from "./ops_helpers.ts";
import { hostTarget, outputFor } from "../tools/compile.ts";
import { has, missing } from "./helpers/requires.ts";
import { CA, CERTS } from "./helpers/tls_client.ts";

/** True when deno compile could download denort now (a HEAD request, 5 s at most). */
async function denortDownloadable(): Promise<boolean> {
  const url = `https://dl.deno.land/release/v${Deno.version.deno}/denort-${Deno.build.target}.zip`;
  try {
    const res = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(5000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

const prebuilt = Deno.env.get("DNATSD_BINARY");
const noDenort = prebuilt === undefined && !has("denort") && !(await denortDownloadable()) &&
  missing("denort");

let built: Promise<string> | undefined;
/** Builds the binary once for all the tests below. */
function binary(): Promise<string> {
  if (prebuilt !== undefined) return Promise.resolve(prebuilt);
  built ??= (async () => {
    const build = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(REPO_ROOT, "tools/compile.ts"), "--host", "--no-check"],
      cwd: REPO_ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!build.success) {
      throw new Error(`compile failed:\n${new TextDecoder().decode(build.stderr)}`);
    }
    return join(REPO_ROOT, outputFor(hostTarget()));
  })();
  return built;
}

async function roundTrip(servers: string, tls?: Record<string, string>): Promise<void> {
  const nc = await connect({ servers, reconnect: false, ...(tls ? { tls } : {}) });
  const sub = nc.subscribe("bin", { max: 1 });
  nc.publish("bin", "ok");
  for await (const m of sub) equal(m.string(), "ok");
  await nc.close();
}

Deno.test({
  name: "compiled binary: flags, monitoring, serves clients, stops on SIGINT",
  ignore: noDenort,
}, async () => {
  const s = spawnLogged(await binary(), ["-a", "127.0.0.1", "-p", "-1", "-m", "-1", "-D"]);
  try {
    await waitForLog(s, /Server is ready/);
    await roundTrip(`127.0.0.1:${clientPortOf(s.logs.text)}`);
    const http = /Starting http monitor on \S+:(\d+)/.exec(s.logs.text)!;
    const varz = await (await fetch(`http://127.0.0.1:${http[1]}/varz`)).json();
    equal(varz.port, clientPortOf(s.logs.text));
    s.child.kill("SIGINT");
    equal((await s.exit()).code, 0);
  } finally {
    await s.kill();
  }
});

Deno.test({
  name: "compiled binary: SIGHUP and -sl reload the configuration, -sl quit stops it",
  ignore: noDenort,
}, async () => {
  const dir = tempDir();
  const conf = join(dir.path, "nats.conf");
  const pidFile = join(dir.path, "dnatsd.pid");
  Deno.writeTextFileSync(conf, `listen: "127.0.0.1:-1"\npid_file: "${pidFile}"\n`);
  const bin = await binary();
  const s = spawnLogged(bin, ["-c", conf]);
  try {
    await waitForLog(s, /Server is ready/);
    Deno.writeTextFileSync(conf, `listen: "127.0.0.1:-1"\npid_file: "${pidFile}"\ndebug: true\n`);
    s.child.kill("SIGHUP");
    await waitForLog(s, /Reloaded server configuration/);
    await waitFor(() => exists(pidFile), 5000, "pid file");
    const sl = await new Deno.Command(bin, { args: ["-sl", `reload=${pidFile}`] }).output();
    ok(sl.success, new TextDecoder().decode(sl.stderr));
    await waitFor(
      () => (s.logs.text.match(/Reloaded server configuration/g) ?? []).length >= 2,
      10_000,
      "second reload",
    );
    const quit = await new Deno.Command(bin, { args: ["-sl", `quit=${pidFile}`] }).output();
    ok(quit.success, new TextDecoder().decode(quit.stderr));
    equal((await s.exit()).code, 0);
  } finally {
    await s.kill();
    dir.remove();
  }
});

Deno.test({
  name: "compiled binary: TLS clients with --tls flags",
  ignore: noDenort,
}, async () => {
  const s = spawnLogged(await binary(), [
    ...["-a", "127.0.0.1", "-p", "-1", "--tls"],
    ...["--tlscert", `${CERTS}server-cert.pem`, "--tlskey", `${CERTS}server-key.pem`],
  ]);
  try {
    await waitForLog(s, /Server is ready/);
    ok(/TLS required for client connections/.test(s.logs.text));
    await roundTrip(`tls://127.0.0.1:${clientPortOf(s.logs.text)}`, { caFile: CA });
    s.child.kill("SIGTERM");
    equal((await s.exit()).code, 0);
  } finally {
    await s.kill();
  }
});

/** A target whose runtime this machine has not downloaded (so deno compile must fetch it). */
function uncachedTarget(): string | undefined {
  const home = Deno.env.get("HOME") ?? "";
  const dir = Deno.env.get("DENO_DIR") ?? `${home}/.cache/deno`;
  const targets = ["aarch64-apple-darwin", "x86_64-apple-darwin", "x86_64-pc-windows-msvc"];
  return targets.find((t) =>
    !exists(`${dir}/dl/release/v${Deno.version.deno}/denort-${t}.zip`) && t !== hostTarget()
  );
}

Deno.test({
  name: "deno task compile: one line when the runtime cannot be fetched, no empty dist/",
  ignore: uncachedTarget() === undefined,
}, async () => {
  const dir = tempDir();
  const dist = join(dir.path, "dist");
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        ...["run", "-A", join(REPO_ROOT, "tools/compile.ts"), "--no-check"],
        ...["--target", uncachedTarget()!, "--dist", dist],
      ],
      cwd: REPO_ROOT,
      // A proxy that refuses every connection: the download fails here as it would offline.
      env: { HTTPS_PROXY: "http://127.0.0.1:1", HTTP_PROXY: "http://127.0.0.1:1", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    equal(out.code, 1, stderr);
    const lines = stderr.split("\n").filter((l) => l.trim() !== "");
    equal(lines.length, 1, stderr);
    ok(
      /^compile: cannot fetch the Deno runtime \(denort .*\): .*DENORT_BIN/.test(lines[0]),
      stderr,
    );
    ok(!exists(dist), "an empty dist/ was left behind");
  } finally {
    dir.remove();
  }
});
