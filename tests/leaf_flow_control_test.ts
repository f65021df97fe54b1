/**
 * Flow control across a leaf link: a publisher on a nats-server leaf floods a
 * subscriber on the dnatsd hub that reads slowly (about 6 MB/s) with
 * `max_pending` set low. The leaf link waits for the reader (TCP
 * back-pressure reaches the leaf) instead of the reader being cut as a slow
 * consumer: every message arrives, the link stays up. Reported as ignored
 * when nats-server is not installed.
 */
import { equal } from "node:assert/strict";
import { missing } from "./helpers/requires.ts";
import { waitFor } from "./helpers/server.ts";
import { hubConf, leafConf, type Node, startNode, waitLeafCount } from "./leaf_helpers.ts";

const COUNT = 8000;
const SIZE = 1024;

Deno.test({
  name: "leaf flow control: a slow reader on the hub slows the leaf's publisher, nothing lost",
  ignore: missing("nats-server"),
  fn: async () => {
    const nodes: Node[] = [];
    let reader: Deno.Conn | undefined;
    let pub: Deno.Conn | undefined;
    try {
      const hub = await startNode("dnatsd", "max_pending: 1MB\n" + hubConf());
      nodes.push(hub);
      const leaf = await startNode("nats-server", leafConf(hub.leafPort));
      nodes.push(leaf);
      await waitLeafCount(hub, 1);

      // The slow reader: a raw client on the hub reading 64 KiB every 10 ms.
      reader = await Deno.connect({ hostname: "127.0.0.1", port: hub.proc.port });
      const enc = new TextEncoder();
      await reader.write(
        enc.encode('CONNECT {"verbose":false}\r\nSUB flood 1\r\nSUB probe 2\r\nPING\r\n'),
      );
      let text = "";
      let msgs = 0;
      let closed = false;
      let probed = false;
      const r = reader;
      const reading = (async () => {
        const buf = new Uint8Array(64 * 1024);
        const dec = new TextDecoder();
        while (true) {
          const n = await r.read(buf).catch(() => null);
          if (n === null) break;
          text += dec.decode(buf.subarray(0, n), { stream: true });
          if (text.includes("MSG probe 2 ")) probed = true;
          // Count MSG lines and keep only an unfinished tail.
          let i: number;
          while ((i = text.indexOf("MSG flood 1 ")) >= 0) {
            const end = i + 12 + String(SIZE).length + 2 + SIZE + 2;
            if (text.length < end) break;
            msgs++;
            text = text.slice(end);
          }
          if (text.length > 200_000) text = text.slice(-100_000);
          await new Promise((res) => setTimeout(res, 10));
        }
        closed = true;
      })();
      // Interest has crossed once a probe from the leaf side arrives.
      pub = await Deno.connect({ hostname: "127.0.0.1", port: leaf.proc.port });
      await pub.write(enc.encode('CONNECT {"verbose":false}\r\n'));
      const payload = "x".repeat(SIZE);
      const one = enc.encode(`PUB flood ${SIZE}\r\n${payload}\r\n`);
      await waitFor(
        async () => {
          await pub!.write(enc.encode("PUB probe 1\r\np\r\n"));
          await new Promise((res) => setTimeout(res, 50));
          return probed;
        },
        10_000,
        "interest across the link",
      );
      const before = msgs;
      const batch = new Uint8Array(one.length * 100);
      for (let k = 0; k < 100; k++) batch.set(one, k * one.length);
      for (let sent = 0; sent < COUNT; sent += 100) {
        let off = 0;
        while (off < batch.length) off += await pub.write(batch.subarray(off));
      }
      await waitFor(() => msgs - before >= COUNT || closed, 60_000, `${COUNT} deliveries`);
      equal(closed, false, "the slow reader was not cut");
      equal(msgs - before, COUNT);
      equal(/Slow Consumer/.test(hub.proc.logs.text), false, hub.proc.logs.text.slice(-2000));
      const v = await (await fetch(`http://127.0.0.1:${hub.httpPort}/varz`)).json();
      equal(v.leafnodes, 1);
      equal(v.slow_consumers, 0);
      reader.close();
      reader = undefined;
      await reading;
    } finally {
      try {
        reader?.close();
      } catch { /* closed */ }
      try {
        pub?.close();
      } catch { /* closed */ }
      for (const n of nodes.reverse()) await n.proc.stop();
    }
  },
});
