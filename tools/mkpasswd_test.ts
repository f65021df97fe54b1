import assert from "node:assert/strict";
import { bcrypt } from "../lib/deps.ts";
import { generatePassword, hashPassword, parseArgs } from "./mkpasswd.ts";
import { missing } from "../tests/helpers/requires.ts";

const TOOL = new URL("./mkpasswd.ts", import.meta.url).pathname;
const NATS_SERVER = "/usr/sbin/nats-server";

async function runTool(
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", TOOL, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  if (stdin !== undefined) await w.write(new TextEncoder().encode(stdin));
  await w.close();
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function hashFrom(stdout: string): string {
  const m = stdout.match(/^bcrypt hash: (\S+)$/m);
  assert.ok(m, `no hash in ${JSON.stringify(stdout)}`);
  return m[1]!;
}

Deno.test("mkpasswd parseArgs() flags and cost range", () => {
  assert.deepEqual(parseArgs([]), { readPassword: false, cost: 11, help: false });
  assert.equal(parseArgs(["-p"]).readPassword, true);
  assert.equal(parseArgs(["--cost", "4"]).cost, 4);
  assert.equal(parseArgs(["--cost=31"]).cost, 31);
  assert.equal(parseArgs(["-cost", "12"]).cost, 12);
  assert.throws(() => parseArgs(["--cost", "3"]), RangeError);
  assert.throws(() => parseArgs(["--cost", "32"]), RangeError);
  assert.throws(() => parseArgs(["--cost", "x"]), RangeError);
  assert.throws(() => parseArgs(["--cost"]), RangeError);
  assert.throws(() => parseArgs(["-x"]), RangeError);
});

Deno.test("mkpasswd generatePassword() and hashPassword()", () => {
  const p = generatePassword();
  assert.match(p, /^[A-Za-z0-9_-]{22}$/);
  assert.notEqual(p, generatePassword());
  const h = hashPassword(p, 4);
  assert.match(h, /^\$2a\$04\$.{53}$/);
  assert.equal(bcrypt.compareSync(p, h), true);
});

Deno.test("mkpasswd generates a password and its hash", async () => {
  const r = await runTool(["--cost", "4"]);
  assert.equal(r.code, 0, r.stderr);
  const pass = r.stdout.match(/^pass: (\S+)$/m)?.[1];
  assert.ok(pass && pass.length >= 22);
  assert.equal(bcrypt.compareSync(pass, hashFrom(r.stdout)), true);
});

Deno.test("mkpasswd rejects a bad cost", async () => {
  const r = await runTool(["--cost", "40"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^Error: invalid cost/);
});

Deno.test("mkpasswd -p hashes piped stdin; nats-server accepts the hash", async (t) => {
  const password = "T0pS3cr3t-pipe";
  const r = await runTool(["-p"], password + "\n");
  assert.equal(r.code, 0, r.stderr);
  const hash = hashFrom(r.stdout);
  assert.match(hash, /^\$2a\$11\$/);
  assert.equal(bcrypt.compareSync(password, hash), true);
  assert.equal(bcrypt.compareSync("wrong", hash), false);

  await t.step({
    name: "nats-server accepts the hash",
    ignore: missing("nats-server"),
    fn: () =>
      withNatsServer(`authorization { user: derek, password: "${hash}" }`, async (port) => {
        const good = await rawConnect(port, { user: "derek", pass: password });
        assert.match(good, /\+OK\r\nPONG\r\n/);
        const bad = await rawConnect(port, { user: "derek", pass: "nope" });
        assert.match(bad, /-ERR 'Authorization Violation'/);
      }),
  });
});

Deno.test({
  name: "mkpasswd -p on a terminal asks twice, echo off, and must match",
  ignore: missing("script"),
}, async (t) => {
  const session = async (first: string, second: string) => {
    // script(1) gives the tool a pseudo-terminal; we type only after each prompt.
    const child = new Deno.Command("/usr/bin/script", {
      args: ["-qec", `'${Deno.execPath()}' run -A --no-check '${TOOL}' -p --cost 4`, "/dev/null"],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const w = child.stdin.getWriter();
    const reader = child.stdout.getReader();
    let text = "";
    const dec = new TextDecoder();
    /** Reads until `re` matches the output so far, or to the end when `re` is null. */
    const until = async (re: RegExp | null) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      try {
        while (re === null || !re.test(text)) {
          const { value, done } = await reader.read();
          if (done) break;
          text += dec.decode(value);
        }
      } finally {
        clearTimeout(timer);
      }
    };
    await until(/Enter Password: /);
    await w.write(new TextEncoder().encode(first + "\r"));
    await until(/Reenter Password: /);
    await w.write(new TextEncoder().encode(second + "\r"));
    await until(null);
    await w.close().catch(() => {});
    reader.releaseLock();
    const status = await child.status;
    return { text, code: status.code };
  };
  await t.step("mismatch", async () => {
    const r = await session("typed-one", "typed-two");
    assert.match(r.text, /Error: passwords do not match/);
    assert.notEqual(r.code, 0);
    assert.ok(!r.text.includes("typed-"), "password was echoed");
  });
  await t.step("match", async () => {
    const r = await session("typed-same", "typed-same");
    assert.equal(r.code, 0, r.text);
    assert.ok(!r.text.includes("typed-"), "password was echoed");
    assert.equal(bcrypt.compareSync("typed-same", hashFrom(r.text.replace(/\r/g, ""))), true);
  });
});

/** Picks a free port by binding :0 (nats-server's `-p -1` would not tell us which). */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function withNatsServer(auth: string, fn: (port: number) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  const port = freePort();
  const conf = `${dir}/server.conf`;
  await Deno.writeTextFile(conf, `listen: "127.0.0.1:${port}"\n${auth}\n`);
  const child = new Deno.Command(NATS_SERVER, {
    args: ["-c", conf],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeTo(new WritableStream());
  try {
    // Poll until the listener is up, with a deadline instead of a fixed sleep.
    const deadline = Date.now() + 10_000;
    let lastErr: unknown = null;
    for (;;) {
      try {
        const c = await Deno.connect({ hostname: "127.0.0.1", port });
        c.close();
        break;
      } catch (err) {
        lastErr = err;
        if (Date.now() > deadline) throw new Error(`nats-server did not start: ${lastErr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await fn(port);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await stderr.catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

/** Sends CONNECT (verbose) + PING and returns what came back until PONG or -ERR. */
async function rawConnect(port: number, creds: Record<string, string>): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const connect = JSON.stringify({ verbose: true, pedantic: false, ...creds });
    await conn.write(new TextEncoder().encode(`CONNECT ${connect}\r\nPING\r\n`));
    let text = "";
    const buf = new Uint8Array(4096);
    const deadline = setTimeout(() => conn.close(), 5_000);
    try {
      while (!/PONG\r\n|-ERR [^\r]*\r\n/.test(text)) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.BadResource)) throw err;
    } finally {
      clearTimeout(deadline);
    }
    return text;
  } finally {
    try {
      conn.close();
    } catch {
      // already closed by the deadline
    }
  }
}
