/**
 * Subject transforms as nats-server 2.9 applies them to subject mappings and
 * to the subjects of wildcard imports: a source pattern (`orders.*.>`) and a
 * destination whose tokens are literals, `$N` references to the N-th `*` of
 * the source, or `{{function(...)}}` tokens: `wildcard(n)`, `partition(n,
 * i...)`, `splitFromLeft(i, pos)`, `splitFromRight(i, pos)`,
 * `sliceFromLeft(i, size)`, `sliceFromRight(i, size)` and `split(i, sep)`.
 * A trailing `>` in the destination copies what the source's `>` matched.
 *
 * Transforms run per message only for accounts that configured mappings or
 * wildcard imports; the error texts are nats-server's (config messages quote them).
 *
 * @module
 */

const enum Kind {
  Literal,
  Wildcard,
  Partition,
  SplitFromLeft,
  SplitFromRight,
  SliceFromLeft,
  SliceFromRight,
  Split,
}

interface DestToken {
  kind: Kind;
  text: string;
  /** Source token positions the function reads. */
  sources: number[];
  intArg: number;
  strArg: string;
}

/** nats-server's mapping destination errors. */
export const MappingError = {
  InvalidSubject: "invalid mapping destination: invalid subject",
  NotUsingAllWildcards: "invalid mapping destination: not using all of the token wildcard(s)",
  UnknownFunction: "invalid mapping destination: unknown function",
  IndexOutOfRange: "invalid mapping destination: wildcard index out of range",
  NotEnoughArguments: "invalid mapping destination: not enough arguments passed to the function",
  InvalidArgument:
    "invalid mapping destination: function argument is invalid or in the wrong format",
  TooManyArguments: "invalid mapping destination: too many arguments passed to the function",
  BadSubject: "invalid subject",
} as const;

/** An error carrying nats-server's text (`<reason> in <token>` for destination tokens). */
export class TransformError extends Error {}

function tokenError(reason: string, token: string): TransformError {
  return new TransformError(`${reason} in ${token}`);
}

const FUNCTIONS: Array<[RegExp, Kind | "wildcard" | "partition" | "split"]> = [
  [/^{{\s*[wW]ildcard\s*\((.*)\)\s*}}$/, "wildcard"],
  [/^{{\s*[pP]artition\s*\((.*)\)\s*}}$/, "partition"],
  [/^{{\s*[sS]plit[fF]rom[lL]eft\s*\((.*)\)\s*}}$/, Kind.SplitFromLeft],
  [/^{{\s*[sS]plit[fF]rom[rR]ight\s*\((.*)\)\s*}}$/, Kind.SplitFromRight],
  [/^{{\s*[sS]lice[fF]rom[lL]eft\s*\((.*)\)\s*}}$/, Kind.SliceFromLeft],
  [/^{{\s*[sS]lice[fF]rom[rR]ight\s*\((.*)\)\s*}}$/, Kind.SliceFromRight],
  [/^{{\s*[sS]plit\s*\((.*)\)\s*}}$/, "split"],
];

/** Go's strconv.Atoi on a trimmed argument; NaN when it is not an integer. */
function atoi(s: string): number {
  const t = s.trim();
  return /^[+-]?\d+$/.test(t) ? Number(t) : NaN;
}

interface Placeholder {
  kind: Kind;
  indexes: number[];
  intArg: number;
  strArg: string;
}

