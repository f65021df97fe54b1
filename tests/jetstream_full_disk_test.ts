// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * A disk that fills up while publishing to a file stream: the publish that no
 * longer fits is refused with a clear JetStream error, the server keeps
 * answering, space freed by someone else or by a purge makes publishing work
 * again, and after kill -9 every acknowledged message is there exactly once.
 * The store is a small tmpfs mounted for the test (root only: ignored where
 * mounting is not permitted). nats-server 2.9.10 on the same steps stops
 * answering JetStream requests once its disk is full (docs/jetstream.md).
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { connect, type NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { missing } from "./helpers/requires.ts";
import { ServerProcess } from "./helpers/server.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
/** A JetStream API answer, read field by field. */
// deno-lint-ignore no-explicit-any
type Reply = Record<string, any>;

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${dec.decode(out.stderr)}`);
}

async function json(nc: NatsConnection, subject: string, body = ""): Promise<Reply> {
  return JSON.parse(
    dec.decode((await nc.request(subject, enc.encode(body), { timeout: 3000 })).data),
  );
}

/** A 2,000-byte payload that names its publish. */
function payload(tag: string): string {
  return `${tag}-`.padEnd(2000, "x");
}

/**
 * Publishes `payload(tag-i)` 16 at a time until one is refused (or `max` are
 * acknowledged); the acknowledged ones go into `acked` (seq -> payload).
 * Returns the first refusal's error, or undefined.
 */
async function fill(
  nc: NatsConnection,
  tag: string,
  acked: Map<number, string>,
  max: number,
): Promise<Reply | undefined> {
  let refused: Reply | undefined;
  for (let i = 0; i < max && refused === undefined; i += 16) {
    const batch = Array.from({ length: Math.min(16, max - i) }, async (_, k) => {
      const body = payload(`${tag}-${i + k}`);
      const ack = await json(nc, "d", body);
      if (ack.error) refused ??= ack.error;
      else acked.set(ack.seq, body);
    });
    await Promise.all(batch);
  }
  return refused;
}

/** Every message of stream D, read with MSG.GET: seq -> payload. */
async function readAll(nc: NatsConnection): Promise<Map<number, string>> {
  const info = await json(nc, "$JS.API.STREAM.INFO.D");
  const out = new Map<number, string>();
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const r = await json(nc, "$JS.API.STREAM.MSG.GET.D", `{"seq":${seq}}`);
    if (r.message) out.set(seq, atob(r.message.data));
  }
  equal(out.size, info.state.messages);
  return out;
}

function sameMessages(stored: Map<number, string>, acked: Map<number, string>): void {
  const sorted = (m: Map<number, string>) => [...m].sort((a, b) => a[0] - b[0]);
  // Compared by sequence and tag, not 2,000-byte bodies, so a failure reads well.
  const short = (m: Map<number, string>) => sorted(m).map(([s, b]) => `${s}:${b.split("-x")[0]}`);
  deepStrictEqual(short(stored), short(acked));
  deepStrictEqual(sorted(stored), sorted(acked));
}

Deno.test({
  name:
    "jetstream file store: a disk that fills while publishing refuses with 10077, keeps every ack, and publishes again once space is freed",
  ignore: missing("tmpfs"),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "js-full-" });
    await run("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]);
    const conf = await Deno.makeTempFile({ suffix: ".conf" });
    let s: ServerProcess | undefined;
    let nc: NatsConnection | undefined;
    try {
      // A limit above the disk's size, so the disk itself fills up (the default limit, 75% of
      // the free space, refuses with 10023 "insufficient resources" first, as nats-server does).
      await Deno.writeTextFile(conf, `jetstream { store_dir: "${dir}", max_file_store: 1G }`);
      // Small segments, so a purge frees space by removing whole files.
      const start = () =>
        ServerProcess.start({
          args: ["-c", conf],
          env: { DNATSD_JS_SEGMENT_BYTES: "65536" },
        });
      // Another file on the same disk, removed later (an operator freeing space).
      await Deno.writeFile(`${dir}/ballast`, new Uint8Array(128 * 1024));
      await Deno.writeFile(`${dir}/ballast2`, new Uint8Array(16 * 1024));
      s = await start();
      nc = await connect({ servers: s.url, reconnect: false });
      await json(nc, "$JS.API.STREAM.CREATE.D", '{"name":"D","subjects":["d"]}');

      const acked = new Map<number, string>();
      const refused = await fill(nc, "a", acked, 1000);
      ok(refused, `all of ${acked.size} publishes acknowledged: the disk did not fill`);
      equal(refused.code, 503);
      equal(refused.err_code, 10077);
      ok(/No space left on device/.test(refused.description), refused.description);
      ok(acked.size > 100, `only ${acked.size} acknowledged`);
      const again = await json(nc, "d", payload("refused"));
      equal(again.error?.err_code, 10077, JSON.stringify(again));

      // The server goes on answering: info, get, a pull consumer reading what is stored.
      const info = await json(nc, "$JS.API.STREAM.INFO.D");
      equal(info.state.messages, acked.size);
      equal(info.state.last_seq, Math.max(...acked.keys()));
      const got = await json(nc, "$JS.API.STREAM.MSG.GET.D", '{"seq":1}');
      equal(atob(got.message.data), acked.get(1));
      const cons = await json(
        nc,
        "$JS.API.CONSUMER.CREATE.D",
        '{"stream_name":"D","config":{"ack_policy":"none"}}',
      );
      ok(cons.name, JSON.stringify(cons));
      const sub = nc.subscribe("_INBOX.full", { max: 3 });
      nc.publish(`$JS.API.CONSUMER.MSG.NEXT.D.${cons.name}`, enc.encode('{"batch":3}'), {
        reply: "_INBOX.full",
      });
      const pulled = [];
      for await (const m of sub) pulled.push(dec.decode(m.data));
      deepStrictEqual(pulled, [1, 2, 3].map((seq) => acked.get(seq)));

      // A delete on the full disk is answered: done, or a clear error with the message kept.
      const del = await json(nc, "$JS.API.STREAM.MSG.DELETE.D", '{"seq":2}');
      if (del.success) acked.delete(2);
      else equal(del.error?.err_code, 10057, JSON.stringify(del));

      // Space freed outside the server: publishing works again, with no error in between.
      await Deno.remove(`${dir}/ballast`);
      const more = new Map<number, string>();
      equal(await fill(nc, "b", more, 32), undefined);
      equal(more.size, 32);
      for (const [seq, body] of more) acked.set(seq, body);

      // kill -9: every acknowledged message is there once, no torn record in between.
      await nc.close();
      s.child.kill("SIGKILL");
      await s.exited;
      s = await start();
      ok(!/torn/.test(s.logs.text), s.logs.text);
      nc = await connect({ servers: s.url, reconnect: false });
      sameMessages(await readAll(nc), acked);

      // Full again; a purge frees the stream's own space and publishing goes on.
      const last = new Map<number, string>();
      const refusedAgain = await fill(nc, "c", last, 1000);
      equal(refusedAgain?.err_code, 10077, JSON.stringify(refusedAgain));
      const stored = (await json(nc, "$JS.API.STREAM.INFO.D")).state.messages;
      let purge = await json(nc, "$JS.API.STREAM.PURGE.D");
      if (!purge.success) {
        // The purge record itself may not fit on a disk with no free block: a clear error,
        // and nothing removed. With a little space freed outside, the purge goes through.
        equal(purge.error?.err_code, 10051, JSON.stringify(purge));
        ok(/No space left on device/.test(purge.error.description), JSON.stringify(purge));
        equal((await json(nc, "$JS.API.STREAM.INFO.D")).state.messages, stored);
        await Deno.remove(`${dir}/ballast2`);
        purge = await json(nc, "$JS.API.STREAM.PURGE.D");
      }
      equal(purge.success, true, JSON.stringify(purge));
      equal(purge.purged, stored);
      // The purge gave the space back: the disk takes about as many messages again.
      const after = new Map<number, string>();
      equal((await fill(nc, "d", after, 1000))?.err_code, 10077);
      ok(after.size > 100, `only ${after.size} acknowledged after the purge`);
      await nc.close();
      s.child.kill("SIGKILL");
      await s.exited;
      s = await start();
      nc = await connect({ servers: s.url, reconnect: false });
      sameMessages(await readAll(nc), after);
    } finally {
      await nc?.close().catch(() => {});
      if (s) {
        try {
          s.child.kill("SIGKILL");
        } catch { /* already gone */ }
        await s.exited;
      }
      await run("umount", [dir]);
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(conf);
    }
  },
});
