// Activation perturbation: an isotropic Gaussian guess y ~ N(0, I) added to every pre-activation.
// Unbiased (E[y·yᵀ] = I), with variance growing with the layer width.
import { activationGuesses, COMMON_OPTIONS, guessOptions, identityCovariance, isotropicGuess } from "./estimator.ts";
import { defineEstimator, type EstimatorFactory } from "./options.ts";

export const activationPerturbation: EstimatorFactory<typeof COMMON_OPTIONS> = defineEstimator("activation-perturbation", COMMON_OPTIONS, (options) => {
  const common = guessOptions(options);
  const { guesses } = common;
  return {
    id: "activation-perturbation",
    ...common,
    ...activationGuesses(guesses, (input, i) => isotropicGuess(input, i, guesses)),
    covariance: identityCovariance,
  };
});
