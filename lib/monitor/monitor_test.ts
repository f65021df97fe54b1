import { equal, ok, rejects } from "node:assert/strict";
import tls from "node:tls";
import { startTestServer } from "./_test_util.ts";
import { type MonitorServerHandle, startMonitoring } from "./monitor.ts";

const certs = new URL("../../certs/", import.meta.url).pathname;
const read = (f: string) => Deno.readTextFileSync(certs + f);

Deno.test("startMonitoring() serves HTTP on a random port and logs like nats-server", async () => {
  const t = await startTestServer((o) => o.httpPort = -1);
  try {
    const port = t.server.monitor!.httpPort;
    ok(port > 0);
    equal(t.log.find(`Starting http monitor on 127.0.0.1:${port}`).length, 1);
    const r = await fetch(`http://127.0.0.1:${port}/varz`);
    const v = await r.json();
    equal(v.http_port, port);
    equal(v.https_port, 0);
  } finally {
    await t.close();
  }
});

Deno.test("startMonitoring() uses http_host", async () => {
  const t = await startTestServer((o) => {
    o.host = "0.0.0.0";
    o.httpHost = "127.0.0.1";
    o.httpPort = -1;
  });
  try {
    equal(t.log.find(/Starting http monitor on 127\.0\.0\.1:\d+/).length, 1);
  } finally {
    await t.close();
  }
});

Deno.test("startMonitoring() refuses both ports, and HTTPS without a certificate", async () => {
  await rejects(
    startTestServer((o) => {
      o.httpPort = 8222;
      o.httpsPort = 8223;
    }),
    // The server's fatal line, word for word nats-server's.
    { message: "Can't start monitoring: can't specify both HTTP (8222) and HTTPs (8223) ports" },
  );
  await rejects(startTestServer((o) => o.httpsPort = -1), {
    message: "Can't start monitoring: TLS cert and key required for HTTPS",
  });
});

function peerCertificate(port: number): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const s = tls.connect(
      { host: "127.0.0.1", port, servername: "localhost", rejectUnauthorized: false },
      () => {
        const cert = s.getPeerCertificate();
        s.end();
        resolve(cert);
      },
    );
    s.on("error", reject);
  });
}

Deno.test("startMonitoring() serves HTTPS with the tls block and swaps certificates", async () => {
  const t = await startTestServer((o) => {
    o.httpsPort = -1;
    o.tls = {
      certFile: certs + "server-cert.pem",
      keyFile: certs + "server-key.pem",
      caFile: certs + "ca.pem",
      // Client verification must not apply to monitoring.
      verify: true,
      verifyAndMap: false,
      insecure: false,
      timeout: 2,
      handshakeFirst: false,
    };
  });
  const client = Deno.createHttpClient({ caCerts: [read("ca.pem")] });
  try {
    const mon = t.server.monitor as MonitorServerHandle;
    ok(mon.httpsPort > 0);
    equal(mon.httpPort, 0);
    equal(t.log.find(`Starting https monitor on 127.0.0.1:${mon.httpsPort}`).length, 1);
    const r = await fetch(`https://localhost:${mon.httpsPort}/healthz`, { client });
    equal(await r.text(), '{"status":"ok"}');
    const v = await (await fetch(`https://localhost:${mon.httpsPort}/varz`, { client })).json();
    equal(v.https_port, mon.httpsPort);
    equal((await peerCertificate(mon.httpsPort)).subject.CN, "localhost");
    mon.setCertificate(read("expired-server-cert.pem"), read("expired-server-key.pem"));
    equal((await peerCertificate(mon.httpsPort)).subject.CN, "localhost expired");
  } finally {
    client.close();
    await t.close();
  }
});

Deno.test("startMonitoring() with ACME and no files starts HTTPS and takes a certificate later", async () => {
  const t = await startTestServer();
  const client = Deno.createHttpClient({ caCerts: [read("ca.pem")] });
  const o = t.server.options as { httpsPort: number; tls: unknown };
  let mon: MonitorServerHandle | null = null;
  try {
    o.httpsPort = -1;
    // Only the monitor reads these options here: the client listener already runs without TLS.
    o.tls = { verify: false, verifyAndMap: false, acme: { domains: ["localhost"] } };
    mon = await startMonitoring(t.server);
    const url = `https://localhost:${mon.httpsPort}/healthz`;
    await rejects(fetch(url, { client }));
    mon.setCertificate(read("server-cert.pem"), read("server-key.pem"));
    equal(await (await fetch(url, { client })).text(), '{"status":"ok"}');
  } finally {
    client.close();
    await mon?.close();
    o.tls = undefined;
    o.httpsPort = 0;
    await t.close();
  }
});
