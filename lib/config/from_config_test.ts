import assert from "node:assert/strict";
import { ConfigError, formatIssue, optionsFromConfig, validateOptions } from "./from_config.ts";
import { loadConfigFile } from "./load.ts";
import { defaultOptions, type Options } from "./options.ts";
import { load, problems } from "./_test_util.ts";

const CERTS = new URL("../../certs/", import.meta.url).pathname;
const TLS = `cert_file: "${CERTS}server-cert.pem", key_file: "${CERTS}server-key.pem"`;

function opts(text: string): Options {
  const r = load(text);
  assert.deepEqual([...r.warnings, ...r.errors].map(formatIssue), [], text);
  return r.options;
}

Deno.test("optionsFromConfig() listeners, aliases and case-insensitive keys", () => {
  const o = opts("LISTEN: 127.0.0.1:4333\nserver_name: s1\nclient_advertise: 'x:1'\n");
  assert.deepEqual([o.host, o.port, o.serverName, o.clientAdvertise], [
    "127.0.0.1",
    4333,
    "s1",
    "x:1",
  ]);
  assert.equal(opts("net: 10.0.0.1").host, "10.0.0.1");
  assert.equal(opts("listen: 4444").port, 4444);
  assert.deepEqual(
    [
      opts("http: 127.0.0.1:8222").httpHost,
      opts("http: 8222").httpPort,
      opts("monitor_port: 1").httpPort,
    ],
    ["127.0.0.1", 8222, 1],
  );
  const s = opts("https: 0.0.0.0:8443\nhttp_base_path: /mon\n");
  assert.deepEqual([s.httpsPort, s.httpBasePath], [8443, "/mon"]);
  assert.deepEqual(problems('listen: "nope"'), [
    't.conf:1:0: could not parse address string "nope"',
  ]);
});

Deno.test("optionsFromConfig() limits, logging and files", () => {
  const o = opts(
    "max_conn: 10\nmax_subs: 5\nmax_payload: 2KB\nmax_pending: 10MB\nmax_control_line: 1024\n" +
      "ping_max: 4\nlogfile: /tmp/l\nlogfile_size_limit: 1MB\nsyslog: true\nremote_syslog: 'udp://h:514'\n" +
      "pidfile: /tmp/p\nports_file_dir: /tmp\nmax_traced_msg_len: 20\ntrace_verbose: true\nlogtime: false\n" +
      "no_header_support: true\nno_sublist_cache: true\nallow_non_tls: true\n",
  );
  assert.deepEqual(
    [
      o.maxConnections,
      o.maxSubscriptions,
      o.maxPayload,
      o.maxPending,
      o.maxControlLine,
      o.maxPingsOut,
    ],
    [10, 5, 2048, 10 * 1048576, 1024, 4],
  );
  assert.deepEqual([o.logFile, o.logSizeLimit, o.syslog, o.remoteSyslog], [
    "/tmp/l",
    1048576,
    true,
    "udp://h:514",
  ]);
  assert.deepEqual([o.pidFile, o.portsFileDir, o.maxTracedMsgLen], ["/tmp/p", "/tmp", 20]);
  assert.deepEqual([o.trace, o.traceVerbose, o.logtime], [true, true, false]);
  assert.deepEqual([o.noHeaderSupport, o.disableSublistCache, o.allowNonTls], [true, true, true]);
  assert.deepEqual(problems("max_payload: 3GB"), ["t.conf:1:0: max_payload value is too big"]);
  assert.deepEqual(problems("port: 'x'"), [
    "t.conf:1:0: interface conversion: interface {} is string, not int64",
  ]);
});

