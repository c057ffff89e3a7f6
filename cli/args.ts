// A small flag parser for the CLI: `--name value`, `--name=value` and boolean `--flag`, checked
// against each command's declared flags, with one-line errors.
import { isDecimalNumber } from "../data/dataset.ts";

export class UsageError extends Error {}

export type FlagKind = "string" | "int" | "number" | "boolean";

export interface FlagSpec {
  kind: FlagKind;
  default?: string | number | boolean;
  /** Smallest allowed value for numbers. */
  min?: number;
  /** Largest allowed value for numbers. */
  max?: number;
  /** Numbers must exceed this (for values such as a learning rate, where 0 is meaningless). */
  greaterThan?: number;
  /** The values a string flag may take. */
  choices?: readonly string[];
  help: string;
}

export type Flags = Record<string, string | number | boolean | undefined>;

/** Integers in plain decimal only: no hex, octal, binary, exponents, padding or Infinity. */
const DECIMAL_INTEGER = /^[+-]?\d+$/;

/** Flags with defaults filled in; `given` names the flags the command line itself set. */
export function parseFlags(argv: string[], specs: Record<string, FlagSpec>): { flags: Flags; positional: string[]; given: Set<string> } {
  const flags: Flags = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    // Own keys only: "--toString" or "--__proto__" must not find Object.prototype's members.
    if (!Object.hasOwn(specs, name)) throw new UsageError(`unknown flag --${name}`);
    const spec = specs[name];
    if (Object.hasOwn(flags, name)) throw new UsageError(`--${name} is given more than once`);
    if (spec.kind === "boolean") {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const raw = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined || raw === "" || (eq < 0 && raw.startsWith("--"))) throw new UsageError(`--${name} needs a value`);
    flags[name] = convert(name, spec, raw);
  }
  const given = new Set(Object.keys(flags));
  for (const [name, spec] of Object.entries(specs)) if (flags[name] === undefined && spec.default !== undefined) flags[name] = spec.default;
  return { flags, positional, given };
}

function convert(name: string, spec: FlagSpec, raw: string): string | number {
  if (spec.kind === "string") {
    if (spec.choices && !spec.choices.includes(raw)) throw new UsageError(`--${name} must be one of ${spec.choices.join(", ")}, got ${JSON.stringify(raw)}`);
    return raw;
  }
  const isInt = spec.kind === "int";
  if (!(isInt ? DECIMAL_INTEGER.test(raw) : isDecimalNumber(raw))) {
    throw new UsageError(`--${name} must be ${isInt ? "an integer" : "a number"}, got ${JSON.stringify(raw)} (plain decimal only)`);
  }
  // + 0 turns -0 into 0, so "-0" prints and serialises as 0.
  const value = Number(raw) + 0;
  if (isInt && !Number.isSafeInteger(value)) throw new UsageError(`--${name} is too large: ${raw} is beyond ±2^53`);
  if (!Number.isFinite(value)) throw new UsageError(`--${name} is too large: ${raw} is beyond the range of a double`);
  if (spec.min !== undefined && value < spec.min) throw new UsageError(`--${name} must be at least ${spec.min}, got ${raw}`);
  if (spec.max !== undefined && value > spec.max) throw new UsageError(`--${name} must be at most ${spec.max}, got ${raw}`);
  if (spec.greaterThan !== undefined && !(value > spec.greaterThan)) throw new UsageError(`--${name} must be greater than ${spec.greaterThan}, got ${raw}`);
  return value;
}

export function describeFlags(specs: Record<string, FlagSpec>): string {
  const names = Object.entries(specs).map(([name, s]) => `  --${name}${s.kind === "boolean" ? "" : ` <${s.kind}>`}`);
  // One column for the help texts, two spaces right of the longest flag.
  const column = Math.max(24, ...names.map((n) => n.length + 2));
  return Object.values(specs)
    .map((s, i) => names[i].padEnd(column) + s.help + (s.default !== undefined && s.kind !== "boolean" ? ` (default ${s.default})` : ""))
    .join("\n");
}

/** One CLI command: its flags, help text, how many positional arguments it takes, and what it does. */
export interface Command {
  summary: string;
  usage: string;
  flags: Record<string, FlagSpec>;
  /** Positional arguments allowed (data mnist1d, reproduce table1); 0 when absent. */
  positionals?: number;
  /** Resolves to the exit status when it is not 0 (1: a training run stopped early). */
  /** `given`: the flags the command line set itself (the rest hold their defaults). */
  run(flags: Flags, positional: string[], given: Set<string>): Promise<number | void>;
}
