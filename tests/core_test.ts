// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * Black-box tests of the single-node server with the real NATS client
 * (npm @nats-io/transport-node) and raw sockets.
 */
import { connect, headers, type NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import { missing } from "./helpers/requires.ts";
import { MAIN_TS, ServerProcess, waitFor } from "./helpers/server.ts";
import { RawClient } from "./helpers/raw.ts";

async function withServer(
  opts: Parameters<typeof ServerProcess.start>[0],
  fn: (s: ServerProcess) => Promise<void>,
): Promise<void> {
  const server = await ServerProcess.start(opts);
  try {
    await fn(server);
  } finally {
    await server.stop();
  }
}

async function client(
  s: ServerProcess,
  extra: Record<string, unknown> = {},
): Promise<NatsConnection> {
  return await connect({ servers: s.url, reconnect: false, ...extra });
}

/** Collects `count` messages (or fails after the deadline). */
async function collect(
  nc: NatsConnection,
  subject: string,
  count: number,
  opts: { queue?: string } = {},
): Promise<{ done: Promise<string[]>; unsubscribe: () => void }> {
  const sub = nc.subscribe(subject, opts);
  const got: string[] = [];
  const done = (async () => {
    for await (const m of sub) {
      got.push(`${m.subject}:${m.string()}`);
      if (got.length === count) break;
    }
    return got;
  })();
  await nc.flush();
  return { done, unsubscribe: () => sub.unsubscribe() };
}

Deno.test("pub/sub, wildcards and request/reply with a real client", async () => {
  await withServer({}, async (s) => {
    const nc = await client(s);
    const exact = await collect(nc, "orders.eu.new", 1);
    const star = await collect(nc, "orders.*.new", 2);
    const full = await collect(nc, "orders.>", 3);
    nc.publish("orders.eu.new", "a");
    nc.publish("orders.us.new", "b");
    nc.publish("orders.us.old.x", "c");
    nc.publish("other", "ignored");
    deepStrictEqual(await exact.done, ["orders.eu.new:a"]);
    deepStrictEqual(await star.done, ["orders.eu.new:a", "orders.us.new:b"]);
    deepStrictEqual(await full.done, ["orders.eu.new:a", "orders.us.new:b", "orders.us.old.x:c"]);

    nc.subscribe("svc.echo", {
      callback: (_e, m) => {
        m.respond(`echo:${m.string()}`);
      },
    });
    const reply = await nc.request("svc.echo", "hi", { timeout: 2000 });
    equal(reply.string(), "echo:hi");
    await nc.close();
  });
});

Deno.test("queue groups: each message to exactly one member, spread over members", async () => {
  await withServer({}, async (s) => {
    const subs = await Promise.all([client(s), client(s), client(s)]);
    const counts = [0, 0, 0];
    const seen = new Map<string, number>();
    subs.forEach((nc, i) =>
      nc.subscribe("work", {
        queue: "workers",
        callback: (_e, m) => {
          counts[i]++;
          seen.set(m.string(), (seen.get(m.string()) ?? 0) + 1);
        },
      })
    );
    await Promise.all(subs.map((nc) => nc.flush()));
    const pub = await client(s);
    const N = 3000;
    for (let i = 0; i < N; i++) pub.publish("work", String(i));
    await pub.flush();
    await waitFor(() => seen.size === N, 5000, "all queue messages");
    await Promise.all(subs.map((nc) => nc.flush()));
    equal(counts.reduce((a, b) => a + b, 0), N, "no duplicates");
    ok([...seen.values()].every((n) => n === 1), "each exactly once");
    ok(counts.every((c) => c > N / 10), `spread over members: ${counts}`);
    await Promise.all([...subs, pub].map((nc) => nc.close()));
  });
});

Deno.test("headers travel end to end and no_responders errors fast", async () => {
  await withServer({}, async (s) => {
    const nc = await client(s);
    nc.subscribe("h", {
      callback: (_e, m) => {
        const h = headers();
        h.set("X-Seen", m.headers?.get("X-In") ?? "none");
        m.respond("ok", { headers: h });
      },
    });
    const h = headers();
    h.set("X-In", "42");
    const reply = await nc.request("h", "x", { headers: h, timeout: 2000 });
    equal(reply.headers?.get("X-Seen"), "42");
    const started = Date.now();
    await rejects(nc.request("nobody.home", "x", { timeout: 5000 }), /no responders/i);
    ok(Date.now() - started < 2000, "503 answered at once, not by timeout");
    await nc.close();
  });
});

Deno.test("echo off: a connection does not receive its own messages", async () => {
  await withServer({}, async (s) => {
    const nc = await client(s, { noEcho: true });
    const other = await client(s);
    let own = 0;
    nc.subscribe("e", {
      callback: () => {
        own++;
      },
    });
    const fromOther = await collect(other, "e", 2);
    await nc.flush();
    nc.publish("e", "1");
    await nc.flush();
    other.publish("e", "2");
    await other.flush();
    deepStrictEqual(await fromOther.done, ["e:1", "e:2"]);
    await nc.flush();
    equal(own, 1, "only the other connection's message");
    await Promise.all([nc.close(), other.close()]);
  });
});

Deno.test("max_payload from the config file is enforced and announced", async () => {
  await withServer({ config: "max_payload: 512" }, async (s) => {
    const raw = await RawClient.connect(s.port);
    const m = await raw.expect(/^INFO (\{.*\}) \r\n/);
    equal(JSON.parse(m[1]).max_payload, 512);
    await raw.send('CONNECT {"verbose":false}\r\nPUB big 513\r\n');
    await raw.expect(/-ERR 'Maximum Payload Violation'\r\n/);
    await raw.expectClosed();
    await raw.close();
    const nc = await client(s);
    equal(nc.info?.max_payload, 512);
    ok(
      (() => {
        try {
          nc.publish("big", new Uint8Array(513));
          return false;
        } catch {
          return true;
        }
      })(),
      "the client refuses too-large payloads itself",
    );
    await nc.close();
  });
});

Deno.test("slow consumer is cut off while the publisher keeps going", async () => {
  await withServer(
    { config: 'max_pending: 256KB\nmax_payload: 64KB\nwrite_deadline: "2s"' },
    async (s) => {
      // A subscriber that subscribes and then never reads a byte.
      const silent = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
      await silent.write(new TextEncoder().encode('CONNECT {"verbose":false}\r\nSUB flood 1\r\n'));
      const healthy = await client(s);
      let received = 0;
      healthy.subscribe("flood", {
        callback: () => {
          received++;
        },
      });
      await healthy.flush();
      const pub = await client(s);
      const payload = new Uint8Array(1024);
      const N = 20_000; // 20 MB to a reader that takes nothing: far over 256 KB pending
      for (let i = 0; i < N; i++) {
        pub.publish("flood", payload);
        if (i % 1000 === 0) await pub.flush();
      }
      await pub.flush();
      await waitFor(() => received === N, 20_000, `healthy subscriber got all (${received})`);
      await s.waitForLog(/Slow Consumer Detected/, 10_000);
      ok(!pub.isClosed(), "publisher unaffected");
      silent.close();
      await Promise.all([healthy.close(), pub.close()]);
    },
  );
});

Deno.test("stale connection: a client that never answers PINGs is closed", async () => {
  await withServer({ config: 'ping_interval: "200ms"\nping_max: 2' }, async (s) => {
    const raw = await RawClient.connect(s.port);
    await raw.send('CONNECT {"verbose":false}\r\n');
    await raw.expect(/PING\r\n/, 3000);
    await raw.expect(/-ERR 'Stale Connection'\r\n/, 5000);
    await raw.expectClosed();
    await raw.close();
  });
});

Deno.test("a busy publisher is not cut as stale although it never answers PINGs", async (t) => {
  // As nats-server: inbound traffic proves the client alive, so after the first
  // (RTT) PING no more are sent while it keeps publishing. (Found by the fuzzer's
  // observer, whose publisher did not answer PINGs and was cut after ping_max.)
  const check = (reference: boolean) =>
    withServer({ config: 'ping_interval: "200ms"\nping_max: 2', reference }, async (s) => {
      const raw = await RawClient.connect(s.port);
      await raw.send('CONNECT {"verbose":false}\r\n');
      const start = Date.now();
      while (Date.now() - start < 2500) {
        await raw.send("PUB busy 1\r\nx\r\n");
        await new Promise((r) => setTimeout(r, 20));
      }
      ok(/PING\r\n/.test(raw.received), "no PING sent");
      ok(!raw.closed, raw.received.slice(-100));
      await raw.close();
    });
  await t.step("dnatsd", () => check(false));
  await t.step({
    name: "nats-server alike",
    ignore: missing("nats-server"),
    fn: () => check(true),
  });
});

Deno.test("a client that answers PINGs stays connected", async () => {
  await withServer({ config: 'ping_interval: "200ms"\nping_max: 1' }, async (s) => {
    const nc = await client(s);
    const start = Date.now();
    await waitFor(() => Date.now() - start > 1500, 3000, "time to pass");
    ok(!nc.isClosed());
    await nc.flush();
    await nc.close();
  });
});

Deno.test("command line beats the config file", async () => {
  await withServer({ config: "port: 1\nmax_payload: 2048\nserver_name: from_file" }, async (s) => {
    // The helper passes -p -1 after -c: the flag must win over `port: 1`.
    ok(s.port > 1);
    const raw = await RawClient.connect(s.port);
    const m = await raw.expect(/^INFO (\{.*\}) \r\n/);
    const info = JSON.parse(m[1]);
    equal(info.max_payload, 2048);
    equal(info.server_name, "from_file");
    await raw.close();
  });
  await withServer(
    { config: "server_name: from_file", args: ["-n", "from_flag"] },
    async (s) => {
      const nc = await client(s);
      equal(nc.info?.server_name, "from_flag");
      await nc.close();
    },
  );
});

Deno.test("-t checks a config file and exits 0 or 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const good = `${dir}/good.conf`;
    const bad = `${dir}/bad.conf`;
    await Deno.writeTextFile(good, "port: 4222\nmax_payload: 1MB\n");
    await Deno.writeTextFile(bad, "port: 4222\nno_such_option: true\n");
    const run = (file: string) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-check", MAIN_TS, "-t", "-c", file],
        stdout: "piped",
        stderr: "piped",
      }).output();
    const okRun = await run(good);
    equal(okRun.code, 0);
    ok(new TextDecoder().decode(okRun.stderr).includes(`configuration file ${good} is valid`));
    const badRun = await run(bad);
    equal(badRun.code, 1);
    const err = new TextDecoder().decode(badRun.stderr);
    ok(err.includes(`${bad}:2:1`), err);
    ok(err.includes('unknown field "no_such_option"'), err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("client_advertise is what INFO announces, as nats-server", async () => {
  await withServer({ args: ["--client_advertise", "nats.example.com:4333"] }, async (s) => {
    const raw = await RawClient.connect(s.port);
    const m = await raw.expect(/^INFO (\{.*\}) \r\n/);
    const info = JSON.parse(m[1]);
    equal(info.host, "nats.example.com");
    equal(info.port, 4333);
    equal(info.connect_urls, undefined, "no connect_urls without cluster peers");
    await raw.close();
  });
});

Deno.test("max_connections: the next client gets INFO, then the -ERR, then close (as nats-server)", async (t) => {
  for (const reference of [false, true]) {
    await t.step({
      name: reference ? "nats-server" : "dnatsd",
      ignore: reference && missing("nats-server"),
      fn: async () => {
        const s = await ServerProcess.start({ config: "max_connections: 2", reference });
        try {
          const held = [await RawClient.connect(s.port), await RawClient.connect(s.port)];
          for (const c of held) {
            await c.send("PING\r\n");
            await c.expect(/PONG\r\n/);
          }
          const third = await RawClient.connect(s.port);
          await third.expect(/^INFO \{.*\} \r\n-ERR 'maximum connections exceeded'\r\n$/);
          await third.expectClosed();
          await third.close();
          // A slot frees up when a client leaves.
          await held[0].close();
          await waitFor(
            async () => {
              const c = await RawClient.connect(s.port);
              try {
                await c.send("PING\r\n");
                await c.expect(/PONG\r\n|maximum connections/, 1000);
                return c.received.includes("PONG");
              } finally {
                await c.close();
              }
            },
            5000,
            "a free slot after a client left",
          );
          await held[1].close();
        } finally {
          await s.stop();
        }
      },
    });
  }
});

Deno.test("write_deadline: a consumer whose socket stays full is cut off", async () => {
  await withServer({ config: 'write_deadline: "500ms"' }, async (s) => {
    // Never reads: once the kernel buffers are full, the server's write cannot finish.
    const silent = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
    await silent.write(new TextEncoder().encode('CONNECT {"verbose":false}\r\nSUB wd 1\r\n'));
    const pub = await client(s);
    const payload = new Uint8Array(16 * 1024);
    // 48 MB: far past socket buffers, well under the default 64 MB max_pending.
    for (let i = 0; i < 3000 && !/WriteDeadline/.test(s.logs.text); i++) {
      pub.publish("wd", payload);
      if (i % 100 === 0) await pub.flush();
    }
    await s.waitForLog(/Slow Consumer Detected: WriteDeadline of 500ms exceeded/, 10_000);
    ok(!pub.isClosed(), "publisher unaffected");
    silent.close();
    await pub.close();
  });
});