Deno.test("optionsFromConfig() durations", () => {
  const o = opts(
    'ping_interval: "30s"\nwrite_deadline: "1m30s"\nlame_duck_duration: "45s"\nlame_duck_grace_period: "1s"\n',
  );
  assert.deepEqual([
    o.pingIntervalMs,
    o.writeDeadlineMs,
    o.lameDuckDurationMs,
    o.lameDuckGracePeriodMs,
  ], [
    30_000,
    90_000,
    45_000,
    1000,
  ]);
  const r = load("ping_interval: 5\nwrite_deadline: 3\n");
  assert.equal(r.options.pingIntervalMs, 5000);
  assert.equal(r.options.writeDeadlineMs, 3000);
  assert.deepEqual(r.warnings.map(formatIssue), [
    't.conf:1:0: invalid use of field "ping_interval": ping_interval should be converted to a duration',
    't.conf:2:1: invalid use of field "write_deadline": write_deadline should be converted to a duration',
  ]);
  assert.deepEqual(problems('write_deadline: "5x"'), [
    't.conf:1:0: error parsing write_deadline: time: unknown unit "x" in duration "5x"',
  ]);
  assert.deepEqual(problems('lame_duck_duration: "10s"'), [
    "t.conf:1:0: invalid lame_duck_duration of 10s, minimum is 30 seconds",
  ]);
  assert.deepEqual(problems("lame_duck_duration: 40"), [
    "t.conf:1:0: interface conversion: interface {} is int64, not string",
  ]);
  assert.deepEqual(problems('lame_duck_grace_period: "-5s"'), [
    "t.conf:1:0: invalid lame_duck_grace_period, needs to be positive",
  ]);
});

Deno.test("optionsFromConfig() unknown fields and referenced variables", () => {
  assert.deepEqual(problems("port: 4222\nfoo: 1\n"), ['t.conf:2:1: unknown field "foo"']);
  assert.deepEqual(problems("cluster {\n  port: 4244\n  bogus: 1\n}\n"), [
    't.conf:3:3: unknown field "bogus"',
  ]);
  assert.deepEqual(problems("x = 1\nport: 4222\n"), ['t.conf:1:0: unknown field "x"']);
  assert.deepEqual(problems("x = 1\nport: $x\n"), []);
  assert.deepEqual(
    problems(
      "authorization {\n ADMIN = {publish: a}\n users: [{user: a, permissions: $ADMIN}]\n}\n",
    ),
    [],
  );
});

Deno.test("optionsFromConfig() authorization block", () => {
  const a = opts("authorization { user: u, password: p, timeout: 1.5 }").authorization!;
  assert.deepEqual(a, { user: u(), password: "p", timeout: 1.5 });
  function u() {
    return "u";
  }
  assert.equal(opts("authorization { token: t, timeout: 'x' }").authorization?.timeout, 1);
  assert.equal(opts("authorization { username: u, pass: p }").authorization?.password, "p");
  const users = opts(
    'authorization { default_permissions: { publish: "x" }\n users: [{user: a, password: b}, {user: c, permissions: {subscribe: "y"}}, {nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4, allowed_connection_types: ["STANDARD"]}] }',
  ).authorization!.users!;
  assert.deepEqual(users[0]!.permissions, { publish: { allow: ["x"] } });
  assert.deepEqual(users[1]!.permissions, { subscribe: { allow: ["y"] } });
  assert.deepEqual(users[2]!.allowedConnectionTypes, ["STANDARD"]);

  const errs: Array<[string, string]> = [
    [
      "authorization { user: a, password: b, token: c }",
      "t.conf:1:0: Cannot have a user/pass and token",
    ],
    [
      "authorization { user: a, users: [] }",
      "t.conf:1:0: Can not have a single user/pass and a users array",
    ],
    ["authorization { token: a, users: [] }", "t.conf:1:0: Can not have a token and a users array"],
    [
      "authorization {\n users = [\n  {user: a}\n  {user: a}\n ]\n}\n",
      't.conf:1:0: Duplicate user "a" detected',
    ],
    [
      "authorization {\n  users = [\n    {password: b}\n  ]\n}\n",
      "t.conf:3:6: User entry requires a user",
    ],
    ["authorization { users: [{nkey: UABC}] }", "t.conf:1:25: Not a valid public nkey for a user"],
    [
      "authorization { users: [{nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4, user: a}] }",
      "t.conf:1:89: Nkey users do not take usernames or passwords",
    ],
    ["authorization { users: 1 }", "t.conf:1:16: Expected users field to be an array, got 1"],
    [
      "authorization { users: [{user: a, clients: [FOO]}] }",
      't.conf:1:34: invalid connection types ["FOO"]',
    ],
    ["authorization { bogus: 1 }", 't.conf:1:16: unknown field "bogus"'],
  ];
  for (const [text, message] of errs) assert.deepEqual(problems(text), [message], text);
});

