/**
 * Constant-time comparison of secrets (plain passwords and tokens).
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Compares two strings without leaking, through timing, where they differ or
 * how long the expected one is: both sides are hashed to 32-byte SHA-256
 * digests first, because `timingSafeEqual` needs equal lengths and an early
 * length check would itself leak the secret's length.
 *
 * @param expected The configured secret.
 * @param given The value the client sent.
 * @returns `true` when both strings are equal.
 * @example
 * ```ts
 * import { constantTimeEqual } from "./constant_time.ts";
 * constantTimeEqual("s3cr3t", "s3cr3t"); // true
 * ```
 */
export function constantTimeEqual(expected: string, given: string): boolean {
  const a = createHash("sha256").update(expected, "utf8").digest();
  const b = createHash("sha256").update(given, "utf8").digest();
  return timingSafeEqual(a, b);
}
