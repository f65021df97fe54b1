/**
 * What a test needs from the machine, as `Deno.test` `ignore` values: a test
 * whose tool is missing is reported by the runner as ignored (and counted as
 * skipped by .ci/run), never as passed. Each missing tool is named once on
 * stderr so a reader of the log knows why.
 *
 * @example
 * ```ts ignore
 * Deno.test({ name: "interop", ignore: missing("nats-server"), fn: async () => {} });
 * ```
 *
 * @module
 */

/** Where `deno compile` keeps the denort it downloaded for this Deno version. */
function cachedDenort(): string {
  const home = Deno.env.get("HOME") ?? "";
  const dir = Deno.env.get("DENO_DIR") ?? `${home}/.cache/deno`;
  return `${dir}/dl/release/v${Deno.version.deno}/denort-${Deno.build.target}.zip`;
}

/** Tools the suite knows how to find: files that must all exist. */
export const TOOLS = {
  "nats-server": ["/usr/sbin/nats-server"],
  pebble: ["/usr/bin/pebble", "/usr/bin/pebble-challtestsrv"],
  chromium: ["/usr/bin/chromium"],
  go: ["/usr/bin/go", "/usr/share/gocode/src/github.com/nats-io/nats.go/nats.go"],
  "libnats-dev": ["/usr/include/nats/nats.h", "/usr/bin/cc"],
  openssl: ["/usr/bin/openssl"],
  /** util-linux script(1): a pseudo-terminal for interactive tools. */
  script: ["/usr/bin/script"],
  /** `deno compile`'s runtime: DENORT_BIN, or one already downloaded. */
  denort: [Deno.env.get("DENORT_BIN") ?? cachedDenort()],
  /** User and PID namespaces (`unshare -Urpf --mount-proc`), probed below. */
  unshare: ["/usr/bin/unshare"],
  /** Mounting a small tmpfs (root, and a container that allows it), probed below. */
  tmpfs: ["/usr/bin/mount", "/usr/bin/umount"],
} as const;

export type Tool = keyof typeof TOOLS;

/** Tools whose files are not enough: a probe that must also succeed (run once). */
const PROBES: Partial<Record<Tool, () => boolean>> = {
  // Containers often forbid unprivileged namespaces even where the binary exists.
  unshare: () => runs("unshare", ["-Urpf", "--mount-proc", "true"]),
  tmpfs: () => {
    const dir = Deno.makeTempDirSync({ prefix: "tmpfs-probe-" });
    try {
      return runs("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]) &&
        runs("umount", [dir]);
    } finally {
      Deno.removeSync(dir);
    }
  },
};

const said = new Set<string>();
const probed = new Map<Tool, boolean>();

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function runs(cmd: string, args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

/** True when `tool` is installed (and, for probed tools, works here). */
export function has(tool: Tool): boolean {
  if (!TOOLS[tool].every(exists)) return false;
  const probe = PROBES[tool];
  if (probe === undefined) return true;
  let ok = probed.get(tool);
  if (ok === undefined) {
    ok = probe();
    probed.set(tool, ok);
  }
  return ok;
}

/**
 * True (ignore the test) when any of `tools` is missing; says which once per
 * tool, so the log explains every ignored test.
 */
export function missing(...tools: Tool[]): boolean {
  let absent = false;
  for (const tool of tools) {
    if (has(tool)) continue;
    absent = true;
    if (!said.has(tool)) {
      said.add(tool);
      const why = TOOLS[tool].every(exists) ? "does not work here" : "missing";
      console.error(`ignored: tests that need ${tool} (${TOOLS[tool].join(", ")} ${why})`);
    }
  }
  return absent;
}
