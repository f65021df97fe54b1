/**
 * Setting JetStream up on start: the store directory (made as nats-server
 * makes it, with its error words), the limits derived from the machine when
 * not configured, and the start-up banner.
 *
 * @module
 */
import type { JetStreamOptions } from "../config/options.ts";
import type { JetStreamConfigInfo, JetStreamHost } from "./handle.ts";

const decoder = new TextDecoder();

/**
 * Resolves the store directory and the server's limits (the accounts'
 * JetStream is started by lib/jetstream/accounts.ts).
 */
export async function jetStreamConfig(
  host: JetStreamHost,
  options: JetStreamOptions,
): Promise<JetStreamConfigInfo> {
  // Without a store_dir: <temp dir>/nats/jetstream, the same on every start (as nats-server).
  const tmp = (Deno.env.get("TMPDIR") || "/tmp").replace(/\/+$/, "");
  const base = options.storeDir !== "" ? options.storeDir : `${tmp}/nats`;
  const storeDir = base.replace(/\/+$/, "") + "/jetstream";
  host.log.notice("Starting JetStream");
  mkdirAll(storeDir);
  const maxMemory = options.maxMemory >= 0 ? options.maxMemory : defaultMaxMemory();
  const maxStore = options.maxStore >= 0 ? options.maxStore : await defaultMaxStore(storeDir);
  const config: JetStreamConfigInfo = {
    max_memory: maxMemory,
    max_storage: maxStore,
    store_dir: storeDir,
  };
  if (options.domain) config.domain = options.domain;
  // nats-server shows compress_ok only when both limits were configured (it
  // keeps the given settings then, and derives a new set from the machine otherwise).
  if (options.maxMemory >= 0 && options.maxStore >= 0) config.compress_ok = true;
  const log = host.log;
  log.notice("---------------- JETSTREAM ----------------");
  log.notice(`  Max Memory:      ${friendlyBytes(config.max_memory)}`);
  log.notice(`  Max Storage:     ${friendlyBytes(config.max_storage)}`);
  log.notice(`  Store Directory: "${config.store_dir}"`);
  if (config.domain) log.notice(`  Domain:          ${config.domain}`);
  log.notice("-------------------------------------------");
  return config;
}

/**
 * Creates `dir` and its parents, failing as nats-server words it: the first
 * directory that could not be made, with Go's text for the system error.
 */
function mkdirAll(dir: string): void {
  const parts = dir.split("/");
  for (let i = 1; i <= parts.length; i++) {
    const path = parts.slice(0, i).join("/");
    if (path === "") continue;
    try {
      if (Deno.statSync(path).isDirectory) continue;
    } catch {
      // Missing: made below.
    }
    try {
      Deno.mkdirSync(path);
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists) continue;
      const why = e instanceof Deno.errors.NotFound
        ? "no such file or directory"
        : e instanceof Deno.errors.PermissionDenied
        ? "permission denied"
        : e instanceof Deno.errors.NotADirectory
        ? "not a directory"
        : (e as Error).message;
      throw new Error(
        `Can't start JetStream: could not create storage directory - mkdir ${path}: ${why}`,
      );
    }
  }
}

/** 75% of the machine's memory, as nats-server. */
function defaultMaxMemory(): number {
  try {
    return Math.floor(Deno.systemMemoryInfo().total * 0.75);
  } catch {
    return 1024 * 1024 * 1024;
  }
}

/** 75% of the free disk space under `dir`, at most 1 TB, as nats-server. */
async function defaultMaxStore(dir: string): Promise<number> {
  const TB = 1024 ** 4;
  try {
    const out = await new Deno.Command("df", {
      args: ["-B1", "--output=avail", dir],
      stdout: "piped",
      stderr: "null",
    }).output();
    const lines = decoder.decode(out.stdout).trim().split("\n");
    const avail = Number(lines[lines.length - 1].trim());
    if (out.success && Number.isFinite(avail) && avail > 0) {
      return Math.min(Math.floor(avail * 0.75), TB);
    }
  } catch {
    // No df: the cap.
  }
  return TB;
}

/** Bytes as nats-server's friendlyBytes prints them in the start-up banner. */
function friendlyBytes(n: number): string {
  const units = ["K", "M", "G", "T", "P", "E"];
  if (n < 1024) return `${n} B`;
  let exp = Math.floor(Math.log(n) / Math.log(1024));
  if (exp > units.length) exp = units.length;
  return `${(n / 1024 ** exp).toFixed(2)} ${units[exp - 1]}B`;
}
