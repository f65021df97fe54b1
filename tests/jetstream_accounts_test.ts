// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * Per-account JetStream side by side with nats-server -js: accounts with
 * `jetstream: enabled` and with limits each have their own `$JS.API`, streams
 * and store directory; accounts without JetStream get nats-server's
 * `JetStream not enabled for account` answers; the account limits give
 * nats-server's errors (streams, consumers, memory and storage, resources
 * exceeded on publish); /varz and /jsz sum over the accounts as nats-server
 * does; file streams come back in their own account after kill -9.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { connect } from "npm:@nats-io/transport-node@3.4.0";
import { missing } from "./helpers/requires.ts";
import { runToExit, ServerProcess } from "./helpers/server.ts";
import { hubConf, startNode, waitLeafCount } from "./leaf_helpers.ts";
import { runScript, script } from "./jetstream/helpers.ts";

function config(dir: string): string {
  return `
jetstream { store_dir: "${dir}", max_memory_store: 1048576, max_file_store: 10485760 }
accounts {
  A: { jetstream: enabled, users: [{ user: a, password: a }] }
  B: {
    jetstream: { max_memory: 2048, max_file: 8192, max_streams: 2, max_consumers: 1 }
    users: [{ user: b, password: b }]
  }
  C: { jetstream: { max_mem: 1000, max_store: 100000, max_bytes_required: true, max_ack_pending: 5 }, users: [{ user: c, password: c }] }
  N: { users: [{ user: n, password: n }] }
}
authorization { users: [{ user: g, password: g }] }
`;
}

const SCRIPTS: Record<string, string> = {
  n: `
$JS.API.INFO
$JS.API.STREAM.CREATE.X {"name":"X"}
$JS.API.STREAM.UPDATE.X {"name":"X"}
$JS.API.STREAM.NAMES
$JS.API.STREAM.LIST
$JS.API.STREAM.INFO.X
$JS.API.STREAM.DELETE.X
$JS.API.STREAM.PURGE.X
$JS.API.STREAM.MSG.GET.X {"seq":1}
$JS.API.STREAM.MSG.DELETE.X {"seq":1}
$JS.API.CONSUMER.CREATE.X {"stream_name":"X","config":{}}
$JS.API.CONSUMER.DURABLE.CREATE.X.D {"stream_name":"X","config":{"durable_name":"D"}}
$JS.API.CONSUMER.NAMES.X
$JS.API.CONSUMER.LIST.X
$JS.API.CONSUMER.INFO.X.D
$JS.API.CONSUMER.DELETE.X.D
`,
  g: `
$JS.API.INFO
$JS.API.STREAM.CREATE.X {"name":"X"}
`,
  a: `
$JS.API.INFO
$JS.API.STREAM.CREATE.S {"name":"S","subjects":["s.>"],"storage":"memory","max_bytes":4096}
s.x hello
$JS.API.STREAM.CREATE.F {"name":"F","subjects":["f.>"]}
f.x one
f.x two
$JS.API.INFO
`,
  b: `
$JS.API.INFO
$JS.API.STREAM.CREATE.S {"name":"S","subjects":["s.>"],"storage":"memory","max_bytes":4096}
$JS.API.STREAM.CREATE.S {"name":"S","subjects":["s.>"],"storage":"memory","max_bytes":2048,"max_consumers":5}
$JS.API.STREAM.CREATE.F {"name":"F","subjects":["f.>"],"max_bytes":9000}
$JS.API.STREAM.CREATE.S {"name":"S","subjects":["s.>"],"storage":"memory"}
$JS.API.STREAM.CREATE.F {"name":"F","subjects":["f.>"]}
$JS.API.STREAM.CREATE.S {"name":"S","subjects":["s.>"],"storage":"memory"}
$JS.API.STREAM.CREATE.T {"name":"T","subjects":["t.>"],"storage":"memory"}
$JS.API.CONSUMER.DURABLE.CREATE.S.D1 {"stream_name":"S","config":{"durable_name":"D1"}}
$JS.API.CONSUMER.DURABLE.CREATE.S.D2 {"stream_name":"S","config":{"durable_name":"D2"}}
$JS.API.CONSUMER.DURABLE.CREATE.F.D1 {"stream_name":"F","config":{"durable_name":"D1"}}
s.x 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
s.x 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
s.x 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
s.x 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
s.x 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
s.x 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
s.x 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
s.x 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
s.x 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
s.x 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
s.x 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
s.x 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
s.x 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
s.x 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
s.x 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
s.x 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
s.x 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
s.x 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
s.x 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
s.x 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
s.x 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
s.x last
$JS.API.STREAM.INFO.S
$JS.API.INFO
$JS.API.STREAM.UPDATE.S {"name":"S","subjects":["s.>"],"storage":"memory","max_bytes":4096}
$JS.API.STREAM.UPDATE.S {"name":"S","subjects":["s.>"],"storage":"memory","max_consumers":3}
$JS.API.STREAM.UPDATE.S {"name":"S","subjects":["s.>"],"storage":"memory","max_bytes":1000}
$JS.API.STREAM.UPDATE.S {"name":"S","subjects":["s.>"],"storage":"memory","max_bytes":2049}
$JS.API.STREAM.INFO.S
$JS.API.STREAM.DELETE.S
`,
  c: `
$JS.API.INFO
$JS.API.STREAM.CREATE.S {"name":"S","subjects":["s.>"],"storage":"memory"}
$JS.API.STREAM.CREATE.S {"name":"S","subjects":["s.>"],"storage":"memory","max_bytes":2000}
$JS.API.STREAM.CREATE.S {"name":"S","subjects":["s.>"],"storage":"memory","max_bytes":500}
$JS.API.STREAM.NAMES
$JS.API.CONSUMER.DURABLE.CREATE.S.D1 {"stream_name":"S","config":{"durable_name":"D1","ack_policy":"explicit"}}
$JS.API.CONSUMER.DURABLE.CREATE.S.D2 {"stream_name":"S","config":{"durable_name":"D2","ack_policy":"all","max_ack_pending":10}}
$JS.API.CONSUMER.DURABLE.CREATE.S.D3 {"stream_name":"S","config":{"durable_name":"D3","ack_policy":"all","max_ack_pending":3}}
$JS.API.CONSUMER.DURABLE.CREATE.S.D4 {"stream_name":"S","config":{"durable_name":"D4"}}
$JS.API.STREAM.UPDATE.S {"name":"S","subjects":["s.>"],"storage":"memory"}
$JS.API.STREAM.UPDATE.S {"name":"S","subjects":["s.>"],"storage":"memory","max_bytes":1001}
`,
};