Deno.test("optionsFromConfig() permissions", () => {
  const p = opts(
    'authorization { users: [{user: a, permissions: {pub: {allow: ["a.>"], deny: "b"}, sub: ["c", "d q"], allow_responses: {max: 2, ttl: "1m"}}}] }',
  ).authorization!.users![0]!.permissions!;
  assert.deepEqual(p, {
    publish: { allow: ["a.>"], deny: ["b"] },
    subscribe: { allow: ["c", "d q"] },
    allowResponses: { maxMsgs: 2, expiresMs: 60_000 },
  });
  const r = opts("authorization { users: [{user: a, permissions: {allow_responses: true}}] }")
    .authorization!.users![0]!.permissions!;
  assert.deepEqual(r, {
    publish: { allow: [] },
    allowResponses: { maxMsgs: 1, expiresMs: 120_000 },
  });
  const errs: Array<[string, string]> = [
    [
      "authorization { users: [{user: a, permissions: {publish: {allow: a, bad: 1}}}] }",
      `t.conf:1:68: Unknown field name "bad" parsing subject permissions, only 'allow' or 'deny' are permitted`,
    ],
    [
      "authorization { users: [{user: a, permissions: {bad: 1}}] }",
      't.conf:1:48: Unknown field "bad" parsing permissions',
    ],
    [
      "authorization { users: [{user: a, permissions: 1}] }",
      "t.conf:1:34: Expected permissions to be a map/struct, got 1",
    ],
    [
      'authorization { users: [{user: a, permissions: {publish: "a..b"}}] }',
      't.conf:1:48: subject "a..b" is not a valid subject',
    ],
    [
      'authorization { users: [{user: a, permissions: {subscribe: ["foo q r"]}}] }',
      't.conf:1:48: subject "foo q r" is not a valid subject',
    ],
    [
      "authorization { users: [{user: a, permissions: {allow_responses: {expires: 5}}}] }",
      "t.conf:1:66: error parsing expires, not a duration string",
    ],
    [
      "authorization { users: [{user: a, permissions: {allow_responses: 1}}] }",
      "t.conf:1:48: error parsing response permissions, expected a boolean or a map",
    ],
  ];
  for (const [text, message] of errs) assert.deepEqual(problems(text), [message], text);
});

Deno.test("optionsFromConfig() accounts", () => {
  const o = opts(
    "accounts { A { users: [{user: a}], default_permissions: {publish: x}, limits: {max_conn: 3} }, B: {} }\nno_auth_user: a\n",
  );
  assert.equal(o.accounts!.length, 2);
  assert.deepEqual(o.accounts![0]!.users[0], {
    user: "a",
    account: "A",
    permissions: { publish: { allow: ["x"] } },
  });
  assert.deepEqual(o.accounts![0]!.limits, { maxConnections: 3 });
  assert.equal(o.noAuthUser, "a");
  assert.deepEqual(opts("accounts [A, B]").accounts!.map((a) => a.name), ["A", "B"]);
  assert.deepEqual(opts("accounts { A { imports: [] } }").accounts!.length, 1);
  const errs: Array<[string, string]> = [
    ["accounts { $G { users: [{user: a}] } }", 't.conf:1:11: "$G" is a Reserved Account'],
    [
      "accounts { A { users: [{user: a}] }, B { users: [{user: a}] } }",
      't.conf:1:41: Duplicate user "a" detected',
    ],
    [
      "accounts { A { users: [{user: a}] } }\nauthorization { users: [{user: a}] }\n",
      't.conf:2:1: Duplicate user "a" detected',
    ],
    [
      "accounts { A { users: [{user: a}] } }\nauthorization { user: b, password: c }\n",
      "t.conf:1:15: Can not have a single user/pass and accounts",
    ],
    ["accounts { A { foo: 1 } }", 't.conf:1:15: unknown field "foo"'],
    [
      "accounts { A { imports: [{stream: {account: B, subject: x}}] } }",
      't.conf:1:0: "B" account not defined for stream import',
    ],
    [
      "accounts { A { exports: [{stream: x, response: single}] } }",
      "t.conf:1:37: Detected response directive on non-service",
    ],
  ];
  for (const [text, message] of errs) assert.deepEqual(problems(text), [message], text);
});

