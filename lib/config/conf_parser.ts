/**
 * Parser for the NATS configuration language: turns the tokens of
 * {@linkcode ConfLexer} into a tree of {@linkcode ConfValue}s that remember
 * where they came from, resolves `$variables` (block scope, then the process
 * environment) and `include` directives.
 *
 * Positions follow nats-server so that `file:line:col` messages are identical:
 * a value stored under a key carries the key's position; an array element
 * carries its own.
 *
 * @example
 * ```ts
 * import { parseConf } from "./conf_parser.ts";
 * const tree = parseConf("port: 4222\nmax_payload: 1MB\n", { file: "x.conf" });
 * console.assert(tree.get("max_payload")?.value === 1048576);
 * ```
 *
 * @module
 */
import { dirname, join, normalize } from "node:path";
import { ConfLexer } from "./conf_lexer.ts";
import { ConfLexError, type ConfToken, TokenKind } from "./conf_tokens.ts";

/** The value types of the language. */
export type ConfKind = "string" | "integer" | "float" | "bool" | "map" | "array" | "datetime";

/** Where a value was written. */
export interface ConfPos {
  /** Source file (as given or as joined for includes); "" for in-memory text. */
  file: string;
  line: number;
  /** Column as nats-server prints it (see {@linkcode ConfToken.col}). */
  col: number;
}

/** Keys in source order (a repeated key overwrites the earlier value). */
export type ConfMap = Map<string, ConfValue>;

/** A configuration value with its kind and position. */
export type ConfValue =
  & ConfPos
  & {
    /** Set on a definition once some `$reference` used it: it is then not an unknown key. */
    usedAsVariable?: boolean;
  }
  & (
    | { kind: "string"; value: string }
    | { kind: "integer"; value: number }
    | { kind: "float"; value: number }
    | { kind: "bool"; value: boolean }
    | { kind: "datetime"; value: Date }
    | { kind: "map"; value: ConfMap }
    | { kind: "array"; value: ConfValue[] }
  );

/** A value before it gets its final position. */
type BareValue = Omit<ConfValue, keyof ConfPos | "usedAsVariable">;

/** A syntax-level error; `message` is the nats-server text. */
export class ConfSyntaxError extends SyntaxError {
  /** File being parsed when the error happened ("" for in-memory text). */
  readonly file: string;
  /** Line of the error, when known. */
  readonly line?: number;
  constructor(message: string, file: string, line?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConfSyntaxError";
    this.file = file;
    if (line !== undefined) this.line = line;
  }
}

/** Inputs of {@linkcode parseConf} and {@linkcode parseConfFile}. */
export interface ParseConfOptions {
  /** Name of the source, used for positions and to resolve `include` paths. */
  file?: string;
  /** Environment lookup for `$VAR` fallbacks (default `Deno.env.get`). */
  env?: (name: string) => string | undefined;
  /** Reads an include file (default `Deno.readTextFileSync`). */
  readFile?: (path: string) => string;
}

/** The key under which an environment value is re-parsed (`key=value`). */
const ENV_PROBE_KEY = "pk";
/** Environment values may refer to other variables; stop runaway chains. */
const MAX_ENV_DEPTH = 32;
/**
 * Includes nested deeper than this are refused. A loop is caught earlier (the
 * same file twice in the chain); this bounds chains that dodge that check
 * through ever-new paths. nats-server has no limit and dies of a stack overflow.
 */
export const MAX_INCLUDE_DEPTH = 64;
/**
 * Files included in all by one load. Without a bound, files that each include
 * the next one twice are a tree of 2^depth reads.
 */
export const MAX_INCLUDES = 4096;

/**
 * Parses configuration text.
 * @param text the configuration source
 * @param options file name, environment and include reader
 * @returns the top-level map
 * @throws {ConfSyntaxError} with nats-server's message on any syntax or variable error
 */
