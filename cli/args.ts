// A small flag parser for the CLI: `--name value`, `--name=value` and boolean `--flag`, checked
// against each command's declared flags, with one-line errors; and the help each command prints,
// its usage line and flag list, generated from the same table so that they cannot disagree.
import { isDecimalNumber } from "../data/dataset.ts";

export class UsageError extends Error {}

/** "pairs": `--name key=value`, repeatable, collected in order (e.g. `--option tol=0.03`). */
export type FlagKind = "string" | "int" | "number" | "boolean" | "pairs";

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
  /**
   * The value as the usage line names it (`<d>`, `dir`, `a,b,c`); by default the choices joined by
   * `|`, else the default, else `<kind>`.
   */
  value?: string;
  /** Shown without brackets in the usage line; the command refuses to run without it (`requireFlag`). */
  required?: boolean;
  help: string;
}

export type Flags = Record<string, string | number | boolean | readonly string[] | undefined>;

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
    if (Object.hasOwn(flags, name) && spec.kind !== "pairs") throw new UsageError(`--${name} is given more than once`);
    if (spec.kind === "boolean") {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const raw = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined || raw === "" || (eq < 0 && raw.startsWith("--"))) throw new UsageError(`--${name} needs a value`);
    if (spec.kind === "pairs") {
      if (!/^[A-Za-z][A-Za-z0-9]*=./.test(raw)) throw new UsageError(`--${name} takes name=value (e.g. --${name} tol=0.03), got ${JSON.stringify(raw)}`);
      flags[name] = [...((flags[name] as string[] | undefined) ?? []), raw];
      continue;
    }
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

/** A default as help prints it: fractions in their shorter form (1e-4, not 0.0001), integers plain. */
function formatDefault(value: string | number | boolean): string {
  if (typeof value !== "number" || Number.isInteger(value)) return String(value);
  const plain = String(value), exponent = value.toExponential();
  return exponent.length < plain.length ? exponent : plain;
}

/** A flag's value as the usage line names it: FlagSpec.value, else the choices, the default or the kind. */
function valueOf(spec: FlagSpec): string {
  return spec.value ?? spec.choices?.join("|") ?? (spec.default !== undefined ? formatDefault(spec.default) : `<${spec.kind}>`);
}

/** Refuses to go on without a required flag, naming it as the usage line does ("--width <d> is required"). */
export function requireFlag(flags: Flags, specs: Record<string, FlagSpec>, name: string): void {
  if (flags[name] === undefined) throw new UsageError(`--${name} ${valueOf(specs[name])} is required`);
}

/**
 * The command's usage line, from its table: `fwdgrad <name> <arguments> --required <value>
 * [--optional <value>] [--boolean]`, the flags in the table's order.
 */
export function usage(name: string, command: Command): string {
  const flags = Object.entries(command.flags).map(([flag, spec]) => {
    const text = spec.kind === "boolean" ? `--${flag}` : `--${flag} ${valueOf(spec)}`;
    return spec.required ? text : `[${text}]`;
  });
  return ["fwdgrad", name, ...(command.arguments ? [command.arguments] : []), ...flags].join(" ");
}

export function describeFlags(specs: Record<string, FlagSpec>): string {
  const names = Object.entries(specs).map(([name, s]) => `  --${name}${s.kind === "boolean" ? "" : s.kind === "pairs" ? " name=value" : ` <${s.kind}>`}`);
  // One column for the help texts, two spaces right of the longest flag.
  const column = Math.max(24, ...names.map((n) => n.length + 2));
  return Object.values(specs)
    .map((s, i) => names[i].padEnd(column) + s.help + (s.default !== undefined && s.kind !== "boolean" ? ` (default ${formatDefault(s.default)})` : ""))
    .join("\n");
}

/** One CLI command: its flags, help text, the positional arguments it takes, and what it does. */
export interface Command {
  summary: string;
  flags: Record<string, FlagSpec>;
  /** The positional arguments as the usage line shows them (`mnist1d`, `<table1|table3|…>`). */
  arguments?: string;
  /** Positional arguments allowed (data mnist1d, reproduce table1); 0 when absent. */
  positionals?: number;
  /** More help after the flag list (the estimators' options, from their tables). */
  notes?: () => string;
  /** Resolves to the exit status when it is not 0 (1: a training run stopped early). */
  /** `given`: the flags the command line set itself (the rest hold their defaults). */
  run(flags: Flags, positional: string[], given: Set<string>): Promise<number | void>;
}
