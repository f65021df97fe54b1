/**
 * Sublist benchmarks: `deno bench lib/router/sublist_bench.ts`.
 *
 * The workload: 10,000 subscriptions, mostly wildcards, spread over about a
 * thousand patterns on three-token subjects, and 4,096 distinct publish subjects.
 * Each group has the simple version as its baseline.
 */
import { type MatchResult, Sublist } from "./sublist.ts";
import { subjectMatchesPattern } from "./subject.ts";
import { prng } from "./_test_util.ts";

interface BenchSub {
  readonly subject: string;
  readonly queue: string | null;
  readonly sid: number;
}

const random = prng(42);
const pick = (n: number) => Math.floor(random() * n);

const SUB_COUNT = 10_000;
const subs: BenchSub[] = [];
for (let sid = 0; sid < SUB_COUNT; sid++) {
  const a = `a${pick(50)}`;
  const b = `b${pick(200)}`;
  const c = `c${pick(100)}`;
  let subject: string;
  switch (sid % 5) {
    case 0:
      subject = `${a}.${b}.*`;
      break;
    case 1:
      subject = `${a}.*.${c}`;
      break;
    case 2:
      subject = `${a}.${b}.>`;
      break;
    case 3:
      subject = `*.${b}.${c}`;
      break;
    default:
      subject = `${a}.${b}.${c}`;
  }
  subs.push({ subject, queue: sid % 7 === 0 ? `q${sid % 3}` : null, sid });
}

const SUBJECT_COUNT = 4096;
const subjects: string[] = Array.from(
  { length: SUBJECT_COUNT },
  () => `a${pick(50)}.b${pick(200)}.c${pick(100)}`,
);
/** Fewer subjects than the cache holds, so every match after warm-up is a hit. */
const hotSubjects = subjects.slice(0, 512);

function filled(cache: boolean): Sublist<BenchSub> {
  const list = new Sublist<BenchSub>({ cache });
  for (const sub of subs) list.insert(sub);
  return list;
}

const cached = filled(true);
for (const subject of hotSubjects) cached.match(subject);
const uncached = filled(false);
const thrashing = filled(true); // 4,096 subjects rotate through a 1,024-entry cache
const plainMap = new Map<string, MatchResult<BenchSub>>();
for (const subject of hotSubjects) plainMap.set(subject, cached.match(subject));

let cursor = 0;
let sink = 0; // keeps results alive so the work is not optimised away

/** The simple version: test every subscription against the subject. */
function bruteForceMatch(subject: string): number {
  let found = 0;
  for (const sub of subs) if (subjectMatchesPattern(subject, sub.subject)) found++;
  return found;
}

Deno.bench("Map.get() of a cached subject", { group: "cached", baseline: true }, () => {
  sink += plainMap.get(hotSubjects[cursor++ & 511] as string)?.plain.length ?? 0;
});

Deno.bench("Sublist.match() cache hit", { group: "cached" }, () => {
  sink += cached.match(hotSubjects[cursor++ & 511] as string).plain.length;
});

Deno.bench("Sublist.hasInterest() cache hit", { group: "cached" }, () => {
  if (cached.hasInterest(hotSubjects[cursor++ & 511] as string)) sink++;
});

Deno.bench("brute force over 10k subs", { group: "uncached", baseline: true }, () => {
  sink += bruteForceMatch(subjects[cursor++ & (SUBJECT_COUNT - 1)] as string);
});

Deno.bench("Sublist.match() without cache, 10k subs", { group: "uncached" }, () => {
  sink += uncached.match(subjects[cursor++ & (SUBJECT_COUNT - 1)] as string).plain.length;
});

Deno.bench("Sublist.match() with cache, 4k subjects thrashing", { group: "uncached" }, () => {
  sink += thrashing.match(subjects[cursor++ & (SUBJECT_COUNT - 1)] as string).plain.length;
});

Deno.bench("Sublist.hasInterest() without cache, 10k subs", { group: "uncached" }, () => {
  if (uncached.hasInterest(subjects[cursor++ & (SUBJECT_COUNT - 1)] as string)) sink++;
});

const churnLiteral: BenchSub = { subject: "churn.literal.subject", queue: null, sid: -1 };
const churnWildcard: BenchSub = { subject: "a1.*.>", queue: null, sid: -2 };

Deno.bench("insert + remove, no cache", { group: "churn", baseline: true }, () => {
  uncached.insert(churnLiteral);
  uncached.remove(churnLiteral);
});

Deno.bench("insert + remove literal, full cache", { group: "churn" }, () => {
  cached.insert(churnLiteral);
  cached.remove(churnLiteral);
});

Deno.bench("insert + remove wildcard, full cache", { group: "churn" }, (b) => {
  // Refill the cache outside the timed part so every iteration walks ~1,024 keys.
  for (let i = 0; i < 1024; i++) thrashing.match(subjects[i] as string);
  b.start();
  thrashing.insert(churnWildcard);
  thrashing.remove(churnWildcard);
  b.end();
});

globalThis.addEventListener("unload", () => {
  if (sink === -1) console.log(sink);
});
