// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * File store compaction in the real server: a key-value style stream (one
 * message per subject) overwritten under load with small segments, so the
 * dead segments are compacted while publishes go on; the server kills itself
 * with SIGKILL at a fault point inside compaction (DNATSD_JS_FAULT, see
 * docs/jetstream.md). After a restart every acknowledged value is there once,
 * no overwritten one came back, and the log is smaller than what was written.
 */
import { equal, ok } from "node:assert/strict";
import { connect } from "npm:@nats-io/transport-node@3.4.0";
import { ServerProcess } from "./helpers/server.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const KEYS = 6;

function logBytes(dir: string): number {
  const d = `${dir}/jetstream/$G/streams/KV`;
  let n = 0;
  for (const e of Deno.readDirSync(d)) {
    if (e.name.startsWith("msgs.")) n += Deno.statSync(`${d}/${e.name}`).size;
  }
  return n;
}

for (const point of ["compact-written", "compact-renamed"]) {
  Deno.test({
    name: `jetstream compaction: kill -9 at ${point} under load loses and revives nothing`,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const dir = await Deno.makeTempDir({ prefix: "js-compact-" });
      try {
        let s = await ServerProcess.start({
          args: ["-js", "-sd", dir],
          env: { DNATSD_JS_SEGMENT_BYTES: "4096", DNATSD_JS_FAULT: point },
        });
        let nc = await connect({ servers: s.url, reconnect: false });
        await nc.request(
          "$JS.API.STREAM.CREATE.KV",
          enc.encode('{"name":"KV","subjects":["kv.*"],"max_msgs_per_subject":1}'),
        );
        // The newest acknowledged value of each key, and every value ever sent.
        const acked = new Map<string, { seq: number; body: string }>();
        const sent = new Map<string, Set<string>>();
        let n = 0;
        let written = 0;
        const publisher = async (k: number) => {
          const key = `kv.k${k}`;
          for (;;) {
            const body = `v${n++}-${"p".repeat(100)}`;
            if (!sent.has(key)) sent.set(key, new Set());
            sent.get(key)!.add(body);
            try {
              const r = await nc.request(key, enc.encode(body), { timeout: 3000 });
              const ack = JSON.parse(dec.decode(r.data));
              written += body.length;
              const prev = acked.get(key);
              if (!prev || prev.seq < ack.seq) acked.set(key, { seq: ack.seq, body });
            } catch {
              return; // The server killed itself: not acknowledged.
            }
          }
        };
        const running = Array.from({ length: KEYS }, (_, k) => publisher(k));
        const status = await Promise.race([
          s.exited,
          new Promise<null>((r) => setTimeout(() => r(null), 20_000)),
        ]);
        ok(status !== null, "the fault point was not reached in 20 s");
        equal(status!.signal, "SIGKILL");
        await Promise.all(running);
        await nc.close().catch(() => {});
        ok(acked.size > 0);
        s = await ServerProcess.start({ args: ["-js", "-sd", dir] });
        nc = await connect({ servers: s.url });
        const info = JSON.parse(dec.decode((await nc.request("$JS.API.STREAM.INFO.KV")).data));
        // One message per key: an overwritten value that came back would make two.
        equal(info.state.messages, info.state.num_subjects);
        for (const [key, { seq, body }] of acked) {
          const r = JSON.parse(dec.decode(
            (await nc.request(
              "$JS.API.STREAM.MSG.GET.KV",
              enc.encode(JSON.stringify({ last_by_subj: key })),
            )).data,
          ));
          const got = atob(r.message.data);
          // The newest acknowledged value, or one sent after it whose ack was lost in the kill.
          ok(r.message.seq >= seq, `${key}: seq ${r.message.seq} < acked ${seq}`);
          ok(r.message.seq > seq ? sent.get(key)!.has(got) : got === body, `${key}: ${got}`);
        }
        const maxAcked = Math.max(...[...acked.values()].map((a) => a.seq));
        ok(info.state.last_seq >= maxAcked);
        const next = JSON.parse(dec.decode((await nc.request("kv.k0", enc.encode("after"))).data));
        equal(next.seq, info.state.last_seq + 1);
        // Compaction gave space back: the log holds far less than was written.
        ok(logBytes(dir) < written / 2, `${logBytes(dir)} bytes on disk, ${written} written`);
        await nc.close();
        await s.stop();
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
