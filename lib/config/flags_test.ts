import assert from "node:assert/strict";
import { helpTlsText, mergeOptions, parseFlags, usageText } from "./flags.ts";
import { defaultOptions } from "./options.ts";
import { resolveOptions } from "./resolve.ts";

Deno.test("parseFlags() Go flag rules", () => {
  for (const argv of [["-p", "5"], ["--p", "5"], ["-p=5"], ["--port=5"], ["-port", "5"]]) {
    assert.equal(parseFlags(argv).overrides.port, 5, argv.join(" "));
  }
  assert.equal(parseFlags(["-p", "0x10"]).overrides.port, 16);
  assert.equal(parseFlags(["-p", "-1"]).overrides.port, -1);
  assert.equal(parseFlags(["-D"]).overrides.debug, true);
  assert.equal(parseFlags(["-D=false"]).overrides.debug, false);
  assert.equal(parseFlags(["-T=false"]).overrides.logtime, false);
  // Last occurrence wins.
  assert.equal(parseFlags(["-p", "1", "-p", "2"]).overrides.port, 2);
  // No bundling: -DV is its own flag.
  assert.deepEqual(
    [parseFlags(["-DV"]).overrides.debug, parseFlags(["-DV"]).overrides.trace],
    [true, true],
  );
  const dvOff = parseFlags(["-D", "-V", "-DV=false"]).overrides;
  assert.deepEqual([dvOff.debug, dvOff.trace], [false, false]);
  const vv = parseFlags(["-VV"]).overrides;
  assert.deepEqual([vv.trace, vv.traceVerbose, vv.debug], [true, true, undefined]);
  const dvv = parseFlags(["-DVV"]).overrides;
  assert.deepEqual([dvv.trace, dvv.traceVerbose, dvv.debug], [true, true, true]);
  // Parsing stops at the first non-flag word.
  assert.deepEqual(parseFlags(["-D", "false"]).errors, ['unrecognized command: "false"']);
  assert.deepEqual(parseFlags(["--no_advertise", "false"]).errors, [
    'unrecognized command: "false"',
  ]);
  assert.equal(parseFlags(["version"]).command, "version");
  assert.equal(parseFlags(["HELP"]).command, "help");
  assert.equal(parseFlags(["-p", "1", "--", "help"]).command, "help");
});

Deno.test("parseFlags() syntax errors are usage errors", () => {
  const table: Array<[string[], string]> = [
    [["-bogus"], "flag provided but not defined: -bogus"],
    [["--bogus=1"], "flag provided but not defined: -bogus"],
    [["-p", "abc"], 'invalid value "abc" for flag -p: parse error'],
    [["-D=maybe"], 'invalid boolean value "maybe" for -D: parse error'],
    [["-p"], "flag needs an argument: -p"],
    [["---p"], "bad flag syntax: ---p"],
  ];
  for (const [argv, message] of table) {
    assert.equal(parseFlags(argv).usageError, message, argv.join(" "));
  }
});

Deno.test("parseFlags() maps every option flag", () => {
  const o = parseFlags([
    "-a=1.2.3.4",
    "-n",
    "srv",
    "-P",
    "/p",
    "-m",
    "8222",
    "-ms",
    "8443",
    "--client_advertise",
    "c:1",
    "--ports_file_dir",
    "/d",
    "-l",
    "/l",
    "-s",
    "-r",
    "udp://x:514",
    "--log_size_limit",
    "100",
    "--max_traced_msg_len",
    "7",
    "--user",
    "u",
    "--pass",
    "p",
    "--cluster_name",
    "cn",
    "--no_advertise",
    "--cluster_advertise",
    "ca:1",
    "--connect_retries",
    "4",
  ]).overrides;
  assert.deepEqual(
    [o.host, o.serverName, o.pidFile, o.httpPort, o.httpsPort, o.clientAdvertise, o.portsFileDir],
    ["1.2.3.4", "srv", "/p", 8222, 8443, "c:1", "/d"],
  );
  assert.deepEqual([o.logFile, o.syslog, o.remoteSyslog, o.logSizeLimit, o.maxTracedMsgLen], [
    "/l",
    true,
    "udp://x:514",
    100,
    7,
  ]);
  assert.deepEqual(o.authorization, { user: "u", password: "p" });
  assert.deepEqual(o.cluster, {
    name: "cn",
    noAdvertise: true,
    advertise: "ca:1",
    connectRetries: 4,
  });
  assert.deepEqual(parseFlags(["--auth", "tok"]).overrides.authorization, { token: "tok" });
  assert.equal(parseFlags(["-c", "x.conf"]).configFile, "x.conf");
  assert.equal(parseFlags(["-t"]).command, "check_config");
});

