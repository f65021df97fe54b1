/**
 * Helpers the config tests share: read a configuration text as the server
 * would (file `t.conf`, no environment) and list what it finds wrong.
 *
 * @module
 */
import { parseConf } from "./conf_parser.ts";
import { formatIssue, type FromConfigResult, optionsFromConfig } from "./from_config.ts";
import { defaultOptions } from "./options.ts";

/** Options, warnings and errors for `text` over the defaults. */
export function load(text: string): FromConfigResult {
  return optionsFromConfig(
    parseConf(text, { file: "t.conf", env: () => undefined }),
    defaultOptions(),
  );
}

/** Warnings then errors for `text`, formatted as the server prints them. */
export function problems(text: string): string[] {
  const r = load(text);
  return [...r.warnings, ...r.errors].map(formatIssue);
}
