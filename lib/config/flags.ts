/**
 * The command line of dnatsd: the same flags as nats-server 2.9, parsed with
 * the rules of Go's `flag` package (which nats-server uses):
 *
 * - `-x` and `--x` are the same flag; there is no bundling (`-DV` is a flag).
 * - Values: `-p 4222`, `-p=4222`. Booleans take no separate value: `-D`, `-D=false`.
 * - Parsing stops at the first word that is not a flag; only `version` and
 *   `help` are accepted there.
 *
 * Flags become {@linkcode FlagOverrides} that {@linkcode mergeOptions} applies
 * over the options from the config file (flags win).
 *
 * @module
 */
import { GO_CIPHER_SUITES, GO_CURVE_NAMES } from "../tls/go_names.ts";
import { defaultClusterOptions } from "./from_config_cluster.ts";
import {
  type ClusterOptions,
  defaultTlsOptions,
  type Options,
  type TlsOptions,
} from "./options.ts";

/** What the process was asked to do. */
export type CommandKind = "run" | "help" | "version" | "help_tls" | "check_config" | "signal";

/** `-sl cmd[=pid|pidfile]`. */
export interface SignalRequest {
  command: string;
  /** A PID or the path of a PID file; absent = find the running server. */
  target?: string;
}

/** Option values given on the command line. */
export type FlagOverrides =
  & Omit<Partial<Options>, "cluster" | "tls">
  & {
    /** Cluster fields set by `--cluster`, `--cluster_name`, `--routes`... (file values kept otherwise). */
    cluster?: Partial<ClusterOptions>;
    /** A TLS block built from `--tls*` flags, or `null` for `-tls=false`. */
    tls?: TlsOptions | null;
    /** `-js`: JetStream on (with the file's settings, or the defaults). */
    jetstreamFlag?: boolean;
  };

/** Result of {@linkcode parseFlags}. */
export interface ParsedFlags {
  command: CommandKind;
  overrides: FlagOverrides;
  /** Options fields the flags set (`cluster` and `tls` included when touched). */
  setKeys: Set<keyof Options>;
  configFile?: string;
  signal?: SignalRequest;
  /** True when `--routes` was given with a value: it then needs a cluster listener. */
  routesFromFlags: boolean;
  /**
   * A flag syntax error (`flag provided but not defined: -x`). nats-server
   * prints it with the usage text and exits 0.
   */
  usageError?: string;
  /** Other problems, fatal (exit 1), printed as `dnatsd: <error>`. */
  errors: string[];
}

type FlagKind = "bool" | "string" | "int";

interface FlagDef {
  names: string[];
  kind: FlagKind;
}

/** Every flag of nats-server 2.9, by canonical name; the first name is canonical. */
const FLAG_DEFS: FlagDef[] = [
  { names: ["a", "addr", "net"], kind: "string" },
  { names: ["p", "port"], kind: "int" },
  { names: ["n", "name", "server_name"], kind: "string" },
  { names: ["P", "pid"], kind: "string" },
  { names: ["m", "http_port"], kind: "int" },
  { names: ["ms", "https_port"], kind: "int" },
  { names: ["c", "config"], kind: "string" },
  { names: ["t"], kind: "bool" },
  { names: ["sl", "signal"], kind: "string" },
  { names: ["client_advertise"], kind: "string" },
  { names: ["ports_file_dir"], kind: "string" },
  { names: ["l", "log"], kind: "string" },
  { names: ["T", "logtime"], kind: "bool" },
  { names: ["s", "syslog"], kind: "bool" },
  { names: ["r", "remote_syslog"], kind: "string" },
  { names: ["D", "debug"], kind: "bool" },
  { names: ["V", "trace"], kind: "bool" },
  { names: ["VV"], kind: "bool" },
  { names: ["DV"], kind: "bool" },
  { names: ["DVV"], kind: "bool" },
  { names: ["log_size_limit"], kind: "int" },
  { names: ["max_traced_msg_len"], kind: "int" },
  { names: ["js", "jetstream"], kind: "bool" },
  { names: ["sd", "store_dir"], kind: "string" },
  { names: ["user"], kind: "string" },
  { names: ["pass"], kind: "string" },
  { names: ["auth"], kind: "string" },
  { names: ["tls"], kind: "bool" },
  { names: ["tlscert"], kind: "string" },
  { names: ["tlskey"], kind: "string" },
  { names: ["tlsverify"], kind: "bool" },
  { names: ["tlscacert"], kind: "string" },
  { names: ["routes"], kind: "string" },
  { names: ["cluster", "cluster_listen"], kind: "string" },
  { names: ["cluster_name"], kind: "string" },
  { names: ["no_advertise"], kind: "bool" },
  { names: ["cluster_advertise"], kind: "string" },
  { names: ["connect_retries"], kind: "int" },
  { names: ["profile"], kind: "int" },
  { names: ["h", "help"], kind: "bool" },
  { names: ["v", "version"], kind: "bool" },
  { names: ["help_tls"], kind: "bool" },
];

