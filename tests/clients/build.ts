/**
 * Builds a test program (a nats.go or C client) once per source hash into a
 * shared temp directory, so parallel test files and later runs reuse it.
 *
 * @module
 */

/** Where built programs and the Go build cache live. */
export const BUILD_DIR = `${Deno.env.get("TMPDIR") ?? "/tmp"}/dnatsd-client-runners`;

/**
 * The path of `name`, built from `source` by `command(out)` unless a build of
 * the same source bytes is already there. The build writes beside the final
 * name and renames, because parallel test files may race here.
 */
export async function cachedBuild(
  name: string,
  source: string,
  command: (out: string) => Deno.Command,
): Promise<string> {
  const bytes = await Deno.readFile(source);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const hash = Array.from(digest.slice(0, 8), (x) => x.toString(16).padStart(2, "0")).join("");
  await Deno.mkdir(BUILD_DIR, { recursive: true });
  const bin = `${BUILD_DIR}/${name}-${hash}`;
  try {
    if ((await Deno.stat(bin)).isFile) return bin;
  } catch { /* not built yet */ }
  const tmp = `${bin}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}`;
  const out = await command(tmp).output();
  if (!out.success) {
    throw new Error(`building ${name} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  await Deno.rename(tmp, bin);
  return bin;
}

/** Builds a Go program in GOPATH mode against Debian's nats.go (and nats-server) packages. */
export function buildGoProgram(name: string, source: string): Promise<string> {
  return cachedBuild(name, source, (out) =>
    new Deno.Command("go", {
      args: ["build", "-o", out, source],
      cwd: BUILD_DIR,
      env: {
        GOPATH: "/usr/share/gocode",
        GO111MODULE: "off",
        GOFLAGS: "",
        GOCACHE: Deno.env.get("GOCACHE") ?? `${BUILD_DIR}/gocache`,
      },
      stdout: "piped",
      stderr: "piped",
    }));
}
