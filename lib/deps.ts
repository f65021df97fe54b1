/**
 * Every third-party module the server itself uses, pinned with explicit `npm:`
 * specifiers. Keeping them here (and not only in deno.json's import map) is what
 * lets `deno run https://host/main.ts` work without the local deno.json.
 *
 * @module
 */
export { parse as parseYaml } from "npm:yaml@2.9.1";
export { default as bcrypt } from "npm:bcryptjs@3.0.3";
export * as nkeys from "npm:@nats-io/nkeys@2.0.3";
