/**
 * From argv to a ready-to-use {@linkcode Options} (or to the one thing the
 * process was asked to do instead: help, version, `-t`, `-sl`). main.ts only
 * prints what this returns and acts on `command`.
 *
 * Order, as in nats-server: flags -> config file (`-c`) -> options from the
 * file -> flags applied on top -> checks on the merged options.
 *
 * @module
 */
import { ConfSyntaxError } from "./conf_parser.ts";
import { type ConfigIssue, formatIssue } from "./conf_values.ts";
import {
  type CommandKind,
  type FlagOverrides,
  helpTlsText,
  mergeOptions,
  type ParsedFlags,
  parseFlags,
  type SignalRequest,
  usageText,
} from "./flags.ts";
import { optionsFromConfig, validateOptions } from "./from_config.ts";
import { loadConfigFile } from "./load.ts";
import { tlsFilesError } from "./from_config_tls.ts";
import { defaultOptions, type Options } from "./options.ts";

/** Environment given to {@linkcode resolveOptions}: a record or a lookup function. */
export type EnvSource = Record<string, string> | ((name: string) => string | undefined);

/** Knobs of {@linkcode resolveOptions}. */
export interface ResolveSettings {
  /** Prefix of messages (nats-server prints `nats-server: ...`). Default `dnatsd`. */
  programName?: string;
  /** Check TLS files while loading (default true). */
  checkFiles?: boolean;
  /** letsgo-nats' variables (ACME environment mode), checked as a start checks them. */
  acmeEnv?: Record<string, string | undefined> | null;
}

/** Everything main.ts needs to act. */
export interface ResolvedCommand {
  command: CommandKind;
  /** Merged options (defaults when the command is not `run`). */
  options: Options;
  /** Options fields set by the file or the flags. */
  setKeys: Set<keyof Options>;
  /** The parsed command line, kept so a reload can re-apply the flags. */
  flags: ParsedFlags;
  configFile?: string;
  signal?: SignalRequest;
  /** Formatted warnings (non-fatal for `run`, fatal for `-t`). */
  warnings: string[];
  /** Formatted fatal errors; non-empty means do not start. */
  errors: string[];
  /** Text for stdout (help texts). */
  stdout?: string;
  /** Text for stderr, already prefixed with the program name. */
  stderr?: string;
  /** Exit code when the command ends the process (anything but a successful `run`). */
  exitCode: number;
}

/** Result of {@linkcode buildOptions}. */
export interface BuiltOptions {
  options: Options;
  setKeys: Set<keyof Options>;
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}

function envLookup(env: EnvSource | undefined): ((name: string) => string | undefined) | undefined {
  if (env === undefined) return undefined;
  if (typeof env === "function") return env;
  return (name) => Object.hasOwn(env, name) ? env[name] : undefined;
}

/**
 * Loads the config file (if any), applies the flag overrides and checks the
 * result. Used at start-up and again on reload (the same flags stay in force).
 */
export async function buildOptions(
  configFile: string | undefined,
  flags: Pick<ParsedFlags, "overrides" | "setKeys" | "routesFromFlags">,
  env?: EnvSource,
  settings: ResolveSettings = {},
): Promise<BuiltOptions> {
  let fileOptions = defaultOptions();
  const setKeys = new Set<keyof Options>();
  const errors: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  if (configFile !== undefined) {
    const lookup = envLookup(env);
    try {
      const tree = await loadConfigFile(configFile, lookup ? { env: lookup } : {});
      const result = optionsFromConfig(tree, fileOptions, {
        checkFiles: settings.checkFiles ?? true,
      });
      fileOptions = result.options;
      result.setKeys.forEach((k) => setKeys.add(k));
      // Not push(...list): a file with ~150,000 errors overflows the call stack.
      appendAll(errors, result.errors);
      appendAll(warnings, result.warnings);
    } catch (err) {
      if (err instanceof RangeError) {
        // A structure too deep for a recursive step (stack overflow) or too big
        // for the runtime: a clean error naming the file, never a crash.
        errors.push({
          severity: "error",
          reason: `${configFile}: configuration too deeply nested or too large: ${err.message}`,
        });
      } else if (err instanceof ConfSyntaxError) {
        errors.push({ severity: "error", reason: err.message });
      } else throw err;
    }
    fileOptions.configFile = configFile;
  }
  if (errors.length > 0) return { options: fileOptions, setKeys, errors, warnings };
  const options = mergeOptions(fileOptions, flags.overrides);
  flags.setKeys.forEach((k) => setKeys.add(k));
  if (flags.routesFromFlags && (!options.cluster || options.cluster.port === 0)) {
    errors.push({
      severity: "error",
      reason: "solicited routes require cluster capabilities, e.g. --cluster",
    });
  }
  if (flags.overrides.tls && (settings.checkFiles ?? true)) {
    const tlsError = tlsFilesError(flags.overrides.tls);
    if (tlsError !== null) errors.push({ severity: "error", reason: tlsError });
  }
  appendAll(errors, validateOptions(options));
  if (errors.length === 0 && (usesTlsOrHttps(options) || settings.acmeEnv?.DOMAINS)) {
    // The checks the listeners, the route dialer, HTTPS monitoring and the ACME
    // manager make when they start, run here by the same code: `-t` and a start
    // (and a reload) give one verdict, before anything is bound.
    const { startupTlsProblems } = await import("../tls/validate.ts");
    const checkFiles = settings.checkFiles ?? true;
    for (const reason of startupTlsProblems(options, { checkFiles, acmeEnv: settings.acmeEnv })) {
      errors.push({ severity: "error", reason });
    }
  }
  return { options, setKeys, errors, warnings };
}

