/**
 * `deno task install`: puts a `dnatsd` command on this machine that runs the
 * server from this checkout, with the same flags as nats-server
 * (`dnatsd -c nats.conf`, `dnatsd -sl reload`).
 *
 * It is `deno install -g` with one change: the command calls the Deno that ran
 * this task by its full path, not a `deno` looked up on the PATH. So it also
 * works when Deno came from `npx -y deno@2` and is on no PATH.
 *
 * Usage:
 *   deno task install                 # into $DENO_INSTALL_ROOT/bin, else ~/.deno/bin
 *   deno task install --root DIR      # into DIR/bin
 *   deno task install --name NAME     # another command name
 *
 * @module
 */
import { join } from "node:path";

const ROOT = new URL("../", import.meta.url);

/**
 * Makes a `deno install` shim call `deno` by its full path.
 *
 * @example
 * ```ts
 * import { pinDeno } from "./install.ts";
 * const sh = pinDeno("#!/bin/sh\nexec deno run -A 'main.ts' \"$@\"\n", "/opt/deno");
 * if (!sh.includes("exec '/opt/deno' run")) throw new Error(sh);
 * ```
 */
export function pinDeno(shim: string, denoPath: string, windows = false): string {
  const quoted = windows ? `"${denoPath}"` : `'${denoPath.replaceAll("'", `'\\''`)}'`;
  // POSIX shims say `exec deno ...`, Windows ones `@deno ...` (deno 2.x).
  const re = windows ? /^@deno /m : /^exec deno /m;
  if (!re.test(shim)) throw new Error("unexpected deno install shim:\n" + shim);
  return shim.replace(re, windows ? `@${quoted} ` : `exec ${quoted} `);
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(args: string[]): Promise<number> {
  const name = option(args, "--name") ?? "dnatsd";
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE") ?? ".";
  const root = option(args, "--root") ?? Deno.env.get("DENO_INSTALL_ROOT") ??
    join(home, ".deno");
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      ...["install", "--global", "--force", "--allow-all", "--no-check", "--name", name],
      ...["--root", root, "main.ts"],
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    await Deno.stderr.write(out.stderr);
    console.error(`deno install failed (exit ${out.code})`);
    return 1;
  }
  const windows = Deno.build.os === "windows";
  const shim = join(root, "bin", windows ? `${name}.cmd` : name);
  await Deno.writeTextFile(shim, pinDeno(await Deno.readTextFile(shim), Deno.execPath(), windows));
  console.log(`installed ${shim}`);
  const dir = join(root, "bin");
  const path = (Deno.env.get("PATH") ?? "").split(windows ? ";" : ":");
  if (!path.includes(dir)) {
    console.log(
      windows ? `add ${dir} to PATH` : `add it to your PATH: export PATH="${dir}:$PATH"`,
    );
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
