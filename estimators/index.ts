// The registry: one factory per estimator id, each in its own file, all behind one interface; and the
// gradient methods a trainer steps with, the exact gradient (backprop) being one entry among them.
import { FwdgradError } from "../engine/errors.ts";
import type { Rng } from "../engine/rng.ts";
import type { Tensor } from "../engine/tensor.ts";
import { backprop, type Gradients } from "../models/gradient.ts";
import type { Mlp } from "../models/mlp.ts";
import { activationPerturbation } from "./activation-perturbation.ts";
import { activationPerturbationMasked } from "./activation-perturbation-masked.ts";
import { COMBINES, estimateStep, statefulTwoPass, F32, MAX_GUESSES, parameterCount, stepInput, stepPassBytes, type Combine, type CommonOptions, type Estimator, type Objective } from "./estimator.ts";
import { resolveOptions, type EstimatorFactory, type OptionTable } from "./options.ts";
import { forwardGradient, type ForwardGradientOptions } from "./forward-gradient.ts";
import { orthogonalGuess, type OrthogonalGuessOptions } from "./orthogonal-guess.ts";
import { orthogonalGuessNs, type OrthogonalGuessNsOptions } from "./orthogonal-guess-ns.ts";
import { preconditioned, type PreconditionedGuessOptions } from "./preconditioned-guess.ts";
import { transposeGuess } from "./transpose-guess.ts";

/**
 * Options of {@link createEstimator}, the union of every estimator's: the number of guesses and how
 * they combine, and the options of the orthogonal and preconditioned guesses. Each estimator reads
 * its own (see {@link methodOptions}); {@link sharedOptions} lists those all of them take.
 */
export type EstimatorOptions = CommonOptions & ForwardGradientOptions & OrthogonalGuessOptions & OrthogonalGuessNsOptions & PreconditionedGuessOptions;

/** Every estimator id with its factory; `createEstimator(id, options)` looks ids up here. */
export const ESTIMATORS = {
  "forward-gradient": forwardGradient,
  "activation-perturbation": activationPerturbation,
  "activation-perturbation-masked": activationPerturbationMasked,
  wt: transposeGuess,
  wperp: orthogonalGuess,
  "wperp-ns": orthogonalGuessNs,
  wp: preconditioned,
} satisfies Record<string, EstimatorFactory>;

/** The registered estimator ids. */
export type EstimatorId = keyof typeof ESTIMATORS;

/** Whether `id` names a registered estimator (own keys only: "toString" or "__proto__" are not ids). */
export function isEstimatorId(id: string): id is EstimatorId {
  return Object.hasOwn(ESTIMATORS, id);
}

/**
 * The estimator with this id, configured by `options` (guesses, k, route, …).
 * @throws {FwdgradError} when `id` is not a key of {@link ESTIMATORS} (the message lists them), or an option is unknown to the estimator or out of range.
 * @example
 * ```ts
 * const estimator = createEstimator("wperp", { k: 10, guesses: 4 });
 * ```
 */
export function createEstimator(id: EstimatorId, options: EstimatorOptions = {}): Estimator {
  // Typed callers cannot pass a misspelt id; untyped ones (JavaScript, parsed input) get the same error.
  if (typeof id !== "string" || !isEstimatorId(id)) throw new FwdgradError(`unknown estimator ${JSON.stringify(String(id))}; known: ${Object.keys(ESTIMATORS).join(", ")}`);
  const factory: (o: EstimatorOptions) => Estimator = ESTIMATORS[id];
  const estimator = factory(options);
  if (estimator.passes === 2 && estimator.state) throw new FwdgradError(statefulTwoPass(id));
  return estimator;
}

/** Methods whose estimator keeps per-example warm starts between visits, bounded by `warmStartBytes`. */
// Per method, the rows of each example's kept block under its resolved options: W̃⊥ keeps k +
// oversample, W̃⊥-NS's fast route pairs + oversample (warmStartBytesFor's k and oversample).
const WARM_STARTED: Readonly<Partial<Record<EstimatorId, (options: Readonly<Record<string, unknown>>) => { k: number; oversample: number }>>> = {
  wperp: (o) => ({ k: Number(o.k), oversample: Number(o.oversample) }),
  "wperp-ns": (o) => ({ k: Number(o.pairs), oversample: Number(o.oversample) }),
};

/**
 * Whether method `id` keeps per-example warm starts (so `warmStartBytes` bounds its memory).
 * @example
 * ```ts
 * keepsWarmStarts("wperp"); // true: per-example warm starts
 * ```
 */
export function keepsWarmStarts(id: string): boolean {
  return Object.hasOwn(WARM_STARTED, id);
}

