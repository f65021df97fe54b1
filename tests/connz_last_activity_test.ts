/**
 * `/connz` `last_activity` counts what nats-server counts: the CONNECT,
 * messages and subscription changes from the client, and messages delivered
 * to it; PING and PONG are not activity. Run on both servers.
 *
 * @module
 */
import { ok } from "node:assert/strict";
import { ServerProcess } from "./helpers/server.ts";
import { RawClient } from "./helpers/raw.ts";
import { missing } from "./helpers/requires.ts";

/** Seconds between CONNECT and last_activity for a pinger and for a publisher, after 1.5 s. */
async function activityAges(reference: boolean): Promise<{ pinger: number; publisher: number }> {
  const s = await ServerProcess.start({ reference, args: ["-m", "-1"] });
  const pinger = await RawClient.connect(s.port);
  const publisher = await RawClient.connect(s.port);
  try {
    const mport = /Starting http monitor on \S+:(\d+)/.exec(s.logs.text)![1];
    for (const c of [pinger, publisher]) {
      await c.expect(/^INFO /);
      await c.send('CONNECT {"verbose":false}\r\n');
    }
    const end = Date.now() + 1500;
    while (Date.now() < end) {
      await pinger.send("PING\r\n");
      await publisher.send("PUB activity 1\r\nx\r\n");
      await new Promise((r) => setTimeout(r, 100));
    }
    await pinger.roundTrip();
    await publisher.roundTrip();
    const connz = await (await fetch(`http://127.0.0.1:${mport}/connz`)).json();
    const age = (c: RawClient) => {
      const port = (c.conn.localAddr as Deno.NetAddr).port;
      const e = connz.connections.find((x: { port: number }) => x.port === port);
      return (Date.parse(e.last_activity) - Date.parse(e.start)) / 1000;
    };
    return { pinger: age(pinger), publisher: age(publisher) };
  } finally {
    await pinger.close();
    await publisher.close();
    await s.stop();
  }
}

Deno.test({
  name: "/connz last_activity: PINGs are not activity, messages are (as nats-server)",
  ignore: missing("nats-server"),
  async fn() {
    for (const reference of [true, false]) {
      const { pinger, publisher } = await activityAges(reference);
      const who = reference ? "nats-server" : "dnatsd";
      ok(pinger < 0.5, `${who}: a client that only PINGs was active ${pinger} s after start`);
      ok(publisher > 1, `${who}: a publisher's last activity is ${publisher} s after start`);
    }
  },
});
