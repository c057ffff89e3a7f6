// The forward gradient (Baydin et al. 2022, "Gradients without Backpropagation"): a Gaussian tangent
// V ~ N(0, I) on each hidden layer's weights, shared by the batch; the estimate (Σ_b jvp_b)·V is
// unbiased. The output layer uses activation perturbation, as in the W̃⊥ paper's comparison.
import { FwdgradError } from "../engine/errors.ts";
import type { Tensor } from "../engine/tensor.ts";
import { kindOf } from "../models/index.ts";
import { COMMON_OPTIONS, F32, guessOptions, isotropicGuess, parameterCount, seedsOf, type StepInput } from "./estimator.ts";
import { defineEstimator, type EstimatorFactory } from "./options.ts";

/** Beside the shared pass, its step holds K weight tangents of every hidden layer and their combination. */
export const forwardGradient: EstimatorFactory<typeof COMMON_OPTIONS> = defineEstimator("forward-gradient", COMMON_OPTIONS, (options) => {
  const common = guessOptions(options);
  const { guesses } = common;
  const isOutput = (input: StepInput, i: number) => i === input.model.layers.length - 1;
  const rules = {
    weightGuess: (input: StepInput, i: number): Tensor | null => {
      const layer = input.model.layers[i];
      const [weight, ...rest] = kindOf(layer).params(layer);
      if (rest.length > 0) throw new FwdgradError("forward-gradient: weight perturbation of biases is not supported; build the MLP without bias");
      return isOutput(input, i) ? null : input.rng.split(i).normal([guesses, ...weight.shape]);
    },
    guess: (input: StepInput, i: number) => (isOutput(input, i) ? isotropicGuess(input, i, guesses) : null),
  };
  return {
    id: "forward-gradient",
    ...common,
    ...rules,
    seed: (input) => seedsOf(rules, input),
    covariance: () => null,
  };
}, (sizes, _batch, { guesses }) => F32 * (guesses + 1) * parameterCount(sizes.slice(0, -1)));