const FLAG_BY_NAME: Map<string, FlagDef> = new Map(
  FLAG_DEFS.flatMap((def) => def.names.map((n) => [n, def] as [string, FlagDef])),
);

/** Signal commands `-sl` accepts. */
export const SIGNAL_COMMANDS: readonly string[] = [
  "ldm",
  "stop",
  "quit",
  "term",
  "reopen",
  "reload",
];

/** One flag occurrence after syntax checks: canonical name and typed value. */
interface FlagValue {
  name: string;
  value: string | number | boolean;
}

class FlagSyntaxError extends SyntaxError {
  constructor(message: string) {
    super(message);
    this.name = "FlagSyntaxError";
  }
}

/**
 * Splits argv into flag values and positional words, following Go's `flag`.
 * @throws {FlagSyntaxError} with Go's message for the first bad flag
 */
function scanFlags(argv: string[]): { flags: FlagValue[]; rest: string[] } {
  const flags: FlagValue[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i]!;
    if (arg.length < 2 || arg[0] !== "-") break;
    let name = arg.slice(1);
    if (name[0] === "-") {
      name = name.slice(1);
      if (name === "") {
        i++; // "--" ends the flags and is consumed
        break;
      }
    }
    if (name === "" || name[0] === "-" || name[0] === "=") {
      throw new FlagSyntaxError(`bad flag syntax: ${arg}`);
    }
    i++;
    let value: string | undefined;
    const eq = name.indexOf("=");
    if (eq > 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const def = FLAG_BY_NAME.get(name);
    if (!def) throw new FlagSyntaxError(`flag provided but not defined: -${name}`);
    const canonical = def.names[0]!;
    if (def.kind === "bool") {
      if (value === undefined) {
        flags.push({ name: canonical, value: true });
        continue;
      }
      const b = parseGoBool(value);
      if (b === undefined) {
        throw new FlagSyntaxError(`invalid boolean value "${value}" for -${name}: parse error`);
      }
      flags.push({ name: canonical, value: b });
      continue;
    }
    if (value === undefined) {
      if (i >= argv.length) throw new FlagSyntaxError(`flag needs an argument: -${name}`);
      value = argv[i++]!;
    }
    if (def.kind === "int") {
      const n = parseGoInt(value);
      if (n === undefined) {
        throw new FlagSyntaxError(`invalid value "${value}" for flag -${name}: parse error`);
      }
      flags.push({ name: canonical, value: n });
    } else {
      flags.push({ name: canonical, value });
    }
  }
  return { flags, rest: argv.slice(i) };
}

/** Go's strconv.ParseBool. */
function parseGoBool(s: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(s)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(s)) return false;
  return undefined;
}

/** Go's strconv.ParseInt(s, 0, 64): sign, 0x/0o/0b prefixes, leading-0 octal, `_`. */
function parseGoInt(s: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(s);
  if (!m) return undefined;
  let body = m[2]!;
  if (body.includes("_") && !/^(0[xXoObB])?_?[0-9a-fA-F]+(_[0-9a-fA-F]+)*$/.test(body)) {
    return undefined;
  }
  body = body.replaceAll("_", "");
  let n: bigint;
  if (/^0[0-7]+$/.test(body)) n = BigInt("0o" + body.slice(1));
  else n = BigInt(body);
  if (m[1] === "-") n = -n;
  if (n > (1n << 63n) - 1n || n < -(1n << 63n)) return undefined;
  return Number(n);
}

/**
 * Parses the command line (without the program name).
 * @param argv e.g. `Deno.args`
 */