export function parseConf(text: string, options: ParseConfOptions = {}): ConfMap {
  return new ConfParser(text, resolveOptions(options), 0).parse();
}

/**
 * Reads and parses a configuration file (includes are relative to its directory).
 * @throws {ConfSyntaxError} also when the file cannot be read
 */
export function parseConfFile(path: string, options: ParseConfOptions = {}): ConfMap {
  const resolved = resolveOptions({ ...options, file: path });
  const text = readSource(path, resolved.readFile);
  return new ConfParser(text, resolved, 0).parse();
}

interface ResolvedParseOptions {
  file: string;
  env: (name: string) => string | undefined;
  readFile: (path: string) => string;
  /** The files being parsed, outermost first, to catch include loops. */
  chain: ReadonlyArray<{ file: string; key: string }>;
  /** Includes read so far by this load (shared by every nested parser). */
  includes: { count: number };
}

function resolveOptions(o: ParseConfOptions): ResolvedParseOptions {
  const file = o.file ?? "";
  return {
    file,
    env: o.env ?? readEnv,
    readFile: o.readFile ?? ((path) => Deno.readTextFileSync(path)),
    chain: file ? [{ file, key: fileIdentity(file) }] : [],
    includes: { count: 0 },
  };
}

/** What makes two include paths the same file: the real path when it exists. */
function fileIdentity(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    return normalize(path);
  }
}

function readSource(path: string, readFile: (path: string) => string): string {
  try {
    return readFile(path);
  } catch (err) {
    // Same wording as Go's os.Open errors, which nats-server prints as is.
    const reason = err instanceof Deno.errors.NotFound
      ? "no such file or directory"
      : err instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : err instanceof Deno.errors.IsADirectory
      ? "is a directory"
      : String((err as Error)?.message ?? err);
    throw new ConfSyntaxError(`open ${path}: ${reason}`, path, undefined, { cause: err });
  }
}

interface PendingKey {
  name: string;
  line: number;
  col: number;
}

type Context =
  | { kind: "map"; map: ConfMap; token: ConfToken }
  | { kind: "array"; items: ConfValue[]; token: ConfToken };

class ConfParser {
  #lexer: ConfLexer;
  #opts: ResolvedParseOptions;
  #envDepth: number;
  #contexts: Context[] = [];
  #keys: PendingKey[] = [];

  constructor(text: string, opts: ResolvedParseOptions, envDepth: number) {
    this.#lexer = new ConfLexer(text);
    this.#opts = opts;
    this.#envDepth = envDepth;
  }

