/**
 * Test-only helpers for the lib/ops unit tests.
 *
 * @module
 */

/**
 * Runs `fn` with a fresh temporary directory, removed afterwards even when `fn` throws.
 *
 * @param fn the test body, given the directory's path
 */
export function withTempDir(fn: (dir: string) => void): void {
  const dir = Deno.makeTempDirSync();
  try {
    fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}
