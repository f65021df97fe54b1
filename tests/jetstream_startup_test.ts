/**
 * JetStream is up before the first client is accepted, as in nats-server
 * (it enables JetStream before its accept loop): a client that connects at
 * the first moment the port takes connections and sends an API request at
 * once gets the answer, not "no responders". dnatsd used to bind the client
 * port first and start JetStream after, so such a request (the bench's first
 * stream create) could find nobody subscribed to `$JS.API.>`.
 */
import { equal, match } from "node:assert/strict";
import { missing } from "./helpers/requires.ts";
import { MAIN_TS, NATS_SERVER_BIN } from "./helpers/server.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A loopback port that was free a moment ago (the OS picks it). */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Starts the server, connects as soon as the port accepts, asks `$JS.API.INFO`
 * in the first write and returns the first message line it gets back.
 */
async function firstAnswer(reference: boolean): Promise<string> {
  const store = await Deno.makeTempDir({ prefix: "js-startup-" });
  const port = freePort();
  const args = ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", store];
  const child = new Deno.Command(
    reference ? NATS_SERVER_BIN : Deno.execPath(),
    {
      args: reference ? args : ["run", "-A", "--no-check", MAIN_TS, ...args],
      stdout: "null",
      stderr: "null",
    },
  ).spawn();
  let conn: Deno.Conn | undefined;
  try {
    const deadline = performance.now() + 20_000;
    while (conn === undefined) {
      if (performance.now() > deadline) throw new Error("the server never accepted");
      try {
        conn = await Deno.connect({ hostname: "127.0.0.1", port });
      } catch {
        await new Promise((r) => setTimeout(r, 1)); // Not listening yet: poll again.
      }
    }
    await conn.write(enc.encode(
      'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\n' +
        "SUB _r 1\r\nPUB $JS.API.INFO _r 0\r\n\r\n",
    ));
    const buf = new Uint8Array(64 * 1024);
    let text = "";
    while (!/\r\n(H?MSG _r [^\r]*)\r\n/.test(text)) {
      if (performance.now() > deadline) throw new Error(`no answer, got ${JSON.stringify(text)}`);
      const n = await conn.read(buf);
      if (n === null) throw new Error(`closed, got ${JSON.stringify(text)}`);
      text += dec.decode(buf.subarray(0, n));
    }
    const line = /\r\n(H?MSG _r [^\r]*)\r\n/.exec(text)![1];
    const body = text.slice(text.indexOf(line) + line.length + 2);
    return `${line.split(" ")[0]} ${body.includes("account_info_response") ? "info" : body}`;
  } finally {
    conn?.close();
    child.kill("SIGKILL");
    await child.status;
    await Deno.remove(store, { recursive: true }).catch(() => {});
  }
}

Deno.test("jetstream start-up: the first client's API request is answered, as by nats-server", async () => {
  for (let i = 0; i < 3; i++) equal(await firstAnswer(false), "MSG info");
});

Deno.test({
  name: "jetstream start-up: nats-server answers the first client's API request",
  ignore: missing("nats-server"),
  fn: async () => {
    const got = await firstAnswer(true);
    match(got, /^MSG info$/);
  },
});
