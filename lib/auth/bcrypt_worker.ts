/**
 * Worker body of the bcrypt pool: one comparison at a time, synchronously,
 * off the server's event loop. Messages in: `{ id, password, hash }`; out:
 * `{ id, ok }` or `{ id, error }`.
 *
 * bcryptjs comes through lib/deps.ts like every npm module of the server (the
 * worker also loads the other pinned modules there; a one-time cost per worker).
 *
 * @module
 */
import { bcrypt } from "../deps.ts";

interface Job {
  id: number;
  password: string;
  hash: string;
}

// deno-lint-ignore no-explicit-any
const scope = self as any;

scope.onmessage = (ev: MessageEvent<Job>) => {
  const { id, password, hash } = ev.data;
  try {
    const ok = bcrypt.compareSync(password, hash);
    scope.postMessage({ id, ok });
  } catch (err) {
    scope.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
};
