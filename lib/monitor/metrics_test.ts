import { equal, ok, throws } from "node:assert/strict";
import { buildMetrics, escapeLabel } from "./metrics.ts";
import { CpuSampler } from "./proc_stats.ts";
import { fakeRoute, parsePrometheus, startTestServer, withFakeCluster } from "./_test_util.ts";

const ctx = () => ({ reqStats: new Map([["/varz", 2]]), cpu: new CpuSampler() });
const certFile = new URL("../../certs/server-cert.pem", import.meta.url).pathname;

Deno.test("buildMetrics() output parses, with HELP and TYPE for every family", async () => {
  const t = await startTestServer();
  try {
    const c = await t.connect();
    await c.send("SUB a 1\r\nPUB a 3\r\nabc\r\n");
    const fams = parsePrometheus(buildMetrics(t.server, ctx()));
    for (const [name, f] of fams) {
      ok(name.startsWith("dnatsd_"), name);
      ok(f.help && f.type, `${name} has HELP and TYPE`);
      if (f.type === "counter") ok(name.endsWith("_total"), `${name} counter ends in _total`);
    }
    const one = (n: string) => fams.get(n)!.samples[0].value;
    equal(one("dnatsd_connections"), 1);
    equal(one("dnatsd_connections_total"), 1);
    // The client's one and the 43 of the system account and $G's imports.
    equal(one("dnatsd_subscriptions"), 44);
    equal(one("dnatsd_in_msgs_total"), 1);
    equal(one("dnatsd_out_bytes_total"), 3);
    equal(one("dnatsd_routes"), 0);
    ok(one("dnatsd_memory_resident_bytes") > 0);
    equal(fams.get("dnatsd_http_requests_total")!.samples[0].labels.path, "/varz");
  } finally {
    await t.close();
  }
});

Deno.test("buildMetrics() has per-route series labelled by remote_id", async () => {
  const t = await startTestServer();
  try {
    withFakeCluster(t.server, () => [fakeRoute(), fakeRoute({ remote_id: "NOTHER", in_msgs: 9 })]);
    const fams = parsePrometheus(buildMetrics(t.server, ctx()));
    equal(fams.get("dnatsd_routes")!.samples[0].value, 2);
    const s = fams.get("dnatsd_route_in_msgs_total")!.samples;
    equal(s.length, 2);
    equal(s.find((x) => x.labels.remote_id === "NOTHER")!.value, 9);
  } finally {
    (t.server as { cluster: unknown }).cluster = null;
    await t.close();
  }
});

Deno.test("buildMetrics() reports the TLS certificate expiry from the cert file", async () => {
  const t = await startTestServer();
  try {
    // Only options are read here: the client listener was started without TLS.
    (t.server.options as { tls: unknown }).tls = { certFile, verify: false, verifyAndMap: false };
    const fams = parsePrometheus(buildMetrics(t.server, ctx()));
    const [s] = fams.get("dnatsd_tls_certificate_not_after_seconds")!.samples;
    ok(s.labels.subject.includes("CN=localhost"), s.labels.subject);
    ok(s.value * 1000 > Date.now(), "expiry in the future");
  } finally {
    (t.server.options as { tls: unknown }).tls = undefined;
    await t.close();
  }
});

Deno.test("buildMetrics() prefers the server's tlsCertificateInfo() hook", async () => {
  const t = await startTestServer();
  try {
    const notAfter = new Date("2030-01-02T03:04:05Z");
    Object.assign(t.server, {
      tlsCertificateInfo: () => [{ subject: 'CN=a"b\\c', notAfter, source: "acme" }],
    });
    const fams = parsePrometheus(buildMetrics(t.server, ctx()));
    const [s] = fams.get("dnatsd_tls_certificate_not_after_seconds")!.samples;
    equal(s.labels.subject, 'CN=a"b\\c');
    equal(s.value, notAfter.getTime() / 1000);
  } finally {
    await t.close();
  }
});

Deno.test("escapeLabel() escapes backslash, quote and newline", () => {
  equal(escapeLabel('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
});

Deno.test("parsePrometheus() rejects malformed expositions", () => {
  throws(() => parsePrometheus("x 1"), /newline/);
  throws(() => parsePrometheus("x one\n"), /numeric/);
  throws(() => parsePrometheus("x 1\n# TYPE x gauge\n"), /after samples/);
  throws(() => parsePrometheus("x 1\ny 1\nx 2\n"), /contiguous/);
  throws(() => parsePrometheus('x{a="1",a="2"} 1\n'), /duplicate/);
});
