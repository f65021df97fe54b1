/**
 * Shared helpers of the authentication/authorization black-box tests
 * (tests/auth_*_test.ts): run one scenario against dnatsd and, where it is
 * installed, Debian's nats-server, and speak raw CONNECTs to both.
 *
 * @module
 */
import { equal, match } from "node:assert/strict";
import { bcrypt } from "../lib/deps.ts";
import { RawClient } from "./helpers/raw.ts";
import { missing } from "./helpers/requires.ts";
import {
  runToExit as runServerToExit,
  ServerProcess,
  type ServerProcessOptions,
  waitFor,
} from "./helpers/server.ts";

/**
 * nats.js 3.4.0's node transport lets a TCP reset that arrives after a refused
 * CONNECT (the server wrote -ERR and closed while the client's PING was in
 * flight) escape as an uncaught `ECONNRESET`, although `connect()` already
 * rejected with the server's error. nats-server triggers it about one time in
 * ten. Only that error is ignored; anything else still fails the test.
 */
globalThis.addEventListener("error", (ev) => {
  const err = (ev as ErrorEvent).error as { code?: string } | undefined;
  if (err?.code === "ECONNRESET") ev.preventDefault();
});

export const AUTH_VIOLATION = "-ERR 'Authorization Violation'\r\n";
export const AUTH_TIMEOUT = "-ERR 'Authentication Timeout'\r\n";

/** Which server a scenario runs against. */
export type Flavor = "dnatsd" | "nats-server";

/**
 * Runs `fn` once per flavor, each as a test step named after the flavor and
 * `what`: dnatsd always; nats-server's step is reported as ignored when it is
 * not installed. `only` restricts the flavors.
 */
export async function eachFlavor(
  t: Deno.TestContext,
  what: string,
  fn: (flavor: Flavor) => Promise<void>,
  only: readonly Flavor[] = ["dnatsd", "nats-server"],
): Promise<void> {
  for (const flavor of only) {
    await t.step({
      name: `${flavor}: ${what}`,
      ignore: flavor === "nats-server" && missing("nats-server"),
      fn: () => fn(flavor),
    });
  }
}

/** Starts `flavor` with `opts`, runs `fn`, always stops the server. */
export async function withFlavor(
  flavor: Flavor,
  opts: ServerProcessOptions,
  fn: (s: ServerProcess) => Promise<void>,
): Promise<void> {
  const server = await ServerProcess.start({ ...opts, reference: flavor === "nats-server" });
  try {
    await fn(server);
  } catch (e) {
    // Name the flavor and show the server log: a cross-check failure must say which side.
    throw new Error(
      `[${flavor}] ${(e as Error).message}\n--- server log ---\n${server.logs.text}`,
      {
        cause: e,
      },
    );
  } finally {
    await server.stop();
  }
}

/** Runs `fn` against every flavor in turn (same config, same assertions), one step each. */
export async function onBoth(
  t: Deno.TestContext,
  what: string,
  opts: ServerProcessOptions,
  fn: (s: ServerProcess, flavor: Flavor) => Promise<void>,
): Promise<void> {
  await eachFlavor(t, what, (flavor) => withFlavor(flavor, opts, (s) => fn(s, flavor)));
}

/** The INFO JSON the server sent first on a raw connection. */
export async function readInfo(raw: RawClient): Promise<Record<string, unknown>> {
  const m = await raw.expect(/^INFO (\{.*\}) \r\n/);
  return JSON.parse(m[1]!);
}

/** Everything received after the INFO line. */
export function afterInfo(raw: RawClient): string {
  const i = raw.received.indexOf("\r\n");
  return i < 0 ? "" : raw.received.slice(i + 2);
}

/**
 * Opens a raw connection, sends CONNECT with `fields` (verbose and pedantic
 * off) and PING, and returns what came back after INFO once the server either
 * answered PONG or closed the connection.
 */
export async function rawConnect(
  s: ServerProcess,
  fields: Record<string, unknown>,
  opts: { info?: (info: Record<string, unknown>) => Record<string, unknown> } = {},
): Promise<{ reply: string; closed: boolean; info: Record<string, unknown> }> {
  const raw = await RawClient.connect(s.port);
  try {
    const info = await readInfo(raw);
    const extra = opts.info ? opts.info(info) : {};
    const connect = { verbose: false, pedantic: false, ...fields, ...extra };
    await raw.send(`CONNECT ${JSON.stringify(connect)}\r\nPING\r\n`);
    await raw.expect(/PONG\r\n|-ERR '[^']*'\r\n/);
    if (!/PONG\r\n/.test(afterInfo(raw))) await raw.expectClosed();
    return { reply: afterInfo(raw), closed: raw.closed, info };
  } finally {
    await raw.close();
  }
}