Deno.test("optionsFromConfig() tls block", () => {
  const t = opts(
    `tls { ${TLS}, ca_file: "${CERTS}ca.pem", verify_and_map: true, timeout: "3s", cipher_suites: [TLS_AES_128_GCM_SHA256], curve_preferences: [X25519], pinned_certs: ["ABC"], connection_rate_limit: 5, handshake_first: true, insecure: true }`,
  ).tls!;
  assert.equal(t.certFile, `${CERTS}server-cert.pem`);
  assert.deepEqual([t.verify, t.verifyAndMap, t.timeout, t.insecure, t.handshakeFirst], [
    true,
    true,
    3,
    true,
    true,
  ]);
  assert.deepEqual([t.cipherSuites, t.curvePreferences, t.pinnedCerts, t.connectionRateLimit], [
    ["TLS_AES_128_GCM_SHA256"],
    ["X25519"],
    ["abc"],
    5,
  ]);
  assert.equal(opts(`tls { ${TLS}, timeout: 0.5 }`).tls!.timeout, 0.5);
  assert.equal(opts(`tls { ${TLS} }`).tls!.timeout, 2);
  const errs: Array<[string, string]> = [
    ['tls {\n  cert_file: "a"\n}\n', "t.conf:1:0: missing 'key_file' in TLS configuration"],
    ['tls {\n  key_file: "a"\n}\n', "t.conf:1:0: missing 'cert_file' in TLS configuration"],
    [`tls { ${TLS}\n  bad: 1\n}\n`, 't.conf:2:3: error parsing tls config, unknown field ["bad"]'],
    [
      `tls { ${TLS}\n  cipher_suites: []\n}\n`,
      "t.conf:2:3: error parsing tls config, 'cipher_suites' cannot be empty",
    ],
    [`tls { ${TLS}\n  cipher_suites: ["FOO"]\n}\n`, "t.conf:2:20: unrecognized cipher FOO"],
    [
      `tls { ${TLS}\n curve_preferences: [Foo]\n}\n`,
      "t.conf:2:22: unrecognized curve preference Foo",
    ],
    [
      `tls { ${TLS}\n timeout: true\n}\n`,
      "t.conf:2:2: error parsing tls config, 'timeout' wrong type",
    ],
    [
      `tls { ${TLS}\n verify: 1\n}\n`,
      "t.conf:2:2: error parsing tls config, expected 'verify' to be a boolean",
    ],
    [
      "tls { cert_file: 1 }",
      "t.conf:1:6: error parsing tls config, expected 'cert_file' to be filename",
    ],
    [
      `tls { cert_file: "${CERTS}server-cert.pem", key_file: nope.pem }`,
      "t.conf:1:0: error parsing X509 certificate/key pair: open nope.pem: no such file or directory",
    ],
    [
      `tls { ${TLS}, ca_file: "${CERTS}server-key.pem" }`,
      "t.conf:1:0: failed to parse root ca certificate",
    ],
    [
      `tls { ${TLS}\n verify_cert_and_check_known_urls: true }`,
      "t.conf:2:2: verify_cert_and_check_known_urls not supported in this context",
    ],
  ];
  for (const [text, message] of errs) assert.deepEqual(problems(text), [message], text);
});