export function parseFlags(argv: string[]): ParsedFlags {
  const result: ParsedFlags = {
    command: "run",
    overrides: {},
    setKeys: new Set(),
    routesFromFlags: false,
    errors: [],
  };
  let scanned: { flags: FlagValue[]; rest: string[] };
  try {
    scanned = scanFlags(argv);
  } catch (err) {
    if (err instanceof FlagSyntaxError) {
      result.usageError = err.message;
      result.command = "help";
      return result;
    }
    throw err;
  }
  // Last occurrence wins, as with Go's flag package.
  const last = new Map<string, string | number | boolean>();
  for (const f of scanned.flags) last.set(f.name, f.value);

  if (last.get("v") === true) return { ...result, command: "version" };
  if (last.get("h") === true) return { ...result, command: "help" };
  if (last.get("help_tls") === true) return { ...result, command: "help_tls" };
  const word = scanned.rest[0];
  if (word !== undefined) {
    switch (word.toLowerCase()) {
      case "version":
        return { ...result, command: "version" };
      case "help":
        return { ...result, command: "help" };
      default:
        result.errors.push(`unrecognized command: "${word}"`);
        return result;
    }
  }
  applyFlagValues(result, last);
  const signal = last.get("sl");
  if (typeof signal === "string" && signal !== "") {
    const parts = signal.split("=");
    if (parts.length > 2) {
      result.errors.push(`invalid signal parameters: [${parts.slice(2).join(" ")}]`);
    } else if (!SIGNAL_COMMANDS.includes(parts[0]!)) {
      result.errors.push(`unknown signal "${parts[0]}"`);
    } else {
      result.signal = parts[1] === undefined
        ? { command: parts[0]! }
        : { command: parts[0]!, target: parts[1] };
      result.command = "signal";
    }
    return result;
  }
  if (last.get("t") === true) result.command = "check_config";
  return result;
}

/** Turns the flag values into option overrides. */
function applyFlagValues(result: ParsedFlags, flags: Map<string, string | number | boolean>): void {
  const o = result.overrides;
  const set = <K extends keyof FlagOverrides>(key: K, value: FlagOverrides[K]) => {
    o[key] = value;
    result.setKeys.add(key as keyof Options);
  };
  const cluster = (): Partial<ClusterOptions> => {
    result.setKeys.add("cluster");
    return (o.cluster ??= {});
  };
  const str = (name: string) => flags.get(name) as string | undefined;
  const int = (name: string) => flags.get(name) as number | undefined;
  const bool = (name: string) => flags.get(name) as boolean | undefined;

  for (const name of flags.keys()) {
    switch (name) {
      case "a":
        set("host", str(name));
        break;
      case "p":
        set("port", int(name));
        break;
      case "n":
        set("serverName", str(name));
        break;
      case "P":
        set("pidFile", str(name));
        break;
      case "m":
        set("httpPort", int(name));
        break;
      case "ms":
        set("httpsPort", int(name));
        break;
      case "c":
        result.configFile = str(name);
        break;
      case "client_advertise":
        set("clientAdvertise", str(name));
        break;
      case "ports_file_dir":
        set("portsFileDir", str(name));
        break;
      case "l":
        set("logFile", str(name));
        break;
      case "T":
        set("logtime", bool(name));
        break;
      case "s":
        set("syslog", bool(name));
        break;
      case "r":
        set("remoteSyslog", str(name));
        break;
      case "D":
        set("debug", bool(name));
        break;
      case "V":
        set("trace", bool(name));
        break;
      case "log_size_limit":
        set("logSizeLimit", int(name));
        break;
      case "max_traced_msg_len":
        set("maxTracedMsgLen", int(name));
        break;
      case "cluster_name":
        cluster().name = str(name)!;
        break;
      case "no_advertise":
        cluster().noAdvertise = bool(name)!;
        break;
      case "cluster_advertise":
        cluster().advertise = str(name)!;
        break;
      case "connect_retries":
        cluster().connectRetries = int(name)!;
        break;
      case "js":
        if (bool(name)) set("jetstreamFlag", true);
        break;
      case "sd":
        if (str(name)) set("storeDir", str(name));
        break;
      case "profile":
        if (int(name) !== 0) result.errors.push(`"--profile" is not supported by dnatsd`);
        break;
    }
  }
  // Combined verbosity flags: nats-server visits flags in name order, so these
  // win over -D/-V given alongside.
  const dv = bool("DV");
  const dvv = bool("DVV");
  const vv = bool("VV");
  if (dvv !== undefined) {
    set("debug", dvv);
    set("trace", dvv);
    set("traceVerbose", dvv);
  }
  if (dv !== undefined) {
    set("debug", dv);
    set("trace", dv);
  }
  if (vv !== undefined) {
    set("trace", vv);
    set("traceVerbose", vv);
  }
  applyAuthFlags(result, str("user"), str("pass"), str("auth"));
  applyClusterListen(result, flags);
  const routes = str("routes");
  if (routes !== undefined) {
    // An empty --routes clears the routes of the config file.
    cluster().routes = routes === "" ? [] : parseRoutesFlag(routes);
    result.routesFromFlags = routes !== "";
  }
  applyTlsFlags(result, flags);
}