/** Asserts that CONNECT with `fields` is accepted (PONG, connection open). */
export async function assertAccepted(
  s: ServerProcess,
  fields: Record<string, unknown>,
): Promise<void> {
  const r = await rawConnect(s, fields);
  equal(r.reply, "PONG\r\n", `CONNECT ${JSON.stringify(fields)} should be accepted`);
}

/** Asserts that CONNECT with `fields` gets exactly `-ERR 'Authorization Violation'` and a close. */
export async function assertRefused(
  s: ServerProcess,
  fields: Record<string, unknown>,
): Promise<void> {
  const r = await rawConnect(s, fields);
  equal(r.reply, AUTH_VIOLATION, `CONNECT ${JSON.stringify(fields)} should be refused`);
  equal(r.closed, true, "the server must close a refused connection");
}

/** A bcrypt hash of `secret` with the given prefix (`$2a$`, `$2b$`, `$2y$`); all one algorithm. */
export function bcryptHash(secret: string, prefix: "$2a$" | "$2b$" | "$2y$", cost = 4): string {
  const h = bcrypt.hashSync(secret, cost);
  match(h, /^\$2[ab]\$/);
  return prefix + h.slice(4);
}

/** Polls until `re` shows in the server log. */
export async function logShows(s: ServerProcess, re: RegExp, timeoutMs = 3000): Promise<void> {
  await s.waitForLog(re, timeoutMs);
}

/** Runs a server expected to exit by itself (a bad config); killed after 10 s otherwise. */
export async function runToExit(
  flavor: Flavor,
  args: string[],
): Promise<{ code: number; stderr: string }> {
  const out = await runServerToExit({ reference: flavor === "nats-server", args });
  return { code: out.code, stderr: out.stderr + out.stdout };
}

/**
 * A raw, authenticated session for exact-byte permission checks: each
 * {@link RawSession.step} sends some protocol text plus PING and returns
 * exactly what the server sent back before the PONG.
 */
export class RawSession {
  readonly raw: RawClient;
  readonly info: Record<string, unknown>;
  #offset = 0;

  private constructor(raw: RawClient, info: Record<string, unknown>) {
    this.raw = raw;
    this.info = info;
  }

  /** Connects, sends CONNECT with `fields` (verbose/pedantic off) and waits for the PONG. */
  static async open(
    s: ServerProcess,
    fields: Record<string, unknown> | ((info: Record<string, unknown>) => Record<string, unknown>),
  ): Promise<RawSession> {
    const raw = await RawClient.connect(s.port);
    const info = await readInfo(raw);
    const session = new RawSession(raw, info);
    session.#offset = raw.received.indexOf("\r\n") + 2;
    const creds = typeof fields === "function" ? fields(info) : fields;
    const first = await session.step(
      `CONNECT ${JSON.stringify({ verbose: false, pedantic: false, ...creds })}\r\n`,
    );
    if (first !== "") {
      await raw.close();
      throw new Error(`CONNECT ${JSON.stringify(creds)} was answered ${JSON.stringify(first)}`);
    }
    return session;
  }

  /**
   * Sends `text` + PING; returns what arrived before the PONG (or, when the
   * server closed the connection instead, everything that arrived).
   */
  async step(text: string, timeoutMs = 3000): Promise<string> {
    const from = this.#offset;
    await this.raw.send(text + "PING\r\n").catch(() => {/* closed: reported below */});
    let end = -1;
    await waitFor(
      () => (end = this.raw.received.indexOf("PONG\r\n", from)) >= 0 || this.raw.closed,
      timeoutMs,
      `PONG after ${JSON.stringify(text)}; got ${JSON.stringify(this.raw.received.slice(from))}`,
    );
    if (end < 0) {
      this.#offset = this.raw.received.length;
      return this.raw.received.slice(from);
    }
    this.#offset = end + 6;
    return this.raw.received.slice(from, end);
  }

  async close(): Promise<void> {
    await this.raw.close();
  }
}
