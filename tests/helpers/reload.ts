// deno-lint-ignore-file no-import-prefix -- the type of the real npm NATS client
/**
 * Helpers for config reload tests against real server processes: rewrite the
 * config file and send SIGHUP, read the bound route port, and wait until
 * messages flow between two connections (across a route).
 *
 * @module
 */
import type { NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { type ServerProcess, waitFor } from "./server.ts";

/**
 * Rewrites the config file and sends SIGHUP; waits for the outcome line.
 *
 * @returns The log written since the signal (the reload's notices or its error).
 */
export async function reload(
  s: ServerProcess,
  config: string,
  timeoutMs = 10_000,
): Promise<string> {
  const before = s.logs.text.length;
  await Deno.writeTextFile(s.configFile!, config);
  s.signal("SIGHUP");
  const outcome = /Reloaded server configuration|Failed to reload server configuration: .*/;
  await waitFor(() => outcome.test(s.logs.text.slice(before)), timeoutMs, "reload outcome");
  return s.logs.text.slice(before);
}

/** The route port from the "Listening for route connections" line (the cluster starts last). */
export async function routePortOf(s: ServerProcess): Promise<number> {
  const re = /Listening for route connections on \S+:(\d+)/;
  await waitFor(() => re.test(s.logs.text), 5000, `route listener in:\n${s.logs.text}`);
  return Number(re.exec(s.logs.text)![1]);
}

/**
 * Publishes on `subject` from `from` until `to` receives one (proves the
 * route and the interest are in place), within a deadline.
 */
export async function waitForFlow(
  from: NatsConnection,
  to: NatsConnection,
  subject: string,
  timeoutMs = 8000,
): Promise<void> {
  let got = false;
  const sub = to.subscribe(subject, {
    callback: () => {
      got = true;
    },
  });
  try {
    await to.flush();
    await waitFor(
      async () => {
        if (got) return true;
        from.publish(subject);
        await from.flush();
        return got;
      },
      timeoutMs,
      `messages on ${subject} flowing`,
    );
  } finally {
    sub.unsubscribe();
  }
}

/** Polls the server log (from `since` on) for `re` within a deadline. */
export async function waitForLogSince(
  s: ServerProcess,
  since: number,
  re: RegExp,
  timeoutMs = 5000,
): Promise<void> {
  await waitFor(
    () => re.test(s.logs.text.slice(since)),
    timeoutMs,
    `log ${re}; log since:\n${s.logs.text.slice(since)}`,
  );
}
