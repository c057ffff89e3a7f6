// The forward gradient (Baydin et al. 2022, "Gradients without Backpropagation"): a tangent V with
// E[V·Vᵀ] = I on each hidden layer's weights, shared by the batch; the estimate (Σ_b jvp_b)·V is
// unbiased. Gaussian tangents are the paper's; Rademacher (±1) tangents, as FROG offers, are as
// unbiased and cheaper to draw. The tangents are drawn from their Philox counters where they are used
// (inside the product x·Vᵀ, and again in the update), never stored, so the step's memory is flat in
// depth. The output layer uses activation perturbation, as in the W̃⊥ paper's comparison, or weight
// perturbation like every other layer (output: "weights", Baydin et al.'s own setting).
import { FwdgradError } from "../engine/errors.ts";
import type { Tensor } from "../engine/tensor.ts";
import { kindOf } from "../models/index.ts";
import { COMMON_OPTIONS, F32, guessOptions, type CommonOptions, isotropicGuess, largestLayer, seedsOf, type StepInput } from "./estimator.ts";
import { defineEstimator, type EstimatorFactory, type OptionTable } from "./options.ts";

export interface ForwardGradientOptions extends CommonOptions {
  /** The weight tangents' distribution: "normal" (default, the paper's) or "rademacher" (±1, as unbiased, cheaper to draw). */
  tangents?: "normal" | "rademacher";
  /** The output layer's guess: "activations" (default, the W̃⊥ paper's comparison) or "weights" (Baydin et al.). */
  output?: "activations" | "weights";
}

const OPTIONS = {
  ...COMMON_OPTIONS,
  tangents: { kind: "choice", choices: ["normal", "rademacher"], default: "normal", doc: "the weight tangents' distribution: normal (the paper's) or rademacher (±1, as unbiased, cheaper to draw)" },
  output: { kind: "choice", choices: ["activations", "weights"], default: "activations", doc: "the output layer's guess: activation perturbation (the W̃⊥ paper's comparison) or weight perturbation (Baydin et al.)" },
} as const satisfies OptionTable;

/** Beside the shared pass, its step holds one layer's drawn update at a time: the tangents are never stored. */
export const forwardGradient: EstimatorFactory<typeof OPTIONS> = defineEstimator("forward-gradient", OPTIONS, (options) => {
  const common = guessOptions(options);
  const { guesses } = common;
  const perturbsWeights = (input: StepInput, i: number) => options.output === "weights" || i < input.model.layers.length - 1;
  const rules = {
    weightGuess: (input: StepInput, i: number): Tensor | null => {
      const layer = input.model.layers[i];
      const [weight, ...rest] = kindOf(layer).params(layer);
      if (!perturbsWeights(input, i)) return null;
      if (rest.length > 0) throw new FwdgradError("forward-gradient: weight perturbation of biases is not supported; build the MLP without bias");
      return input.rng.split(i).drawn([guesses, ...weight.shape], options.tangents);
    },
    guess: (input: StepInput, i: number) => (perturbsWeights(input, i) ? null : isotropicGuess(input, i, guesses)),
  };
  return {
    id: "forward-gradient",
    ...common,
    ...rules,
    seed: (input) => seedsOf(rules, input),
    covariance: () => null,
  };
}, (sizes, _batch, { guesses }) => F32 * (guesses + 2) * largestLayer(sizes));
