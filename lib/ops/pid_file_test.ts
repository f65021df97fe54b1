import assert from "node:assert/strict";
import { join } from "node:path";
import { PID_FILE_MODE, readPidFile, removePidFile, writePidFile } from "./pid_file.ts";
import { withTempDir } from "./_test_util.ts";

Deno.test("writePidFile() writes the decimal pid without a newline", () => {
  withTempDir((dir) => {
    const path = join(dir, "d.pid");
    writePidFile(path);
    assert.equal(Deno.readTextFileSync(path), String(Deno.pid));
    writePidFile(path, 123);
    assert.equal(Deno.readTextFileSync(path), "123");
  });
});

Deno.test(
  "writePidFile() creates the file with mode 0660 less the umask",
  { ignore: Deno.build.os === "windows" },
  () => {
    withTempDir((dir) => {
      const path = join(dir, "d.pid");
      writePidFile(path, 1);
      const mode = (Deno.statSync(path).mode ?? 0) & 0o777;
      assert.equal(mode & ~PID_FILE_MODE, 0, mode.toString(8));
      assert.equal(mode & 0o600, 0o600, mode.toString(8));
    });
  },
);

Deno.test("writePidFile() refuses impossible pids and missing directories", () => {
  withTempDir((dir) => {
    assert.throws(() => writePidFile(join(dir, "a.pid"), 0), RangeError);
    assert.throws(() => writePidFile(join(dir, "a.pid"), 1.5), RangeError);
    assert.throws(() => writePidFile(join(dir, "missing", "a.pid"), 1), Deno.errors.NotFound);
  });
});

Deno.test("readPidFile() reads back what writePidFile() wrote", () => {
  withTempDir((dir) => {
    const path = join(dir, "d.pid");
    writePidFile(path, 2147483647);
    assert.equal(readPidFile(path), 2147483647);
  });
});

Deno.test("readPidFile() accepts bare digits only", () => {
  withTempDir((dir) => {
    const path = join(dir, "d.pid");
    for (
      const content of [
        "",
        "12\n",
        " 12",
        "+12",
        "-1",
        "0",
        "1e3",
        "abc",
        "2147483648",
        "12345678901",
      ]
    ) {
      Deno.writeTextFileSync(path, content);
      assert.throws(
        () => readPidFile(path),
        (err: unknown) =>
          err instanceof SyntaxError && err.message === `invalid pid: ${JSON.stringify(content)}`,
        `content ${JSON.stringify(content)}`,
      );
    }
    assert.throws(() => readPidFile(join(dir, "none.pid")), Deno.errors.NotFound);
  });
});

Deno.test("removePidFile() deletes the file and ignores a missing one", () => {
  withTempDir((dir) => {
    const path = join(dir, "d.pid");
    writePidFile(path, 5);
    removePidFile(path);
    assert.throws(() => Deno.statSync(path), Deno.errors.NotFound);
    removePidFile(path);
  });
});
