// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS clients directly
/**
 * The official key-value client (npm @nats-io/kv 3.4.0) against nats-server
 * -js and dnatsd -js, running the same script: the bucket's stream as the
 * client asks for it (discard new, max_msgs_per_subject, allow_direct,
 * allow_rollup_hdrs), put/get/create/update with revisions, delete and purge
 * markers, history, keys, watch, TTL, bucket status and list, a bucket
 * without direct get. The transcripts must be the same.
 */
import { deepStrictEqual } from "node:assert/strict";
import { jetstreamManager } from "npm:@nats-io/jetstream@3.4.0";
import { type KV, type KvEntry, Kvm, KvWatchInclude } from "npm:@nats-io/kv@3.4.0";
import type { NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { missing } from "./helpers/requires.ts";
import { waitFor } from "./helpers/server.ts";
import { client, sameTranscript, startJs } from "./jetstream/helpers.ts";
import { buildGoProgram } from "./clients/build.ts";

/** An entry as text: everything but its creation time. */
function entry(e: KvEntry | null): string {
  if (e === null) return "null";
  return `${e.key}@${e.revision} ${e.operation} "${e.string()}" len=${e.length}` +
    (e.delta !== undefined ? ` delta=${e.delta}` : "");
}

/** An error as the client reports it: message and, for API errors, the codes. */
function err(e: unknown): string {
  const x = e as Error & { code?: number; status?: number };
  return `${x.name}: ${x.message}${x.code !== undefined ? ` [${x.status} ${x.code}]` : ""}`;
}

async function attempt(fn: () => Promise<unknown>): Promise<string> {
  try {
    return `ok ${JSON.stringify(await fn())}`;
  } catch (e) {
    return err(e);
  }
}

/** A watch read in the background: its entries as text, as they come. */
class Watched {
  readonly got: string[] = [];
  readonly #iter: AsyncIterable<KvEntry> & { stop(): void };
  readonly #done: Promise<void>;
  constructor(iter: AsyncIterable<KvEntry> & { stop(): void }) {
    this.#iter = iter;
    this.#done = (async () => {
      for await (const e of iter) {
        this.got.push(entry(e) + ((e as { isUpdate?: boolean }).isUpdate ? " update" : ""));
      }
    })();
  }

  /** Waits for `n` entries in all (a deadline, never a sleep). */
  async until(n: number): Promise<string> {
    await waitFor(() => this.got.length >= n, 5000, `${n} watch entries (have ${this.got})`);
    return this.got.join(" | ");
  }

  async stop(): Promise<void> {
    this.#iter.stop();
    await this.#done;
  }
}

/** All entries of a history or keys iterator (they end by themselves). */
async function all<T>(iter: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iter) out.push(x);
  return out;
}

async function status(kv: KV): Promise<string> {
  const s = await kv.status();
  return `status ${s.bucket} values=${s.values} history=${s.history} ttl=${s.ttl} ` +
    `storage=${s.storage} replicas=${s.replicas} size=${s.size} max=${s.maxValueSize}/${s.max_bytes}`;
}

