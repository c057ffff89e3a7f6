// Activation perturbation: an isotropic Gaussian guess y ~ N(0, I) added to every pre-activation.
// Unbiased (E[y·yᵀ] = I), with variance growing with the layer width.
import { activationEstimate, activationSeeds, checkGuesses, identityCovariance, isotropicGuess, type CommonOptions, type Estimator } from "./estimator.ts";

export function activationPerturbation(options: CommonOptions = {}): Estimator {
  const guesses = checkGuesses("activation-perturbation", options.guesses);
  return {
    id: "activation-perturbation",
    guesses,
    seed: (input) => activationSeeds(input, guesses, (i) => isotropicGuess(input, i, guesses)),
    estimate: activationEstimate,
    covariance: identityCovariance,
  };
}
