/**
 * Loads a configuration file into the positioned tree that
 * {@linkcode optionsFromConfig} reads. The extension picks the format:
 * `.json` (JSON with the same keys), `.yaml`/`.yml` (YAML), anything else the
 * NATS configuration language.
 *
 * @module
 */
import {
  type ConfMap,
  type ConfPos,
  ConfSyntaxError,
  type ConfValue,
  parseConfFile,
} from "./conf_parser.ts";

/** Knobs of {@linkcode loadConfigFile}; mainly for tests. */
export interface LoadConfigOptions {
  /** Environment for `$VAR` fallbacks in NATS conf files (default `Deno.env.get`). */
  env?: (name: string) => string | undefined;
}

/** The config formats {@linkcode loadConfigFile} understands. */
export type ConfigFormat = "conf" | "json" | "yaml";

/** Picks the format from a file name. */
export function configFormatOf(path: string): ConfigFormat {
  const lower = path.toLowerCase();
  if (lower.endsWith(".json")) return "json";
  if (lower.endsWith(".yaml") || lower.endsWith(".yml")) return "yaml";
  return "conf";
}

/**
 * Reads and parses a configuration file.
 * @param path file to read; relative includes resolve against its directory
 * @returns the top-level map with positions
 * @throws {ConfSyntaxError} when the file cannot be read or parsed
 */
export async function loadConfigFile(
  path: string,
  options: LoadConfigOptions = {},
): Promise<ConfMap> {
  const format = configFormatOf(path);
  if (format === "conf") {
    return parseConfFile(path, options.env ? { env: options.env } : {});
  }
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    const reason = err instanceof Deno.errors.NotFound
      ? "no such file or directory"
      : (err as Error).message;
    throw new ConfSyntaxError(`open ${path}: ${reason}`, path, undefined, { cause: err });
  }
  return format === "json" ? parseJsonConfig(text, path) : await parseYamlConfig(text, path);
}

// --- JSON ------------------------------------------------------------------------

/**
 * Parses JSON config text. JSON.parse keeps no positions, so each key is
 * located by scanning forward for its quoted spelling: good enough for
 * `file:line:col` messages.
 * @throws {ConfSyntaxError} on invalid JSON or a non-object top level
 */
export function parseJsonConfig(text: string, file: string): ConfMap {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfSyntaxError(`error parsing JSON: ${(err as Error).message}`, file, undefined, {
      cause: err,
    });
  }
  if (!isPlainObject(data)) {
    throw new ConfSyntaxError("error parsing JSON: the top level must be an object", file);
  }
  const locator = new TextLocator(text, file, "json");
  return toConfValue(data, locator.at(0), locator).value as ConfMap;
}

/** Finds keys in source order to give values a line and column. */
class TextLocator {
  #text: string;
  #file: string;
  #style: "json" | "yaml";
  #cursor = 0;
  constructor(text: string, file: string, style: "json" | "yaml") {
    this.#text = text;
    this.#file = file;
    this.#style = style;
  }
  /** Position of the next occurrence of the key, moving the cursor past it. */
  key(key: string): ConfPos {
    if (this.#style === "json") {
      const needle = JSON.stringify(key);
      const i = this.#text.indexOf(needle, this.#cursor);
      if (i < 0) return this.at(this.#cursor);
      this.#cursor = i + needle.length;
      return this.at(i);
    }
    const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const re = new RegExp(`(^|[\\s{,-])(["']?)${escaped}\\2\\s*:`, "gm");
    re.lastIndex = this.#cursor;
    const m = re.exec(this.#text);
    if (!m) return this.at(this.#cursor);
    const i = m.index + m[1]!.length;
    this.#cursor = i + key.length;
    return this.at(i);
  }
  at(offset: number): ConfPos {
    const before = this.#text.slice(0, offset);
    const line = before.split("\n").length;
    const col = offset - (before.lastIndexOf("\n") + 1) + 1;
    return { file: this.#file, line, col };
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** Converts plain data into a positioned value; `null` entries are dropped. */
function toConfValue(data: unknown, pos: ConfPos, locator?: TextLocator): ConfValue {
  if (isPlainObject(data)) {
    const map: ConfMap = new Map();
    for (const [k, item] of Object.entries(data)) {
      const keyPos = locator ? locator.key(k) : pos;
      if (item === null || item === undefined) continue;
      map.set(k, toConfValue(item, keyPos, locator));
    }
    return { kind: "map", value: map, ...pos };
  }
  if (Array.isArray(data)) {
    const items = data.filter((x) => x !== null && x !== undefined).map((x) =>
      toConfValue(x, pos, locator)
    );
    return { kind: "array", value: items, ...pos };
  }
  if (typeof data === "number") {
    return { kind: Number.isInteger(data) ? "integer" : "float", value: data, ...pos };
  }
  if (typeof data === "bigint") return { kind: "integer", value: Number(data), ...pos };
  if (typeof data === "boolean") return { kind: "bool", value: data, ...pos };
  if (data instanceof Date) return { kind: "datetime", value: data, ...pos };
  return { kind: "string", value: String(data), ...pos };
}

// --- YAML ------------------------------------------------------------------------

/**
 * Parses YAML config text. The YAML parser gives plain data, so keys are
 * located by scanning forward for `key:` (best effort, like JSON). The npm
 * packages (lib/deps.ts) load only here: they cost about 15 MiB of resident
 * memory, which a server started without a YAML file does not pay.
 * @throws {ConfSyntaxError} on YAML errors or a non-mapping top level
 */
export async function parseYamlConfig(text: string, file: string): Promise<ConfMap> {
  const { parseYaml } = await import("../deps.ts");
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    const line = (err as { linePos?: Array<{ line: number }> }).linePos?.[0]?.line;
    throw new ConfSyntaxError(`error parsing YAML: ${(err as Error).message}`, file, line, {
      cause: err,
    });
  }
  if (data === null || data === undefined) return new Map();
  if (!isPlainObject(data)) {
    throw new ConfSyntaxError("error parsing YAML: the top level must be a mapping", file);
  }
  const locator = new TextLocator(text, file, "yaml");
  return toConfValue(data, locator.at(0), locator).value as ConfMap;
}