/** The rows of each example's kept block for method `id` under its resolved `options` (WARM_STARTED); null where the method, or its exact route, keeps none. */
export function warmStartBlock(id: string, options: Readonly<Record<string, unknown>>): { k: number; oversample: number } | null {
  if (!keepsWarmStarts(id) || options.route !== "fast") return null;
  return WARM_STARTED[id as EstimatorId]!(options);
}

/** How a training step gets its gradient: estimated by an estimator, or exact. */
export interface GradientMethod {
  /** Its id: an estimator's, or "backprop" for the exact gradient. */
  readonly id: string;
  /** The estimator behind the method; null for the exact gradient (nothing to measure against it). */
  readonly estimator: Estimator | null;
  /**
   * The batch's mean loss and parameter gradients; `indices` are its data set rows, `objective` a
   * loss other than softmax cross-entropy against `labels` (e.g. mean squared error and its targets).
   */
  step(model: Mlp, x: Tensor, labels: Int32Array, rng: Rng, indices?: Int32Array, objective?: Objective): { loss: number; grads: Gradients };
  /** Throws a FwdgradError when a model of these layer sizes does not suit the method. */
  checkModel(sizes: readonly number[]): void;
}

/**
 * The option table of a gradient method (estimators/options.ts): each estimator's own; the exact
 * gradient takes none. A FwdgradError for an unknown id.
 * @throws {FwdgradError} when `id` is not a method id.
 * @example
 * ```ts
 * Object.keys(methodOptions("wperp")); // ["guesses", "combine", "k", "route", "oversample", "tol", "exactTol", "maxIter", "warmStartBytes"]
 * ```
 */
export function methodOptions(id: string): OptionTable {
  if (!isMethodId(id)) throw new FwdgradError(`unknown method ${JSON.stringify(String(id))}; known: ${METHOD_IDS.join(", ")}`);
  return isEstimatorId(id) ? ESTIMATORS[id].options : {};
}

/**
 * Options given once for several methods side by side (the CLI's compare, the lab page): each method
 * gets those its table declares. An option no method declares is refused, naming the methods.
 * @throws {FwdgradError} when a method is unknown, or an option is declared by none of `methods`; the returned function throws for a method not listed.
 * @example
 * ```ts
 * const forMethod = sharedOptions(["wt", "wperp"], { k: 4 }); // forMethod("wt") = {}, forMethod("wperp") = { k: 4 }
 * ```
 */
export function sharedOptions(methods: readonly string[], options: object): (method: string) => EstimatorOptions {
  // An unknown id is left for the caller to report (the trainer names it with the rest of its config).
  const tables = methods.map((method): OptionTable => (isMethodId(method) ? methodOptions(method) : {}));
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (methods.every(isMethodId) && !tables.some((table) => Object.hasOwn(table, name))) {
      throw new FwdgradError(`option ${JSON.stringify(name)}: none of ${methods.join(", ")} takes it`);
    }
  }
  return (method) => optionsTakenBy(method, options);
}

/** The options of `options` that `method`'s table declares (none for an unknown id), undefined values left out. */
export function optionsTakenBy(method: string, options: object): EstimatorOptions {
  const table = isMethodId(method) ? methodOptions(method) : {};
  return Object.fromEntries(Object.entries(options).filter(([name, value]) => value !== undefined && Object.hasOwn(table, name))) as EstimatorOptions;
}

const exactGradient: GradientMethod = {
  id: "backprop",
  estimator: null,
  step: (model, x, labels, _, __, objective) => (objective ? backprop(model, x, objective.targets, objective.loss) : backprop(model, x, labels)),
  checkModel: () => {},
};

function estimated(estimator: Estimator): GradientMethod {
  return {
    id: estimator.id,
    estimator,
    step: (model, x, labels, rng, indices, objective) => estimateStep(estimator, stepInput(model, x, labels, rng, indices, objective)),
    checkModel: (sizes) => estimator.checkModel?.(sizes),
  };
}

/** Every gradient method by id: the exact gradient and each estimator. Null prototype: own ids only. */
const METHODS: Record<string, (options: EstimatorOptions) => GradientMethod> = Object.assign(Object.create(null), {
  backprop: (options: EstimatorOptions) => {
    resolveOptions("backprop", {}, options);
    return exactGradient;
  },
  ...Object.fromEntries((Object.keys(ESTIMATORS) as EstimatorId[]).map((id) => [id, (options: EstimatorOptions) => estimated(createEstimator(id, options))])),
});

