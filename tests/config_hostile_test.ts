/**
 * Hostile configuration files: `-t` and a normal start must end with a clean
 * error naming the file (exit 1), never an uncaught exception or a stack
 * overflow, and `-t` must give the same exit code as nats-server's `-t` on the
 * same bytes. Where nats-server itself crashes (an include loop: Go stack
 * overflow, exit 2) or takes minutes (150,000 errors: its error list is
 * quadratic), dnatsd's clean exit 1 is asserted on its own.
 *
 * The in-process fuzz part mutates small valid configurations with a seeded
 * PRNG (brackets by the thousand, huge numbers, invalid UTF-8, deleted and
 * duplicated slices) and runs them through the same resolver `-t` uses.
 */
import { equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { resolveOptions } from "../lib/config/resolve.ts";
import { prng } from "../lib/router/_test_util.ts";
import { MAIN_TS, NATS_SERVER_BIN } from "./helpers/server.ts";
import { missing } from "./helpers/requires.ts";

const decoder = new TextDecoder();

interface Outcome {
  code: number;
  stderr: string;
  stdout: string;
}

/** Runs a program, killed after `timeoutMs` (a start that wrongly succeeds keeps running). */
async function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<Outcome> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
      signal: ac.signal,
    }).output();
    return {
      code: out.code,
      stderr: decoder.decode(out.stderr),
      stdout: decoder.decode(out.stdout),
    };
  } finally {
    clearTimeout(timer);
  }
}

const dnatsd = (args: string[], timeoutMs?: number) =>
  run(Deno.execPath(), ["run", "-A", "--no-check", MAIN_TS, ...args], timeoutMs);

/** No uncaught exception, no stack trace, every line of the message prefixed as a config error. */
function assertCleanError(out: Outcome, file: string, what: string): void {
  equal(out.code, 1, `${what}: exit code\n${out.stderr.slice(0, 2000)}`);
  ok(
    !/Uncaught|RangeError: Maximum|^\s+at /m.test(out.stderr),
    `${what}: crash\n${out.stderr.slice(0, 2000)}`,
  );
  ok(out.stderr.startsWith("dnatsd: "), `${what}: ${out.stderr.slice(0, 500)}`);
  ok(out.stderr.includes(file), `${what}: the message names ${file}: ${out.stderr.slice(0, 500)}`);
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dnatsd-hostile-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("include loops are a clean error naming the chain, for -t and for a start", async () => {
  await withDir(async (dir) => {
    const self = join(dir, "self.conf");
    await Deno.writeTextFile(self, "port: 4222\ninclude ./self.conf\n");
    const a = join(dir, "a.conf");
    const b = join(dir, "b.conf");
    await Deno.writeTextFile(a, "include ./b.conf\n");
    await Deno.writeTextFile(b, "debug: true\ninclude ./a.conf\n");
    // The same file reached through another spelling of its path is still a loop.
    await Deno.mkdir(join(dir, "sub"));
    const c = join(dir, "sub", "c.conf");
    await Deno.writeTextFile(c, "include ../sub/./c.conf\n");
    for (
      const [file, chain] of [
        [self, `${self} -> ${self}`],
        [a, `${a} -> ${b} -> ${a}`],
        [c, `${c} -> ${join(dir, "sub", "c.conf")}`],
      ]
    ) {
      for (const args of [["-t", "-c", file], ["-c", file, "-a", "127.0.0.1", "-p", "-1"]]) {
        const out = await dnatsd(args, 30_000);
        assertCleanError(out, file, args.join(" "));
        ok(out.stderr.includes(`include loop: ${chain}`), out.stderr);
        equal(out.stderr.trimEnd().split("\n").length, 1, out.stderr);
      }
    }
  });
});

Deno.test("a chain of distinct includes deeper than the limit is refused cleanly", async () => {
  await withDir(async (dir) => {
    for (let i = 0; i < 80; i++) {
      await Deno.writeTextFile(join(dir, `n${i}.conf`), i < 79 ? `include ./n${i + 1}.conf\n` : "");
    }
    const out = await dnatsd(["-t", "-c", join(dir, "n0.conf")]);
    assertCleanError(out, join(dir, "n0.conf"), "deep include chain");
    ok(out.stderr.includes("includes nested deeper than 64"), out.stderr);
    // Each file includes the next one twice: 2^30 reads without a bound on the total.
    for (let i = 0; i < 30; i++) {
      const next = i < 29
        ? `include ./t${i + 1}.conf\ninclude ./t${i + 1}.conf\n`
        : "debug: true\n";
      await Deno.writeTextFile(join(dir, `t${i}.conf`), next);
    }
    const tree = await dnatsd(["-t", "-c", join(dir, "t0.conf")], 30_000);
    assertCleanError(tree, join(dir, "t0.conf"), "include tree");
    ok(tree.stderr.includes("more than 4096 includes in one configuration"), tree.stderr);
  });
});

Deno.test("150,000 errors are all reported, for -t and for a start", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "many.conf");
    const lines: string[] = [];
    for (let i = 0; i < 150_000; i++) lines.push(`unknown_${i}: 1`);
    await Deno.writeTextFile(file, lines.join("\n") + "\n");
    for (const args of [["-t", "-c", file], ["-c", file, "-a", "127.0.0.1", "-p", "-1"]]) {
      const out = await dnatsd(args);
      assertCleanError(out, file, args.join(" "));
      const reported = out.stderr.trimEnd().split("\n");
      equal(reported.length, 150_000);
      equal(reported[149_999], `${file}:150000:1: unknown field "unknown_149999"`);
    }
  });
});

