/**
 * Test harness for lib/acme: a recording Logger, free ports, polling, and
 * launchers for Debian's pebble (ACME CA) and pebble-challtestsrv (DNS),
 * plus a local stand-in for DigitalOcean's records API.
 */
import type { Logger } from "../../lib/ops/logger.ts";
import { makeCert } from "./_pki.ts";

export const PEBBLE = "/usr/bin/pebble";
export const CHALLTESTSRV = "/usr/bin/pebble-challtestsrv";

/** True when both pebble binaries are installed. */
export function havePebble(): boolean {
  try {
    return Deno.statSync(PEBBLE).isFile && Deno.statSync(CHALLTESTSRV).isFile;
  } catch {
    return false;
  }
}

/** A Logger that keeps every line, for assertions. */
export class RecordingLogger implements Logger {
  readonly debugEnabled = true;
  readonly traceEnabled = false;
  lines: { level: string; msg: string }[] = [];
  #echo = Deno.env.get("ACME_TEST_LOG") === "1";
  #add(level: string, msg: string) {
    this.lines.push({ level, msg });
    if (this.#echo) console.error(`[${level}] ${msg}`);
  }
  notice(msg: string) {
    this.#add("notice", msg);
  }
  warn(msg: string) {
    this.#add("warn", msg);
  }
  error(msg: string) {
    this.#add("error", msg);
  }
  fatal(msg: string) {
    this.#add("fatal", msg);
  }
  debug(msg: string) {
    this.#add("debug", msg);
  }
  trace(msg: string) {
    this.#add("trace", msg);
  }
  reopen() {}
  close() {}
  /** Lines at `level` matching `re`. */
  find(level: string, re: RegExp): string[] {
    return this.lines.filter((l) => l.level === level && re.test(l.msg)).map((l) => l.msg);
  }
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Polls `fn` until it returns truthy or the deadline passes; reports the last error. */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let wait = 20;; wait = Math.min(wait * 2, 250)) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${what}${last ? `: ${last}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, wait));
  }
}

/** A running child process we can stop. */
class Proc {
  #child: Deno.ChildProcess;
  #done: Promise<Deno.CommandStatus>;
  #stderr: Promise<string>;
  constructor(cmd: string, args: string[], env: Record<string, string>) {
    this.#child = new Deno.Command(cmd, {
      args,
      env,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#stderr = new Response(this.#child.stderr).text();
    this.#done = this.#child.status;
  }
  async stop(): Promise<string> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    await this.#done;
    return await this.#stderr;
  }
  get exited(): Promise<Deno.CommandStatus> {
    return this.#done;
  }
}

/** pebble-challtestsrv: a fake DNS server whose records we set over HTTP. */
export class ChallTestSrv {
  readonly dnsPort = freePort();
  readonly mgmtPort = freePort();
  #proc: Proc | undefined;

  get mgmt(): string {
    return `http://127.0.0.1:${this.mgmtPort}`;
  }
  get dns(): string {
    return `127.0.0.1:${this.dnsPort}`;
  }

  async start(): Promise<void> {
    this.#proc = new Proc(CHALLTESTSRV, [
      "-dns01",
      this.dns,
      "-http01",
      "",
      "-https01",
      "",
      "-tlsalpn01",
      "",
      "-management",
      `127.0.0.1:${this.mgmtPort}`,
      "-defaultIPv4",
      "127.0.0.1",
      "-defaultIPv6",
      "",
    ], {});
    await waitFor(async () => {
      const res = await fetch(`${this.mgmt}/set-default-ipv4`, {
        method: "POST",
        body: JSON.stringify({ ip: "127.0.0.1" }),
      });
      await res.body?.cancel();
      return res.ok;
    }, "challtestsrv management API");
  }

  async #post(path: string, body: unknown): Promise<void> {
    const res = await fetch(`${this.mgmt}${path}`, { method: "POST", body: JSON.stringify(body) });
    await res.body?.cancel();
    if (!res.ok) throw new Error(`challtestsrv ${path}: HTTP ${res.status}`);
  }
  setTxt(host: string, value: string): Promise<void> {
    return this.#post("/set-txt", { host, value });
  }
  clearTxt(host: string): Promise<void> {
    return this.#post("/clear-txt", { host });
  }

  async stop(): Promise<void> {
    await this.#proc?.stop();
  }
}

/** The CA that signs pebble's HTTPS certificate, shared by every pebble in a run. */
let tlsPki: Promise<{ caPem: string; certPem: string; keyPem: string }> | undefined;
function pebbleTls() {
  tlsPki ??= (async () => {
    const ca = await makeCert({ cn: "dnatsd test CA for pebble", ca: true });
    const leaf = await makeCert({ cn: "localhost", names: ["localhost", "127.0.0.1"], issuer: ca });
    return { caPem: ca.certPem, certPem: leaf.certPem, keyPem: leaf.keyPem };
  })();
  return tlsPki;
}

/** Options for {@link Pebble}. */
export interface PebbleOptions {
  dnsServer: string;
  /** Port pebble validates HTTP-01 on. */
  httpPort?: number;
  nonceReject?: number;
  /** Certificate lifetime in seconds. */
  validitySeconds?: number;
}

/** A pebble ACME CA on free ports with our own HTTPS certificate. */
export class Pebble {
  readonly port = freePort();
  readonly mgmtPort = freePort();
  readonly dir: string;
  readonly caFile: string;
  #opts: PebbleOptions;
  #proc: Proc | undefined;
  #client: Deno.HttpClient | undefined;