Deno.test("optionsFromConfig() tls acme block", () => {
  const acme = opts(
    'tls { acme { domains: ["a.example", "b.example"], email: "ops@example", ca: staging, agree_tos: true, key_type: rsa2048, storage: "/var/acme", renew_fraction: 0.25, check_interval: "1h", challenge: dns-01, dns_provider: rfc2136, dns_resolvers: ["127.0.0.1:53"], ca_roots: "/ca.pem", eab { kid: k, hmac_key: h }, dns_propagation_timeout: 30 } }',
  ).tls!.acme!;
  assert.deepEqual(acme, {
    domains: ["a.example", "b.example"],
    email: "ops@example",
    caDirectory: "staging",
    agreeTos: true,
    keyType: "RSA2048",
    storageDir: "/var/acme",
    renewFraction: 0.25,
    checkIntervalMs: 3_600_000,
    challenge: "dns-01",
    dnsProvider: "rfc2136",
    dnsResolvers: ["127.0.0.1:53"],
    caRoots: ["/ca.pem"],
    eab: { kid: "k", hmacKey: "h" },
    extra: { dns_propagation_timeout: 30 },
  });
  assert.equal(
    opts('tls { acme { domains: "x.example", startup_timeout: "10m" } }').tls!.acme!
      .startupTimeoutMs,
    600_000,
  );
  const d = opts('tls { acme { domains: "x.example", renew_before: "240h" } }').tls!.acme!;
  assert.deepEqual([d.caDirectory, d.challenge, d.keyType, d.renewBeforeMs, d.extra], [
    "production",
    "http-01",
    "EC256",
    240 * 3_600_000,
    {},
  ]);
  // A key lib/acme does not read is an error, not a silently ignored setting.
  assert.deepEqual(problems('tls { acme { domains: x, renew_befor: "240h" } }'), [
    't.conf:1:25: unknown field "renew_befor"',
  ]);
  assert.match(
    problems("tls { acme { email: x } }")[0]!,
    /acme: 'domains' must list at least one domain name/,
  );
  assert.match(
    problems("tls { acme { domains: x, challenge: tls-alpn-01 } }")[0]!,
    /unknown challenge/,
  );
  assert.match(problems(`tls { ${TLS}, acme { domains: x } }`)[0]!, /cannot be combined/);
});

Deno.test("optionsFromConfig() cluster block", () => {
  const c = opts(
    'cluster { name: c1, listen: 127.0.0.1:6222, routes: ["nats://a:1", " nats://b:2 "], advertise: "x:1", no_advertise: true, connect_retries: 3, authorization { user: r, password: p, timeout: 0.5 }, permissions { import: a, export: {deny: b} } }',
  ).cluster!;
  assert.deepEqual(c, {
    name: "c1",
    host: "127.0.0.1",
    port: 6222,
    routes: ["nats://a:1", "nats://b:2"],
    advertise: "x:1",
    noAdvertise: true,
    connectRetries: 3,
    authorization: { user: "r", password: "p", timeout: 0.5 },
    permissions: { import: { allow: ["a"] }, export: { deny: ["b"] } },
  });
  assert.equal(
    opts(`cluster { port: 6222, tls { ${TLS}, verify: true } }`).cluster!.tls!.verify,
    true,
  );
  assert.deepEqual(opts("cluster { net: 1.2.3.4, port: -1 }").cluster!.host, "1.2.3.4");
  const errs: Array<[string, string]> = [
    [
      "cluster {\n  authorization { users: [] }\n}\n",
      "t.conf:2:3: Cluster authorization does not allow multiple users",
    ],
    [
      "cluster {\n  authorization { token: x }\n}\n",
      "t.conf:2:3: Cluster authorization does not support tokens",
    ],
    [
      "cluster { permissions { import: a, allow_responses: true } }",
      "t.conf:1:10: Cluster permissions do not support dynamic responses",
    ],
    [
      'cluster { routes: ["nats://a:1", "nats://a:1"] }',
      't.conf:1:34: invalid use of field "nats://a:1": Duplicate route entry detected',
    ],
    [
      "cluster { authorization { user: a, password: b, permissions: {import: a}} }",
      't.conf:1:10: invalid use of field "authorization": setting "permissions" within cluster authorization block is deprecated',
    ],
  ];
  for (const [text, message] of errs) assert.deepEqual(problems(text), [message], text);
});

