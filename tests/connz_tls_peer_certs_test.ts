/**
 * `/connz` `tls_peer_certs`, compared with Debian's nats-server: shown only with
 * `?auth=1` (`auth=true`), one entry per certificate the client presented (its
 * own, then the intermediate), each with the subject as Go prints it and the
 * SHA-256 of the public key and of the certificate. The chain is made here with
 * openssl: root -> intermediate -> client, and the client sends the last two.
 *
 * @module
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import { join } from "node:path";
import { ServerProcess } from "./helpers/server.ts";
import { missing } from "./helpers/requires.ts";
import { CA, CERTS } from "./helpers/tls_client.ts";
import { tempDir, waitFor } from "./ops_helpers.ts";

function openssl(dir: string, ...args: string[]): void {
  const out = new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" })
    .outputSync();
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** root.pem, and a client chain (leaf then intermediate) in chain.pem with leaf.key. */
function makeChain(dir: string): void {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  openssl(
    dir,
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "root.key",
    "-out",
    "root.pem",
    "-days",
    "2",
    "-subj",
    "/CN=Chain Test Root",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
  );
  Deno.writeTextFileSync(
    join(dir, "ca.ext"),
    "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign\n",
  );
  Deno.writeTextFileSync(
    join(dir, "leaf.ext"),
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
  );
  // The subjects' attribute order differs from Go's on purpose: /connz shows Go's order.
  openssl(
    dir,
    "req",
    ...ec,
    "-keyout",
    "int.key",
    "-out",
    "int.csr",
    "-subj",
    "/CN=Chain Intermediate/O=dnatsd tests",
  );
  openssl(
    dir,
    "x509",
    "-req",
    "-in",
    "int.csr",
    "-CA",
    "root.pem",
    "-CAkey",
    "root.key",
    "-CAcreateserial",
    "-out",
    "int.pem",
    "-days",
    "2",
    "-extfile",
    "ca.ext",
  );
  openssl(
    dir,
    "req",
    ...ec,
    "-keyout",
    "leaf.key",
    "-out",
    "leaf.csr",
    "-subj",
    "/CN=chain client/OU=ops/O=dnatsd tests/C=US",
  );
  openssl(
    dir,
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "int.pem",
    "-CAkey",
    "int.key",
    "-CAcreateserial",
    "-out",
    "leaf.pem",
    "-days",
    "2",
    "-extfile",
    "leaf.ext",
  );
  Deno.writeTextFileSync(
    join(dir, "chain.pem"),
    Deno.readTextFileSync(join(dir, "leaf.pem")) + Deno.readTextFileSync(join(dir, "int.pem")),
  );
}

type Entry = Record<string, string>;

/** Connects a TLS client presenting `cert`, then reads /connz with and without auth. */
async function peerCerts(
  reference: boolean,
  caFile: string,
  cert: string,
  key: string,
): Promise<{ plain: unknown; auth: Entry[] }> {
  const s = await ServerProcess.start({
    reference,
    args: [
      ...["-m", "-1", "--tlsverify", "--tlscacert", caFile],
      ...["--tlscert", `${CERTS}server-cert.pem`, "--tlskey", `${CERTS}server-key.pem`],
    ],
  });
  let ts: tls.TLSSocket | undefined;
  try {
    const mport = /Starting http monitor on \S+:(\d+)/.exec(s.logs.text)![1];
    const sock = net.connect(s.port, "127.0.0.1");
    await new Promise((r) => sock.once("data", r)); // INFO, in plain text
    ts = tls.connect({
      socket: sock,
      servername: "localhost",
      ca: Deno.readTextFileSync(CA),
      cert: Deno.readTextFileSync(cert),
      key: Deno.readTextFileSync(key),
    });
    const pong = new Promise((r) => ts!.once("data", r));
    ts.once("secureConnect", () => ts!.write('CONNECT {"verbose":false}\r\nPING\r\n'));
    await pong;
    const connz = async (q: string) =>
      (await (await fetch(`http://127.0.0.1:${mport}/connz${q}`)).json()).connections;
    let plain: Array<Record<string, unknown>> = [];
    await waitFor(async () => (plain = await connz("")).length === 1, 5000, "the client in /connz");
    const auth = (await connz("?auth=1"))[0].tls_peer_certs as Entry[];
    return { plain: plain[0].tls_peer_certs, auth };
  } finally {
    ts?.destroy();
    await s.stop();
  }
}

Deno.test({
  name: "/connz tls_peer_certs: the client's chain, only with auth, as nats-server shows it",
  ignore: missing("nats-server", "openssl"),
  async fn() {
    const dir = tempDir();
    try {
      makeChain(dir.path);
      const args = [
        join(dir.path, "root.pem"),
        join(dir.path, "chain.pem"),
        join(dir.path, "leaf.key"),
      ] as const;
      const theirs = await peerCerts(true, ...args);
      const ours = await peerCerts(false, ...args);
      deepStrictEqual(ours, theirs);
      equal(ours.plain, undefined);
      equal(ours.auth.length, 2);
      equal(ours.auth[0].subject, "CN=chain client,OU=ops,O=dnatsd tests,C=US");
      equal(ours.auth[1].subject, "CN=Chain Intermediate,O=dnatsd tests");
      ok(/^[0-9a-f]{64}$/.test(ours.auth[1].spki_sha256));
    } finally {
      dir.remove();
    }
  },
});

Deno.test({
  name: "/connz tls_peer_certs: a certificate signed by the root directly, as nats-server",
  ignore: missing("nats-server"),
  async fn() {
    const args = [CA, `${CERTS}client-cert.pem`, `${CERTS}client-key.pem`] as const;
    const theirs = await peerCerts(true, ...args);
    const ours = await peerCerts(false, ...args);
    deepStrictEqual(ours, theirs);
    equal(ours.auth.length, 1);
  },
});
