// A small flag parser for the CLI: `--name value`, `--name=value` and boolean `--flag`, checked
// against each command's declared flags, with one-line errors.
export class UsageError extends Error {}

export type FlagKind = "string" | "int" | "number" | "boolean";

export interface FlagSpec {
  kind: FlagKind;
  default?: string | number | boolean;
  /** Smallest allowed value for numbers. */
  min?: number;
  help: string;
}

export type Flags = Record<string, string | number | boolean | undefined>;

export function parseFlags(argv: string[], specs: Record<string, FlagSpec>): { flags: Flags; positional: string[] } {
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
    const spec = specs[name];
    if (!spec) throw new UsageError(`unknown flag --${name}`);
    if (spec.kind === "boolean") {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const raw = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined || (eq < 0 && raw.startsWith("--"))) throw new UsageError(`--${name} needs a value`);
    flags[name] = convert(name, spec, raw);
  }
  for (const [name, spec] of Object.entries(specs)) if (flags[name] === undefined && spec.default !== undefined) flags[name] = spec.default;
  return { flags, positional };
}

function convert(name: string, spec: FlagSpec, raw: string): string | number {
  if (spec.kind === "string") return raw;
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(value) || (spec.kind === "int" && !Number.isInteger(value))) {
    throw new UsageError(`--${name} must be ${spec.kind === "int" ? "an integer" : "a number"}, got "${raw}"`);
  }
  if (spec.min !== undefined && value < spec.min) throw new UsageError(`--${name} must be at least ${spec.min}, got ${value}`);
  return value;
}

export function describeFlags(specs: Record<string, FlagSpec>): string {
  return Object.entries(specs)
    .map(([name, s]) => `  --${name}${s.kind === "boolean" ? "" : ` <${s.kind}>`}`.padEnd(24) + s.help + (s.default !== undefined && s.kind !== "boolean" ? ` (default ${s.default})` : ""))
    .join("\n");
}

/** One CLI command: its flags, help text and what it does. */
export interface Command {
  summary: string;
  usage: string;
  flags: Record<string, FlagSpec>;
  run(flags: Flags, positional: string[]): Promise<void>;
}