Deno.test("optionsFromConfig() unsupported features unless disabled", () => {
  for (const key of ["gateway", "mqtt"]) {
    assert.deepEqual(problems(`${key} { port: 1 }`), [
      `t.conf:1:0: "${key}" is not supported by dnatsd`,
    ]);
    assert.deepEqual(problems(`${key} {}`), [], key);
  }
  assert.deepEqual(problems("jetstream: disabled\njetstream: false\n"), []);
  assert.deepEqual(problems("jetstream { enabled: false, store_dir: /x }"), []);
  assert.deepEqual(problems('operator: "/op.jwt"'), [
    `t.conf:1:0: "operator" is not supported by dnatsd`,
  ]);
  assert.deepEqual(problems("resolver: MEMORY"), [
    `t.conf:1:0: "resolver" is not supported by dnatsd`,
  ]);
  assert.deepEqual(
    problems(
      "prof_port: 0\nno_system_account: true\nconnect_error_reports: 10\nserver_tags: [a]\n",
    ),
    [],
  );
  assert.deepEqual(problems("prof_port: 6060"), [
    `t.conf:1:0: "prof_port" is not supported by dnatsd`,
  ]);
});

Deno.test("optionsFromConfig() collects every error and records set keys", () => {
  const r = load("port: 'a'\nfoo: 1\nping_interval: 3\ndebug: true\n");
  assert.equal(r.errors.length, 2);
  assert.equal(r.warnings.length, 1);
  assert.ok(r.setKeys.has("debug") && r.setKeys.has("pingIntervalMs") && !r.setKeys.has("port"));
  const e = new ConfigError(r.errors, r.warnings);
  assert.ok(e instanceof SyntaxError);
  assert.equal(
    e.message,
    [
      't.conf:3:1: invalid use of field "ping_interval": ping_interval should be converted to a duration',
      "t.conf:1:0: interface conversion: interface {} is string, not int64",
      't.conf:2:1: unknown field "foo"',
    ].join("\n"),
  );
});

Deno.test("validateOptions() start-time checks", () => {
  const check = (text: string) => validateOptions(opts(text)).map((i) => i.reason);
  assert.deepEqual(check("port: 1"), []);
  assert.deepEqual(check("no_auth_user: foo"), [
    'no_auth_user: "foo" present, but users are not defined',
  ]);
  assert.deepEqual(check("no_auth_user: foo\nauthorization { users: [{user: bar}] }"), [
    'no_auth_user: "foo" not present as user in authorization block or account configuration',
  ]);
  assert.deepEqual(check("no_auth_user: bar\nauthorization { users: [{user: bar}] }"), []);
  assert.deepEqual(check('lame_duck_duration: "40s"\nlame_duck_grace_period: "50s"'), [
    "lame duck grace period (50s) should be strictly lower than lame duck duration (40s)",
  ]);
  assert.deepEqual(check("max_payload: 100MB"), [
    "max_payload (104857600) cannot be higher than max_pending (67108864)",
  ]);
  assert.deepEqual(check("http: 8222\nhttps: 8333"), [
    "can't specify both HTTP (8222) and HTTPs (8333) ports",
  ]);
});

Deno.test("loadConfigFile() dispatches on the extension", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/a.json`,
      '{\n  "port": 4333,\n  "cluster": {"port": 6222, "bogus": 1}\n}\n',
    );
    await Deno.writeTextFile(
      `${dir}/a.yaml`,
      "port: 4334\nauthorization:\n  users:\n    - user: a\n      password: b\n",
    );
    await Deno.writeTextFile(`${dir}/a.conf`, "port: 4335\n");
    const json = optionsFromConfig(await loadConfigFile(`${dir}/a.json`), defaultOptions());
    assert.equal(json.options.port, 4333);
    assert.deepEqual(json.errors.map(formatIssue), [`${dir}/a.json:3:29: unknown field "bogus"`]);
    const yaml = optionsFromConfig(
      await loadConfigFile(`${dir}/a.yml`.replace(".yml", ".yaml")),
      defaultOptions(),
    );
    assert.equal(yaml.options.port, 4334);
    assert.deepEqual(yaml.options.authorization?.users, [{ user: "a", password: "b" }]);
    const conf = optionsFromConfig(await loadConfigFile(`${dir}/a.conf`), defaultOptions());
    assert.equal(conf.options.port, 4335);
    await assert.rejects(loadConfigFile(`${dir}/missing.json`), /no such file or directory/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