  parse(): ConfMap {
    const top: ConfMap = new Map();
    this.#contexts.push({
      kind: "map",
      map: top,
      token: { kind: TokenKind.MapStart, text: "", line: 1, col: 0 },
    });
    for (;;) {
      let token: ConfToken;
      try {
        token = this.#lexer.next();
      } catch (err) {
        if (err instanceof ConfLexError) {
          throw new ConfSyntaxError(err.message, this.#opts.file, err.line, { cause: err });
        }
        throw err;
      }
      if (token.kind === TokenKind.EOF) break;
      this.#process(token);
    }
    return top;
  }

  #fail(message: string, line?: number): never {
    throw new ConfSyntaxError(message, this.#opts.file, line);
  }

  #process(token: ConfToken): void {
    switch (token.kind) {
      case TokenKind.Key:
        this.#keys.push({ name: token.text, line: token.line, col: token.col });
        return;
      case TokenKind.MapStart:
        this.#contexts.push({ kind: "map", map: new Map(), token });
        return;
      case TokenKind.ArrayStart:
        this.#contexts.push({ kind: "array", items: [], token });
        return;
      case TokenKind.MapEnd:
      case TokenKind.ArrayEnd: {
        const ctx = this.#contexts.pop();
        if (!ctx || this.#contexts.length === 0) this.#fail("Unexpected end of block", token.line);
        const value: BareValue = ctx.kind === "map"
          ? { kind: "map", value: ctx.map }
          : { kind: "array", value: ctx.items };
        this.#setValue(value, ctx.token);
        return;
      }
      case TokenKind.String:
        this.#setValue({ kind: "string", value: token.text }, token);
        return;
      case TokenKind.Bool:
        this.#setValue({ kind: "bool", value: parseBoolWord(token.text) }, token);
        return;
      case TokenKind.Integer: {
        const value = this.#parseInteger(token);
        if (value === undefined) {
          // nats-server silently drops a value with an unknown size suffix.
          this.#keys.pop();
          return;
        }
        this.#setValue({ kind: "integer", value }, token);
        return;
      }
      case TokenKind.Float: {
        const value = Number(token.text);
        // The lexer only lets digits and one '.' through, so the one failure is overflow.
        if (!Number.isFinite(value)) this.#fail(`float '${token.text}' is out of the range`);
        this.#setValue({ kind: "float", value }, token);
        return;
      }
      case TokenKind.Datetime:
        this.#setValue({ kind: "datetime", value: this.#parseDatetime(token) }, token);
        return;
      case TokenKind.Variable:
        this.#setValue(this.#lookupVariable(token), token);
        return;
      case TokenKind.Include:
        this.#include(token);
        return;
    }
  }

  #setValue(value: BareValue, token: ConfToken): void {
    const ctx = this.#contexts[this.#contexts.length - 1]!;
    if (ctx.kind === "array") {
      ctx.items.push(
        { ...value, file: this.#opts.file, line: token.line, col: token.col } as ConfValue,
      );
      return;
    }
    const key = this.#keys.pop();
    if (!key) this.#fail(`Unexpected value on line ${token.line}`, token.line);
    // A repeated key overwrites the earlier value.
    ctx.map.set(
      key.name,
      { ...value, file: this.#opts.file, line: key.line, col: key.col } as ConfValue,
    );
  }

  #parseInteger(token: ConfToken): number | undefined {
    const text = token.text;
    const digits = /^-?[0-9]*/.exec(text)![0];
    const suffix = text.slice(digits.length).toLowerCase();
    let n: bigint;
    try {
      n = BigInt(digits);
    } catch {
      this.#fail(`expected integer, but got '${text}'`);
    }
    if (n > INT64_MAX || n < INT64_MIN) this.#fail(`integer '${text}' is out of the range`);
    const multiplier = SIZE_SUFFIXES[suffix];
    if (multiplier === undefined) return undefined;
    // Go multiplies in int64 and wraps silently; we keep the (rounded) value.
    return Number(n * multiplier);
  }

  #parseDatetime(token: ConfToken): Date {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/.exec(token.text);
    const [y, mo, d, h, mi, s] = (m ?? []).slice(1).map(Number);
    const date = new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
    const valid = m !== null && date.getUTCMonth() === mo! - 1 && date.getUTCDate() === d! &&
      h! < 24 && mi! < 60 && s! < 60;
    if (!valid) this.#fail(`Expected Zulu formatted DateTime, but got '${token.text}'.`);
    return date;
  }

  #lookupVariable(token: ConfToken): BareValue {
    const name = token.text;
    // Innermost map first, then each enclosing map up to the top (block scope).
    for (let i = this.#contexts.length - 1; i >= 0; i--) {
      const ctx = this.#contexts[i]!;
      if (ctx.kind !== "map") continue;
      const found = ctx.map.get(name);
      if (found) {
        found.usedAsVariable = true;
        return { kind: found.kind, value: found.value } as BareValue;
      }
    }
    const envValue = this.#opts.env(name);
    if (envValue !== undefined) {
      if (this.#envDepth >= MAX_ENV_DEPTH) {
        this.#fail(`variable reference for '${name}' on line ${token.line} is too deeply nested`);
      }
      // The environment only holds text: parse it as a value of this language,
      // so "4222" is an integer and "1MB" a size.
      const sub = new ConfParser(
        `${ENV_PROBE_KEY}=${envValue}`,
        { ...this.#opts, file: "" },
        this.#envDepth + 1,
      ).parse();
      const v = sub.get(ENV_PROBE_KEY);
      if (v) return { kind: v.kind, value: v.value } as BareValue;
    }
    return this.#fail(
      `variable reference for '${name}' on line ${token.line} can not be found`,
      token.line,
    );
  }

  /**
   * The include chain with `path` appended.
   * @throws {ConfSyntaxError} naming the chain when `path` is already in it
   *   (a loop), the chain is too deep, or the load has read too many includes
   */
  #includeChain(path: string, token: ConfToken): ResolvedParseOptions["chain"] {
    const key = fileIdentity(path);
    const chain = [...this.#opts.chain, { file: path, key }];
    const names = () => chain.map((c) => c.file).join(" -> ");
    if (this.#opts.chain.some((c) => c.key === key)) {
      this.#fail(`include loop: ${names()}`, token.line);
    }
    if (this.#opts.chain.length >= MAX_INCLUDE_DEPTH) {
      this.#fail(`includes nested deeper than ${MAX_INCLUDE_DEPTH}: ${names()}`, token.line);
    }
    if (++this.#opts.includes.count > MAX_INCLUDES) {
      this.#fail(`more than ${MAX_INCLUDES} includes in one configuration: ${names()}`, token.line);
    }
    return chain;
  }

  #include(token: ConfToken): void {
    // Go's filepath.Join: even an absolute include path is appended to the
    // including file's directory, so includes always stay beside the config.
    const path = join(dirname(this.#opts.file || "."), token.text);
    let included: ConfMap;
    try {
      const chain = this.#includeChain(path, token);
      const text = readSource(path, this.#opts.readFile);
      included = new ConfParser(text, { ...this.#opts, file: path, chain }, 0).parse();
    } catch (err) {
      if (err instanceof ConfSyntaxError) {
        throw new ConfSyntaxError(
          `error parsing include file '${token.text}', ${err.message}`,
          err.file,
          err.line,
          { cause: err },
        );
      }
      throw err;
    }
    const ctx = this.#contexts[this.#contexts.length - 1]!;
    if (ctx.kind !== "map") this.#fail("include is only allowed where a key may be", token.line);
    for (const [k, v] of included) ctx.map.set(k, v);
  }
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** Size suffixes: bare letters are powers of 1000, `b`/`i`/`ib` forms powers of 1024. */
const SIZE_SUFFIXES: Record<string, bigint> = (() => {
  const table: Record<string, bigint> = { "": 1n };
  const letters = ["k", "m", "g", "t", "p", "e"];
  letters.forEach((letter, i) => {
    const exp = BigInt(i + 1);
    table[letter] = 1000n ** exp;
    for (const tail of ["b", "i", "ib"]) table[letter + tail] = 1024n ** exp;
  });
  return table;
})();

function parseBoolWord(word: string): boolean {
  switch (word.toLowerCase()) {
    case "true":
    case "yes":
    case "on":
      return true;
  }
  return false;
}

/** The Go type name nats-server shows for a value in `interface conversion` errors. */
export function goTypeName(kind: ConfKind): string {
  switch (kind) {
    case "string":
      return "string";
    case "integer":
      return "int64";
    case "float":
      return "float64";
    case "bool":
      return "bool";
    case "datetime":
      return "time.Time";
    case "map":
      return "map[string]interface {}";
    case "array":
      return "[]interface {}";
  }
}

function readEnv(name: string): string | undefined {
  // A name no environment can hold (a bare `$`, or one with '=' or NUL): Deno
  // throws a TypeError for these; nats-server simply finds no such variable.
  if (name === "" || name.includes("=") || name.includes("\0")) return undefined;
  try {
    return Deno.env.get(name);
  } catch (err) {
    // Without --allow-env there is no environment to fall back to.
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      return undefined;
    }
    throw err;
  }
}
