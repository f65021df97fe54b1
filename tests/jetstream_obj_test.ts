// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS clients directly
/**
 * The official object store client (npm @nats-io/obj 3.4.0) against
 * nats-server -js and dnatsd -js, running the same script: the bucket's
 * stream, a large object in chunks with its SHA-256 digest, blobs, an empty
 * object, replacing an object (its old chunks purged), info, list, links,
 * delete, watch, metadata update, status, seal. The transcripts must be the
 * same once the random object ids (nuid) and times are masked.
 */
import { jetstreamManager } from "npm:@nats-io/jetstream@3.4.0";
import { type ObjectInfo, type ObjectWatchInfo, Objm } from "npm:@nats-io/obj@3.4.0";
import type { NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { missing } from "./helpers/requires.ts";
import { waitFor } from "./helpers/server.ts";
import { sameTranscript } from "./jetstream/helpers.ts";

/** Deterministic bytes (a linear congruential sequence), the same on every run. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** A stream that hands the data over in pieces of `piece` bytes. */
function readable(data: Uint8Array, piece = 50_000): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= data.length) return c.close();
      c.enqueue(data.slice(at, at + piece));
      at += piece;
    },
  });
}

async function readAll(rs: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of rs) parts.push(p);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** An object's info as text, without what differs by nature (nuid, mtime). */
function info(i: ObjectInfo | null): string {
  if (i === null) return "null";
  const link = i.options?.link ? ` link=${i.options.link.bucket}/${i.options.link.name ?? ""}` : "";
  return `${i.bucket}/${i.name} size=${i.size} chunks=${i.chunks} digest=${i.digest} ` +
    `deleted=${i.deleted} rev=${i.revision} desc=${i.description ?? ""}` +
    ` chunk=${i.options?.max_chunk_size ?? ""}${link}` +
    (i.metadata ? ` meta=${JSON.stringify(i.metadata)}` : "");
}

async function attempt(fn: () => Promise<unknown>): Promise<string> {
  try {
    const v = await fn();
    const isInfo = typeof v === "object" && v !== null && "bucket" in v && "nuid" in v;
    return `ok ${isInfo ? info(v as ObjectInfo) : JSON.stringify(v)}`;
  } catch (e) {
    const x = e as Error & { code?: number };
    return `${x.name}: ${x.message}${x.code !== undefined ? ` [${x.code}]` : ""}`;
  }
}

async function script(nc: NatsConnection): Promise<string[]> {
  const out: string[] = [];
  const note = (s: string) => out.push(s);
  const objm = new Objm(nc);
  const jsm = await jetstreamManager(nc);
  const os = await objm.create("files", { description: "test files" });
  note(`stream ${JSON.stringify((await jsm.streams.info("OBJ_files")).config)}`);

  // A watch from the start: every change arrives as it happens.
  const events: string[] = [];
  const watch = await os.watch();
  const watching = (async () => {
    for await (const e of watch) {
      const w = e as ObjectWatchInfo | null;
      events.push(w === null ? "null" : `${w.name}${w.deleted ? " deleted" : ""} ${w.isUpdate}`);
    }
  })();

  const big = bytes(300_000, 7);
  const put = await os.put({ name: "big.bin", description: "three chunks" }, readable(big));
  note(`put ${info(put)}`);
  const got = await os.get("big.bin");
  const data = await readAll(got!.data);
  note(
    `get ${info(got!.info)} same=${
      data.length === big.length && data.every((b, i) => b === big[i])
    }`,
  );
  note(`get error ${await got!.error}`);

  note(`blob ${info(await os.putBlob({ name: "small.txt" }, new TextEncoder().encode("hello")))}`);
  note(`getBlob ${new TextDecoder().decode((await os.getBlob("small.txt"))!)}`);
  note(`empty ${info(await os.putBlob({ name: "empty" }, new Uint8Array(0)))}`);
  note(`getBlob empty ${(await os.getBlob("empty"))?.length}`);
  note(`getBlob missing ${await os.getBlob("missing")}`);
  const chunked = await os.put(
    { name: "small-chunks", options: { max_chunk_size: 1000 } },
    readable(bytes(4_500, 9), 700),
  );
  note(`small chunks ${info(chunked)}`);
  note(`small chunks back ${(await os.getBlob("small-chunks"))!.length}`);

  // Replacing an object: the new chunks, the old ones purged.
  const before = (await jsm.streams.info("OBJ_files")).state;
  note(`before replace messages=${before.messages} bytes=${before.bytes}`);
  note(`replace ${info(await os.putBlob({ name: "big.bin" }, bytes(1000, 3)))}`);
  const after = (await jsm.streams.info("OBJ_files")).state;
  note(`after replace messages=${after.messages} bytes=${after.bytes} last=${after.last_seq}`);

  // Links to an object and to another bucket.
  const small = await os.info("small.txt");
  note(`link ${await attempt(() => os.link("alias", small!))}`);
  note(`via link ${new TextDecoder().decode((await os.getBlob("alias"))!)}`);
  const other = await objm.create("other", { storage: "memory" as never });
  note(`link store ${await attempt(() => os.linkStore("elsewhere", other))}`);
  note(`link to link ${await attempt(async () => os.link("alias2", (await os.info("alias"))!))}`);

  note(
    `update ${await attempt(() =>
      os.update("small.txt", { description: "now described", metadata: { k: "v" } })
    )}`,
  );
  note(`info ${info(await os.info("small.txt"))}`);
  note(`list ${(await os.list()).map((i) => i.name).sort()}`);

  note(`delete ${JSON.stringify(await os.delete("small-chunks"))}`);
  note(`info deleted ${info(await os.info("small-chunks"))}`);
  note(`get deleted ${await os.get("small-chunks")}`);
  note(`delete missing ${await attempt(() => os.delete("nope"))}`);
  note(`list ${(await os.list()).map((i) => i.name).sort()}`);

  const st = await os.status();
  note(
    `status ${st.bucket} desc=${st.description} size=${st.size} sealed=${st.sealed} ` +
      `storage=${st.storage} replicas=${st.replicas} ttl=${st.ttl} store=${st.backingStore}`,
  );

  await waitFor(() => events.length >= 9, 5000, `watch events (have ${events})`);
  watch.stop();
  await watching;
  note(`watch ${events.join(" | ")}`);

  const sealed = await os.seal();
  note(`seal ${sealed.sealed}`);
  note(`put sealed ${await attempt(() => os.putBlob({ name: "late" }, new Uint8Array(3)))}`);
  const objects: string[] = [];
  for await (const s of objm.list()) objects.push(`${s.bucket}:${s.sealed}`);
  note(`buckets ${objects.sort()}`);
  note(`destroy ${await other.destroy()}`);
  return out.map((s) => s.replace(/"created":"[^"]*"/g, '"created":"T"'));
}

Deno.test({
  name: "jetstream object store: the official client gives the same results as with nats-server",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await sameTranscript(script);
  },
});
