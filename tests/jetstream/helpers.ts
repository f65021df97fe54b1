// deno-lint-ignore-file no-import-prefix -- tests use the real npm NATS client directly
/**
 * Helpers for the JetStream tests: start dnatsd and nats-server with `-js`
 * on a fresh store directory, run one script of requests against each, and
 * normalise what differs by nature (times, server ids, the store path).
 *
 * @module
 */
import { connect, headers, type NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { ServerProcess } from "../helpers/server.ts";
import { deepStrictEqual as assertSame } from "node:assert/strict";

export interface JsServer {
  server: ServerProcess;
  storeDir: string;
  stop(): Promise<void>;
}

/** Starts a server with `-js -sd <dir>` (a fresh temp dir unless given) plus `args`. */
export async function startJs(
  reference: boolean,
  args: string[] = [],
  dir?: string,
): Promise<JsServer> {
  const storeDir = dir ?? await Deno.makeTempDir({ prefix: "js-test-" });
  const server = await ServerProcess.start({ reference, args: ["-js", "-sd", storeDir, ...args] });
  return {
    server,
    storeDir,
    async stop() {
      await server.stop();
      await Deno.remove(storeDir, { recursive: true }).catch(() => {});
    },
  };
}

/** One step: a request (or a publish expecting an ack) with optional headers. */
export interface Step {
  subject: string;
  body?: string;
  headers?: Record<string, string>;
}

/** One answer as observed: the body text, and the status line if headers came back. */
export interface Answer {
  step: string;
  reply: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Runs `steps` as requests, one after the other; a time-out is recorded as "timeout". */
export async function runScript(nc: NatsConnection, steps: Step[]): Promise<Answer[]> {
  const out: Answer[] = [];
  for (const s of steps) {
    const opts: { timeout: number; headers?: ReturnType<typeof headers> } = { timeout: 1500 };
    if (s.headers) {
      const h = headers();
      for (const [k, v] of Object.entries(s.headers)) h.set(k, v);
      opts.headers = h;
    }
    let reply: string;
    try {
      const m = await nc.request(s.subject, enc.encode(s.body ?? ""), opts);
      reply = dec.decode(m.data);
      if (m.headers) reply += ` [status ${m.headers.code} ${m.headers.description}]`;
    } catch (e) {
      reply = `error: ${(e as Error).message}`;
    }
    out.push({ step: `${s.subject} ${s.body ?? ""}`, reply: normalise(reply) });
  }
  return out;
}

/** Replaces times with T (they differ between any two runs). */
export function normalise(text: string): string {
  return text.replace(/"(created|first_ts|last_ts|time|ts|last_active)":"[^"]*"/g, '"$1":"T"');
}

/** Connects a client to a server. */
export function client(s: JsServer): Promise<NatsConnection> {
  return connect({ servers: s.server.url });
}

/** Runs the same script against nats-server and dnatsd; returns [reference, dnatsd]. */
export async function sideBySide(
  steps: Step[],
  args: string[] = [],
): Promise<[Answer[], Answer[]]> {
  const results: Answer[][] = [];
  for (const reference of [true, false]) {
    const s = await startJs(reference, args);
    const nc = await client(s);
    try {
      results.push(await runScript(nc, steps));
    } finally {
      await nc.close();
      await s.stop();
    }
  }
  return [results[0], results[1]];
}

/** Parses a compact script: one step per line, `subject body` or `subject body HDR {json}`. */
export function script(text: string): Step[] {
  const steps: Step[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const space = line.indexOf(" ");
    const subject = space < 0 ? line : line.slice(0, space);
    let body = space < 0 ? "" : line.slice(space + 1);
    let h: Record<string, string> | undefined;
    const at = body.indexOf("HDR {");
    if (at >= 0) {
      h = JSON.parse(body.slice(at + 4));
      body = body.slice(0, at).trimEnd();
    }
    steps.push(h ? { subject, body, headers: h } : { subject, body });
  }
  return steps;
}

/**
 * Runs `script` against nats-server and then dnatsd, each on a fresh `-js`
 * server, and requires the same transcript line by line (`JS_TEST_DUMP=1`
 * prints both).
 */
export async function sameTranscript(
  script: (nc: NatsConnection) => Promise<string[]>,
): Promise<void> {
  const results: string[][] = [];
  for (const reference of [true, false]) {
    const s = await startJs(reference);
    const nc = await client(s);
    try {
      results.push(await script(nc));
    } finally {
      await nc.close();
      await s.stop();
    }
  }
  const [ref, ours] = results;
  if (Deno.env.get("JS_TEST_DUMP")) console.log(JSON.stringify({ ref, ours }, null, 1));
  for (let i = 0; i < ref.length; i++) assertSame(ours[i], ref[i], `line ${i}`);
  assertSame(ours.length, ref.length, "number of lines");
}
