/**
 * The `websocket {}` block: each configuration below either starts on both
 * dnatsd and Debian's nats-server, or is refused by both with the same
 * message (parse errors with their position, start-up checks bare).
 */
import { equal } from "node:assert/strict";
import { runToExit, ServerProcess } from "./helpers/server.ts";
import { missing } from "./helpers/requires.ts";

const CERTS = new URL("../certs/", import.meta.url).pathname;
const TLS = `tls { cert_file: "${CERTS}server-cert.pem", key_file: "${CERTS}server-key.pem" }`;

/** [name, configuration]; whether it starts is whatever nats-server does. */
const CASES: Array<[string, string]> = [
  ["no TLS and no no_tls", "websocket { port: -1 }"],
  ["no_tls", "websocket { port: -1, no_tls: true }"],
  ["tls", `websocket { port: -1, ${TLS} }`],
  ["port 0 means off", "websocket { port: 0 }"],
  ["not a map", "websocket: 8080"],
  ["alias ws and listen", "ws { listen: 127.0.0.1:-1, no_tls: true }"],
  ["bad listen", 'websocket { listen: "nope", no_tls: true }'],
  ["unknown key", "websocket { port: -1, no_tls: true, bogus: 1 }"],
  ["no_tls not a bool", "websocket { port: -1, no_tls: 1 }"],
  ["compression not a bool", "websocket { port: -1, no_tls: true, compression: 1 }"],
  ["handshake_timeout bad", 'websocket { port: -1, no_tls: true, handshake_timeout: "abc" }'],
  ["handshake_timeout bool", "websocket { port: -1, no_tls: true, handshake_timeout: true }"],
  ["handshake_timeout int", "websocket { port: -1, no_tls: true, handshake_timeout: 3 }"],
  [
    "origins",
    'websocket { port: -1, no_tls: true, same_origin: true, allowed_origins: ["http://a.com"] }',
  ],
  ["origin as string", 'websocket { port: -1, no_tls: true, origin: "http://a.com" }'],
  ["origin bad type", "websocket { port: -1, no_tls: true, allowed_origins: 1 }"],
  ["origin bad item", 'websocket { port: -1, no_tls: true, allowed_origins: [1, "x"] }'],
  ["origin bad escape", 'websocket { port: -1, no_tls: true, allowed_origins: ["http://a%zz"] }'],
  [
    "users in ws authorization",
    "websocket { port: -1, no_tls: true, authorization { users: [] } }",
  ],
  [
    "ws user with users",
    "authorization { users: [{user: a, password: b}] }\n" +
    "websocket { port: -1, no_tls: true, authorization { user: x, password: y } }",
  ],
  [
    "ws token with users",
    "authorization { users: [{user: a, password: b}] }\n" +
    "websocket { port: -1, no_tls: true, authorization { token: t } }",
  ],
  ["ws no_auth_user without users", "websocket { port: -1, no_tls: true, no_auth_user: foo }"],
  [
    "ws no_auth_user unknown",
    "authorization { users: [{user: a, password: b}] }\n" +
    "websocket { port: -1, no_tls: true, no_auth_user: foo }",
  ],
  [
    "ws no_auth_user known",
    "authorization { users: [{user: a, password: b}] }\n" +
    "websocket { port: -1, no_tls: true, no_auth_user: a }",
  ],
  ["jwt_cookie without operator", 'websocket { port: -1, no_tls: true, jwt_cookie: "c" }'],
  [
    "ws auth override alone",
    "websocket { port: -1, no_tls: true, authorization { user: x, password: y, timeout: 2 } }",
  ],
  ["tls missing key", `websocket { port: -1, tls { cert_file: "${CERTS}server-cert.pem" } }`],
];

/** The first error line of a refused start (`nats-server: ` prefix removed). */
function verdict(r: { code: number; stderr: string; stdout: string }): string {
  if (r.code === 0) return "started";
  const text = (r.stderr + r.stdout).trim().split("\n").filter((l) => l !== "");
  return (text[0] ?? "").replace(/^(nats-server|dnatsd): /, "");
}

async function run(reference: boolean, config: string): Promise<string> {
  const file = await Deno.makeTempFile({ suffix: ".conf" });
  try {
    await Deno.writeTextFile(file, `listen: 127.0.0.1:-1\n${config}\n`);
    // A configuration that starts is stopped by the time-out: ask for the verdict with -t first.
    const r = await runToExit({ reference, args: ["-c", file, "-t"], timeoutMs: 8000 });
    if (r.code !== 0) return verdict({ ...r, stderr: r.stderr.replaceAll(file, "t.conf") });
    // -t does not run the start-up checks: start it for real.
    try {
      const s = await ServerProcess.start({ reference, config: `${config}\n`, timeoutMs: 8000 });
      await s.stop();
      return "started";
    } catch (e) {
      const m = /nats-server: (.*)|^(\S.*)$/m.exec(
        (e as Error).message.split("\n").slice(1).join("\n"),
      );
      return (m?.[1] ?? m?.[2] ?? (e as Error).message).trim();
    }
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

Deno.test({
  name: "websocket config: same start-up verdict and message as nats-server",
  ignore: missing("nats-server"),
  async fn() {
    // A few at a time: the machine is small.
    const results: Array<{ name: string; mine: string; theirs: string }> = [];
    const queue = [...CASES];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const [name, config] = next;
        const [mine, theirs] = await Promise.all([run(false, config), run(true, config)]);
        results.push({ name, mine, theirs });
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    for (const { name, mine, theirs } of results) {
      equal(
        mine.replace(/\/tmp\/\S+\.conf/g, "t.conf"),
        theirs.replace(/\/tmp\/\S+\.conf/g, "t.conf"),
        name,
      );
    }
  },
});