function applyAuthFlags(
  result: ParsedFlags,
  user: string | undefined,
  pass: string | undefined,
  token: string | undefined,
): void {
  if (user === undefined && pass === undefined && token === undefined) return;
  // A flag given, even empty, replaces its own field of the config file (nats-server
  // parses the flags again over the file's options): `--user ""` clears the user.
  const auth: NonNullable<Options["authorization"]> = {};
  if (user !== undefined) auth.user = user;
  if (pass !== undefined) auth.password = pass;
  if (token !== undefined) auth.token = token;
  result.overrides.authorization = auth;
  result.setKeys.add("authorization");
}

/** `--routes a,b`: comma separated URLs, spaces trimmed. */
export function parseRoutesFlag(value: string): string[] {
  return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** `--cluster nats://[user:pass@]host:port`; empty disables clustering. */
function applyClusterListen(result: ParsedFlags, flags: Map<string, unknown>): void {
  const value = flags.get("cluster") as string | undefined;
  if (value === undefined) return;
  result.setKeys.add("cluster");
  const cluster = (result.overrides.cluster ??= {});
  if (value === "") {
    cluster.port = 0;
    return;
  }
  // ":-1" (random port) is not a valid URL port: parse with 0 and put -1 back.
  const wantsRandom = value.endsWith(":-1");
  const text = wantsRandom ? value.slice(0, -3) + ":0" : value;
  let url: URL;
  try {
    if (!text.includes("://")) throw new TypeError("no scheme");
    url = new URL(text);
  } catch {
    result.errors.push(`parse "${value}": invalid cluster URL`);
    return;
  }
  const hostMatch = /^(?:[^@/]*@)?(\[[^\]]*\]|[^:/]*)(?::(\d*))?/.exec(
    text.slice(text.indexOf("//") + 2),
  );
  const host = (hostMatch?.[1] ?? url.hostname).replace(/^\[|\]$/g, "");
  const portText = hostMatch?.[2];
  if (portText === undefined || portText === "") {
    result.errors.push(`address ${url.host}: missing port in address`);
    return;
  }
  cluster.host = host;
  cluster.port = wantsRandom ? -1 : Number(portText);
  if (url.username !== "" || text.includes("@")) {
    const userInfo = text.slice(text.indexOf("//") + 2, text.indexOf("@"));
    if (!userInfo.includes(":")) {
      result.errors.push("expected cluster password to be set");
      return;
    }
    cluster.authorization = {
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
    };
  } else {
    // The flag replaces credentials coming from the config file.
    cluster.authorization = undefined;
  }
}

function applyTlsFlags(result: ParsedFlags, flags: Map<string, unknown>): void {
  const tlsNames = ["tls", "tlscert", "tlskey", "tlsverify", "tlscacert"];
  if (!tlsNames.some((n) => flags.has(n))) return;
  result.setKeys.add("tls");
  if (flags.get("tls") === false) {
    // -tls=false switches off a tls block from the config file.
    result.overrides.tls = null;
    return;
  }
  const cert = flags.get("tlscert") as string | undefined;
  const key = flags.get("tlskey") as string | undefined;
  if (!cert) {
    result.errors.push("TLS Server certificate must be present and valid");
    return;
  }
  if (!key) {
    result.errors.push("TLS Server private key must be present and valid");
    return;
  }
  const tls = defaultTlsOptions();
  tls.certFile = cert;
  tls.keyFile = key;
  const ca = flags.get("tlscacert") as string | undefined;
  if (ca) tls.caFile = ca;
  tls.verify = flags.get("tlsverify") === true;
  result.overrides.tls = tls;
}

/**
 * Applies command-line overrides over options from the config file
 * (nats-server MergeOptions: a flag always wins).
 * @returns a new Options; the inputs are not modified
 */
export function mergeOptions(fileOpts: Options, flagOverrides: FlagOverrides): Options {
  const merged: Options = structuredClone(fileOpts);
  const { cluster, tls, jetstreamFlag, ...plain } = flagOverrides;
  for (const [k, v] of Object.entries(plain)) {
    if (v !== undefined) Object.assign(merged, { [k]: structuredClone(v) });
  }
  if (flagOverrides.authorization && fileOpts.authorization) {
    // As nats-server: --user, --pass and --auth each replace only their own field;
    // the file's other credentials and users list stay (with a token set, the token
    // is what a CONNECT naming no user is checked against).
    merged.authorization = {
      ...structuredClone(fileOpts.authorization),
      ...structuredClone(flagOverrides.authorization),
    };
  }
  if (cluster) {
    const base: ClusterOptions = merged.cluster ?? defaultClusterOptions();
    for (const [k, v] of Object.entries(cluster)) {
      Object.assign(base, { [k]: structuredClone(v) });
    }
    if ("authorization" in cluster && cluster.authorization === undefined) {
      delete base.authorization;
    }
    merged.cluster = base;
  }
  if (tls === null) {
    delete merged.tls;
  } else if (tls) {
    // The handshake timeout is not a flag: keep the file's.
    merged.tls = { ...structuredClone(tls), timeout: fileOpts.tls?.timeout ?? tls.timeout };
  }
  if (jetstreamFlag && !merged.jetstream) {
    merged.jetstream = { storeDir: merged.storeDir ?? "", maxMemory: -1, maxStore: -1 };
  }
  if (merged.jetstream && plain.storeDir) merged.jetstream.storeDir = plain.storeDir;
  return merged;
}

