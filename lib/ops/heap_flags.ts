/**
 * The V8 heap setting dnatsd runs with: a young generation of at most 1 MiB
 * per semi-space (`--max-semi-space-size=1`; V8's default grows to 16 MiB).
 *
 * Why: under `node:tls` the runtime hands every TCP read to JavaScript in a
 * new ArrayBuffer (up to 64 KiB each, outside the V8 heap). Those buffers die
 * young, but are only freed when a collection runs; with the default young
 * generation a busy TLS publisher makes few scavenges, so dead buffers pile up
 * to V8's 64 MiB external-memory trigger and beyond. With 1 MiB semi-spaces the
 * server's own allocations scavenge often enough to free them: peak RSS of a
 * TLS publisher with no subscriber 202-255 MiB -> 135-141 MiB, with the CPU
 * per message unchanged within the noise, and plain and TLS pub/sub not slower
 * (docs/performance.md, "Young generation").
 *
 * The runtime reads its V8 flags at start only, so the setting travels in
 * `DENO_V8_FLAGS` through the re-execution lib/ops/sigusr1_mask.ts does at
 * start (same environment). An operator who sets any semi-space flag in
 * `DENO_V8_FLAGS` keeps it; where the process is not re-executed (not Linux,
 * no FFI) the runtime's default stays.
 *
 * Imports only the import-free env_default.ts: main.ts loads it before the
 * rest of the server.
 *
 * @module
 */
import { applyEnvDefault } from "./env_default.ts";

/** The flag added to `DENO_V8_FLAGS`. */
export const SEMI_SPACE_FLAG = "--max-semi-space-size=1";

/**
 * `DENO_V8_FLAGS` with the young-generation cap added, unless the value
 * already sets a semi-space size (the operator's choice wins). The runtime
 * splits the variable on commas.
 *
 * @param current The variable's value, or undefined when unset.
 */
export function withHeapDefaults(current: string | undefined): string {
  if (current === undefined || current.trim() === "") return SEMI_SPACE_FLAG;
  if (/semi[-_]space/.test(current)) return current;
  return `${current},${SEMI_SPACE_FLAG}`;
}

/** Puts {@link withHeapDefaults} into this process's environment (for the re-execution). */
export function applyHeapDefaults(): void {
  applyEnvDefault("DENO_V8_FLAGS", withHeapDefaults);
}
