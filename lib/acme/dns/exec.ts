/**
 * The `exec` DNS provider, compatible with lego's: runs
 * `<program> present <fqdn> <value>` and `<program> cleanup <fqdn> <value>`,
 * where fqdn ends with a dot and value is the TXT value. A non-zero exit is
 * an error carrying the program's stderr.
 *
 * @module
 */
import type { DnsProvider } from "./provider.ts";

/** Runs an external program to manage TXT records. */
export class ExecProvider implements DnsProvider {
  readonly name = "exec";
  #program: string;
  #timeoutMs: number;

  /**
   * @param program path of the executable (lego's `EXEC_PATH`)
   * @param opts timeoutMs bounds each run (default 2 min)
   */
  constructor(program: string, opts: { timeoutMs?: number } = {}) {
    if (!program) throw new TypeError("exec DNS provider needs EXEC_PATH (exec_path)");
    this.#program = program;
    this.#timeoutMs = opts.timeoutMs ?? 120_000;
  }

  async #run(action: "present" | "cleanup", fqdn: string, value: string): Promise<void> {
    const cmd = new Deno.Command(this.#program, {
      args: [action, fqdn, value],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    const out = await cmd.output();
    if (!out.success) {
      const stderr = new TextDecoder().decode(out.stderr).trim().slice(0, 300);
      throw new Error(
        `exec DNS provider: ${this.#program} ${action} ${fqdn} exited with ${out.code}${
          stderr ? `: ${stderr}` : ""
        }`,
      );
    }
  }

  present(fqdn: string, value: string): Promise<void> {
    return this.#run("present", fqdn, value);
  }

  cleanup(fqdn: string, value: string): Promise<void> {
    return this.#run("cleanup", fqdn, value);
  }
}