async function script(nc: NatsConnection): Promise<string[]> {
  const out: string[] = [];
  const note = (s: string) => out.push(s);
  const kvm = new Kvm(nc);
  const jsm = await jetstreamManager(nc);
  const kv = await kvm.create("cfg", { history: 3 });
  const si = await jsm.streams.info("KV_cfg");
  note(`stream ${JSON.stringify(si.config)}`);
  note(await status(kv));

  // put, get, revisions.
  note(`put a ${await kv.put("a", "one")}`);
  note(`put b ${await kv.put("b.x", "bee")}`);
  note(`get a ${entry(await kv.get("a"))}`);
  note(`get missing ${entry(await kv.get("zz"))}`);
  note(`create a ${await attempt(() => kv.create("a", "again"))}`);
  note(`create c ${await attempt(() => kv.create("c", "sea"))}`);
  note(`update a@1 ${await attempt(() => kv.update("a", "two", 1))}`);
  note(`update a@1 again ${await attempt(() => kv.update("a", "three", 1))}`);
  note(`put a ${await kv.put("a", "three")}`);
  note(`put a ${await kv.put("a", "four")}`);
  note(`get a@1 ${entry(await kv.get("a", { revision: 1 }))}`);
  note(`get a@6 ${entry(await kv.get("a", { revision: 6 }))}`);
  note(`get a@2 ${entry(await kv.get("a", { revision: 2 }))}`);
  note(`history a ${(await all(await kv.history({ key: "a" }))).map(entry).join(" | ")}`);

  // Delete and purge markers; create after a delete.
  note(`delete c@4 ${await attempt(() => kv.delete("c", { previousSeq: 4 }))}`);
  note(`delete c@3 ${await attempt(() => kv.delete("c", { previousSeq: 3 }))}`);
  note(`get c ${entry(await kv.get("c"))}`);
  note(`create c ${await attempt(() => kv.create("c", "back"))}`);
  note(`purge b ${await attempt(() => kv.purge("b.x"))}`);
  note(`get b ${entry(await kv.get("b.x"))}`);
  note(`history b ${(await all(await kv.history({ key: "b.x" }))).map(entry).join(" | ")}`);
  note(`history all ${(await all(await kv.history())).map(entry).join(" | ")}`);
  note(`keys ${(await all(await kv.keys())).sort()}`);
  note(`keys a* ${(await all(await kv.keys("b.*"))).sort()}`);
  note(await status(kv));

  // Watch: the last values first, then updates as they come (each awaited
  // before the next publish: pending counts depend on what is stored by then).
  const w = new Watched(await kv.watch());
  note(`watch ${await w.until(3)}`);
  await kv.put("d", "dee");
  note(`watch ${await w.until(4)}`);
  await kv.delete("a");
  note(`watch ${await w.until(5)}`);
  await w.stop();
  const wa = new Watched(await kv.watch({ key: "a", include: KvWatchInclude.AllHistory }));
  note(`watch a history ${await wa.until(3)}`);
  await wa.stop();
  const wu = new Watched(
    await kv.watch({ include: KvWatchInclude.UpdatesOnly, ignoreDeletes: true }),
  );
  await kv.delete("d");
  await kv.put("e", "eee");
  await kv.put("f", "eff");
  note(`watch updates ${await wu.until(2)}`);
  await wu.stop();
  const none = new Watched(await kv.watch({ key: "nothing.*" }));
  await kv.put("nothing.x", "x");
  note(`watch nothing.* ${await none.until(1)}`);
  await none.stop();

  // Not in the KV type, but the bucket has it.
  const bucket = kv as unknown as { purgeDeletes(olderMs: number): Promise<unknown> };
  note(`purgeDeletes ${JSON.stringify(await bucket.purgeDeletes(0))}`);
  note(`history all ${(await all(await kv.history())).map(entry).join(" | ")}`);
  note(await status(kv));

  // TTL: values expire with max_age.
  const ttl = await kvm.create("ttl", { ttl: 300, storage: "memory" as never });
  note(`ttl config ${JSON.stringify((await jsm.streams.info("KV_ttl")).config)}`);
  note(`ttl put ${await ttl.put("k", "v")}`);
  note(`ttl get ${entry(await ttl.get("k"))}`);
  await waitFor(async () => (await ttl.get("k")) === null, 5000, "the value to expire");
  note(`ttl expired ${entry(await ttl.get("k"))} ${await status(ttl)}`);

  // A bucket without direct get reads through STREAM.MSG.GET.
  const nd = await kvm.create("nd", { allow_direct: false, history: 2 });
  note(`nd put ${await nd.put("k", "1")} ${await nd.put("k", "2")} ${await nd.put("k", "3")}`);
  note(`nd get ${entry(await nd.get("k"))} ${entry(await nd.get("k", { revision: 1 }))}`);
  note(`nd config ${JSON.stringify((await jsm.streams.info("KV_nd")).config)}`);

  // Limits: a bucket's bytes (discard new refuses the put) and a value's size.
  const small = await kvm.create("small", { max_bytes: 200, maxValueSize: 40, history: 1 });
  for (let i = 0; i < 6; i++) {
    note(`small put ${await attempt(() => small.put(`k${i}`, "v".repeat(30)))}`);
  }
  note(`small big ${await attempt(() => small.put("big", "v".repeat(41)))}`);
  note(`small replace ${await attempt(() => small.put("k0", "w"))}`);
  note(await status(small));

  const opened = await kvm.open("cfg");
  note(`open get e ${entry(await opened.get("e"))}`);
  const listed: string[] = [];
  for await (const s of kvm.list()) listed.push(`${s.bucket}:${s.values}:${s.history}`);
  note(`list ${listed.sort()}`);
  note(`destroy ${await kv.destroy()}`);
  note(`info after destroy ${await attempt(() => jsm.streams.info("KV_cfg"))}`);
  return out.map((s) => s.replace(/"created":"[^"]*"/g, '"created":"T"'));
}

Deno.test({
  name: "jetstream kv: the official client gives the same results as with nats-server",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await sameTranscript(script);
  },
});

