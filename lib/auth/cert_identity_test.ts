import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { certIdentityFromX509, dnEqual, dnRdnsMatch, parseDn } from "./cert_identity.ts";
import { missing } from "../../tests/helpers/requires.ts";

Deno.test("parseDn() handles escapes, quotes and multi-valued RDNs", () => {
  assert.deepEqual(parseDn("CN=example.com,OU=CNCF"), [
    [{ type: "CN", value: "example.com" }],
    [{ type: "OU", value: "CNCF" }],
  ]);
  assert.deepEqual(parseDn('cn=a\\,b ; o="x,y"'), [
    [{ type: "CN", value: "a,b" }],
    [{ type: "O", value: "x,y" }],
  ]);
  assert.deepEqual(parseDn("CN=a+UID=7,DC=org"), [
    [{ type: "CN", value: "a" }, { type: "UID", value: "7" }],
    [{ type: "DC", value: "org" }],
  ]);
  assert.deepEqual(parseDn("CN=caf\\C3\\A9"), [[{ type: "CN", value: "café" }]]);
  assert.equal(parseDn("no equals"), null);
  assert.equal(parseDn(""), null);
});

Deno.test("dnEqual() is ordered, dnRdnsMatch() is not", () => {
  const a = parseDn("CN=example.com,OU=CNCF")!;
  const b = parseDn("OU=CNCF, cn=example.com")!;
  assert.equal(dnEqual(a, parseDn("cn=example.com, ou=CNCF")!), true);
  assert.equal(dnEqual(a, b), false);
  assert.equal(dnRdnsMatch(a, b), true);
  assert.equal(dnRdnsMatch(a, parseDn("CN=example.com,OU=CNCF,O=x")!), false);
  assert.equal(dnEqual(a, parseDn("CN=Example.com,OU=CNCF")!), false);
});

Deno.test({
  name: "certIdentityFromX509() reads SANs and an RFC 2253 subject",
  ignore: missing("openssl"),
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        `${dir}/k.pem`,
        "-out",
        `${dir}/c.pem`,
        "-days",
        "1",
        "-subj",
        "/OU=CNCF/CN=example.com",
        "-addext",
        "subjectAltName=email:derek@nats.io,DNS:foo.example.com,URI:nats://a.b",
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const cert = new X509Certificate(await Deno.readTextFile(`${dir}/c.pem`));
    assert.deepEqual(certIdentityFromX509(cert), {
      emails: ["derek@nats.io"],
      dnsNames: ["foo.example.com"],
      uris: ["nats://a.b"],
      subjectDn: "CN=example.com,OU=CNCF",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
