/**
 * mkpasswd: makes bcrypt hashes for `password` and `token` in a dnatsd (or
 * nats-server) config file.
 *
 * ```
 * deno task mkpasswd                # generate a password and its hash
 * deno task mkpasswd -p             # hash a password you type (asked twice)
 * echo -n pw | deno task mkpasswd -p
 * deno task mkpasswd --cost 12
 * ```
 *
 * Hashes carry the `$2a$` prefix, as nats-server's own tool prints them.
 *
 * @module
 */
import { bcrypt } from "../lib/deps.ts";

const USAGE = `Usage: mkpasswd [-p] [--cost N]

  -p, --pass        read the password from the terminal (twice) or from stdin
  -c, --cost N      bcrypt cost, 4-31 (default 11)
  -h, --help        show this help
`;

/** URL-safe and shell-safe: 64 symbols, so a random byte & 63 is unbiased. */
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** 22 symbols of 6 bits: 132 bits of entropy. */
const GENERATED_LENGTH = 22;
const DEFAULT_COST = 11;

/** Parsed command line. */
export interface MkpasswdArgs {
  readPassword: boolean;
  cost: number;
  help: boolean;
}

/**
 * Parses mkpasswd's arguments. Accepts Go-style single-dash long flags too
 * (`-cost 12`), since that is how nats-server's tool spells them.
 *
 * @param args Command-line arguments.
 * @returns The parsed arguments.
 * @throws {RangeError} On an unknown flag or a cost outside 4-31.
 */
export function parseArgs(args: readonly string[]): MkpasswdArgs {
  const out: MkpasswdArgs = { readPassword: false, cost: DEFAULT_COST, help: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.includes("=") ? arg.split("=", 2) as [string, string] : [arg, null];
    switch (flag) {
      case "-p":
      case "--p":
      case "-pass":
      case "--pass":
        out.readPassword = true;
        break;
      case "-c":
      case "--c":
      case "-cost":
      case "--cost": {
        const v = inline ?? args[++i];
        if (v === undefined) throw new RangeError(`${flag} needs a value`);
        const n = Number(v);
        if (!/^\d+$/.test(v) || n < 4 || n > 31) {
          throw new RangeError(`invalid cost ${JSON.stringify(v)}: must be between 4 and 31`);
        }
        out.cost = n;
        break;
      }
      case "-h":
      case "--help":
      case "-help":
        out.help = true;
        break;
      default:
        throw new RangeError(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  return out;
}

/**
 * A random password from a URL-safe alphabet.
 *
 * @param length Number of characters (default 22).
 * @returns The password.
 */
export function generatePassword(length = GENERATED_LENGTH): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  for (const b of bytes) out += ALPHABET[b & 63];
  return out;
}

/**
 * bcrypt hash with the `$2a$` prefix. bcryptjs writes `$2b$`; the two mean
 * the same algorithm here, and `$2a$` is what nats-server's tool emits.
 *
 * @param password The password.
 * @param cost bcrypt cost (4-31).
 * @returns The hash.
 */
export function hashPassword(password: string, cost: number): string {
  const h = bcrypt.hashSync(password, cost);
  return h.startsWith("$2b$") ? "$2a$" + h.slice(4) : h;
}

const enc = new TextEncoder();

/** Reads one line from a terminal with echo off (raw mode), prompting on stderr. */
async function readHidden(prompt: string): Promise<string> {
  const bytes: number[] = [];
  const buf = new Uint8Array(256);
  // Echo goes off before the prompt shows, so nothing typed after it is echoed.
  Deno.stdin.setRaw(true);
  try {
    await Deno.stderr.write(enc.encode(prompt));
    // Bounded: a password line longer than 64 KiB is refused below.
    while (bytes.length < 65536) {
      const n = await Deno.stdin.read(buf);
      if (n === null) break;
      let done = false;
      for (const b of buf.subarray(0, n)) {
        if (b === 0x0d || b === 0x0a || b === 0x04) {
          done = true;
          break;
        }
        if (b === 0x03) {
          // Ctrl-C: raw mode swallows SIGINT, so leave the way the shell expects.
          Deno.stdin.setRaw(false);
          await Deno.stderr.write(enc.encode("\n"));
          Deno.exit(130);
        }
        if (b === 0x7f || b === 0x08) {
          // Backspace: drop a whole UTF-8 character (continuation bytes first).
          while (bytes.length > 0 && (bytes[bytes.length - 1]! & 0xc0) === 0x80) bytes.pop();
          bytes.pop();
          continue;
        }
        bytes.push(b);
      }
      if (done) break;
    }
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stderr.write(enc.encode("\n"));
  }
  if (bytes.length >= 65536) throw new RangeError("password is too long");
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** Reads the first line of piped stdin. */
async function readPiped(): Promise<string> {
  const text = await new Response(Deno.stdin.readable).text();
  const nl = text.search(/\r?\n/);
  return nl < 0 ? text : text.slice(0, nl);
}

/**
 * Runs the tool.
 *
 * @param args Command-line arguments.
 * @returns The process exit code.
 */
export async function main(args: readonly string[]): Promise<number> {
  let parsed: MkpasswdArgs;
  try {
    parsed = parseArgs(args);
  } catch (err) {
    console.error(`Error: ${(err as Error).message}\n\n${USAGE}`);
    return 1;
  }
  if (parsed.help) {
    console.log(USAGE);
    return 0;
  }
  if (!parsed.readPassword) {
    const pass = generatePassword();
    console.log(`pass: ${pass}`);
    console.log(`bcrypt hash: ${hashPassword(pass, parsed.cost)}`);
    return 0;
  }
  let pass: string;
  if (Deno.stdin.isTerminal()) {
    pass = await readHidden("Enter Password: ");
    const again = await readHidden("Reenter Password: ");
    if (pass !== again) {
      console.error("Error: passwords do not match");
      return 1;
    }
  } else {
    pass = await readPiped();
  }
  if (pass.length === 0) {
    console.error("Error: password is empty");
    return 1;
  }
  console.log(`bcrypt hash: ${hashPassword(pass, parsed.cost)}`);
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
