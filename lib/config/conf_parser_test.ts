import assert from "node:assert/strict";
import { join } from "node:path";
import { type ConfMap, ConfSyntaxError, parseConf, parseConfFile } from "./conf_parser.ts";
import { formatGoDuration, parseGoDuration } from "./conf_values.ts";

const noEnv = () => undefined;

function get(map: ConfMap, ...path: string[]): unknown {
  let cur: unknown = map;
  for (const key of path) cur = (cur as ConfMap).get(key)?.value;
  return cur;
}

function parseError(text: string, env: (n: string) => string | undefined = noEnv): string {
  try {
    parseConf(text, { file: "t.conf", env });
  } catch (err) {
    assert.ok(err instanceof ConfSyntaxError);
    return err.message;
  }
  throw new Error("no error");
}

Deno.test("parseConf() size suffixes", () => {
  const table: Array<[string, number]> = [
    ["1", 1],
    ["1k", 1000],
    ["1K", 1000],
    ["1kb", 1024],
    ["1KB", 1024],
    ["1ki", 1024],
    ["1KiB", 1024],
    ["1m", 1_000_000],
    ["1MB", 1048576],
    ["2mib", 2 * 1048576],
    ["1g", 1e9],
    ["1gb", 2 ** 30],
    ["1t", 1e12],
    ["1tb", 2 ** 40],
    ["1p", 1e15],
    ["1pb", 2 ** 50],
    ["1e", 1e18],
    ["1eb", 2 ** 60],
    ["-2k", -2000],
  ];
  for (const [text, value] of table) {
    const m = parseConf(`v: ${text}`, { env: noEnv });
    assert.equal(m.get("v")?.kind, "integer", text);
    assert.equal(m.get("v")?.value, value, text);
  }
  assert.equal(
    parseError("v: 12345678901234567890\n"),
    "integer '12345678901234567890' is out of the range",
  );
});

Deno.test("parseConf() value types and positions", () => {
  const m = parseConf(
    'a: 1.5\nb: true\nc: "x"\nd: 2020-01-02T03:04:05Z\ne: [1, "two", {k: v}]\nf { g: no }\n',
    { file: "t.conf", env: noEnv },
  );
  assert.equal(get(m, "a"), 1.5);
  assert.equal(m.get("a")?.kind, "float");
  assert.equal(get(m, "b"), true);
  assert.equal(get(m, "c"), "x");
  assert.deepEqual(get(m, "d"), new Date(Date.UTC(2020, 0, 2, 3, 4, 5)));
  const arr = m.get("e")!;
  assert.equal(arr.kind, "array");
  const items = arr.value as Array<{ kind: string; line: number; col: number }>;
  assert.deepEqual(items.map((i) => i.kind), ["integer", "string", "map"]);
  // Values under keys take the key's position; array items keep their own.
  assert.deepEqual([arr.line, arr.col], [5, 1]);
  assert.deepEqual([items[1]!.line, items[1]!.col], [5, 9]);
  assert.equal(get(m, "f", "g"), false);
  assert.equal(m.get("f")?.file, "t.conf");
});

Deno.test("parseConf() repeated keys overwrite; key case is kept", () => {
  const m = parseConf("Port: 1\nPort: 2\nport: 3\n", { env: noEnv });
  assert.equal(get(m, "Port"), 2);
  assert.equal(get(m, "port"), 3);
});

Deno.test("parseConf() variables: block scope, then environment, case-sensitive", () => {
  const m = parseConf("x = 1\na { y = 2\n b { c: $x, d: $y } }\ne: $x\n", { env: noEnv });
  assert.equal(get(m, "a", "b", "c"), 1);
  assert.equal(get(m, "a", "b", "d"), 2);
  assert.equal(get(m, "e"), 1);
  assert.equal(m.get("x")?.usedAsVariable, true);
  const unused = parseConf("x = 1\n", { env: noEnv });
  assert.equal(unused.get("x")?.usedAsVariable, undefined);

  const env = (n: string) =>
    ({ MYPORT: "4222", BIG: "1MB", FLAG: "true", TXT: "hello" } as Record<string, string>)[n];
  const e = parseConf("p: $MYPORT\nb: $BIG\nf: $FLAG\nt: $TXT\n", { env });
  assert.equal(e.get("p")?.kind, "integer");
  assert.equal(get(e, "p"), 4222);
  assert.equal(get(e, "b"), 1048576);
  assert.equal(get(e, "f"), true);
  assert.equal(get(e, "t"), "hello");
  assert.equal(
    parseError("p: $myport\n", env),
    "variable reference for 'myport' on line 1 can not be found",
  );
  // Inside quotes a $ is plain text.
  assert.equal(get(parseConf('a: "$X"', { env: noEnv }), "a"), "$X");
  // Variables must be defined before use.
  assert.match(
    parseError("a: $x\nx = 1\n"),
    /variable reference for 'x' on line 1 can not be found/,
  );
});

