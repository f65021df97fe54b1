/**
 * Where ACME state lives (account key, certificates, their metadata) and how
 * processes sharing it coordinate. Keys are `/`-separated relative paths.
 *
 * @module
 */

/** Size and modification time of a stored value. */
export interface StorageStat {
  size: number;
  modified: Date;
}

/** Options for {@link Storage.store}. */
export interface StoreOptions {
  /** Readable by the owner only (mode 0600 on files): private keys and the like. */
  private?: boolean;
}

/** Options for {@link Storage.lock}. */
export interface LockOptions {
  /** Stops waiting for the lock (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** A key-value store with named locks, shared by every dnatsd using the same place. */
export interface Storage {
  /** The value, or undefined when the key does not exist. */
  load(key: string): Promise<Uint8Array | undefined>;
  /** Writes atomically: readers see the old or the new value, never a mix. */
  store(key: string, value: Uint8Array | string, opts?: StoreOptions): Promise<void>;
  /** Removes a key; a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Keys that start with `prefix`. */
  list(prefix: string): Promise<string[]>;
  stat(key: string): Promise<StorageStat | undefined>;
  /** Waits until the named lock is ours. */
  lock(name: string, opts?: LockOptions): Promise<void>;
  /** Takes the lock if free, without waiting. */
  tryLock?(name: string): Promise<boolean>;
  unlock(name: string): Promise<void>;
}

/** Loads a key as UTF-8 text. */
export async function loadText(s: Storage, key: string): Promise<string | undefined> {
  const v = await s.load(key);
  return v === undefined ? undefined : new TextDecoder().decode(v);
}

/**
 * An in-process storage, for tests and for a manager that should keep
 * nothing on disk. Locks are shared by every user of the same instance.
 */
export class MemoryStorage implements Storage {
  #data = new Map<string, { value: Uint8Array; modified: Date }>();
  #locks = new Set<string>();
  #waiters = new Map<string, (() => void)[]>();

  load(key: string): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.#data.get(key)?.value.slice());
  }

  store(key: string, value: Uint8Array | string): Promise<void> {
    const bytes = typeof value === "string" ? new TextEncoder().encode(value) : value.slice();
    this.#data.set(key, { value: bytes, modified: new Date() });
    return Promise.resolve();
  }

  delete(key: string): Promise<void> {
    this.#data.delete(key);
    return Promise.resolve();
  }

  list(prefix: string): Promise<string[]> {
    return Promise.resolve([...this.#data.keys()].filter((k) => k.startsWith(prefix)).sort());
  }

  stat(key: string): Promise<StorageStat | undefined> {
    const e = this.#data.get(key);
    return Promise.resolve(e ? { size: e.value.length, modified: e.modified } : undefined);
  }

  async lock(name: string, opts: LockOptions = {}): Promise<void> {
    while (this.#locks.has(name)) {
      opts.signal?.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const list = this.#waiters.get(name) ?? [];
        const wake = () => {
          opts.signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          const l = this.#waiters.get(name) ?? [];
          this.#waiters.set(name, l.filter((w) => w !== wake));
          reject(opts.signal!.reason);
        };
        opts.signal?.addEventListener("abort", onAbort, { once: true });
        list.push(wake);
        this.#waiters.set(name, list);
      });
    }
    this.#locks.add(name);
  }

  tryLock(name: string): Promise<boolean> {
    if (this.#locks.has(name)) return Promise.resolve(false);
    this.#locks.add(name);
    return Promise.resolve(true);
  }

  unlock(name: string): Promise<void> {
    this.#locks.delete(name);
    const list = this.#waiters.get(name) ?? [];
    this.#waiters.delete(name);
    for (const wake of list) wake();
    return Promise.resolve();
  }
}
