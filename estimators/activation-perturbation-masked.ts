// Masked activation perturbation: y = M·ε, ε ~ N(0, I), only on units the ReLU lets through
// (the true gradient is 0 elsewhere), so Cov = M and the estimate stays unbiased.
import { mul, sum } from "../engine/ops.ts";
import { activationGuesses, COMMON_OPTIONS, guessOptions, isotropicGuess } from "./estimator.ts";
import { defineEstimator, type EstimatorFactory } from "./options.ts";

export const activationPerturbationMasked: EstimatorFactory<typeof COMMON_OPTIONS> = defineEstimator("activation-perturbation-masked", COMMON_OPTIONS, (options) => {
  const common = guessOptions(options);
  const { guesses } = common;
  return {
    id: "activation-perturbation-masked",
    ...common,
    ...activationGuesses(guesses, (input, i) => mul(isotropicGuess(input, i, guesses), input.masks[i])),
    covariance: (input, layer) => {
      const mask = input.masks[layer];
      return {
        times: (g) => mul(g, mask),
        // ‖M − I‖_F² = number of inactive units
        distanceSquared: () => {
          const active = sum(mask, 1).toArray();
          return Float64Array.from(active, (a) => mask.shape[1] - a);
        },
        basis: () => null,
      };
    },
  };
});
