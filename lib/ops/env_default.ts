/**
 * Sets a runtime environment variable for the start-up re-execution
 * (lib/ops/sigusr1_mask.ts), keeping what the operator set: `next` gets the
 * current value and returns the one to run with. Without env permission the
 * runtime's default stays.
 *
 * Kept free of imports: main.ts loads it before the rest of the server.
 *
 * @module
 */
export function applyEnvDefault(
  name: string,
  next: (current: string | undefined) => string,
): void {
  try {
    const current = Deno.env.get(name);
    const value = next(current);
    if (value !== current) Deno.env.set(name, value);
  } catch {
    // No env permission: the runtime's default stays.
  }
}