/** The ids `createMethod` takes, in the order menus and help list them. */
export const METHOD_IDS: readonly string[] = Object.freeze(Object.keys(METHODS));

/**
 * Whether `id` names a gradient method (backprop or an estimator).
 * @example
 * ```ts
 * isMethodId("wperp"); // true
 * isMethodId("toString"); // false
 * ```
 */
export function isMethodId(id: unknown): id is string {
  return typeof id === "string" && Object.hasOwn(METHODS, id);
}

/**
 * The gradient method with this id, its estimator configured by `options`.
 * @throws {FwdgradError} when `id` is not in {@link METHOD_IDS}, or an option is unknown to the method or out of range.
 * @example
 * ```ts
 * const { loss, grads } = createMethod("wt").step(model, x, labels, rng(1));
 * ```
 */
export function createMethod(id: string, options: EstimatorOptions = {}): GradientMethod {
  if (!isMethodId(id)) throw new FwdgradError(`unknown method ${JSON.stringify(String(id))}; known: ${METHOD_IDS.join(", ")}`);
  return METHODS[id](options);
}

/**
 * Bytes of the engine's heap one training step of method `id` takes beyond the parameters, for a
 * model of layer sizes `sizes` and `batch` rows on `threads` threads: the gradients, the pass's
 * primal values and tangents (`stepPassBytes`) and the estimator's own scratch (its factory's
 * `workingSet`); for backprop, the forward trace and its transposed pass.
 * @throws {FwdgradError} when `id` is not a method id or an option is refused by its table.
 * @example
 * ```ts
 * methodWorkingSet("wt", mlpSizes(40, 128, 3, 10), 512, { guesses: 4 }); // about 13 MB
 * ```
 */
export function methodWorkingSet(id: string, sizes: readonly number[], batch: number, options: EstimatorOptions = {}, threads = 1): number {
  const table = methodOptions(id);
  if (!isEstimatorId(id)) {
    resolveOptions(id, table, options);
    return F32 * (parameterCount(sizes) + batch * sizes[0] + 5 * batch * sizes.slice(1).reduce((a, b) => a + b, 0));
  }
  const { guesses } = resolveOptions(id, table, options) as { guesses: number };
  return stepPassBytes(sizes, batch, guesses) + ESTIMATORS[id].workingSet(sizes, batch, options, threads);
}

/** One entry of a list of methods to compare: a method id, optionally with how its guesses combine and how many. */
export interface MethodSpec {
  /** The entry as written, e.g. "wperp:project:10". */
  label: string;
  /** The method id, e.g. "wperp" or "backprop". */
  method: string;
  /** How its guesses combine, when the entry says. */
  combine?: Combine;
  /** Its number of guesses K, when the entry says. */
  guesses?: number;
}


/**
 * Parses "id[:mean|:project][:K]" (the options in either order), as `fwdgrad compare --methods`
 * and the lab page take them; throws a FwdgradError naming the entry and the part at fault.
 * @throws {FwdgradError} when the id is unknown, a part is not an expected option (a combine, a
 * guess count up to MAX_GUESSES), or the method draws no guesses and so takes no options.
 * @example
 * ```ts
 * parseMethodSpec("wperp:project:10"); // { label: "wperp:project:10", method: "wperp", combine: "project", guesses: 10 }
 * ```
 */
export function parseMethodSpec(text: string): MethodSpec {
  const [method, ...options] = String(text).split(":");
  if (!isMethodId(method)) throw new FwdgradError(`unknown method ${JSON.stringify(method)}${options.length ? ` in ${JSON.stringify(text)}` : ""}; known: ${METHOD_IDS.join(", ")}`);
  const spec: MethodSpec = { label: text, method };
  for (const option of options) {
    if ((COMBINES as readonly string[]).includes(option) && spec.combine === undefined) spec.combine = option as Combine;
    else if (/^\d+$/.test(option) && Number(option) >= 1 && Number(option) <= MAX_GUESSES && spec.guesses === undefined) spec.guesses = Number(option);
    else {
      const wanted = [spec.combine === undefined ? `a combination (${COMBINES.join(", ")})` : "", spec.guesses === undefined ? `a guess count (an integer from 1 to ${MAX_GUESSES})` : ""].filter(Boolean);
      throw new FwdgradError(`method entry ${JSON.stringify(text)}: ${JSON.stringify(option)} is not ${wanted.length ? wanted.join(" or ") : "expected: each option goes once"}`);
    }
  }
  if (!isEstimatorId(method) && options.length > 0) throw new FwdgradError(`method entry ${JSON.stringify(text)}: ${method} draws no guesses, so it takes no options`);
  return spec;
}

export * from "./estimator.ts";
