// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * Lame duck mode (SIGUSR2) against real processes: the listener closes, clients
 * get INFO with `"ldm":true`, the grace period passes, clients are closed and the
 * process exits 0; a real client given two servers moves to the other one.
 */
import { connect } from "npm:@nats-io/transport-node@3.4.0";
import { equal, match, ok } from "node:assert/strict";
import { ServerProcess } from "./helpers/server.ts";
import { RawClient } from "./helpers/raw.ts";
import { waitFor } from "./ops_helpers.ts";

const LDM_CONFIG = 'lame_duck_duration: "30s"\nlame_duck_grace_period: "1s"\n';

Deno.test("lame duck: INFO ldm, grace period, clients closed, exit 0; client moves to the other server", async () => {
  const a = await ServerProcess.start({ config: LDM_CONFIG, args: ["-D"] });
  const b = await ServerProcess.start({});
  const raw = await RawClient.connect(a.port);
  const nc = await connect({
    servers: [a.url, b.url],
    noRandomize: true,
    reconnectTimeWait: 50,
    maxReconnectAttempts: -1,
  });
  try {
    equal(nc.info?.port, a.port, "client starts on server A");
    await raw.expect(/^INFO .*\r\n/);
    await raw.send('CONNECT {"verbose":false,"protocol":1}\r\nPING\r\n');
    await raw.expect(/PONG\r\n/);
    const statuses: string[] = [];
    (async () => {
      for await (const s of nc.status()) statuses.push(s.type);
    })().catch(() => {});

    const t0 = Date.now();
    a.signal("SIGUSR2");
    const info = await raw.expect(/INFO (\{[^\r\n]*"ldm":true[^\r\n]*\}) \r\n/, 5000);
    const ldmInfo = JSON.parse(info[1]);
    equal(ldmInfo.ldm, true);
    equal(ldmInfo.connect_urls, undefined, "no other servers known: no connect_urls");
    await a.waitForLog(/Entering lame duck mode, stop accepting new clients/);

    // New clients are refused while the old ones still run out the grace period.
    let refused = false;
    try {
      await (await connect({ servers: a.url, reconnect: false, timeout: 1000 })).close();
    } catch {
      refused = true;
    }
    ok(refused, "listener closed");

    await raw.expectClosed(10_000);
    const closedAfter = Date.now() - t0;
    ok(closedAfter >= 900, `clients closed only after the 1 s grace period (${closedAfter} ms)`);
    const status = await a.exited;
    equal(status.code, 0);
    match(
      a.logs.text,
      /Entering lame duck mode[\s\S]*Closing existing clients[\s\S]*Initiating Shutdown[\s\S]*Server Exiting/,
    );

    await waitFor(() => nc.info?.port === b.port, 10_000, "client reconnected to B");
    ok(statuses.includes("ldm"), `client saw the ldm status (${statuses.join(",")})`);
    const sub = nc.subscribe("after.ldm", { max: 1 });
    nc.publish("after.ldm", "hi");
    for await (const m of sub) equal(m.string(), "hi");
  } finally {
    await raw.close();
    await nc.close().catch(() => {});
    await a.stop();
    await b.stop();
  }
});

Deno.test("lame duck: SIGTERM during lame duck is ignored, SIGINT ends it at once", async () => {
  const a = await ServerProcess.start({
    config: 'lame_duck_duration: "30s"\nlame_duck_grace_period: "20s"\n',
    args: ["-D"],
  });
  const nc = await connect({ servers: a.url, reconnect: false });
  try {
    a.signal("SIGUSR2");
    await a.waitForLog(/Entering lame duck mode/);
    a.signal("SIGTERM");
    await a.waitForLog(/Trapped "terminated" signal/);
    equal(nc.isClosed(), false, "SIGTERM did not stop a lame duck");
    ok(!/Initiating Shutdown/.test(a.logs.text));
    a.signal("SIGINT");
    equal((await a.exited).code, 0);
    await nc.closed();
  } finally {
    await nc.close().catch(() => {});
    await a.stop();
  }
});
