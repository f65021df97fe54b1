/**
 * {@link Storage} on a directory: atomic writes (temp file + rename), private
 * values at mode 0600, and locks that work across processes sharing the
 * directory (an exclusively created lock file whose holder refreshes a
 * timestamp; a lock nobody refreshed for two intervals is stale).
 *
 * @module
 */
import { abortableDelay } from "./retry.ts";
import type { LockOptions, Storage, StorageStat, StoreOptions } from "./storage.ts";

/** Tuning for {@link FileStorage}. */
export interface FileStorageOptions {
  /** How often a held lock's timestamp is refreshed (default 5 s); stale after twice that. */
  lockRefreshMs?: number;
}

interface LockFile {
  pid: number;
  host: string;
  created: number;
  updated: number;
}

/** Files under one root directory; keys map to relative paths. */
export class FileStorage implements Storage {
  readonly root: string;
  #refreshMs: number;
  #held = new Map<string, ReturnType<typeof setInterval>>();

  constructor(root: string, opts: FileStorageOptions = {}) {
    this.root = root.replace(/\/+$/, "") || "/";
    this.#refreshMs = opts.lockRefreshMs ?? 5000;
  }

  #path(key: string): string {
    if (key.split("/").some((p) => p === ".." || p === "")) {
      throw new RangeError(`Invalid storage key: ${key}`);
    }
    return `${this.root}/${key}`;
  }

  #lockPath(name: string): string {
    return this.#path(`locks/${name.replace(/[^A-Za-z0-9._-]/g, "_")}.lock`);
  }

  async load(key: string): Promise<Uint8Array | undefined> {
    try {
      return await Deno.readFile(this.#path(key));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw err;
    }
  }

  async store(key: string, value: Uint8Array | string, opts: StoreOptions = {}): Promise<void> {
    const path = this.#path(key);
    const dir = path.slice(0, path.lastIndexOf("/")) || "/";
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const bytes = typeof value === "string" ? new TextEncoder().encode(value) : value;
    const mode = opts.private ? 0o600 : 0o644;
    // Same directory as the target so rename is atomic (same file system).
    const tmp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
    try {
      await Deno.writeFile(tmp, bytes, { mode, createNew: true });
      // writeFile's mode goes through the umask; chmod makes it exact.
      await Deno.chmod(tmp, mode);
      await Deno.rename(tmp, path);
    } catch (err) {
      await Deno.remove(tmp).catch(() => {});
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await Deno.remove(this.#path(key));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (rel: string) => {
      let entries: Deno.DirEntry[] = [];
      try {
        entries = await Array.fromAsync(Deno.readDir(rel ? `${this.root}/${rel}` : this.root));
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return;
        throw err;
      }
      for (const e of entries) {
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory) await walk(key);
        else if (key.startsWith(prefix) && !key.includes(".tmp-")) out.push(key);
      }
    };
    await walk("");
    return out.sort();
  }

  async stat(key: string): Promise<StorageStat | undefined> {
    try {
      const st = await Deno.stat(this.#path(key));
      return { size: st.size, modified: st.mtime ?? new Date(0) };
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw err;
    }
  }

  /** Creates the lock file if absent; removes it first when stale. */
  async tryLock(name: string): Promise<boolean> {
    if (this.#held.has(name)) return false;
    const path = this.#lockPath(name);
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true, mode: 0o700 });
    for (let attempt = 0; attempt < 2; attempt++) {
      const now = Date.now();
      const body: LockFile = {
        pid: Deno.pid,
        host: Deno.hostname(),
        created: now,
        updated: now,
      };
      try {
        await Deno.writeTextFile(path, JSON.stringify(body), { createNew: true, mode: 0o600 });
        this.#startRefresh(name, path, body);
        return true;
      } catch (err) {
        if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
      }
      if (!(await this.#isStale(path))) return false;
      // Move the stale file aside before deleting it: a rename succeeds for
      // one contender only, so two processes do not both delete and create.
      const aside = `${path}.stale-${crypto.randomUUID().slice(0, 8)}`;
      try {
        await Deno.rename(path, aside);
        await Deno.remove(aside);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    }
    return false;
  }

  async #isStale(path: string): Promise<boolean> {
    let updated: number | undefined;
    try {
      const parsed = JSON.parse(await Deno.readTextFile(path)) as Partial<LockFile>;
      if (typeof parsed.updated === "number") updated = parsed.updated;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false; // released meanwhile: retry create
      // A half-written lock file: fall back to its mtime.
    }
    if (updated === undefined) {
      try {
        updated = (await Deno.stat(path)).mtime?.getTime() ?? 0;
      } catch {
        return false;
      }
    }
    return Date.now() - updated > 2 * this.#refreshMs;
  }

  #startRefresh(name: string, path: string, body: LockFile): void {
    const timer = setInterval(() => {
      body.updated = Date.now();
      // Failure to refresh only risks another process thinking the lock is stale.
      Deno.writeTextFile(path, JSON.stringify(body)).catch(() => {});
    }, this.#refreshMs);
    // A held lock must not keep the process alive on its own.
    Deno.unrefTimer(timer);
    this.#held.set(name, timer);
  }

  async lock(name: string, opts: LockOptions = {}): Promise<void> {
    const pollMs = Math.max(50, Math.min(1000, this.#refreshMs / 4));
    while (!(await this.tryLock(name))) {
      await abortableDelay(pollMs, opts.signal);
    }
  }

  async unlock(name: string): Promise<void> {
    const timer = this.#held.get(name);
    if (timer === undefined) return;
    clearInterval(timer);
    this.#held.delete(name);
    try {
      await Deno.remove(this.#lockPath(name));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
}
