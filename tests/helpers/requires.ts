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

/** Tools the suite knows how to find. */
export const TOOLS = {
  "nats-server": ["/usr/sbin/nats-server"],
  pebble: ["/usr/bin/pebble", "/usr/bin/pebble-challtestsrv"],
  chromium: ["/usr/bin/chromium"],
  go: ["/usr/bin/go", "/usr/share/gocode/src/github.com/nats-io/nats.go/nats.go"],
  "libnats-dev": ["/usr/include/nats/nats.h", "/usr/bin/cc"],
  openssl: ["/usr/bin/openssl"],
} as const;

export type Tool = keyof typeof TOOLS;

const said = new Set<string>();

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** True when `tool` is installed. */
export function has(tool: Tool): boolean {
  return TOOLS[tool].every(exists);
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
      console.error(`ignored: tests that need ${tool} (${TOOLS[tool].join(", ")} missing)`);
    }
  }
  return absent;
}