Deno.test("parseConf() bcrypt special case only for $2a$", () => {
  const m = parseConf("p: $2a$11$W2zko751KUvVy59mUTWmpO\n", { env: noEnv });
  assert.equal(get(m, "p"), "$2a$11$W2zko751KUvVy59mUTWmpO");
  assert.equal(
    parseError("p: $2b$11$abc\n"),
    "variable reference for '2b$11$abc' on line 1 can not be found",
  );
});

Deno.test("parseConf() parse errors use nats-server's format", () => {
  assert.equal(
    parseError("port: 1 2\n"),
    "Parse error on line 1: 'Expected a top-level value to end with a new line, comment or EOF, but got '2' instead.'",
  );
});

Deno.test("parseConfFile() include is relative to the including file and merges keys", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "sub"));
    await Deno.writeTextFile(join(dir, "sub", "inc.conf"), "port: 4333\nv = 5\n");
    await Deno.writeTextFile(join(dir, "sub", "auth.conf"), "user: a\n");
    await Deno.writeTextFile(join(dir, "sub", "bad.conf"), "a 1 2\n");
    await Deno.writeTextFile(
      join(dir, "main.conf"),
      'include sub/inc.conf\nhttp_port: $v\nauthorization {\n  include "sub/auth.conf"\n}\n',
    );
    const m = parseConfFile(join(dir, "main.conf"), { env: noEnv });
    assert.equal(get(m, "port"), 4333);
    assert.equal(m.get("port")?.file, join(dir, "sub/inc.conf"));
    assert.equal(get(m, "http_port"), 5);
    assert.equal(m.get("v")?.usedAsVariable, true);
    assert.equal(get(m, "authorization", "user"), "a");
    // Go's filepath.Join: an absolute include path stays under the config's directory.
    await Deno.writeTextFile(join(dir, "abs.conf"), "include /sub/inc.conf\n");
    assert.equal(get(parseConfFile(join(dir, "abs.conf"), { env: noEnv }), "port"), 4333);

    await Deno.writeTextFile(join(dir, "missing.conf"), "include nope.conf\n");
    assert.throws(
      () => parseConfFile(join(dir, "missing.conf"), { env: noEnv }),
      (e: Error) =>
        e.message ===
          `error parsing include file 'nope.conf', open ${
            join(dir, "nope.conf")
          }: no such file or directory`,
    );
    await Deno.writeTextFile(join(dir, "inc_bad.conf"), "include sub/bad.conf\n");
    assert.throws(
      () => parseConfFile(join(dir, "inc_bad.conf"), { env: noEnv }),
      /error parsing include file 'sub\/bad.conf', Parse error on line 1/,
    );
    // An included file does not see the includer's variables.
    await Deno.writeTextFile(join(dir, "sub", "usevar.conf"), "port: $y\n");
    await Deno.writeTextFile(join(dir, "scope.conf"), "y = 1\ninclude sub/usevar.conf\n");
    assert.throws(
      () => parseConfFile(join(dir, "scope.conf"), { env: noEnv }),
      /variable reference for 'y' on line 1 can not be found/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseGoDuration() follows time.ParseDuration", () => {
  const ok: Array<[string, number]> = [
    ["0", 0],
    ["2s", 2000],
    ["1m30s", 90_000],
    ["500ms", 500],
    ["1h", 3_600_000],
    ["1.5s", 1500],
    ["-2m", -120_000],
    ["10us", 0.01],
    ["1\u00b5s", 0.001],
    ["3ns", 3e-6],
  ];
  for (const [text, ms] of ok) assert.ok(Math.abs(parseGoDuration(text) - ms) < 1e-9, text);
  assert.throws(() => parseGoDuration("5"), { message: 'time: missing unit in duration "5"' });
  assert.throws(() => parseGoDuration("4ever"), {
    message: 'time: unknown unit "ever" in duration "4ever"',
  });
  assert.throws(() => parseGoDuration(""), { message: 'time: invalid duration ""' });
  assert.throws(() => parseGoDuration("\nabc\n"), {
    message: 'time: invalid duration "\\x0aabc\\x0a"',
  });
  assert.equal(formatGoDuration(90_000), "1m30s");
  assert.equal(formatGoDuration(10_000), "10s");
  assert.equal(formatGoDuration(3_600_000), "1h0m0s");
  assert.equal(formatGoDuration(500), "500ms");
});