const AFTER: Record<string, string> = {
  a: `
$JS.API.STREAM.NAMES
$JS.API.STREAM.INFO.F
$JS.API.INFO
`,
  b: `
$JS.API.STREAM.NAMES
$JS.API.STREAM.INFO.F
$JS.API.CONSUMER.NAMES.F
`,
};

async function run(
  server: ServerProcess,
  scripts: Record<string, string>,
  lines: string[],
): Promise<void> {
  for (const [user, text] of Object.entries(scripts)) {
    const nc = await connect({ servers: server.url, user, pass: user });
    try {
      for (const a of await runScript(nc, script(text))) {
        lines.push(`${user}: ${a.step} -> ${a.reply}`);
      }
    } finally {
      await nc.close();
    }
  }
}

async function observe(reference: boolean): Promise<{ lines: string[]; monitor: unknown }> {
  const dir = await Deno.makeTempDir({ prefix: "js-acc-" });
  const lines: string[] = [];
  let monitor: unknown = null;
  try {
    let server = await ServerProcess.start({ reference, args: ["-m", "-1"], config: config(dir) });
    try {
      await run(server, SCRIPTS, lines);
      const port = Number(/Starting http monitor on [^:]+:(\d+)/.exec(server.logs.text)![1]);
      const get = async (path: string) =>
        await (await fetch(`http://127.0.0.1:${port}${path}`)).json();
      const varz = (await get("/varz")).jetstream;
      const jsz = await get("/jsz");
      for (const o of [varz.config, jsz.config]) o.store_dir = o.store_dir.replace(dir, "<dir>");
      delete jsz.server_id;
      delete jsz.now;
      const enabled: Record<string, unknown> = {};
      for (const acc of ["A", "B", "N", "$G"]) {
        const z = await get(`/accountz?acc=${encodeURIComponent(acc)}`);
        enabled[acc] = z.account_detail?.jetstream_enabled;
      }
      monitor = { varz, jsz, enabled };
      // Each account's streams live in a directory of its own.
      const listed = (sub: string) =>
        [...Deno.readDirSync(`${dir}/jetstream/${sub}`)].map((e) => e.name).sort();
      lines.push(`dir A: ${listed("A/streams")}`, `dir B: ${listed("B/streams")}`);
    } finally {
      if (reference) await server.stop();
      else {
        server.child.kill("SIGKILL");
        await server.exited;
      }
    }
    server = await ServerProcess.start({ reference, args: [], config: config(dir) });
    try {
      await run(server, AFTER, lines);
    } finally {
      await server.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return { lines, monitor };
}

Deno.test({
  name: "jetstream accounts: own API, limits and errors, store directories, /jsz sums",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  fn: async () => {
    const ref = await observe(true);
    if (Deno.env.get("JS_TEST_DUMP")) console.log(JSON.stringify({ ref }, null, 1));
    const ours = await observe(false);
    if (Deno.env.get("JS_TEST_DUMP")) console.log(JSON.stringify({ ours }, null, 1));
    for (let i = 0; i < ref.lines.length; i++) {
      deepStrictEqual(ours.lines[i], ref.lines[i], `line ${i}`);
    }
    equal(ours.lines.length, ref.lines.length);
    deepStrictEqual(ours.monitor, ref.monitor);
    ok(ref.lines.some((l) => l.includes("10039")));
  },
});

Deno.test({
  name: "jetstream accounts: limits beyond the server's stop the start as nats-server",
  ignore: missing("nats-server"),
  fn: async () => {
    for (const limits of ["max_memory: 2097152", "max_file: 20971520"]) {
      const results = [];
      for (const reference of [true, false]) {
        const dir = await Deno.makeTempDir({ prefix: "js-acc-limit-" });
        const conf = await Deno.makeTempFile({ suffix: ".conf" });
        await Deno.writeTextFile(
          conf,
          `jetstream { store_dir: "${dir}", max_memory_store: 1048576, max_file_store: 10485760 }
accounts { A: { jetstream: { ${limits} }, users: [{ user: a, password: a }] } }`,
        );
        try {
          const r = await runToExit({
            reference,
            args: ["-c", conf, "-a", "127.0.0.1", "-p", "-1"],
          });
          const fatal = r.stderr.split("\n").filter((l) => l.includes("[FTL]"))
            .map((l) => l.replace(/^\[\d+\] \S+ \S+ /, ""));
          results.push({ code: r.code, fatal });
        } finally {
          await Deno.remove(dir, { recursive: true }).catch(() => {});
          await Deno.remove(conf).catch(() => {});
        }
      }
      deepStrictEqual(results[1], results[0], limits);
      equal(results[0].fatal.length, 1, limits);
    }
  },
});

Deno.test({
  name: "jetstream accounts: an account without JetStream but with a leaf link does not answer, " +
    "as nats-server",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  fn: async () => {
    // A hub without JetStream: nothing answers there either. (With JetStream on both sides and
    // no domain, nats-server also denies $JS.API across the link, a leaf-node rule.)
    const hub = await startNode("nats-server", hubConf());
    const results: string[][] = [];
    try {
      for (const kind of ["nats-server", "dnatsd"] as const) {
        const dir = await Deno.makeTempDir({ prefix: "js-acc-leaf-" });
        const leaf = await startNode(
          kind,
          `jetstream { store_dir: "${dir}" }
accounts {
  N: { users: [{ user: n, password: n }] }
  A: { jetstream: enabled, users: [{ user: a, password: a }] }
}
leafnodes { reconnect: 1, remotes [ { url: "nats-leaf://127.0.0.1:${hub.leafPort}", account: N } ] }`,
        );
        try {
          await waitLeafCount(leaf, 1);
          const lines: string[] = [];
          for (const [user, text] of [["n", "$JS.API.INFO"], ["a", "$JS.API.INFO"]]) {
            const nc = await connect({ servers: leaf.proc.url, user, pass: user });
            try {
              for (const a of await runScript(nc, script(text))) {
                lines.push(`${user}: ${a.step} -> ${a.reply}`);
              }
            } finally {
              await nc.close();
            }
          }
          results.push(lines);
        } finally {
          await leaf.proc.stop();
          await Deno.remove(dir, { recursive: true }).catch(() => {});
        }
      }
    } finally {
      await hub.proc.stop();
    }
    if (Deno.env.get("JS_TEST_DUMP")) console.log(JSON.stringify(results, null, 1));
    deepStrictEqual(results[1], results[0]);
    // nats-server does not answer for an account with a leaf link: the request times out.
    ok(results[0][0].includes("error"), results[0][0]);
    ok(results[0][1].includes("account_info_response"), results[0][1]);
  },
});