/** [name, file extension, bytes]: each must be a clean verdict, equal to nats-server's. */
function hostileFiles(): Array<[string, string, Uint8Array]> {
  const enc = (s: string) => new TextEncoder().encode(s);
  const N = 100_000;
  const cat = (...parts: Array<string | number[]>) => {
    const chunks = parts.map((p) => typeof p === "string" ? enc(p) : Uint8Array.from(p));
    const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  };
  return [
    ["100k unclosed [", "conf", enc("a = " + "[".repeat(N) + "\n")],
    ["100k unclosed {", "conf", enc("a = " + "{".repeat(N) + "\n")],
    ["100k nested arrays", "conf", enc("a = " + "[".repeat(N) + "]".repeat(N) + "\n")],
    ["100k nested maps", "conf", enc("a " + "{ b ".repeat(N) + "}".repeat(N) + "\n")],
    [
      "100k nested in a known key",
      "conf",
      enc("authorization " + "{ users ".repeat(N) + "}".repeat(N) + "\n"),
    ],
    [
      "100k nested in tls acme",
      "conf",
      enc(
        `tls { acme { domains: [x.example], agree_tos: true, layout: ${"[".repeat(N)}${
          "]".repeat(N)
        } } }\n`,
      ),
    ],
    ["100k nested JSON", "json", enc(`{"a": ${"[".repeat(N)}${"]".repeat(N)}}`)],
    ["5 MB string value", "conf", enc(`server_name: "${"x".repeat(5_000_000)}"\n`)],
    ["5 MB key", "conf", enc(`${"k".repeat(5_000_000)}: 1\n`)],
    ["5 MB line of values", "conf", enc("a = [" + "1, ".repeat(1_000_000) + "]\n")],
    ["100k-digit integer", "conf", enc(`port: ${"9".repeat(N)}\n`)],
    ["int64 overflow", "conf", enc("max_payload: 99999999999999999999\n")],
    ["huge float", "conf", enc(`ping_max: 1${"0".repeat(400)}.5\n`)],
    ["size suffix overflow", "conf", enc("max_pending: 9999999999EB\n")],
    ["invalid UTF-8 in a value", "conf", cat('server_name: "', [0xff, 0xfe, 0xc3, 0x28], '"\n')],
    ["invalid UTF-8 in a key", "conf", cat([0xff, 0xfe], ": 1\n")],
    ["invalid UTF-8 bare", "conf", cat("port: ", [0xc3, 0x28], "\n")],
    ["NUL bytes", "conf", cat("port: 4222\n", [0, 0, 0], "\n")],
    ["bare $", "conf", enc("port: $\n")],
    ["5,000 errors", "conf", enc(Array.from({ length: 5000 }, (_, i) => `u${i}: 1\n`).join(""))],
  ];
}

Deno.test({
  name:
    "hostile files: -t gives nats-server's exit code and a clean message; a start fails the same way",
  ignore: missing("nats-server"),
  fn: async () => {
    await withDir(async (dir) => {
      for (const [name, ext, bytes] of hostileFiles()) {
        const file = join(dir, `${name.replace(/[^a-z0-9]+/gi, "_")}.${ext}`);
        await Deno.writeFile(file, bytes);
        const theirs = await run(NATS_SERVER_BIN, ["-t", "-c", file]);
        const ours = await dnatsd(["-t", "-c", file]);
        equal(
          ours.code,
          theirs.code,
          `${name}: dnatsd ${ours.code}, nats-server ${theirs.code}\n` +
            `dnatsd: ${ours.stderr.slice(0, 300)}\nnats-server: ${theirs.stderr.slice(0, 300)}`,
        );
        ok(
          !/Uncaught|RangeError|^\s+at /m.test(ours.stderr),
          `${name}: ${ours.stderr.slice(0, 1000)}`,
        );
        if (ours.code !== 0) {
          ok(ours.stderr.startsWith("dnatsd: "), `${name}: ${ours.stderr.slice(0, 300)}`);
          const started = await dnatsd(["-c", file, "-a", "127.0.0.1", "-p", "-1"], 30_000);
          equal(started.code, 1, `${name}: start\n${started.stderr.slice(0, 1000)}`);
          equal(started.stderr, ours.stderr, `${name}: a start reports what -t reports`);
        }
      }
    });
  },
});

