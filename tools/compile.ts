/**
 * `deno task compile`: builds single-file dnatsd executables with `deno compile`
 * into `dist/`, one per release target (Linux x64/arm64, macOS x64/arm64,
 * Windows x64).
 *
 * `deno compile` embeds the program in `denort`, Deno's runtime-only binary,
 * which it downloads per target. Where that download is impossible (our build
 * machines), point `DENORT_BIN` at a local denort of the same Deno version;
 * since one denort serves one platform, only the host target is built then
 * (unless `--target` says otherwise).
 *
 * Usage:
 *   deno task compile                    # every target (needs the downloads)
 *   deno task compile --host             # this machine's target only
 *   deno task compile --target x86_64-unknown-linux-gnu [--target ...]
 *   deno task compile --no-check         # skip type checking
 *   deno task compile --dist DIR         # write into DIR instead of dist/
 *
 * When the runtime cannot be fetched it says so in one line and leaves no empty
 * output directory behind.
 *
 * @module
 */
import { VERSION } from "../lib/version.ts";

/** The release targets (Rust triples, as `deno compile --target` names them). */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

/**
 * Files loaded by URL at run time that static analysis cannot see: the bcrypt
 * worker is started with `new Worker(new URL("./bcrypt_worker.ts", import.meta.url))`.
 * (Dynamic `import("...")` calls with literal specifiers are found by deno compile.)
 */
export const INCLUDES = ["lib/auth/bcrypt_worker.ts"];

const ROOT = new URL("../", import.meta.url);

/** The target this machine runs. */
export function hostTarget(): string {
  const arch = Deno.build.arch === "aarch64" ? "aarch64" : "x86_64";
  switch (Deno.build.os) {
    case "darwin":
      return `${arch}-apple-darwin`;
    case "windows":
      return `${arch}-pc-windows-msvc`;
    default:
      return `${arch}-unknown-linux-gnu`;
  }
}

/** Output path (relative to the repository, or under `dist`) for a target. */
export function outputFor(target: string, dist = "dist"): string {
  const exe = target.includes("windows") ? ".exe" : "";
  return `${dist}/dnatsd-${VERSION}-${target}${exe}`;
}

/**
 * The `deno compile` arguments for one target.
 *
 * @example
 * ```ts
 * import { compileArgs } from "./compile.ts";
 * const args = compileArgs("x86_64-unknown-linux-gnu", { check: true });
 * if (!args.includes("--include")) throw new Error("worker not included");
 * ```
 */
export function compileArgs(target: string, opts: { check: boolean; dist?: string }): string[] {
  return [
    "compile",
    // The server needs the network, its files, env ($VAR in configs), sys (monitoring)
    // and run (ACME DNS exec provider): all of it, as `deno task start` grants.
    "--allow-all",
    ...(opts.check ? [] : ["--no-check"]),
    ...INCLUDES.flatMap((f) => ["--include", f]),
    "--target",
    target,
    "--output",
    outputFor(target, opts.dist),
    "main.ts",
  ];
}

/** Words in deno's error output that mean "could not fetch denort". */
const DOWNLOAD_FAILURE =
  /dns error|failed to lookup|error sending request|Download|denort|connect/i;

/**
 * The one line printed when deno compile could not fetch its runtime: what was
 * wanted, the innermost cause deno gave, and the way out.
 *
 * @example
 * ```ts
 * import { downloadFailureLine } from "./compile.ts";
 * const line = downloadFailureLine("x86_64-pc-windows-msvc", "    4: dns error\n");
 * if (line.includes("\n") || !line.includes("DENORT_BIN")) throw new Error(line);
 * ```
 */
export function downloadFailureLine(target: string, stderr: string): string {
  // deno prints the cause chain as "  0: ...", "  1: ..."; the last one is the root cause.
  const chain = stderr.split(/^Stack backtrace:/m)[0];
  // deno colours its output when it thinks it may.
  // deno-lint-ignore no-control-regex
  const plain = chain.replace(/\x1b\[[0-9;]*m/g, "");
  const causes = [...plain.matchAll(/^\s*\d+: (.+)$/gm)].map((m) => m[1].trim());
  const cause = causes.at(-1) ?? "download failed";
  return `compile: cannot fetch the Deno runtime (denort ${Deno.version.deno}, ${target}): ` +
    `${cause}; set DENORT_BIN to a local denort of that version (README, "Release")`;
}

async function isEmptyDir(path: string | URL): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(path)) return false;
    return true;
  } catch {
    return false;
  }
}

async function main(args: string[]): Promise<number> {
  const check = !args.includes("--no-check");
  const explicit: string[] = [];
  let dist = "dist";
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--target" && args[i + 1]) explicit.push(args[++i]);
    else if (args[i] === "--dist" && args[i + 1]) dist = args[++i];
  }
  const denort = Deno.env.get("DENORT_BIN");
  const targets = explicit.length > 0
    ? explicit
    : args.includes("--host") || denort
    ? [hostTarget()]
    : [...TARGETS];
  if (denort) console.error(`Using DENORT_BIN=${denort} (targets: ${targets.join(", ")})`);
  const distDir = new URL(`${dist}/`, ROOT);
  let existed = true;
  try {
    await Deno.stat(distDir);
  } catch {
    existed = false;
  }
  const status = await build(targets, { check, dist }, denort);
  // A failed build leaves no empty output directory behind.
  if (!existed && await isEmptyDir(distDir)) await Deno.remove(distDir).catch(() => {});
  return status;
}

async function build(
  targets: string[],
  opts: { check: boolean; dist: string },
  denort: string | undefined,
): Promise<number> {
  await Deno.mkdir(new URL(`${opts.dist}/`, ROOT), { recursive: true });
  let failed = 0;
  for (const target of targets) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: compileArgs(target, opts),
      cwd: ROOT,
      stdout: "inherit",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    if (out.success) {
      console.log(`built ${outputFor(target, opts.dist)}`);
      continue;
    }
    failed++;
    if (!denort && DOWNLOAD_FAILURE.test(err)) {
      console.error(downloadFailureLine(target, err));
      return 1; // every other target would fail the same way
    }
    await Deno.stderr.write(out.stderr);
    console.error(`failed: ${target}`);
  }
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
