// Options declared once: each estimator lists its options (name, type, default, allowed range, one
// line of doc) in one table, as engine/kernel-abi.ts declares kernels. Validation and defaults come
// from the table here; the CLI's flags and help, and the lab page's form, are generated from it; an
// option an estimator does not declare is refused.
import { FwdgradError } from "../engine/errors.ts";
import type { Estimator } from "./estimator.ts";

/** One option: its kind and doc, its default, and what values it allows. */
export interface OptionSpec {
  /** "int" and "number" are numbers (ints are whole); "choice" one of `choices`. */
  readonly kind: "int" | "number" | "choice";
  /** One line: what the option does. */
  readonly doc: string;
  /** The default: a value, or a rule on the options resolved before it (wperp's maxIter follows its route). */
  readonly default: number | string | ((resolved: Readonly<Record<string, number | string>>) => number | string);
  /** The default in words, where it is a rule. */
  readonly defaultDoc?: string;
  /** Numbers: the smallest and largest values allowed (inclusive unless marked open). */
  readonly min?: number;
  readonly max?: number;
  readonly openMin?: boolean;
  readonly openMax?: boolean;
  readonly choices?: readonly string[];
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

/** The values a table resolves to: choices as their union, numbers as numbers. */
export type Resolved<T extends OptionTable> = { -readonly [K in keyof T]: T[K] extends { choices: readonly (infer C)[] } ? C : number };

/**
 * Bytes of the engine's heap an estimator's step takes beyond the pass every estimator shares
 * (`stepPassBytes`): its own scratch (decompositions, solver blocks, weight tangents), for a model
 * of layer sizes `sizes` and a batch of `batch` rows, with its resolved options, on `threads`
 * threads (each split kernel takes scratch per thread).
 */
export type WorkingSetRule<T extends OptionTable> = (sizes: readonly number[], batch: number, options: Resolved<T>, threads: number) => number;

/** An estimator's factory with its option table: the registry's entries (estimators/index.ts). */
export interface EstimatorFactory<T extends OptionTable = OptionTable> {
  /** The estimator with `options` (a subset of the table's, checked and completed with its defaults). */
  (options?: object): Estimator;
  readonly id: string;
  readonly options: T;
  /** Its own step scratch in bytes (`WorkingSetRule`), `options` checked by its table; 0 where it declares none. */
  readonly workingSet: (sizes: readonly number[], batch: number, options?: object, threads?: number) => number;
}

/** The allowed range of a number option, in words ("an integer ≥ 1", "a number in (0, 1)"). */
export function describeRange(spec: OptionSpec): string {
  if (spec.kind === "choice") return `one of ${spec.choices!.map((c) => JSON.stringify(c)).join(", ")}`;
  const what = spec.kind === "int" ? "an integer" : "a number";
  if (spec.min !== undefined && spec.max !== undefined) return `${what} in ${spec.openMin ? "(" : "["}${spec.min}, ${spec.max}${spec.openMax ? ")" : "]"}`;
  if (spec.min !== undefined) return `${what} ${spec.openMin ? ">" : "≥"} ${spec.min}`;
  if (spec.max !== undefined) return `${what} ${spec.openMax ? "<" : "≤"} ${spec.max}`;
  return what;
}

/** The default of an option in words. */
export function describeDefault(spec: OptionSpec): string {
  return spec.defaultDoc ?? String(spec.default);
}

/** Checks one value against its spec; returns it, or throws a FwdgradError naming the estimator and option. */
export function checkOption(id: string, name: string, spec: OptionSpec, value: unknown): number | string {
  const bad = () => new FwdgradError(`${id}: ${name} must be ${describeRange(spec)}, got ${typeof value === "string" ? JSON.stringify(value) : String(value)}`);
  if (spec.kind === "choice") {
    if (typeof value !== "string" || !spec.choices!.includes(value)) throw bad();
    return value;
  }
  if (typeof value !== "number" || !Number.isFinite(value) || (spec.kind === "int" && !Number.isSafeInteger(value))) throw bad();
  if (spec.min !== undefined && (spec.openMin ? !(value > spec.min) : !(value >= spec.min))) throw bad();
  if (spec.max !== undefined && (spec.openMax ? !(value < spec.max) : !(value <= spec.max))) throw bad();
  return value;
}

/**
 * `given` checked against `table` and completed with its defaults: an unknown option, a value of
 * the wrong type or out of range is a FwdgradError naming the estimator and the option. Undefined
 * values count as absent.
 */
export function resolveOptions<T extends OptionTable>(id: string, table: T, given: unknown = {}): Resolved<T> {
  if (given === null || typeof given !== "object" || Array.isArray(given)) throw new FwdgradError(`${id}: options must be an object, got ${Array.isArray(given) ? "an array" : String(given)}`);
  const names = Object.keys(table);
  const resolved: Record<string, number | string> = Object.create(null);
  for (const [name, value] of Object.entries(given)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(table, name)) {
      throw new FwdgradError(`${id} takes no option ${JSON.stringify(name)}; its options: ${names.length ? names.join(", ") : "none"}`);
    }
    resolved[name] = checkOption(id, name, table[name], value);
  }
  // Constant defaults first, then rules, which may read them.
  for (const name of names) if (!(name in resolved) && typeof table[name].default !== "function") resolved[name] = table[name].default as number | string;
  for (const name of names) {
    const rule = table[name].default;
    if (!(name in resolved) && typeof rule === "function") resolved[name] = rule(resolved);
  }
  return resolved as Resolved<T>;
}

/**
 * An estimator factory that resolves its options against `table` before `build` sees them;
 * `workingSet` declares the heap its step takes beside the shared pass (none where absent).
 */
export function defineEstimator<T extends OptionTable>(id: string, table: T, build: (options: Resolved<T>) => Estimator, workingSet?: WorkingSetRule<T>): EstimatorFactory<T> {
  const factory = (options: unknown = {}) => build(resolveOptions(id, table, options));
  const own = (sizes: readonly number[], batch: number, options: unknown = {}, threads = 1) => (workingSet ? workingSet(sizes, batch, resolveOptions(id, table, options), threads) : 0);
  return Object.assign(factory, { id, options: table, workingSet: own }) as unknown as EstimatorFactory<T>;
}