Deno.test("parseFlags() --cluster and --routes", () => {
  assert.deepEqual(parseFlags(["--cluster", "nats://u:p@127.0.0.1:6222"]).overrides.cluster, {
    host: "127.0.0.1",
    port: 6222,
    authorization: { user: "u", password: "p" },
  });
  assert.deepEqual(parseFlags(["--cluster_listen=nats://0.0.0.0:-1"]).overrides.cluster, {
    host: "0.0.0.0",
    port: -1,
    authorization: undefined,
  });
  assert.deepEqual(parseFlags(["--cluster", ""]).overrides.cluster, { port: 0 });
  assert.deepEqual(parseFlags(["--cluster", "nats://u@h:1"]).errors, [
    "expected cluster password to be set",
  ]);
  const r = parseFlags(["--routes", "nats://a:1, nats://b:2"]);
  assert.deepEqual(r.overrides.cluster?.routes, ["nats://a:1", "nats://b:2"]);
  assert.equal(r.routesFromFlags, true);
  assert.deepEqual(parseFlags(["--routes="]).overrides.cluster?.routes, []);
});

Deno.test("parseFlags() tls flags", () => {
  const t = parseFlags([
    "--tlsverify",
    "--tlscert",
    "c.pem",
    "--tlskey",
    "k.pem",
    "--tlscacert",
    "ca.pem",
  ])
    .overrides.tls!;
  assert.deepEqual([t.certFile, t.keyFile, t.caFile, t.verify], ["c.pem", "k.pem", "ca.pem", true]);
  assert.equal(parseFlags(["-tls=false", "--tlscert", "c"]).overrides.tls, null);
  assert.deepEqual(parseFlags(["--tls"]).errors, [
    "TLS Server certificate must be present and valid",
  ]);
  assert.deepEqual(parseFlags(["--tls", "--tlscert", "c"]).errors, [
    "TLS Server private key must be present and valid",
  ]);
});

Deno.test("parseFlags() signal, help, version and unsupported flags", () => {
  assert.deepEqual(parseFlags(["-sl", "reload=/run/n.pid"]).signal, {
    command: "reload",
    target: "/run/n.pid",
  });
  assert.equal(parseFlags(["--signal", "ldm"]).command, "signal");
  assert.deepEqual(parseFlags(["-sl", "a=b=c"]).errors, ["invalid signal parameters: [c]"]);
  assert.deepEqual(parseFlags(["-sl", "bogus"]).errors, ['unknown signal "bogus"']);
  assert.equal(parseFlags(["-h"]).command, "help");
  assert.equal(parseFlags(["--help_tls"]).command, "help_tls");
  assert.equal(parseFlags(["-v"]).command, "version");
  assert.deepEqual(parseFlags(["-js"]).errors, []);
  assert.equal(parseFlags(["-js"]).overrides.jetstreamFlag, true);
  assert.equal(parseFlags(["-js=false"]).overrides.jetstreamFlag, undefined);
  assert.equal(parseFlags(["-sd", "/d"]).overrides.storeDir, "/d");
  assert.deepEqual(parseFlags(["-js=false", "--profile", "0"]).errors, []);
  assert.deepEqual(parseFlags(["--profile", "6060"]).errors, [
    '"--profile" is not supported by dnatsd',
  ]);
});

Deno.test("mergeOptions() flags win over the config file", () => {
  const file = defaultOptions();
  file.port = 1111;
  file.debug = true;
  file.authorization = { users: [{ user: "x" }], user: "old" };
  file.cluster = {
    host: "0.0.0.0",
    port: 6222,
    routes: ["nats://r:1"],
    noAdvertise: false,
    connectRetries: 0,
    authorization: { user: "f", password: "g" },
  };
  file.tls = {
    verify: false,
    verifyAndMap: false,
    insecure: false,
    timeout: 5,
    handshakeFirst: false,
  };
  const flags = parseFlags([
    "-p",
    "2222",
    "-D=false",
    "--user",
    "u",
    "--cluster",
    "nats://h:7000",
    "--tlscert",
    "c",
    "--tlskey",
    "k",
  ]);
  const m = mergeOptions(file, flags.overrides);
  assert.deepEqual([m.port, m.debug], [2222, false]);
  assert.deepEqual(m.authorization, { users: [{ user: "x" }], user: "u" });
  assert.deepEqual(
    [m.cluster!.host, m.cluster!.port, m.cluster!.routes, m.cluster!.authorization],
    [
      "h",
      7000,
      ["nats://r:1"],
      undefined,
    ],
  );
  assert.deepEqual([m.tls!.certFile, m.tls!.timeout], ["c", 5]);
  assert.equal(file.port, 1111, "inputs are not modified");
  assert.equal(mergeOptions(file, parseFlags(["-tls=false"]).overrides).tls, undefined);
});