// --- help texts ----------------------------------------------------------------

/** The `-h` text (our wording; same flags as nats-server). */
export function usageText(): string {
  return `Usage: dnatsd [options]

Server options:
    -a, --addr, --net <host>         Interface to listen on for clients (default: 0.0.0.0)
    -p, --port <port>                Client port, -1 picks a free one (default: 4222)
    -n, --name, --server_name <name> Name of this server (default: its generated ID)
    -P, --pid <file>                 Write the process ID to this file
    -m, --http_port <port>           Serve HTTP monitoring on this port
    -ms, --https_port <port>         Serve HTTPS monitoring on this port (needs TLS)
    -c, --config <file>              Read options from this configuration file
    -t                               Check the configuration file and exit
    -sl, --signal <cmd>[=<pid>]      Send a command to a running server and exit:
                                     ldm, stop, quit, term, reopen or reload;
                                     <pid> is a process ID or the path of a PID file
    --client_advertise <host:port>   Address other servers give clients for this server
    --ports_file_dir <dir>           Write <executable>_<pid>.ports into this directory

Logging options:
    -l, --log <file>                 Log to this file instead of stderr
    -T, --logtime                    Put a timestamp on log lines (default: true; -T=false to omit)
    -s, --syslog                     Log to the system log
    -r, --remote_syslog <addr>       Log to a remote syslog, e.g. udp://localhost:514
    -D, --debug                      Log debug messages
    -V, --trace                      Log the protocol traffic
    -VV                              Protocol trace, including internal traffic
    -DV                              Debug and protocol trace
    -DVV                             Debug and protocol trace, including internal traffic
    --log_size_limit <bytes>         Rotate the log file when it grows past this size
    --max_traced_msg_len <bytes>     Cut traced message payloads at this length (default: no limit)

Authorization options:
    --user <user>                    Username clients must present
    --pass <password>                Password clients must present (plain or bcrypt)
    --auth <token>                   Token clients must present

TLS options:
    --tls                            Require TLS from clients, without client certificates
    --tlscert <file>                 Server certificate (PEM)
    --tlskey <file>                  Server private key (PEM)
    --tlsverify                      Require TLS and verify client certificates
    --tlscacert <file>               CA certificates used to verify clients

Cluster options:
    --routes <url>[,<url>...]        Routes to connect to (nats-route://[user:pass@]host:port)
    --cluster, --cluster_listen <url>
                                     Listen for routes: nats://[user:pass@]host:port
    --cluster_name <name>            Cluster name (default: generated)
    --no_advertise                   Do not tell clients about other cluster members
    --cluster_advertise <host:port>  Route address given to other servers
    --connect_retries <n>            Connection attempts for routes learned from peers

JetStream options:
    -js, --jetstream                 Enable JetStream (a single server; not with a cluster)
    -sd, --store_dir <dir>           Storage directory for JetStream

Common options:
    -h, --help                       Show this help
    -v, --version                    Show the version
    --help_tls                       Show TLS configuration help

Profiling (--profile) is recognized but not supported.
`;
}

/** The `--help_tls` text: a TLS block example and the accepted names. */
export function helpTlsText(): string {
  return `TLS configuration is given in a tls { } block of the configuration file:

    tls {
        cert_file: "./certs/server-cert.pem"
        key_file:  "./certs/server-key.pem"
        ca_file:   "./certs/ca.pem"    # verifies client certificates
        verify:    true                # ask clients for a certificate
        timeout:   2                   # handshake timeout in seconds

        cipher_suites: [
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        ]
        curve_preferences: [
            "CurveP256"
        ]
    }

Cipher suite names for cipher_suites:
${GO_CIPHER_SUITES.map((n) => `    ${n}`).join("\n")}

Curve names for curve_preferences:
${GO_CURVE_NAMES.map((n) => `    ${n}`).join("\n")}
`;
}