function placeholder(token: string): Placeholder | null {
  const n = token.length;
  if (n <= 1) return null;
  if (token[0] === "$") {
    const i = atoi(token.slice(1));
    // Other things start with `$`: not an integer leaves the token literal.
    if (Number.isNaN(i) || token.slice(1).trim() !== token.slice(1)) return null;
    return { kind: Kind.Wildcard, indexes: [i], intArg: -1, strArg: "" };
  }
  if (!(n > 4 && token.startsWith("{{") && token.endsWith("}}"))) return null;
  for (const [re, what] of FUNCTIONS) {
    const m = re.exec(token);
    if (m === null) continue;
    const args = m[1]!.split(/,\s*/);
    if (what === "wildcard") {
      if (args.length === 1 && args[0] === "") {
        throw tokenError(MappingError.NotEnoughArguments, token);
      }
      if (args.length > 1) throw tokenError(MappingError.TooManyArguments, token);
      const i = atoi(args[0]!);
      if (Number.isNaN(i)) throw tokenError(MappingError.InvalidArgument, token);
      return { kind: Kind.Wildcard, indexes: [i], intArg: -1, strArg: "" };
    }
    if (what === "partition") {
      if (args.length < 2) throw tokenError(MappingError.NotEnoughArguments, token);
      const count = atoi(args[0]!);
      if (Number.isNaN(count)) throw tokenError(MappingError.InvalidArgument, token);
      const indexes = args.slice(1).map(atoi);
      if (indexes.some(Number.isNaN)) throw tokenError(MappingError.InvalidArgument, token);
      return { kind: Kind.Partition, indexes, intArg: count, strArg: "" };
    }
    if (what === "split") {
      if (args.length < 2) throw tokenError(MappingError.NotEnoughArguments, token);
      if (args.length > 2) throw tokenError(MappingError.TooManyArguments, token);
      const i = atoi(args[0]!);
      if (Number.isNaN(i) || args[1]!.includes(" ") || args[1]!.includes(".")) {
        throw tokenError(MappingError.InvalidArgument, token);
      }
      return { kind: Kind.Split, indexes: [i], intArg: -1, strArg: args[1]! };
    }
    if (args.length < 2) throw tokenError(MappingError.NotEnoughArguments, token);
    if (args.length > 2) throw tokenError(MappingError.TooManyArguments, token);
    const i = atoi(args[0]!);
    const arg = atoi(args[1]!);
    if (Number.isNaN(i) || Number.isNaN(arg)) throw tokenError(MappingError.InvalidArgument, token);
    return { kind: what, indexes: [i], intArg: arg, strArg: "" };
  }
  throw tokenError(MappingError.UnknownFunction, token);
}

/** Valid subject (wildcards allowed), its tokens, its `*` count and whether it ends in `>`. */
function subjectInfo(
  subject: string,
): { tokens: string[]; pwcs: number; fwc: boolean } | null {
  if (subject === "") return null;
  let pwcs = 0;
  let fwc = false;
  const tokens = subject.split(".");
  for (const t of tokens) {
    if (t.length === 0 || fwc) return null;
    if (t === ">") fwc = true;
    else if (t === "*") pwcs++;
  }
  return { tokens, pwcs, fwc };
}

/** nats-server's check of a mapping destination before the transform is built. */
export function validateMappingDestination(subject: string): void {
  let fwc = false;
  for (const t of subject.split(".")) {
    if (t.length === 0 || fwc) throw tokenError(MappingError.InvalidSubject, t);
    if (t.length > 4 && t.startsWith("{{") && t.endsWith("}}")) {
      if (!FUNCTIONS.some(([re]) => re.test(t))) {
        throw tokenError(MappingError.UnknownFunction, t);
      }
      continue;
    }
    if (t === ">") fwc = true;
    else if (/[\t\n\f\r ]/.test(t)) throw new TransformError(MappingError.InvalidSubject);
  }
}

export class SubjectTransform {
  readonly src: string;
  readonly dest: string;
  readonly #srcTokens: string[];
  readonly #destTokens: string[];
  readonly #parts: DestToken[];

  /** @throws {TransformError} with nats-server's text when src/dest do not fit. */
  constructor(src: string, dest: string) {
    const s = subjectInfo(src);
    const d = subjectInfo(dest);
    if (s === null || d === null || d.pwcs > 0 || s.fwc !== d.fwc) {
      throw new TransformError(MappingError.BadSubject);
    }
    this.src = src;
    this.dest = dest;
    this.#srcTokens = s.tokens;
    this.#destTokens = d.tokens;
    this.#parts = [];
    if (s.pwcs === 0 && !s.fwc) return;
    // Source position of the n-th `*` (1-based).
    const position = new Map<number, number>();
    s.tokens.forEach((t, i) => {
      if (t === "*") position.set(position.size + 1, i);
    });
    let placeholders = 0;
    for (const token of d.tokens) {
      const p = placeholder(token);
      if (p === null) {
        this.#parts.push({ kind: Kind.Literal, text: token, sources: [], intArg: -1, strArg: "" });
        continue;
      }
      placeholders++;
      const sources: number[] = [];
      for (const index of p.indexes) {
        if (index > s.pwcs) {
          throw new TransformError(`${MappingError.IndexOutOfRange} in ${token}: [${index}]`);
        }
        sources.push(position.get(index) ?? 0);
      }
      this.#parts.push({ kind: p.kind, text: token, sources, intArg: p.intArg, strArg: p.strArg });
    }
    if (placeholders < s.pwcs) throw tokenError(MappingError.NotUsingAllWildcards, dest);
  }

