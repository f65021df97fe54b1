import assert from "node:assert/strict";
import { validateOptions } from "./from_config.ts";
import { mergeOptions, parseFlags } from "./flags.ts";
import { defaultOptions } from "./options.ts";
import { load, problems } from "./_test_util.ts";

Deno.test("jetstream block: the forms nats-server accepts", () => {
  for (
    const text of ["jetstream: true", "jetstream: enabled", "jetstream: Enable", "jetstream {}"]
  ) {
    const r = load(text);
    assert.deepEqual(r.errors, [], text);
    assert.deepEqual(r.options.jetstream, { storeDir: "", maxMemory: -1, maxStore: -1 }, text);
  }
  for (const text of ["jetstream: false", "jetstream: disabled", "jetstream { enabled: false }"]) {
    assert.equal(load(text).options.jetstream, undefined, text);
  }
  const full = load(
    'jetstream { store_dir: "/data", max_memory_store: 1G, max_file_store: "2G", domain: hub }',
  );
  assert.deepEqual(full.errors, []);
  assert.deepEqual(full.options.jetstream, {
    storeDir: "/data",
    maxMemory: 1000 ** 3, // A bare 1G is a number in the config language: powers of 1000
    maxStore: 2 * 1024 ** 3, // A string goes through nats-server's getStorageSize: powers of 1024
    domain: "hub",
  });
  // Aliases, and a top-level store_dir.
  assert.deepEqual(
    load('store_dir: /top\njetstream { max_mem: 1024, max_file: "10K" }').options.jetstream,
    { storeDir: "/top", maxMemory: 1024, maxStore: 10240 },
  );
});

// Each text and position below is what `nats-server -t` prints for the same file.
Deno.test("jetstream block: nats-server's errors", () => {
  assert.deepEqual(problems("jetstream: maybe"), [
    "t.conf:1:0: Expected 'enabled' or 'disabled' for string value, got 'maybe'",
  ]);
  assert.deepEqual(problems("jetstream: 5"), [
    "t.conf:1:0: Expected map, bool or string to define JetStream, got int64",
  ]);
  assert.deepEqual(problems('jetstream { max_file_store: "10X" }'), [
    "t.conf:1:12: max_file_store sizes defined as strings must end in K, M, G, T",
  ]);
  assert.deepEqual(problems("store_dir: /a\njetstream { store_dir: /b }"), [
    "t.conf:2:13: Duplicate 'store_dir' configuration",
  ]);
  assert.deepEqual(problems("jetstream { port: 1 }"), ['t.conf:1:12: unknown field "port"']);
  assert.deepEqual(problems('jetstream { key: "s3cr3t" }'), [
    't.conf:1:12: "jetstream.key" is not supported by dnatsd yet',
  ]);
});

Deno.test("-js and -sd: on top of the file, and refused in a cluster", () => {
  const flags = parseFlags(["-js", "-sd", "/flags"]);
  const merged = mergeOptions(defaultOptions(), flags.overrides);
  assert.deepEqual(merged.jetstream, { storeDir: "/flags", maxMemory: -1, maxStore: -1 });
  // -sd alone does not turn JetStream on.
  assert.equal(
    mergeOptions(defaultOptions(), parseFlags(["-sd", "/x"]).overrides).jetstream,
    undefined,
  );
  // -js keeps the file's settings, -sd replaces its directory.
  const file = load("jetstream { store_dir: /file, max_mem: 2048 }").options;
  assert.deepEqual(mergeOptions(file, parseFlags(["-js"]).overrides).jetstream, {
    storeDir: "/file",
    maxMemory: 2048,
    maxStore: -1,
  });
  assert.equal(
    mergeOptions(file, parseFlags(["-sd", "/other"]).overrides).jetstream?.storeDir,
    "/other",
  );
  const clustered = load("jetstream: enabled\ncluster { port: 6222 }").options;
  assert.deepEqual(validateOptions(clustered).map((i) => i.reason), [
    "jetstream in a cluster is not supported by dnatsd yet (clustered JetStream needs replication); remove the cluster block or jetstream",
  ]);
});

// Each text and position below is what `nats-server -t` prints for the same file.
Deno.test("account jetstream: enabled, limits, and nats-server's errors", () => {
  const unlimited = {
    maxMemory: -1,
    maxStore: -1,
    maxStreams: -1,
    maxConsumers: -1,
    maxAckPending: -1,
    memoryMaxStreamBytes: -1,
    storeMaxStreamBytes: -1,
    maxBytesRequired: false,
  };
  const account = (js: string) => {
    const r = load(`accounts { A: { jetstream: ${js} } }`);
    assert.deepEqual(r.errors, [], js);
    return r.options.accounts![0].jetstream;
  };
  for (const js of ["enabled", "enable", "true", "{}"]) {
    assert.deepEqual(account(js), unlimited, js);
  }
  for (const js of ["disabled", "false"]) assert.equal(account(js), undefined, js);
  assert.deepEqual(
    account(
      "{ max_memory: 1G, Streams: 3, consumers: 4, max_file: 1024, max_ack_pending: 10, " +
        "disk_max_stream_bytes: 5, mem_max_stream_bytes: 6, max_bytes_required: true }",
    ),
    {
      maxMemory: 1000 ** 3,
      maxStore: 1024,
      maxStreams: 3,
      maxConsumers: 4,
      maxAckPending: 10,
      memoryMaxStreamBytes: 6,
      storeMaxStreamBytes: 5,
      maxBytesRequired: true,
    },
  );
  const bad = (js: string) => problems(`accounts { A: { jetstream: ${js} } }`);
  assert.deepEqual(bad('{ max_mem: "1G" }'), [
    't.conf:1:29: Expected a parseable size for "max_mem", got 1G',
  ]);
  assert.deepEqual(bad("{ max_bytes_required: 1 }"), [
    't.conf:1:29: Expected a parseable bool for "max_bytes_required", got 1',
  ]);
  assert.deepEqual(bad("{ foo: 1 }"), ['t.conf:1:29: unknown field "foo"']);
  assert.deepEqual(bad("maybe"), [
    "Expected 'enabled' or 'disabled' for string value, got 'maybe'",
  ]);
  assert.deepEqual(bad("5"), ["Expected map, bool or string to define JetStream, got int64"]);
});
