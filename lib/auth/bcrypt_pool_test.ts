import assert from "node:assert/strict";
import { bcrypt } from "../deps.ts";
import { BcryptPool, isBcryptHash } from "./bcrypt_pool.ts";

/** The same hash under each accepted prefix (bcryptjs emits `$2b$`). */
function variants(password: string, cost: number): Record<string, string> {
  const h = bcrypt.hashSync(password, cost).slice(4);
  return { a: "$2a$" + h, b: "$2b$" + h, y: "$2y$" + h, x: "$2x$" + h };
}

Deno.test("isBcryptHash() recognises the four prefixes only", () => {
  for (const h of Object.values(variants("pw", 4))) assert.equal(isBcryptHash(h), true, h);
  assert.equal(isBcryptHash("$2a$11$UP3xizk94sWF9SHF/wkklOfBT9jphTGNrhZqz2OHoBdk9yO1kvErG"), true);
  assert.equal(isBcryptHash("$2c$11$UP3xizk94sWF9SHF/wkklOfBT9jphTGNrhZqz2OHoBdk9yO1kvErG"), false);
  assert.equal(isBcryptHash("$2a$11$short"), false);
  assert.equal(isBcryptHash("T0pS3cr3t"), false);
});

Deno.test("BcryptPool.compare() checks $2a/$2b/$2y/$2x hashes", async () => {
  const pool = new BcryptPool();
  try {
    for (const [k, h] of Object.entries(variants("s3cr3t", 4))) {
      assert.equal(await pool.compare("s3cr3t", h), true, k);
      assert.equal(await pool.compare("s3cr3T", h), false, k);
    }
    // a hash nats-server's mkpasswd printed for S3Cr3T0k3n! (gnatsd README)
    const seeded = "$2a$11$UP3xizk94sWF9SHF/wkklOfBT9jphTGNrhZqz2OHoBdk9yO1kvErG";
    assert.equal(await pool.compare("S3Cr3T0k3n!", seeded), true);
  } finally {
    pool.close();
  }
});

Deno.test("BcryptPool caches successes only", async () => {
  const pool = new BcryptPool({ size: 1 });
  try {
    const hash = bcrypt.hashSync("right", 10);
    assert.equal(pool.cached("right", hash), false);
    assert.equal(await pool.compare("right", hash), true);
    const checks = pool.stats().checks;
    // second check: synchronous probe and a resolved promise, no bcrypt run
    const t0 = performance.now();
    assert.equal(pool.cached("right", hash), true);
    assert.equal(await pool.compare("right", hash), true);
    assert.ok(performance.now() - t0 < 20, "cache hit must be fast");
    assert.equal(pool.stats().checks, checks);
    assert.equal(pool.stats().cacheHits, 2);
    // a wrong password is never remembered: each attempt runs bcrypt again
    assert.equal(await pool.compare("wrong", hash), false);
    assert.equal(await pool.compare("wrong", hash), false);
    assert.equal(pool.stats().checks, checks + 2);
    assert.equal(pool.cached("wrong", hash), false);
  } finally {
    pool.close();
  }
});

Deno.test("BcryptPool runs checks in parallel and keeps the event loop responsive", async () => {
  const pool = new BcryptPool({ size: 2 });
  let maxGap = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 5);
  try {
    const hash = bcrypt.hashSync("pw-0", 11);
    // warm up: start both workers before measuring
    await Promise.all([pool.compare("warm-1", hash), pool.compare("warm-2", hash)]);
    maxGap = 0;
    last = performance.now();
    const checks = Array.from({ length: 20 }, (_, i) => pool.compare(`pw-${i}`, hash));
    const results = await Promise.all(checks);
    assert.equal(results.filter((r) => r).length, 1);
    assert.equal(pool.stats().peakBusy, 2);
    // One bcrypt check at cost 11 is ~180 ms here: a gap that long means the main thread ran one.
    assert.ok(maxGap < 150, `event loop stalled ${maxGap.toFixed(1)} ms`);
  } finally {
    clearInterval(timer);
    pool.close();
  }
});

Deno.test("BcryptPool shares identical in-flight checks and bounds its queue", async () => {
  const pool = new BcryptPool({ size: 1, maxQueue: 1 });
  try {
    const hash = bcrypt.hashSync("same", 8);
    const a = pool.compare("same", hash); // running
    const b = pool.compare("same", hash); // shares a
    const c = pool.compare("other1", hash); // queued
    const d = pool.compare("other2", hash); // queue full
    await assert.rejects(d, /queue is full/);
    assert.deepEqual(await Promise.all([a, b, c]), [true, true, false]);
    assert.equal(pool.stats().checks, 2);
  } finally {
    pool.close();
  }
  await assert.rejects(pool.compare("x", "y"), /closed/);
});

Deno.test("BcryptPool.warm() starts every worker before the first check", async () => {
  const pool = new BcryptPool({ size: 2 });
  try {
    assert.equal(pool.stats().workers, 0);
    pool.warm();
    assert.equal(pool.stats().workers, 2);
    pool.warm(); // idempotent
    assert.equal(pool.stats().workers, 2);
    const [h] = Object.values(variants("warm", 4));
    assert.equal(await pool.compare("warm", h!), true);
    assert.equal(pool.stats().workers, 2);
  } finally {
    pool.close();
  }
});
