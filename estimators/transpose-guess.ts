// The Wᵀ guess (Singhal et al. 2023, "How to guess a gradient"): y = M·J_{i+1}ᵀ·ε, ε ~ N(0, I) in the
// next layer's output space, so guesses lie in the range the downstream Jacobian can see. J is the
// next layer's linear map (W_{i+1} for a dense layer), taken through the layer's own map rules.
// Cov = M·WᵀW·M: biased, E ĝ = Cov·g, but a descent direction with far smaller variance in wide layers.
import { matmul, mul, reshape, sum } from "../engine/ops.ts";
import { tensor, type Tensor } from "../engine/tensor.ts";
import { kindOf } from "../models/index.ts";
import { linearMatrix, nextLinear } from "../models/sequential.ts";
import { activationGuesses, COMMON_OPTIONS, guessOptions, type StepInput } from "./estimator.ts";
import { defineEstimator, type EstimatorFactory } from "./options.ts";

export const transposeGuess: EstimatorFactory<typeof COMMON_OPTIONS> = defineEstimator("wt", COMMON_OPTIONS, (options) => {
  const common = guessOptions(options);
  const { guesses } = common;
  const guess = (input: StepInput, i: number): Tensor => {
    const batch = input.x.shape[0];
    const next = nextLinear(input.model, i);
    const map = kindOf(next).map!;
    const eps = input.rng.split(i).normal([guesses * batch, map.outputSize(next)]);
    const y = reshape(map.transposeTimes(next, eps), [guesses, batch, map.inputSize(next)]);
    return mul(y, input.masks[i]);
  };
  return {
    id: "wt",
    ...common,
    ...activationGuesses(guesses, (input, i) => guess(input, i)),
    covariance: (input, layer) => {
      const mask = input.masks[layer];
      const next = nextLinear(input.model, layer);
      const map = kindOf(next).map!;
      return {
        // M·Jᵀ·J·M·g, row by row (a convolution and its transpose for a conv layer)
        times: (g) => mul(map.transposeTimes(next, map.times(next, mul(g, mask))), mask),
        // ‖MGM − I‖² = mᵀ(G∘G)m − 2·Σ_active G_jj + d, with G = JᵀJ
        distanceSquared: () => {
          const matrix = linearMatrix(next);
          const gram = matmul(matrix, matrix, { transA: true });
          const d = gram.shape[0];
          const quadratic = sum(mul(matmul(mask, mul(gram, gram)), mask), 1).toArray();
          const diagonal = gram.toArray().filter((_, j) => j % (d + 1) === 0);
          const trace = matmul(mask, tensor(diagonal, [d, 1])).toArray();
          return Float64Array.from(quadratic, (q, b) => q - 2 * trace[b] + d);
        },
        basis: () => null,
      };
    },
  };
});
