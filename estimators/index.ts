// The estimator registry: one factory per id, each in its own file, all behind one interface.
import { FwdgradError } from "../engine/errors.ts";
import { activationPerturbation } from "./activation-perturbation.ts";
import { activationPerturbationMasked } from "./activation-perturbation-masked.ts";
import type { CommonOptions, Estimator, EstimatorId } from "./estimator.ts";
import { forwardGradient } from "./forward-gradient.ts";
import { orthogonalGuess, type OrthogonalGuessOptions } from "./orthogonal-guess.ts";
import { orthogonalGuessNs, type OrthogonalGuessNsOptions } from "./orthogonal-guess-ns.ts";
import { preconditioned, type PreconditionedGuessOptions } from "./preconditioned-guess.ts";
import { transposeGuess } from "./transpose-guess.ts";

export type EstimatorOptions = CommonOptions & OrthogonalGuessOptions & OrthogonalGuessNsOptions & PreconditionedGuessOptions;

/** Every estimator id with its factory; `createEstimator(id, options)` looks ids up here. */
export const ESTIMATORS = {
  "forward-gradient": forwardGradient,
  "activation-perturbation": activationPerturbation,
  "activation-perturbation-masked": activationPerturbationMasked,
  wt: transposeGuess,
  wperp: orthogonalGuess,
  "wperp-ns": orthogonalGuessNs,
  wp: preconditioned,
} satisfies Record<EstimatorId, (options: EstimatorOptions) => Estimator>;

export type RegisteredId = keyof typeof ESTIMATORS;

/** Whether `id` names a registered estimator (own keys only: "toString" or "__proto__" are not ids). */
export function isEstimatorId(id: string): id is RegisteredId {
  return Object.hasOwn(ESTIMATORS, id);
}

/**
 * The estimator with this id, configured by `options` (guesses, k, route, …).
 * @example
 * ```ts
 * const estimator = createEstimator("wperp", { k: 10, guesses: 4 });
 * ```
 */
export function createEstimator(id: string, options: EstimatorOptions = {}): Estimator {
  if (typeof id !== "string" || !isEstimatorId(id)) throw new FwdgradError(`unknown estimator ${JSON.stringify(String(id))}; known: ${Object.keys(ESTIMATORS).join(", ")}`);
  const factory: (o: EstimatorOptions) => Estimator = ESTIMATORS[id];
  return factory(options);
}

export * from "./estimator.ts";