  constructor(dir: string, opts: PebbleOptions) {
    this.dir = dir;
    this.caFile = `${dir}/pebble-tls-ca.pem`;
    this.#opts = opts;
  }

  get directoryUrl(): string {
    return `https://127.0.0.1:${this.port}/dir`;
  }

  async start(): Promise<void> {
    const tls = await pebbleTls();
    await Deno.writeTextFile(this.caFile, tls.caPem);
    await Deno.writeTextFile(`${this.dir}/pebble-tls.crt`, tls.certPem);
    await Deno.writeTextFile(`${this.dir}/pebble-tls.key`, tls.keyPem);
    const config = {
      pebble: {
        listenAddress: `127.0.0.1:${this.port}`,
        managementListenAddress: `127.0.0.1:${this.mgmtPort}`,
        certificate: `${this.dir}/pebble-tls.crt`,
        privateKey: `${this.dir}/pebble-tls.key`,
        httpPort: this.#opts.httpPort ?? 5002,
        tlsPort: 5001,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
        ...(this.#opts.validitySeconds
          ? { certificateValidityPeriod: this.#opts.validitySeconds }
          : {}),
      },
    };
    await Deno.writeTextFile(`${this.dir}/pebble.json`, JSON.stringify(config));
    this.#proc = new Proc(
      PEBBLE,
      ["-config", `${this.dir}/pebble.json`, "-dnsserver", this.#opts.dnsServer],
      {
        PEBBLE_VA_NOSLEEP: "1",
        PEBBLE_WFE_NONCEREJECT: String(this.#opts.nonceReject ?? 0),
        PEBBLE_AUTHZREUSE: "0",
      },
    );
    this.#client ??= Deno.createHttpClient({ caCerts: [tls.caPem] });
    const client = this.#client;
    const exited = this.#proc.exited.then(() => "exited");
    await waitFor(async () => {
      if (await Promise.race([exited, Promise.resolve("running")]) === "exited") {
        throw new Error("pebble exited");
      }
      const res = await fetch(this.directoryUrl, { client });
      await res.body?.cancel();
      return res.ok;
    }, "pebble directory");
  }

  async stop(): Promise<string> {
    const out = (await this.#proc?.stop()) ?? "";
    this.#proc = undefined;
    return out;
  }

  async close(): Promise<void> {
    await this.stop();
    this.#client?.close();
    this.#client = undefined;
  }
}

/**
 * Writes a lego-style `exec` provider script that forwards present/cleanup
 * to challtestsrv, and logs each call to `<dir>/exec.log`.
 */
export async function writeExecScript(dir: string, chall: ChallTestSrv): Promise<string> {
  const ts = `${dir}/exec_provider.ts`;
  await Deno.writeTextFile(
    ts,
    `const [action, fqdn, value] = Deno.args;
const path = action === "present" ? "/set-txt" : action === "cleanup" ? "/clear-txt" : "";
if (!path || !fqdn?.endsWith(".") || !value) { console.error("bad args", Deno.args); Deno.exit(2); }
const res = await fetch(${JSON.stringify(chall.mgmt)} + path, {
  method: "POST",
  body: JSON.stringify(action === "present" ? { host: fqdn, value } : { host: fqdn }),
});
await res.body?.cancel();
await Deno.writeTextFile(${
      JSON.stringify(`${dir}/exec.log`)
    }, \`\${action} \${fqdn} \${value}\\n\`, { append: true });
if (!res.ok) Deno.exit(1);
`,
  );
  const sh = `${dir}/exec_provider.sh`;
  await Deno.writeTextFile(
    sh,
    `#!/bin/sh\nexec ${
      JSON.stringify(Deno.execPath())
    } run --quiet --no-config --allow-net=127.0.0.1 --allow-write=${dir} ${ts} "$@"\n`,
  );
  await Deno.chmod(sh, 0o755);
  return sh;
}

/**
 * A local stand-in for DigitalOcean's `/v2/domains` API that checks the
 * bearer token and forwards TXT records to challtestsrv.
 */
export function startDoFixture(chall: ChallTestSrv, token: string, zone: string) {
  const records = new Map<number, { fqdn: string; data: string }>();
  const calls: string[] = [];
  let nextId = 1000;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    calls.push(`${req.method} ${url.pathname}`);
    if (req.headers.get("authorization") !== `Bearer ${token}`) {
      return Response.json({ id: "unauthorized", message: "Unable to authenticate you" }, {
        status: 401,
      });
    }
    if (req.method === "GET" && url.pathname === "/v2/domains") {
      return Response.json({ domains: [{ name: zone }], links: {}, meta: { total: 1 } });
    }
    const m = /^\/v2\/domains\/([^/]+)\/records(?:\/(\d+))?$/.exec(url.pathname);
    if (m && m[1] === zone && req.method === "POST" && !m[2]) {
      const body = await req.json() as { type: string; name: string; data: string };
      const fqdn = `${body.name === "@" ? "" : `${body.name}.`}${zone}.`;
      const id = nextId++;
      records.set(id, { fqdn, data: body.data });
      await chall.setTxt(fqdn, body.data);
      return Response.json({ domain_record: { id, ...body } }, { status: 201 });
    }
    if (m && m[1] === zone && req.method === "DELETE" && m[2]) {
      const rec = records.get(Number(m[2]));
      if (!rec) return new Response(null, { status: 404 });
      records.delete(Number(m[2]));
      await chall.clearTxt(rec.fqdn);
      return new Response(null, { status: 204 });
    }
    return Response.json({ id: "not_found" }, { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    calls,
    records,
    close: () => server.shutdown(),
  };
}
