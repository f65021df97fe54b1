import assert from "node:assert/strict";
import { join } from "node:path";
import {
  formatPortsJson,
  portsFilePath,
  processBaseName,
  removePortsFile,
  writePortsFile,
} from "./ports_file.ts";
import { withTempDir } from "./_test_util.ts";

Deno.test("processBaseName() is dnatsd under deno, the binary's name when compiled", () => {
  assert.equal(processBaseName("/usr/bin/deno"), "dnatsd");
  assert.equal(processBaseName("C:\\deno\\deno.exe"), "dnatsd");
  assert.equal(processBaseName("/opt/bin/my-nats"), "my-nats");
  assert.equal(processBaseName("C:\\bin\\dnatsd.exe"), "dnatsd.exe");
  // This test runs under the deno executable.
  assert.equal(processBaseName(), "dnatsd");
});

Deno.test("portsFilePath() is <dir>/<exe>_<pid>.ports", () => {
  assert.equal(portsFilePath("/tmp/p", "dnatsd", 12260), join("/tmp/p", "dnatsd_12260.ports"));
});

Deno.test("formatPortsJson() matches nats-server: key order, empty lists left out", () => {
  assert.equal(
    formatPortsJson({
      websocket: [],
      profile: ["http://127.0.0.1:19241"],
      cluster: ["nats://127.0.0.1:16241"],
      monitoring: ["http://127.0.0.1:18241"],
      nats: ["nats://127.0.0.1:14241"],
    }),
    '{"nats":["nats://127.0.0.1:14241"],"monitoring":["http://127.0.0.1:18241"],' +
      '"cluster":["nats://127.0.0.1:16241"],"profile":["http://127.0.0.1:19241"]}',
  );
  assert.equal(formatPortsJson({}), "{}");
  assert.equal(
    formatPortsJson({
      nats: ["nats://[::1]:4222", "nats://127.0.0.1:4222"],
      websocket: ["ws://h:8080"],
    }),
    '{"nats":["nats://[::1]:4222","nats://127.0.0.1:4222"],"websocket":["ws://h:8080"]}',
  );
});

Deno.test("writePortsFile() writes the JSON atomically and removePortsFile() deletes it", () => {
  withTempDir((dir) => {
    const path = writePortsFile(dir, { nats: ["nats://127.0.0.1:4222"], monitoring: [] }, {
      pid: 31,
    });
    assert.equal(path, join(dir, "dnatsd_31.ports"));
    assert.deepEqual(JSON.parse(Deno.readTextFileSync(path)), { nats: ["nats://127.0.0.1:4222"] });
    // Rewriting replaces the content; no temporary file is left behind.
    writePortsFile(dir, { nats: ["nats://127.0.0.1:5222"] }, { pid: 31 });
    assert.equal(Deno.readTextFileSync(path), '{"nats":["nats://127.0.0.1:5222"]}');
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["dnatsd_31.ports"]);
    removePortsFile(path);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    removePortsFile(path);
  });
});

Deno.test("writePortsFile() defaults to this process and names the executable", () => {
  withTempDir((dir) => {
    const path = writePortsFile(dir, { nats: ["nats://127.0.0.1:1"] });
    assert.equal(path, join(dir, `dnatsd_${Deno.pid}.ports`));
    const custom = writePortsFile(dir, {}, { pid: 2, exeBase: "my-nats" });
    assert.equal(custom, join(dir, "my-nats_2.ports"));
    assert.equal(Deno.readTextFileSync(custom), "{}");
  });
});

Deno.test("writePortsFile() into a missing directory throws and leaves nothing", () => {
  withTempDir((dir) => {
    assert.throws(
      () => writePortsFile(join(dir, "missing"), { nats: [] }, { pid: 1 }),
      Deno.errors.NotFound,
    );
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});