Deno.test("mergeOptions() --user, --pass and --auth each replace only their own field", () => {
  const file = defaultOptions();
  file.authorization = { user: "alice", password: "apw", timeout: 1 };
  const merge = (...args: string[]) => mergeOptions(file, parseFlags(args).overrides).authorization;
  // Was: a --pass flag dropped the file's user, leaving the server with no auth at all.
  assert.deepEqual(merge("--pass", "bpw"), { user: "alice", password: "bpw", timeout: 1 });
  assert.deepEqual(merge("--user", "bob"), { user: "bob", password: "apw", timeout: 1 });
  assert.deepEqual(merge("--auth", "tok"), {
    user: "alice",
    password: "apw",
    token: "tok",
    timeout: 1,
  });
  // An empty flag still replaces its field, as nats-server (flags are parsed again over the file).
  assert.deepEqual(merge("--user", ""), { user: "", password: "apw", timeout: 1 });
});

Deno.test("usageText() and helpTlsText() list the flags and names", () => {
  const u = usageText();
  assert.ok(u.startsWith("Usage: dnatsd [options]"));
  for (const group of ["Server", "Logging", "Authorization", "TLS", "Cluster", "Common"]) {
    assert.ok(u.includes(`${group} options:`), group);
  }
  for (
    const flag of ["--routes", "--cluster_name", "-DVV", "--ports_file_dir", "--help_tls", "-sl"]
  ) {
    assert.ok(u.includes(flag), flag);
  }
  const t = helpTlsText();
  assert.ok(t.includes("TLS_CHACHA20_POLY1305_SHA256") && t.includes("CurveP521"));
});

Deno.test("resolveOptions() end to end", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const conf = `${dir}/s.conf`;
    await Deno.writeTextFile(conf, "port: $P\ndebug: true\ncluster { port: 6222 }\n");
    const env = { P: "4333" };
    const run = await resolveOptions(["-c", conf, "-D=false", "--routes", "nats://a:1"], env);
    assert.deepEqual(run.errors, []);
    assert.equal(run.command, "run");
    assert.deepEqual([run.options.port, run.options.debug, run.options.configFile], [
      4333,
      false,
      conf,
    ]);
    assert.deepEqual(run.options.cluster?.routes, ["nats://a:1"]);
    assert.ok(run.setKeys.has("port") && run.setKeys.has("debug"));

    const ok = await resolveOptions(["-t", "-c", conf], env);
    assert.deepEqual([ok.command, ok.exitCode, ok.stderr], [
      "check_config",
      0,
      `dnatsd: configuration file ${conf} is valid\n`,
    ]);
    const noC = await resolveOptions(["-t"]);
    assert.deepEqual([noC.exitCode, noC.stderr], [
      1,
      "dnatsd: must specify [-c, --config] option to check configuration file syntax\n",
    ]);
    await Deno.writeTextFile(`${dir}/w.conf`, "ping_interval: 5\n");
    const warned = await resolveOptions(["-t", "-c", `${dir}/w.conf`]);
    assert.equal(warned.exitCode, 1, "-t fails on warnings");
    const running = await resolveOptions(["-c", `${dir}/w.conf`]);
    assert.deepEqual([running.exitCode, running.errors, running.options.pingIntervalMs], [
      0,
      [],
      5000,
    ]);
    assert.match(running.stderr ?? "", /should be converted to a duration/);

    const routes = await resolveOptions(["--routes", "nats://a:1"]);
    assert.deepEqual(routes.errors, [
      "solicited routes require cluster capabilities, e.g. --cluster",
    ]);
    const both = await resolveOptions(["-m", "8222", "-ms", "8443"]);
    assert.deepEqual(both.errors, ["can't specify both HTTP (8222) and HTTPs (8443) ports"]);
    const bad = await resolveOptions(["-p", "abc"]);
    assert.deepEqual([bad.exitCode, bad.stderr], [
      0,
      'invalid value "abc" for flag -p: parse error\n',
    ]);
    assert.ok(bad.stdout?.startsWith("Usage: dnatsd"));
    const word = await resolveOptions(["foo"]);
    assert.deepEqual([word.exitCode, word.stderr], [1, 'dnatsd: unrecognized command: "foo"\n']);
    const missing = await resolveOptions(["-c", `${dir}/nope.conf`]);
    assert.deepEqual(missing.errors, [`open ${dir}/nope.conf: no such file or directory`]);
    const sig = await resolveOptions(["-sl", "stop=12", "-t"]);
    assert.deepEqual([sig.command, sig.signal], ["signal", { command: "stop", target: "12" }]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
