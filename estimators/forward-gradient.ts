// The forward gradient (Baydin et al. 2022, "Gradients without Backpropagation"): a Gaussian tangent
// V ~ N(0, I) on each hidden layer's weights, shared by the batch; the estimate (Σ_b jvp_b)·V is
// unbiased. The output layer uses activation perturbation, as in the W̃⊥ paper's comparison.
import { FwdgradError } from "../engine/errors.ts";
import type { Tensor } from "../engine/tensor.ts";
import { guessOptions, isotropicGuess, type CommonOptions, type Estimator } from "./estimator.ts";

export function forwardGradient(options: CommonOptions = {}): Estimator {
  const common = guessOptions("forward-gradient", options);
  const { guesses } = common;
  return {
    id: "forward-gradient",
    ...common,
    seed: (input) => {
      const layers = input.model.layers;
      if (layers.some((l) => l.b)) throw new FwdgradError("forward-gradient: weight perturbation of biases is not supported; build the MLP without bias");
      const last = layers.length - 1;
      return {
        weights: layers.map((l, i): Tensor | null => (i < last ? input.rng.split(i).normal([guesses, ...l.w.shape]) : null)),
        activations: layers.map((_, i) => (i === last ? isotropicGuess(input, i, guesses) : null)),
      };
    },
    covariance: () => null,
  };
}