/** A file bucket across a restart: values, markers, history and direct get come back. */
async function restarted(reference: boolean): Promise<string[]> {
  const out: string[] = [];
  const dir = await Deno.makeTempDir({ prefix: "js-kv-" });
  let s = await startJs(reference, [], dir);
  let nc = await client(s);
  try {
    const kv = await new Kvm(nc).create("keep", { history: 2 });
    out.push(`put ${await kv.put("a", "1")} ${await kv.put("a", "2")} ${await kv.put("a", "3")}`);
    out.push(`put ${await kv.put("b", "x")}`);
    await kv.delete("b");
    await nc.close();
    await s.server.stop();
    s = await startJs(reference, [], dir);
    nc = await client(s);
    const again = await new Kvm(nc).open("keep");
    out.push(`get a ${entry(await again.get("a"))} b ${entry(await again.get("b"))}`);
    out.push(`history a ${(await all(await again.history({ key: "a" }))).map(entry).join(" | ")}`);
    out.push(`keys ${(await all(await again.keys())).sort()}`);
    out.push(`create b ${await attempt(() => again.create("b", "y"))}`);
    out.push(`update a@3 ${await attempt(() => again.update("a", "4", 3))}`);
    out.push(await status(again));
    return out;
  } finally {
    await nc.close();
    await s.stop();
  }
}

Deno.test({
  name: "jetstream kv: a file bucket comes back after a restart as with nats-server",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const ref = await restarted(true);
    if (Deno.env.get("JS_TEST_DUMP")) console.log(ref.join("\n"));
    deepStrictEqual(await restarted(false), ref);
  },
});

const GO_SOURCE = new URL("./clients/go/kvobj/main.go", import.meta.url).pathname;

/** Builds the nats.go script once per source hash (GOPATH mode, Debian's nats.go). */
function goScript(): Promise<string> {
  return buildGoProgram("kvobj", GO_SOURCE);
}

Deno.test({
  name: "jetstream kv and object store through nats.go: the same lines as with nats-server",
  ignore: missing("go", "nats-server"),
  fn: async () => {
    const bin = await goScript();
    const results: string[] = [];
    for (const reference of [true, false]) {
      const s = await startJs(reference);
      try {
        const out = await new Deno.Command(bin, {
          args: [s.server.url],
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(30_000),
        }).output();
        results.push(new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr));
      } finally {
        await s.stop();
      }
    }
    if (Deno.env.get("JS_TEST_DUMP")) console.log(results[0]);
    deepStrictEqual(results[0].split("\n").length > 20, true, results[0]);
    deepStrictEqual(results[1].split("\n"), results[0].split("\n"));
  },
});
