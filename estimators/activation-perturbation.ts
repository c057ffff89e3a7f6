// Activation perturbation: an isotropic Gaussian guess y ~ N(0, I) added to every pre-activation.
// Unbiased (E[y·yᵀ] = I), with variance growing with the layer width.
import { activationGuesses, guessOptions, identityCovariance, isotropicGuess, type CommonOptions, type Estimator } from "./estimator.ts";

export function activationPerturbation(options: CommonOptions = {}): Estimator {
  const common = guessOptions("activation-perturbation", options);
  const { guesses } = common;
  return {
    id: "activation-perturbation",
    ...common,
    ...activationGuesses(guesses, (input, i) => isotropicGuess(input, i, guesses)),
    covariance: identityCovariance,
  };
}