/** Whether {@linkcode buildOptions} has TLS material or ACME settings to check. */
function usesTlsOrHttps(o: Options): boolean {
  return o.tls !== undefined || o.cluster?.tls !== undefined || o.httpsPort !== 0;
}

/** Appends `items` to `to` one by one (no spread: the arguments of a call are bounded). */
function appendAll<T>(to: T[], items: readonly T[]): void {
  for (const item of items) to.push(item);
}

/**
 * Resolves the command line into what to do and with which options.
 * @param argv arguments without the program name (`Deno.args`)
 * @param env environment for `$VAR` lookups (default: the process environment)
 */
export async function resolveOptions(
  argv: string[],
  env?: EnvSource,
  settings: ResolveSettings = {},
): Promise<ResolvedCommand> {
  const program = settings.programName ?? "dnatsd";
  const flags = parseFlags(argv);
  const out: ResolvedCommand = {
    command: flags.command,
    options: defaultOptions(),
    setKeys: new Set(),
    flags,
    warnings: [],
    errors: [],
    exitCode: 0,
  };
  if (flags.configFile !== undefined) out.configFile = flags.configFile;
  const fail = (lines: string[]): ResolvedCommand => {
    out.errors = lines;
    out.stderr = `${program}: ${lines.join("\n")}\n`;
    out.exitCode = 1;
    return out;
  };

  if (flags.usageError !== undefined) {
    // nats-server prints the flag error, then the usage, and exits 0.
    out.errors = [flags.usageError];
    out.stderr = `${flags.usageError}\n`;
    out.stdout = usageText();
    return out;
  }
  if (flags.errors.length > 0) return fail(flags.errors);
  switch (flags.command) {
    case "help":
      out.stdout = usageText();
      return out;
    case "help_tls":
      out.stdout = helpTlsText();
      return out;
    case "version":
      return out;
    case "signal":
      if (flags.signal) out.signal = flags.signal;
      return out;
  }
  if (flags.command === "check_config" && flags.configFile === undefined) {
    return fail(["must specify [-c, --config] option to check configuration file syntax"]);
  }

  const built = await buildOptions(flags.configFile, flags, env, settings);
  out.options = built.options;
  out.setKeys = built.setKeys;
  out.warnings = built.warnings.map(formatIssue);
  const errors = built.errors.map(formatIssue);
  if (flags.command === "check_config") {
    // -t treats warnings as failures, like nats-server.
    if (errors.length > 0 || out.warnings.length > 0) return fail([...out.warnings, ...errors]);
    out.stderr = `${program}: configuration file ${flags.configFile} is valid\n`;
    return out;
  }
  if (errors.length > 0) return fail([...out.warnings, ...errors]);
  if (out.warnings.length > 0) out.stderr = `${program}: ${out.warnings.join("\n")}\n`;
  return out;
}

/** Re-exported so callers of the resolver can re-apply flags themselves. */
export { type FlagOverrides, mergeOptions };