/** Small valid configurations the fuzzer mutates. */
const SEEDS = [
  "port: 4222\nhost: 127.0.0.1\nmax_payload: 1MB\n",
  'authorization { users: [{user: a, password: b}, {user: c, password: d, permissions: {publish: ["x.>"]}}] }\n',
  "x = 5\nmax_connections: $x\ndebug: true\n# c\n// c\nlogtime = false; trace: no\n",
  "accounts { A { users: [{user: u, password: p}] } }\nno_auth_user: u\n",
  'ping_interval: "30s"\nwrite_deadline: "2s"\nlame_duck_duration: "40s"\n',
];
const PIECES = [
  "{",
  "}",
  "[",
  "]",
  ":",
  "=",
  ",",
  ";",
  "\n",
  " ",
  '"',
  "'",
  "$",
  "#",
  "1",
  "1.5",
  "KB",
  "a",
  "-",
  "\\",
  "\t",
  "\u00e9",
  "9".repeat(30),
  "include x.conf",
];

function mutate(r: () => number, seed: string): Uint8Array {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  let t = seed;
  const steps = 1 + Math.floor(r() * 6);
  for (let i = 0; i < steps; i++) {
    const at = Math.floor(r() * (t.length + 1));
    switch (Math.floor(r() * 5)) {
      case 0:
        t = t.slice(0, at) + pick(PIECES) + t.slice(at);
        break;
      case 1:
        t = t.slice(0, at) + t.slice(at + 1 + Math.floor(r() * 4));
        break;
      case 2: // a run of brackets, up to 20,000
        t = t.slice(0, at) + pick(["{", "}", "[", "]"]).repeat(1 + Math.floor(r() * 20_000)) +
          t.slice(at);
        break;
      case 3: {
        const from = Math.floor(r() * t.length);
        t = t.slice(0, at) + t.slice(from, from + 20) + t.slice(at);
        break;
      }
      default:
        t = t.slice(0, at) + t.slice(at).replace(/\d+/, "9".repeat(1 + Math.floor(r() * 40)));
    }
  }
  const bytes = new TextEncoder().encode(t);
  if (r() >= 0.2) return bytes;
  // Invalid UTF-8 somewhere.
  const at = Math.floor(r() * bytes.length);
  const out = new Uint8Array(bytes.length + 2);
  out.set(bytes.subarray(0, at));
  out.set([0xff, 0xc3], at);
  out.set(bytes.subarray(at), at + 2);
  return out;
}

Deno.test({
  name: "fuzz: mutated configurations never throw, and -t agrees with nats-server -t",
  ignore: missing("nats-server"),
  fn: async () => {
    const r = prng(12);
    const deadline = Date.now() + 60_000;
    const differences: string[] = [];
    let runs = 0;
    await withDir(async (dir) => {
      for (let i = 0; i < 300 && Date.now() < deadline; i++, runs++) {
        const file = join(dir, `f${i}.conf`);
        await Deno.writeFile(file, mutate(r, SEEDS[i % SEEDS.length]!));
        let code: number;
        let text: string;
        try {
          const res = await resolveOptions(["-t", "-c", file]);
          code = res.exitCode;
          text = res.stderr ?? "";
        } catch (err) {
          const copy = join(Deno.makeTempDirSync(), "crash.conf");
          Deno.copyFileSync(file, copy);
          throw new Error(`f${i}: the loader threw (input kept at ${copy})`, { cause: err });
        }
        const theirs = await run(NATS_SERVER_BIN, ["-t", "-c", file]);
        if (theirs.code !== code) {
          differences.push(
            `f${i}: dnatsd ${code} (${text.slice(0, 200)}), nats-server ${theirs.code} (${
              theirs.stderr.slice(0, 200)
            })`,
          );
        }
      }
    });
    ok(runs >= 50, `only ${runs} inputs in the time allowed`);
    equal(differences.length, 0, differences.join("\n"));
  },
});