  /** True when the destination does not depend on the subject. */
  get isConstant(): boolean {
    return this.#parts.length === 0;
  }

  /** Maps a literal subject the source pattern matched. */
  apply(subject: string): string {
    const parts = this.#parts;
    if (parts.length === 0) return this.dest;
    const tokens = subject.split(".");
    const out: string[] = [];
    for (const part of parts) {
      switch (part.kind) {
        case Kind.Literal:
          if (part.text === ">") break;
          out.push(part.text);
          continue;
        case Kind.Wildcard:
          out.push(tokens[part.sources[0]!] ?? "");
          continue;
        case Kind.Partition: {
          let key = "";
          for (const i of part.sources) key += tokens[i] ?? "";
          out.push(String(fnv1a32(key) % (part.intArg >>> 0)));
          continue;
        }
        case Kind.SplitFromLeft:
        case Kind.SplitFromRight: {
          const t = tokens[part.sources[0]!] ?? "";
          const pos = part.intArg;
          if (pos > 0 && pos < t.length) {
            const cut = part.kind === Kind.SplitFromLeft ? pos : t.length - pos;
            out.push(t.slice(0, cut) + "." + t.slice(cut));
          } else {
            out.push(t);
          }
          continue;
        }
        case Kind.SliceFromLeft:
        case Kind.SliceFromRight:
          out.push(slice(tokens[part.sources[0]!] ?? "", part.intArg, part.kind));
          continue;
        case Kind.Split:
          out.push(splitToken(tokens[part.sources[0]!] ?? "", part.strArg));
          continue;
      }
      break; // a literal `>` ends the fixed part
    }
    let text = out.join(".");
    if (this.#destTokens[this.#destTokens.length - 1] === ">") {
      // What the source's `>` matched is appended (after the literal ">" was skipped).
      const rest = tokens.slice(this.#srcTokens.length - 1).join(".");
      text = text === "" ? rest : `${text}.${rest}`;
    }
    return text;
  }

  /** The transform the other way (import subscriptions map a subscriber's subject back). */
  reverse(): SubjectTransform {
    if (this.#parts.length === 0) return new SubjectTransform(this.dest, this.src);
    const placeholders: string[] = [];
    const src = this.#destTokens.map((t) => {
      if (t.length > 1 && t[0] === "$" && t[1]! >= "1" && t[1]! <= "9") {
        placeholders.push(t);
        return "*";
      }
      return t;
    });
    const dest = this.#srcTokens.map((t) => t === "*" ? placeholders.shift() ?? t : t);
    return new SubjectTransform(src.join("."), dest.join("."));
  }
}

function slice(t: string, size: number, kind: Kind): string {
  if (!(size > 0 && size < t.length)) return t;
  const pieces: string[] = [];
  if (kind === Kind.SliceFromLeft) {
    for (let i = 0; i < t.length; i += size) pieces.push(t.slice(i, i + size));
  } else {
    const rem = t.length % size;
    if (rem > 0) pieces.push(t.slice(0, rem));
    for (let i = rem; i < t.length; i += size) pieces.push(t.slice(i, i + size));
  }
  return pieces.join(".");
}

function splitToken(t: string, sep: string): string {
  return t.split(sep).filter((s) => s !== "").join(".");
}

/** FNV-1a, 32 bits, over the bytes of `key` (latin1: subjects are bytes). */
function fnv1a32(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i) & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Numbers the `*` tokens of a subject as `$1`, `$2`... (`foo.*.*` becomes `foo.$1.$2`). */
export function tokenizeWildcards(subject: string): string {
  let i = 1;
  return subject.split(".").map((t) => t === "*" ? `$${i++}` : t).join(".");
}

/** The reverse of {@linkcode tokenizeWildcards}: `$N` tokens become `*`. */
export function untokenizeWildcards(subject: string): string {
  return subject.split(".").map((t) =>
    t.length > 1 && t[0] === "$" && t[1]! >= "1" && t[1]! <= "9" ? "*" : t
  ).join(".");
}
